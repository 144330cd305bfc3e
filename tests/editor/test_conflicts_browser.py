"""Two browsers on one entry (issue 11, "No lost edits"): the second save is refused with
the first one's change shown, nothing typed is lost, and saving again overwrites."""

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests.browser import off_the_browser_loop
from tests.e2e.test_csp import Watched
from tests.e2e.test_live_loop import PASSWORD, log_in
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


def member(event, username, role):
    user = UserFactory(username=username)
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(event=event, user=user, role=role)
    return user


def open_edit_form(browser, server, user, post):
    watched = Watched(browser.new_context(viewport={"width": 1280, "height": 800}))
    log_in(watched.page, server.url, user.username)
    watched.page.goto(f"{server.url}/editor/events/{post.event.slug}/posts/{post.pk}/edit/")
    return watched


def test_two_browsers_editing_one_entry_lose_nothing(browser, screenshot):
    event = EventFactory(slug="vote", title="Live: the vote")
    editor = member(event, "edna", Membership.Role.EDITOR)
    reporter = member(event, "rita", Membership.Role.REPORTER)
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=reporter, body="Turnout is 40%."
    )
    with asgi_servers(1) as (server,):
        a = open_edit_form(browser, server, editor, post)
        b = open_edit_form(browser, server, reporter, post)

        a.page.get_by_role("textbox", name="Entry").fill("Turnout is 41%, officials say.")
        a.page.get_by_role("button", name="Update entry").click()
        a.page.wait_for_url(f"**/editor/events/{event.slug}/#post-{post.pk}")
        typed = "Turnout is 42% in the north."
        b.page.get_by_role("textbox", name="Entry").fill(typed)
        b.page.get_by_role("button", name="Update entry").click()
        b.page.wait_for_selector("[data-conflict]")

        assert (
            "Someone else changed this entry" in b.page.locator("[data-form-errors]").inner_text()
        )
        assert "41%, officials say." in b.page.locator("[data-conflict]").inner_text()
        assert "by edna" in b.page.locator("[data-conflict]").inner_text()
        assert b.page.get_by_role("textbox", name="Entry").input_value() == typed
        shot = screenshot(b.page, "edit-conflict")
        assert off_the_browser_loop(Post.objects.get, pk=post.pk).body.startswith("Turnout is 41%")

        b.page.get_by_role("button", name="Update entry").click()
        b.page.wait_for_url(f"**/editor/events/{event.slug}/#post-{post.pk}")
        saved = off_the_browser_loop(Post.objects.get, pk=post.pk)
        assert (saved.body, saved.version) == (typed, 3)
        assert a.violations() == [] and b.violations() == []
    assert shot.exists()
