"""The entry form's keyboard shortcuts in Debian's Chromium (issue 11, "Shortcuts"): each
does its thing on the composer and the edit form, "?" and the editor bar's link open a help
dialog listing them (modal, focus kept inside, Esc closes), and axe finds nothing in it."""

import pytest
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Membership, Post, PostDraft
from tests.browser import off_the_browser_loop
from tests.e2e.test_csp import Watched
from tests.e2e.test_live_loop import PASSWORD, log_in, wait_for
from tests.e2e.test_reader_a11y import AXE, audit
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LISTED = ["Ctrl+Enter", "Ctrl+S", "Alt+N", "Ctrl+Shift+P", "/", "?", "Esc"]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def newsroom():
    event = EventFactory(slug="count", title="Live: the count")
    reporter = UserFactory(username="rita")
    reporter.set_password(PASSWORD)
    reporter.save()
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    for place in ["Northfield declares", "Southgate recount", "Eastbrook declares"]:
        off_the_browser_loop(
            services.post_publish,
            event=event,
            author=reporter,
            body=f"{place}.",
            published_at=timezone.now(),
        )
    return event, reporter


@pytest.fixture
def server():
    with asgi_servers(1) as (server,):
        yield server


def open_composer(browser, server, event, reporter, **context):
    watched = Watched(browser.new_context(**context))
    log_in(watched.page, server.url, reporter.username)
    watched.page.goto(f"{server.url}/editor/events/{event.slug}/")
    watched.page.wait_for_selector("[data-live][data-connected=true]")
    return watched


def body_of(page):
    return page.get_by_role("textbox", name="Entry")


def shown_entries(page):
    return page.locator("[data-stream] article.entry:visible")


def test_each_shortcut_does_its_thing_on_the_composer(browser, server, newsroom):
    event, reporter = newsroom
    composer = open_composer(browser, server, event, reporter)
    page = composer.page
    body = body_of(page)
    preview = page.locator("[data-preview]")

    # "/" outside a field: the filter over the published entries.
    page.locator("h2#published-title").click()
    page.keyboard.press("/")
    search = page.get_by_label("Filter published entries")
    assert page.evaluate("document.activeElement.id") == "stream-filter-input"
    page.keyboard.type("declares")
    page.get_by_role("status").filter(has_text="2 of 3 entries shown.").wait_for()
    assert shown_entries(page).count() == 2
    search.press("Escape")
    assert search.input_value() == ""
    assert shown_entries(page).count() == 3

    # Alt+N: the composer's text, with nothing cleared.
    page.get_by_label("Headline").fill("Kept")
    search.focus()
    page.keyboard.press("Alt+N")
    assert page.evaluate("document.activeElement === document.querySelector('[data-body]')")
    assert page.get_by_label("Headline").input_value() == "Kept"

    # "/" and "?" are just letters while typing.
    page.keyboard.type("Turnout 61% / up? yes")
    assert body.input_value() == "Turnout 61% / up? yes"
    assert not page.locator("dialog[data-shortcuts]").evaluate("d => d.open")

    # Ctrl+Shift+P: the preview, hidden and shown again.
    assert preview.is_visible()
    page.keyboard.press("Control+Shift+P")
    assert preview.is_hidden()
    page.keyboard.press("Control+Shift+P")
    assert preview.is_visible()

    # Ctrl+S: the form's Save draft.
    page.keyboard.press("Control+S")
    page.locator("[data-form-status]").filter(has_text="Draft saved.").wait_for()
    wait_for(lambda: Post.objects.filter(event=event, status="draft").count() == 1)
    assert body.input_value() == ""

    # Ctrl+Enter: Publish (editor.js, kept).
    body.fill("Westmoor declares.")
    body.press("Control+Enter")
    page.locator("[data-stream] article.entry", has_text="Westmoor declares.").wait_for()
    assert composer.violations() == []
    page.context.close()


def test_ctrl_s_on_a_published_entry_saves_a_draft_and_keeps_it_published(
    browser, server, newsroom
):
    event, reporter = newsroom
    post = Post.objects.filter(event=event).first()
    page = browser.new_context().new_page()
    log_in(page, server.url, reporter.username)
    page.goto(f"{server.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
    page.locator("[data-autosave-status]").wait_for(state="attached")
    body_of(page).fill("Northfield declares: a recount is asked for.")

    body_of(page).press("Control+S")

    page.locator("[data-autosave-status]").filter(has_text="Draft saved").wait_for()
    assert PostDraft.objects.get(post=post).body == "Northfield declares: a recount is asked for."
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED  # not moved to drafts

    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Alt+N")  # from the edit form: to the composer
    page.wait_for_url(f"{server.url}/editor/events/{event.slug}/")
    page.context.close()


def test_question_mark_opens_the_list_of_shortcuts(browser, server, newsroom, screenshot):
    event, reporter = newsroom
    page = open_composer(browser, server, event, reporter).page
    opener = page.locator(".editor-bar").get_by_role("button", name="Keyboard shortcuts")
    opener.focus()

    page.keyboard.press("?")

    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for()
    listed = " ".join(dialog.locator("tbody td:first-child").all_inner_texts())
    for keys in LISTED:
        assert keys in listed.replace(" ", ""), keys
    assert dialog.evaluate("d => d.contains(document.activeElement)")
    screenshot(page, "shortcuts-help")
    # Focus stays inside the dialog.
    for _ in range(3):
        page.keyboard.press("Tab")
        assert dialog.evaluate("d => d.contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert dialog.evaluate("d => d.contains(document.activeElement)")

    page.keyboard.press("Escape")

    assert dialog.is_hidden()
    assert page.evaluate("document.activeElement.textContent") == "Keyboard shortcuts"
    opener.click()
    dialog.wait_for()
    dialog.get_by_role("button", name="Close").click()
    assert dialog.is_hidden()
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_the_open_list(browser, server, newsroom, scheme):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs it (npm ci)")
    event, reporter = newsroom
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    log_in(page, server.url, reporter.username)
    page.goto(f"{server.url}/editor/events/{event.slug}/")
    page.wait_for_selector("[data-live][data-connected=true]")
    page.get_by_label("Filter published entries").fill("declares")
    page.locator(".editor-bar").get_by_role("button", name="Keyboard shortcuts").click()
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()

    assert audit(page, AXE) == []
    context.close()
