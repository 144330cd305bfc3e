"""Issue 11, "Event lifecycle from the editor", in Debian's Chromium: an admin creates an
event from /editor/, adds a reporter from the members page and goes live; the reporter
publishes; the admin ends the event. The reporter's composer shows the ended notice live,
a second composer that missed the change (its live socket cut) is refused with the clear
message and keeps the text, and a reader's page shows the ended banner without a reload."""

import pytest

from liveblog.blog.models import Event, Post
from tests.browser import off_the_browser_loop
from tests.e2e.test_live_loop import PASSWORD, log_in, wait_for
from tests.factories import AdminFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


def person(factory, username, **names):
    user = factory(username=username, **names)
    user.set_password(PASSWORD)
    user.save()
    return user


def signed_in(browser, server, user, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, server.url, user.username)
    page.goto(f"{server.url}{path}")
    return page


def test_an_admin_runs_an_event_from_creation_to_its_end(browser, screenshot):
    admin = person(AdminFactory, "ada", first_name="Ada", last_name="Admin")
    reporter = person(UserFactory, "rita", first_name="Rita", last_name="Reporter")
    with asgi_servers(1) as (server,):
        # The admin creates the event from /editor/.
        desk = signed_in(browser, server, admin, "/editor/")
        desk.get_by_role("link", name="New event").click()
        desk.get_by_label("Title", exact=True).fill("Live: the opening ceremony")
        desk.get_by_label("Time zone", exact=True).select_option("Asia/Shanghai")
        desk.get_by_label("Starts at").fill("10:30")
        desk.get_by_role("button", name="Create event").click()
        desk.wait_for_url("**/editor/events/live-the-opening-ceremony/")
        event = off_the_browser_loop(Event.objects.get, slug="live-the-opening-ceremony")
        assert (event.status, event.timezone) == ("scheduled", "Asia/Shanghai")
        compose = f"/editor/events/{event.slug}/"

        # Adds the reporter from the members page (the search offers her by name).
        desk.get_by_role("link", name="Settings and members").click()
        username = desk.get_by_label("Username")
        username.fill("Rit")
        desk.locator("[data-member-suggestions] option[value=rita]").wait_for(state="attached")
        username.fill("rita")
        desk.get_by_label("Role", exact=True).select_option("reporter")
        desk.get_by_role("button", name="Add member").click()
        desk.get_by_text("rita added as reporter.").wait_for()
        screenshot(desk, "lifecycle-members")

        # Goes live with one button.
        desk.goto(f"{server.url}{compose}")
        desk.get_by_role("button", name="Go live").click()
        desk.get_by_text("The event is live").wait_for()
        end_button = desk.get_by_role("button", name="End event")
        end_button.wait_for(state="visible")  # the buttons change with the live frame
        desk.get_by_role("button", name="Go live").wait_for(state="hidden")
        screenshot(desk, "lifecycle-editor-header")

        reader = browser.new_context().new_page()
        reader.goto(f"{server.url}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        assert reader.locator("[data-ended-banner]").is_hidden()

        # The reporter publishes.
        composer = signed_in(browser, server, reporter, compose)
        composer.wait_for_selector("[data-live][data-connected=true]")
        composer.get_by_role("textbox", name="Entry").fill("The ceremony opens.")
        composer.get_by_role("button", name="Publish").click()
        composer.get_by_role("status").filter(has_text="Published.").wait_for()
        reader.get_by_text("The ceremony opens.").wait_for()

        # A second composer of hers that will miss the end: its live socket goes nowhere.
        stale = signed_in(browser, server, reporter, "/editor/")
        stale.route_web_socket("**/ws/**", lambda ws: None)
        stale.goto(f"{server.url}{compose}")
        typed = "Typed while the event was ending."
        stale.get_by_role("textbox", name="Entry").fill(typed)

        # The admin ends the event (confirmed).
        desk.on("dialog", lambda dialog: dialog.accept())
        end_button.click()
        desk.get_by_text("The event has ended").wait_for()
        wait_for(lambda: off_the_browser_loop(Event.objects.get, pk=event.pk).status == "ended")

        # The reporter's composer says so, live, and offers no Publish.
        notice = composer.locator("[data-ended-notice]")
        notice.wait_for(state="visible")
        assert "This event has ended: it takes no new entries." in notice.inner_text()
        assert not composer.get_by_role("button", name="Publish").is_visible()

        # The stale page still offers Publish: the server refuses, the text stays.
        stale.get_by_role("button", name="Publish").click()
        errors = stale.locator("[data-form-errors]")
        errors.wait_for(state="visible")
        assert "has ended: it takes no new entries" in errors.inner_text()
        assert stale.get_by_role("textbox", name="Entry").input_value() == typed
        assert off_the_browser_loop(Post.objects.filter(event=event).count) == 1

        # The reader's page shows the banner without a reload.
        banner = reader.locator("[data-ended-banner]")
        banner.wait_for(state="visible")
        assert banner.inner_text() == "This live coverage has ended."
        screenshot(reader, "lifecycle-reader-ended")
        screenshot(desk, "lifecycle-editor-ended")
