"""The core loop in a real browser: a reporter publishes, edits and removes an entry in the
editor; a reader's page shows each change live, without reloading."""

import time

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests.browser import off_the_browser_loop
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def newsroom():
    event = EventFactory(slug="opening-ceremony", title="Live report: opening ceremony")
    reporter = UserFactory(username="alice", first_name="Alice", last_name="Reporter")
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    return event, reporter


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/editor/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/editor/")


def wait_for(check, timeout: float = 5.0) -> float:
    """Seconds until check() holds (measured for the report, asserted only to exist)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError("the reader page did not update")


def test_publish_edit_delete_appear_live_for_reader(browser, newsroom, screenshot):
    event, reporter = newsroom
    with asgi_servers(2) as (reader_server, editor_server):
        reader = browser.new_page()
        reader.goto(f"{reader_server.url}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.evaluate("window.__notReloaded = true")

        editor = browser.new_page()
        log_in(editor, editor_server.url, reporter.username)
        editor.goto(f"{editor_server.url}/editor/events/{event.slug}/")
        editor.get_by_label("Headline").fill("Doors open")
        editor.get_by_role("textbox", name="Entry").fill(
            "Delegates are **queueing** at the main hall."
        )
        editor.get_by_role("button", name="Publish").click()
        editor.wait_for_selector("text=Published.")

        entry = reader.locator("article.entry", has_text="queueing")
        published = wait_for(lambda: entry.count() == 1)
        assert entry.locator("strong").inner_text() == "queueing"
        assert entry.locator("time").inner_text().endswith(("a.m.", "p.m.", "noon", "midnight"))
        screenshot(reader, "e2e-reader-after-publish")
        screenshot(editor, "e2e-editor-after-publish")

        post_id = entry.get_attribute("data-id")
        editor.goto(f"{editor_server.url}/editor/events/{event.slug}/posts/{post_id}/edit/")
        editor.get_by_role("textbox", name="Entry").fill(
            "Delegates are **queueing** at the east entrance."
        )
        editor.get_by_role("button", name="Update entry").click()
        edited = wait_for(lambda: "east entrance" in entry.inner_text())
        assert reader.locator(f"#post-{post_id}").count() == 1

        editor.goto(f"{editor_server.url}/editor/events/{event.slug}/posts/{post_id}/delete/")
        editor.get_by_role("button", name="Delete").click()
        removed = wait_for(lambda: reader.locator(f"#post-{post_id}").count() == 0)
        screenshot(reader, "e2e-reader-after-delete")

        assert reader.evaluate("window.__notReloaded") is True
        print(f"\nlive: publish {published:.3f}s, edit {edited:.3f}s, delete {removed:.3f}s")


@pytest.fixture
def published(newsroom):
    event, reporter = newsroom
    services.post_publish(event=event, author=reporter, body="Readable with JavaScript off")
    return event


def test_reader_page_works_without_javascript(published, browser):
    event = published
    context = browser.new_context(java_script_enabled=False)
    with asgi_servers(1) as (server,):
        page = context.new_page()
        page.goto(f"{server.url}/events/{event.slug}/")
        assert page.locator("article.entry", has_text="JavaScript off").count() == 1
    context.close()


def test_key_events_list_follows_live_changes(newsroom, browser):
    event, _reporter = newsroom
    editor = UserFactory(username="erin")
    Membership.objects.create(event=event, user=editor, role=Membership.Role.EDITOR)
    with asgi_servers(1) as (server,):
        reader = browser.new_page()
        reader.goto(f"{server.url}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        assert reader.locator("[data-key-events-box]").is_hidden()
        post, _ = off_the_browser_loop(
            services.post_publish,
            event=event,
            author=editor,
            body="Goal!",
            headline="1-0",
            is_key_event=True,
        )
        reader.wait_for_selector("[data-key-events] >> text=1-0")
        assert reader.locator("[data-key-events-box]").is_visible()
        off_the_browser_loop(
            services.post_update, actor=editor, post=post, changes={"is_key_event": False}
        )
        reader.wait_for_selector("[data-key-events-box]", state="hidden")
