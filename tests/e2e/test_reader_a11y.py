"""Accessibility and quality of the reader pages in Debian's Chromium: axe-core (pinned in
package-lock.json, installed by `make test`) finds no violation on the event, permalink and
embed pages, light and dark, desktop and 320 px; keyboard, print and framing behave."""

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from liveblog.blog.models import Membership
from tests.factories import EventFactory, PostFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
BASE = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
BODIES = [
    "Delegates are **queueing** at the main hall; see [the programme](https://example.org/p).",
    "> We meet at a time when cooperation matters more than ever.\n\nThe chair speaks.",
    "| Session | Room |\n|---|---|\n| Keynote | Main hall |\n| Panel | Room 2 |",
    "A list:\n\n- one\n- two\n\n`code` and ~~struck~~ text.",
    # Issue 10: a click-to-load embed, a PDF link card, a quote with its speaker.
    "Watch:\n\nhttps://youtu.be/dQw4w9WgXcQ\n\nhttps://example.org/r.pdf\n\n"
    "> Wider.\n> — the chair",
]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), asgi_servers(1) as (server,):
        yield server


@pytest.fixture
def axe():
    if not AXE.exists():
        message = f"{AXE} is missing: `make test` installs it (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE


@pytest.fixture
def rich_event():
    """An event with every kind of entry: pinned, key events, headlines, Markdown, and more
    than one page (so "load older" is there)."""
    event = EventFactory(title="Live report: opening ceremony", timezone="Europe/Paris")
    author = UserFactory(first_name="Amina", last_name="Diallo")
    Membership.objects.create(event=event, user=author, role=Membership.Role.EDITOR)
    posts = [
        PostFactory(
            event=event,
            author=author,
            published_at=BASE + timedelta(minutes=i),
            headline="Keynote begins" if i % 7 == 0 else "",
            body=BODIES[i % len(BODIES)],
            is_key_event=i % 20 == 0,
            is_pinned=i == 30,
        )
        for i in range(60)
    ]
    return event, posts


@contextmanager
def another_site(html: str) -> Iterator[str]:
    """A page of another origin, on loopback (Chrome refuses frames from a public address
    onto a loopback one), that frames ours."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/article"
    finally:
        httpd.shutdown()
        httpd.server_close()


def audit(page, axe_path: Path) -> list[dict]:
    page.add_script_tag(path=str(axe_path))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert len(result["passes"]) > 20, "axe checked the page"  # it ran, on a real page
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_violation_on_event_permalink_and_embed(
    browser, server, rich_event, axe, scheme, width
):
    event, posts = rich_event
    # axe is injected as a script: the test context alone lifts the CSP to allow that.
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    pages = {
        "event": f"/events/{event.slug}/",
        "permalink": f"/events/{event.slug}/posts/{posts[7].pk}/",
        "embed": f"/events/{event.slug}/embed/",
    }
    found = {}
    for name, path in pages.items():
        page.goto(server.url + path)
        if name != "permalink":
            page.wait_for_selector("[data-live][data-connected=true]")
        found[name] = audit(page, axe)
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    context.close()
    assert found == {"event": [], "permalink": [], "embed": []}, json.dumps(found, indent=1)


def test_keyboard_reaches_skip_link_controls_and_entries(browser, server, rich_event):
    event, _ = rich_event
    page = browser.new_page()
    page.goto(f"{server.url}/events/{event.slug}/")
    page.wait_for_selector("[data-live][data-connected=true]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("getComputedStyle(document.activeElement).left") != "-9999px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        element = page.evaluate(
            "(e => [e.tagName, e.dataset.copyLink !== undefined, e.className,"
            " getComputedStyle(e).outlineStyle])(document.activeElement)"
        )
        reached.add((element[0], element[1] or element[2]))
        assert element[3] != "none", f"no visible focus on {element}"
    assert ("BUTTON", True) in reached  # copy link
    assert ("A", "entry__time") in reached  # permalink


def test_print_stylesheet_keeps_entries_and_drops_controls(browser, server, rich_event):
    event, _ = rich_event
    page = browser.new_page()
    page.goto(f"{server.url}/events/{event.slug}/")
    page.emulate_media(media="print")
    hidden = ".order-toggle, .entry__actions, .live__more, .site-header nav, .key-events"
    displays = page.evaluate(
        f"[...document.querySelectorAll('{hidden}')].map(e => getComputedStyle(e).display)"
    )
    assert displays and set(displays) == {"none"}
    assert page.locator("article.entry").first.is_visible()


def test_embed_is_framable_by_other_sites_and_the_event_page_is_not(browser, server, rich_event):
    event, _ = rich_event
    page = browser.new_page()
    host = (
        f"<!doctype html><title>A newspaper</title>"
        f'<iframe title="embed" src="{server.url}/events/{event.slug}/embed/"></iframe>'
        f'<iframe title="page" src="{server.url}/events/{event.slug}/"></iframe>'
    )
    with another_site(host) as newspaper:
        page.goto(newspaper)
        embed = page.frame_locator("iframe[title=embed]")
        embed.locator("[data-live][data-connected=true]").wait_for()
        assert embed.locator("article.entry").count() == 51  # the pinned one and a page
        page.wait_for_timeout(500)
        assert page.frame_locator("iframe[title=page]").locator("article.entry").count() == 0
