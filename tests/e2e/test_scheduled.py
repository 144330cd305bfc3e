"""Issue 11, acceptance 1: a scheduled entry appears by itself at its time. A reporter types
a time a few seconds ahead in the composer (its button then reads Schedule), the Scheduled
panel lists the entry, and a reader's open page shows it arriving at its time, without a
reload, published by a real `manage.py worker` process."""

from datetime import timedelta

import pytest
from django.utils import timezone

from liveblog.blog.models import Membership, Post
from tests.browser import ARTIFACTS
from tests.e2e.test_live_loop import PASSWORD, log_in
from tests.factories import EventFactory, UserFactory
from tests.ops.workers import wait_until, workers
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LEAD = timedelta(seconds=6)


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def newsroom():
    event = EventFactory(slug="count", title="Live: the count", timezone="Europe/Paris")
    reporter = UserFactory(username="sam", first_name="Sam", last_name="Reporter")
    reporter.set_password(PASSWORD)
    reporter.save()
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    return event, reporter


def test_a_scheduled_entry_appears_by_itself_at_its_time(browser, newsroom, tmp_path):
    event, reporter = newsroom
    with asgi_servers(1) as (server,), workers(1, tmp_path):
        reader = browser.new_page()
        reader.goto(f"{server.url}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.evaluate("window.__notReloaded = true")

        editor = browser.new_page(viewport={"width": 1280, "height": 1000})
        log_in(editor, server.url, reporter.username)
        editor.goto(f"{server.url}/editor/events/{event.slug}/")
        form = editor.locator("[data-post-form]")
        button = form.locator("button[name=action][value=publish]")
        assert button.inner_text() == "Publish"
        form.get_by_role("textbox", name="Entry").fill("The **final count**: 51 to 49.")
        when = timezone.now() + LEAD
        form.locator("input[name=published_at]").fill(
            timezone.localtime(when, event.tz).strftime("%H:%M:%S")
        )
        editor.wait_for_function(
            "b => b.textContent === 'Schedule'", arg=button.element_handle(), timeout=10_000
        )
        button.click()
        editor.wait_for_selector("[data-form-status]:has-text('Scheduled for')")

        post = Post.objects.get(event=event)
        assert post.status == Post.Status.SCHEDULED
        item = editor.locator(f"#scheduled-{post.pk}")
        item.wait_for(timeout=10_000)
        assert "final count" in item.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        editor.locator("[data-scheduled]").screenshot(path=str(ARTIFACTS / "scheduled-panel.png"))
        assert reader.locator("article.entry", has_text="final count").count() == 0

        arrived = reader.locator("article.entry", has_text="final count")
        arrived.wait_for(timeout=30_000)
        post.refresh_from_db()
        assert post.is_public and timezone.now() >= post.published_at
        assert reader.evaluate("window.__notReloaded") is True
        assert arrived.locator("strong").inner_text() == "final count"

        # The panel lets go of the entry once it is out (redrawn just after its time).
        editor.locator("[data-scheduled-empty]").wait_for(state="visible", timeout=15_000)
        wait_until(lambda: editor.locator(f"#scheduled-{post.pk}").count() == 0)
        screenshot_path = ARTIFACTS / "scheduled-reader.png"
        reader.screenshot(path=str(screenshot_path))
