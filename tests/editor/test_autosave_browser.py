"""Autosave in Debian's Chromium (issue 11, "a reload of a half-typed entry brings it back"):
what is typed in the composer or the edit form is back after a reload, and on another
device of the same writer; Discard throws it away; the offline copy in this browser comes
back when the server could not be reached; publishing discards it."""

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership, Post, PostDraft
from tests.browser import off_the_browser_loop
from tests.e2e.test_csp import Watched
from tests.e2e.test_live_loop import PASSWORD, log_in, wait_for
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

HALF = "The minister said the budget would"
SAVED = "[data-autosave-status]"


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def newsroom():
    event = EventFactory(slug="budget", title="Live: the budget", timezone="Europe/London")
    reporter = UserFactory(username="rita")
    reporter.set_password(PASSWORD)
    reporter.save()
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    return event, reporter


@pytest.fixture
def server():
    with asgi_servers(1) as (server,):
        yield server


def open_page(browser, server, reporter, path, context=None):
    watched = Watched(context or browser.new_context())
    page = watched.page
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" on a reload
    log_in(page, server.url, reporter.username)
    page.goto(f"{server.url}{path}")
    page.locator("[data-post-form] [data-autosave-status]").wait_for(state="attached")
    return watched


def composer_path(event):
    return f"/editor/events/{event.slug}/"


def body_of(page):
    return page.get_by_role("textbox", name="Entry")


def draft_saved(page):
    page.locator(SAVED).filter(has_text="Draft saved").wait_for()


def test_a_half_typed_entry_is_back_after_a_reload(browser, server, newsroom, screenshot):
    event, reporter = newsroom
    composer = open_page(browser, server, reporter, composer_path(event))
    page = composer.page
    page.get_by_label("Headline").fill("Budget day")
    body_of(page).click()
    page.keyboard.type(HALF)
    draft_saved(page)
    assert PostDraft.objects.get(user=reporter, event=event, post=None).body == HALF

    page.reload()

    notice = page.locator("[data-autosave-restored]")
    notice.filter(has_text="Restored what you were typing").wait_for()
    assert body_of(page).input_value() == HALF
    assert page.get_by_label("Headline").input_value() == "Budget day"
    assert not Post.objects.exists()  # nothing reached readers
    screenshot(page, "autosave-restored-notice")
    assert composer.violations() == []

    page.get_by_role("button", name="Publish").click()
    page.get_by_role("status").filter(has_text="Published.").wait_for()
    wait_for(lambda: not PostDraft.objects.exists())
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('liveblog:'))") == []
    page.reload()
    body_of(page).wait_for()
    assert body_of(page).input_value() == ""
    assert notice.is_hidden()
    page.context.close()


def test_another_browser_of_the_same_writer_gets_the_draft(browser, server, newsroom):
    event, reporter = newsroom
    laptop = open_page(browser, server, reporter, composer_path(event)).page
    body_of(laptop).click()
    laptop.keyboard.type(HALF)
    draft_saved(laptop)

    phone = open_page(browser, server, reporter, composer_path(event)).page

    phone.locator("[data-autosave-restored]").filter(has_text="Restored").wait_for()
    assert body_of(phone).input_value() == HALF
    laptop.context.close()
    phone.context.close()


def test_discard_empties_the_form_and_forgets_the_draft(browser, server, newsroom):
    event, reporter = newsroom
    page = open_page(browser, server, reporter, composer_path(event)).page
    body_of(page).click()
    page.keyboard.type(HALF)
    draft_saved(page)
    page.reload()
    notice = page.locator("[data-autosave-restored]")
    notice.filter(has_text="Restored").wait_for()

    notice.get_by_role("button", name="Discard").click()

    assert body_of(page).input_value() == ""
    assert notice.is_hidden()
    wait_for(lambda: not PostDraft.objects.exists())
    page.reload()
    body_of(page).wait_for()
    page.wait_for_load_state("networkidle")
    assert body_of(page).input_value() == ""
    page.context.close()


def test_what_was_typed_offline_is_kept_in_this_browser(browser, server, newsroom):
    event, reporter = newsroom
    context = browser.new_context()
    page = open_page(browser, server, reporter, composer_path(event), context=context).page
    context.route("**/autosave/**", lambda route: route.abort())

    body_of(page).click()
    page.keyboard.type("Typed on a train")

    page.locator(SAVED).filter(has_text="Not saved: offline — kept in this browser").wait_for()
    assert not PostDraft.objects.exists()
    page.reload()
    page.locator("[data-autosave-restored]").filter(has_text="Restored").wait_for()
    assert body_of(page).input_value() == "Typed on a train"
    context.close()


def test_the_edit_forms_draft_is_back_with_the_version_it_is_based_on(
    browser, server, newsroom, screenshot
):
    event, reporter = newsroom
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=reporter, body="As published."
    )
    path = f"/editor/events/{event.slug}/posts/{post.pk}/edit/"
    editing = open_page(browser, server, reporter, path)
    page = editing.page
    body_of(page).fill("As corrected, half")
    draft_saved(page)
    draft = PostDraft.objects.get(post=post)
    assert draft.fields["version"] == 1
    post.refresh_from_db()
    assert post.body == "As published."  # readers still see the entry as it was

    # Someone else corrects the entry meanwhile: the restored draft is still based on v1.
    off_the_browser_loop(
        services.post_update, actor=reporter, post=post, changes={"body": "Theirs."}
    )
    page.reload()

    page.locator("[data-autosave-restored]").filter(has_text="Restored").wait_for()
    assert body_of(page).input_value() == "As corrected, half"
    assert page.locator("input[name=version]").input_value() == "1"
    with page.expect_navigation():
        page.get_by_role("button", name="Update entry").click()
    assert page.locator("[data-conflict]").is_visible()  # optimistic locking: told, kept
    assert body_of(page).input_value() == "As corrected, half"
    screenshot(page, "autosave-edit-form-conflict")

    with page.expect_navigation():
        page.get_by_role("button", name="Update entry").click()
    post.refresh_from_db()
    assert post.body == "As corrected, half"
    wait_for(lambda: not PostDraft.objects.filter(post=post).exists())
    page.goto(f"{server.url}{path}")
    page.wait_for_load_state("networkidle")
    assert body_of(page).input_value() == "As corrected, half"
    assert page.locator("[data-autosave-restored]").is_hidden()
    assert editing.violations() == []
    page.context.close()
