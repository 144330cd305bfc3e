"""Issue 11, acceptance 5 in Debian's Chromium: an editor corrects an entry twice, opens its
History, sees every revision with its author, and restores the first; a reader's page (a
second browser context, served by another process) shows the restored text live, without a
reload, marked "Updated"."""

import re

import pytest
from playwright.sync_api import expect

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests.browser import off_the_browser_loop
from tests.e2e.test_csp import Watched
from tests.e2e.test_live_loop import PASSWORD, log_in
from tests.e2e.test_reader_a11y import AXE, audit
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

FIRST = "Turnout is 40% at noon."
SECOND = "Turnout is 41% at noon, officials say."
THIRD = "Turnout is 43% at noon, officials say."


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


def member(event, username, first_name, role):
    user = UserFactory(username=username, first_name=first_name, last_name="Example")
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(event=event, user=user, role=role)
    return user


def correct(page, text):
    page.get_by_role("textbox", name="Entry").fill(text)
    page.get_by_role("button", name="Update entry").click()
    page.get_by_role("status").filter(has_text="Entry updated.").wait_for()


def test_an_editor_restores_the_first_version_and_the_reader_sees_it_live(browser, screenshot):
    event = EventFactory(slug="vote", title="Live: the vote")
    edna = member(event, "edna", "Edna", Membership.Role.EDITOR)
    rita = member(event, "rita", "Rita", Membership.Role.REPORTER)
    post, _ = off_the_browser_loop(services.post_publish, event=event, author=rita, body=FIRST)
    with asgi_servers(2) as (reader_server, editor_server):
        reader = browser.new_context(viewport={"width": 1000, "height": 800}).new_page()
        reader.goto(f"{reader_server.url}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.evaluate("window.__notReloaded = true")
        entry = reader.locator(f"#post-{post.pk}")

        desk = Watched(browser.new_context(viewport={"width": 1280, "height": 900}))
        editor = desk.page
        log_in(editor, editor_server.url, edna.username)
        editor.goto(f"{editor_server.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
        correct(editor, SECOND)
        expect(entry.locator(".entry__body")).to_have_text(SECOND)
        editor.goto(f"{editor_server.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
        correct(editor, THIRD)
        expect(entry.locator(".entry__body")).to_have_text(THIRD)

        editor.goto(f"{editor_server.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
        editor.get_by_role("link", name="History").click()
        revisions = editor.locator("[data-revision]")
        expect(revisions).to_have_count(3)
        authors = revisions.locator(".revision__author")
        expect(authors).to_have_text(["Edna Example", "Edna Example", "Rita Example"])
        expect(revisions.locator("time")).to_have_text([re.compile(r"[ap]\.m\.|noon|midnight")] * 3)
        newest = revisions.first
        expect(newest.locator("del")).to_have_text(["41%"])
        expect(newest.locator("ins")).to_have_text(["43%"])
        shot = screenshot(editor, "revisions-history")

        editor.once("dialog", lambda dialog: dialog.accept())
        editor.get_by_role("button", name="Restore this version (revision 1)").click()
        editor.get_by_role("status").filter(has_text="Revision 1 restored").wait_for()
        expect(revisions).to_have_count(4)
        expect(revisions.first.locator(".revision__note")).to_have_text("Restored from revision 1.")
        screenshot(editor, "revisions-restored")

        expect(entry.locator(".entry__body")).to_have_text(FIRST)
        expect(entry.locator(".entry__updated")).to_contain_text("Updated")
        assert reader.evaluate("window.__notReloaded") is True
        screenshot(reader, "revisions-reader-restored")
        assert desk.violations() == []
    stored = off_the_browser_loop(Post.objects.get, pk=post.pk)
    assert (stored.body, stored.version) == (FIRST, 4)
    assert shot.exists()


def test_a_declined_confirmation_restores_nothing(browser):
    event = EventFactory(slug="count", title="Live: the count")
    edna = member(event, "edna", "Edna", Membership.Role.EDITOR)
    post, _ = off_the_browser_loop(services.post_publish, event=event, author=edna, body=FIRST)
    off_the_browser_loop(services.post_update, actor=edna, post=post, changes={"body": SECOND})
    with asgi_servers(1) as (server,):
        page = browser.new_context().new_page()
        log_in(page, server.url, edna.username)
        page.goto(f"{server.url}/editor/events/{event.slug}/posts/{post.pk}/history/")
        asked: list[str] = []

        def decline(dialog):
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", decline)
        page.get_by_role("button", name="Restore this version (revision 1)").click()
        page.wait_for_load_state("load")  # of a new page, had the click submitted the form

        expect(page.locator("[data-revision]")).to_have_count(2)
        expect(page.get_by_role("status")).not_to_contain_text("restored")
        assert asked and asked[0].startswith("Restore revision 1?")
    assert off_the_browser_loop(Post.objects.get, pk=post.pk).body == SECOND


def test_axe_finds_no_violation_on_the_history_in_light_and_dark(browser, screenshot):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs it (npm ci)")
    event = EventFactory(slug="tally", title="Live: the tally")
    edna = member(event, "edna", "Edna", Membership.Role.EDITOR)
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=edna, headline="Tally", body=FIRST
    )
    for change in ({"body": SECOND, "is_key_event": True}, {"headline": "", "body": THIRD}):
        off_the_browser_loop(services.post_update, actor=edna, post=post, changes=change)
    with asgi_servers(1) as (server,):
        for width, scheme in ((1280, "light"), (375, "dark")):
            context = browser.new_context(
                bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 800}
            )
            page = context.new_page()
            log_in(page, server.url, edna.username)
            page.goto(f"{server.url}/editor/events/{event.slug}/posts/{post.pk}/history/")
            expect(page.locator("[data-revision]")).to_have_count(3)
            screenshot(page, f"revisions-history-{width}-{scheme}")
            assert audit(page, AXE) == []
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"the history scrolls sideways by {overflow}px at {width}px"
            context.close()
