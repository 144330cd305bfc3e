"""The reader page in a real browser (Debian's Chromium) against a real server process:
order toggle, permalinks, copy link, live changes on decorated entries, "load older" while
live, and the page with JavaScript off."""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests.factories import EventFactory, PostFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

BASE = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
IDS = "[...document.querySelectorAll('article.entry')].map(e => Number(e.dataset.id))"


def wait_until(page, expression: str, timeout: float = 15.0) -> None:
    """Poll an expression in the page (wait_for_function compiles it with eval, which the
    page's Content-Security-Policy rightly refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {expression}")
        time.sleep(0.05)


def in_view(post_id: int) -> str:
    return (
        f"(r => r.top >= 0 && r.bottom <= innerHeight)"
        f"(document.getElementById('post-{post_id}').getBoundingClientRect())"
    )


def off_the_browser_loop(fn, **kwargs):
    """Run a service outside Playwright's event-loop thread, as a view would: the broadcast
    after commit uses async_to_sync, which refuses a thread with a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, **kwargs).result()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), asgi_servers(1) as (server,):
        yield server


@pytest.fixture
def newsroom():
    event = EventFactory(title="Live report: opening ceremony", timezone="Europe/Paris")
    editor = UserFactory(first_name="Erin", last_name="Editor")
    Membership.objects.create(event=event, user=editor, role=Membership.Role.EDITOR)
    return event, editor


def entries(event, count: int, author=None) -> list[int]:
    author = author or UserFactory()
    return [
        PostFactory(event=event, author=author, published_at=BASE + timedelta(minutes=i)).pk
        for i in range(count)
    ]


def open_reader(browser, url: str, **context):
    page = browser.new_context(**context).new_page()
    page.goto(url)
    page.wait_for_selector("[data-live][data-connected=true]")
    return page


def test_order_toggle_and_live_entries_follow_the_chosen_order(browser, server, newsroom):
    event, editor = newsroom
    ids = entries(event, 5, editor)
    page = open_reader(browser, f"{server.url}/events/{event.slug}/")
    assert page.evaluate(IDS) == ids[::-1]
    assert page.get_by_role("link", name="Newest first").get_attribute("aria-current") == "true"

    page.get_by_role("link", name="Oldest first").click()
    page.wait_for_url("**/?order=oldest")
    page.wait_for_selector("[data-live][data-connected=true]")
    assert page.evaluate(IDS) == ids
    assert page.get_by_role("link", name="Oldest first").get_attribute("aria-current") == "true"

    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=editor, body="Arrives last in this order"
    )
    page.wait_for_selector(f"#post-{post.pk}")
    assert page.evaluate(IDS) == [*ids, post.pk]

    page.get_by_role("link", name="Newest first").click()
    page.wait_for_url("**/?order=newest")
    assert page.evaluate(IDS) == [post.pk, *ids[::-1]]


def test_permalink_scrolls_to_and_highlights_its_entry(browser, server, newsroom):
    event, _ = newsroom
    ids = entries(event, 120)
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    recent = ids[-30]  # on the first page, far below the fold
    page.goto(f"{server.url}/events/{event.slug}/#post-{recent}")
    entry = page.locator(f"#post-{recent}")
    page.wait_for_selector(f"#post-{recent}.entry--highlight")
    wait_until(page, in_view(recent))
    assert page.evaluate("document.activeElement.id") == f"post-{recent}"
    assert entry.evaluate("e => getComputedStyle(e).animationName") == "highlight"

    oldest = ids[0]  # three pages down: the script loads older pages until it is there
    page.goto(f"{server.url}/events/{event.slug}/#post-{oldest}")
    page.wait_for_selector(f"#post-{oldest}.entry--highlight", timeout=20000)
    shown = page.evaluate(IDS)
    assert shown == ids[::-1] and len(set(shown)) == len(shown)
    wait_until(page, in_view(oldest))

    # From an entry's own page back into the stream, at that entry.
    page.goto(f"{server.url}/events/{event.slug}/posts/{ids[10]}/")
    page.get_by_role("link", name="Follow the live coverage").click()
    page.wait_for_selector(f"#post-{ids[10]}.entry--highlight", timeout=20000)


def test_reduced_motion_highlights_without_animation(browser, server, newsroom):
    event, _ = newsroom
    ids = entries(event, 3)
    page = browser.new_context(reduced_motion="reduce").new_page()
    page.goto(f"{server.url}/events/{event.slug}/#post-{ids[0]}")
    entry = page.locator(f"#post-{ids[0]}.entry--highlight")
    entry.wait_for()
    assert entry.evaluate("e => getComputedStyle(e).animationName") == "none"
    assert "rgb" in entry.evaluate("e => getComputedStyle(e).backgroundColor")


def test_live_entries_get_times_and_share_and_copy_link_works(browser, server, newsroom):
    event, editor = newsroom
    page = open_reader(
        browser,
        f"{server.url}/events/{event.slug}/",
        permissions=["clipboard-read", "clipboard-write"],
    )
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=editor, body="Doors **open**", headline="Go"
    )
    entry = page.locator(f"#post-{post.pk}")
    entry.wait_for()
    assert re.fullmatch(r"now|\d sec\. ago", entry.locator("[data-ago]").inner_text())
    assert "Your time: " in entry.locator(".entry__time").get_attribute("title")
    assert "(Europe/Paris)" in entry.locator(".entry__time").get_attribute("title")

    entry.get_by_role("button", name="Copy link").click()
    permalink = f"{server.url}/events/{event.slug}/posts/{post.pk}/"
    wait_until(page, "document.querySelector('[data-reader-status]').textContent !== ''")
    assert page.evaluate("navigator.clipboard.readText()") == permalink
    assert page.locator("[data-reader-status]").inner_text() == "Link copied."

    off_the_browser_loop(
        services.post_update, actor=editor, post=post, changes={"body": "Doors open, late"}
    )
    wait_until(page, f"document.getElementById('post-{post.pk}').innerText.includes('late')")
    assert entry.locator("[data-ago]").inner_text()  # the replacement is decorated too
    off_the_browser_loop(services.post_delete, actor=editor, post=post)
    entry.wait_for(state="detached")


def test_load_older_while_live_never_duplicates_or_skips(browser, server, newsroom):
    event, editor = newsroom
    ids = entries(event, 75, editor)
    page = open_reader(browser, f"{server.url}/events/{event.slug}/")
    assert page.evaluate(IDS) == ids[::-1][:50]

    fresh, _ = off_the_browser_loop(services.post_publish, event=event, author=editor, body="New")
    page.wait_for_selector(f"#post-{fresh.pk}")
    # An entry not loaded yet is corrected, a loaded one is removed, while the reader reads.
    old = Post.objects.get(pk=ids[3])
    off_the_browser_loop(
        services.post_update, actor=editor, post=old, changes={"body": "Corrected old entry"}
    )
    gone = Post.objects.get(pk=ids[60])
    off_the_browser_loop(services.post_delete, actor=editor, post=gone)
    page.wait_for_selector(f"#post-{ids[60]}", state="detached")

    page.get_by_role("link", name="Load older entries").click()
    later, _ = off_the_browser_loop(services.post_publish, event=event, author=editor, body="Later")
    page.wait_for_selector("[data-older]", state="detached")
    wait_until(page, f"document.querySelector('#post-{later.pk}, [data-new-updates]')")
    if page.locator("[data-new-updates]").is_visible():
        page.locator("[data-new-updates]").click()  # held while the reader was scrolled down
    page.wait_for_selector(f"#post-{later.pk}")

    expected = [later.pk, fresh.pk, *[i for i in ids[::-1] if i != ids[60]]]
    assert page.evaluate(IDS) == expected
    assert page.locator("article.entry", has_text="Corrected old entry").count() == 1


def test_reader_page_works_with_javascript_off(browser, server, newsroom):
    event, editor = newsroom
    ids = entries(event, 60, editor)
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{server.url}/events/{event.slug}/")
    articles = page.locator("article.entry")
    assert articles.count() == 50
    assert articles.first.get_attribute("id") == f"post-{ids[-1]}"
    assert page.locator(".entry__actions").first.is_hidden()  # they need a script

    page.get_by_role("link", name="Load older entries").click()
    page.wait_for_url("**after=*")
    assert [a.get_attribute("id") for a in page.locator("article.entry").all()] == [
        f"post-{i}" for i in ids[::-1][50:]
    ]
    page.get_by_role("link", name="Back to the latest entries").click()
    page.get_by_role("link", name="Oldest first").click()
    page.wait_for_url("**/?order=oldest")
    assert page.locator("article.entry").first.get_attribute("id") == f"post-{ids[0]}"
    page.locator(f"#post-{ids[0]} .entry__time").click()
    page.wait_for_url(f"**/posts/{ids[0]}/")
    assert page.locator("h1").inner_text() == event.title
