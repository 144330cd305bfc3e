"""Issue 11, acceptance 1 ("presence shows both"), in Debian's Chromium: two reporters in two
browsers open one event's editor; each sees the other in the presence bar; one types and
the other sees it; one opens an entry's edit form and the other sees which entry, beside it
in the published list too; a reader comes and the desk counts them; one reporter leaves
and is gone from the other's bar."""

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests.browser import ARTIFACTS, off_the_browser_loop
from tests.e2e.test_live_loop import PASSWORD, log_in
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def team():
    event = EventFactory(slug="budget", title="Live: the budget debate")
    people = []
    for username, first, last in (("rita", "Rita", "Reporter"), ("sam", "Sam", "Stringer")):
        user = UserFactory(username=username, first_name=first, last_name=last)
        user.set_password(PASSWORD)
        user.save()
        Membership.objects.create(event=event, user=user, role=Membership.Role.REPORTER)
        people.append(user)
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=people[0], body="The debate opens."
    )
    return event, people, post


def at_the_desk(browser, server, event, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, server.url, user.username)
    page.goto(f"{server.url}/editor/events/{event.slug}/")
    page.wait_for_selector("[data-presence][data-connected=true]")
    return page


def person(page, name):
    return page.locator("[data-presence-people] .presence__person", has_text=name)


def test_two_reporters_see_each_other_and_what_each_is_doing(browser, team):
    event, (rita, sam), post = team
    # Two server processes, one reporter on each: presence crosses processes.
    with asgi_servers(2) as (first, second):
        ritas = at_the_desk(browser, first, event, rita)
        sams = at_the_desk(browser, second, event, sam)

        person(ritas, "Sam Stringer").wait_for()
        person(sams, "Rita Reporter").wait_for()
        assert "(you)" not in person(sams, "Rita Reporter").inner_text()
        assert person(sams, "Sam Stringer (you)").count() == 1
        assert "reporter" in person(ritas, "Sam Stringer").inner_text()

        # Sam types a new entry: Rita sees it, in words.
        sams.get_by_role("textbox", name="Entry").press_sequentially("The minister rises")
        person(ritas, "Sam Stringer").filter(has_text="typing…").wait_for()

        # Readers now, over both processes: each composer's published list is a live
        # connection of its own (one on each process), then a reader opens the public page.
        readers = ritas.locator("[data-presence-readers]")
        readers.filter(has_text="2 readers now").wait_for()
        reader = browser.new_context().new_page()
        reader.goto(f"{first.url}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        readers.filter(has_text="3 readers now").wait_for()

        # Rita opens her entry's edit form: Sam sees which entry, and beside it in the list.
        when = sams.locator(f"#post-{post.pk} time").first.inner_text().strip()
        ritas.goto(f"{first.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
        person(sams, "Rita Reporter").filter(has_text=f"editing the {when} entry").wait_for()
        badge = sams.locator(f"#post-{post.pk} [data-presence-badge]")
        badge.wait_for()
        assert badge.inner_text() == "Rita Reporter is editing this entry"
        bar = sams.locator("[data-presence]")
        bar.screenshot(path=str(ARTIFACTS / "presence-bar.png"))
        sams.screenshot(path=str(ARTIFACTS / "presence-composer.png"))

        # Rita leaves: gone from Sam's bar, and from beside the entry; Sam is told once.
        ritas.context.close()
        person(sams, "Rita Reporter").wait_for(state="detached")
        badge.wait_for(state="detached")
        announced = sams.locator("[data-presence-announce]")
        assert announced.inner_text() == "Rita Reporter left."
        assert announced.get_attribute("aria-live") == "polite"
        reader.context.close()
        sams.context.close()
