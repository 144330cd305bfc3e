"""The reader page's layout in Debian's Chromium: two columns from 64rem (the aside with the
key points and key events beside the stream), one column on phones with the key events
folded near the top; breaking entries, Updated marks, date lines kept right live, the key
points following event.updated, the admin's accent; light and dark, axe 0 violations.
Screenshots: test-artifacts/reader-layout-<width>-<scheme>.png."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests.browser import off_the_browser_loop
from tests.e2e.test_reader_a11y import AXE, audit
from tests.e2e.test_reader_page import wait_until
from tests.factories import AdminFactory, EventFactory, PostFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), asgi_servers(1) as (server,):
        yield server


@pytest.fixture
def coverage(browser):
    """Two days of coverage (yesterday and the day before, in Paris), key points, key
    events, a breaking entry and a corrected one, under an admin's brand. Written off the
    browser's event loop: the services push after commit through async_to_sync."""
    return off_the_browser_loop(_seed)


def _seed():
    event = EventFactory(title="Live report: the climate summit", timezone="Europe/Paris")
    editor = UserFactory(first_name="Amina", last_name="Diallo")
    Membership.objects.create(event=event, user=editor, role=Membership.Role.EDITOR)
    start = timezone.now().astimezone(event.tz).replace(hour=9, minute=0) - timedelta(days=2)
    for i in range(12):
        PostFactory(
            event=event,
            author=editor,
            published_at=start + timedelta(hours=3 * i),
            headline="Ministers arrive" if i % 4 == 0 else "",
            is_key_event=i % 4 == 0,
            body=f"Entry {i}: delegates discuss the text of the final declaration, line by line.",
        )
    services.post_publish(
        event=event, author=editor, body="The summit agrees a **loss and damage** fund.",
        headline="Deal reached", is_breaking=True, published_at=start + timedelta(hours=37),
    )  # fmt: skip
    corrected, _ = services.post_publish(
        event=event, author=editor, body="About 3,000 people marched.",
        published_at=start + timedelta(hours=36),
    )  # fmt: skip
    services.post_update(actor=editor, post=corrected, changes={"body": "About 4,000 marched."})
    services.event_update(
        actor=editor,
        event=event,
        changes={
            "key_points": "- A fund for **loss and damage**\n- 4,000 marched\n- Vote at 6 p.m."
        },
    )
    services.site_settings_update(actor=AdminFactory(), name="Daily Courier", accent="#0b5394")
    return event, editor


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_layout_at_desktop_and_phone_widths(browser, server, coverage, screenshot, scheme, width):
    event, _ = coverage
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{server.url}/events/{event.slug}/")
    page.wait_for_selector("[data-live][data-connected=true]")
    box = page.locator(".event-aside").bounding_box()
    stream = page.locator(".live__stream").bounding_box()
    details_open = page.evaluate("document.querySelector('details.key-events').open")
    if width == 1280:
        assert box["x"] > stream["x"] + stream["width"], "the aside is beside the stream"
        assert details_open
        page.mouse.wheel(0, 2500)
        wait_until(page, "scrollY > 1000")
        top = page.locator(".event-aside__sticky").bounding_box()["y"]
        assert 0 <= top < 40, f"the aside stays in view (sticky), at {top}"
        page.evaluate("scrollTo(0, 0)")
    else:
        assert box["y"] < stream["y"], "the aside is above the stream"
        assert not details_open, "key events are folded on a phone"
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
    assert page.locator(".date-line").count() >= 2
    assert page.locator(".entry--breaking .entry__breaking").inner_text() == "BREAKING"
    assert page.locator(".entry__updated").inner_text().startswith("Updated ")
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent')"
    )
    assert accent.strip() == ("#0b5394" if scheme == "light" else accent.strip())
    assert accent.strip() != "#b3001b"  # the admin's colour, not the default
    shot = screenshot(page, f"reader-layout-{width}-{scheme}")
    assert shot.exists()
    violations = audit(page, AXE)
    context.close()
    assert violations == [], json.dumps(violations, indent=1)


def test_live_entries_of_a_new_day_get_their_date_line(browser, server, coverage):
    event, editor = coverage
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/events/{event.slug}/")
    page.wait_for_selector("[data-live][data-connected=true]")
    days = "[...document.querySelectorAll('[data-stream] > .date-line')].map(l => l.dataset.day)"
    before = page.evaluate(days)
    today = timezone.now().astimezone(event.tz).date().isoformat()
    assert today not in before
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=editor, body="Today's first entry."
    )
    wait_until(page, f"!!document.getElementById('post-{post.pk}')")
    after = page.evaluate(days)
    assert after == [today, *before]
    first = page.evaluate(
        "(l => [l.dataset.day, l.nextElementSibling.id])"
        "(document.querySelector('[data-stream] > .date-line'))"
    )
    assert first == [today, f"post-{post.pk}"]
    # Removing it removes its day's line: no line stands over no entry.
    off_the_browser_loop(services.post_delete, actor=editor, post=post)
    wait_until(page, f"!document.getElementById('post-{post.pk}')")
    assert page.evaluate(days) == before


def test_key_points_follow_event_updated_into_the_aside(browser, server, coverage):
    event, editor = coverage
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/events/{event.slug}/")
    page.wait_for_selector("[data-live][data-connected=true]")
    off_the_browser_loop(
        services.event_update, actor=editor, event=event, changes={"key_points": "- Vote **now**"}
    )
    wait_until(
        page, "document.querySelector('.event-aside .key-points strong')?.textContent === 'now'"
    )
    assert page.locator(".key-points").count() == 1  # in the aside, not also in the header
    off_the_browser_loop(
        services.event_update, actor=editor, event=event, changes={"key_points": ""}
    )
    wait_until(page, "document.querySelectorAll('.key-points').length === 0")


def test_readable_without_javascript(browser, server, coverage):
    event, _ = coverage
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{server.url}/events/{event.slug}/")
    assert page.locator(".key-points").is_visible()
    page.locator("details.key-events summary").click()
    assert page.locator("[data-key-events] li").first.is_visible()
    assert page.locator(".date-line").count() >= 2
    context.close()
