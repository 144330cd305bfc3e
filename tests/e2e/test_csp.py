"""The Content-Security-Policy in a real browser (Debian's Chromium): the reader page, the
embed in another site's frame and the editor run their scripts and sockets with no
violation, and an entry's image from another site makes no request (issue 14, reproduction
10)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests.browser import off_the_browser_loop
from tests.e2e.test_live_loop import PASSWORD, log_in, wait_for
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PIXEL = "https://example.invalid/pixel.gif"
# Playwright's init scripts run outside the page's policy: they only watch.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture
def newsroom():
    event = EventFactory(slug="budget-day", title="Live: budget day")
    reporter = UserFactory(username="rita")
    reporter.set_password(PASSWORD)
    reporter.save()
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    return event, reporter


class Watched:
    """A page with what the policy refused (console and events) and every request made."""

    def __init__(self, context):
        self.page = context.new_page()
        self.page.add_init_script(WATCH)
        self.console: list[str] = []
        self.sent: list[str] = []  # requests that left the page for the network
        self.failed: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        context.route("**/*", self._route)

    def _route(self, route):
        self.sent.append(route.request.url)
        if "example.invalid" in route.request.url:
            route.abort()
        else:
            route.continue_()

    def violations(self) -> list[str]:
        events = [self.page.evaluate("window.__violations")]
        for frame in self.page.frames[1:]:
            events.append(frame.evaluate("window.__violations || []"))
        in_console = [
            m for m in self.console if "Content Security Policy" in m or "Permissions-Policy" in m
        ]
        return [v for found in events for v in found] + in_console

    def foreign(self) -> list[str]:
        return [url for url in self.sent if "example.invalid" in url]


def test_reader_page_runs_live_with_no_violation_and_loads_no_foreign_pixel(
    browser, newsroom, tmp_path
):
    event, reporter = newsroom
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        reader = Watched(context)
        reader.page.goto(f"{server.url}/events/{event.slug}/")
        reader.page.wait_for_selector("[data-live][data-connected=true]")

        off_the_browser_loop(
            services.post_publish, event=event, author=reporter, body="Doors are **open**."
        )
        wait_for(lambda: reader.page.locator("article.entry", has_text="open").count() == 1)
        off_the_browser_loop(
            services.post_publish, event=event, author=reporter, body=f"Seen: ![x]({PIXEL})"
        )
        pixel_entry = reader.page.locator("article.entry", has_text="Seen")
        wait_for(lambda: pixel_entry.count() == 1)
        assert pixel_entry.locator(f'a[href="{PIXEL}"]').inner_text() == "x"

        reader.page.screenshot(path="/tmp/csp-reader.png", full_page=True)

        assert reader.violations() == []
        assert reader.foreign() == []
    context.close()


def test_a_revalidated_reader_page_still_runs_its_scripts(browser, newsroom):
    """A reload revalidates the page (304), and Chromium then takes the 304's policy over
    the one it stored with the body: with a nonce drawn per response, reader.js was refused
    here (script-src-elem) and the page stopped updating. No routing in this context: it
    would turn the browser's HTTP cache off."""
    event, reporter = newsroom
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        page = context.new_page()
        page.add_init_script(WATCH)
        for load in (page.goto, lambda _url: page.reload(), page.goto):
            load(f"{server.url}/events/{event.slug}/")
            page.wait_for_selector("[data-live][data-connected=true]")
            assert page.evaluate("window.__violations") == []
        off_the_browser_loop(services.post_publish, event=event, author=reporter, body="Later")
        page.locator("article.entry", has_text="Later").wait_for()
    context.close()


def test_an_image_rendered_before_the_policy_is_refused_by_it(browser, newsroom):
    """Entries stored before the renderer turned foreign images into links still carry
    <img>: the policy's img-src refuses them, and reports it to /csp-report."""
    event, reporter = newsroom
    Post.objects.create(
        event=event,
        author=reporter,
        body="old",
        body_html=f'<p>Old <img src="{PIXEL}" alt="old pixel"></p>',
    )
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        reader = Watched(context)
        reader.page.goto(f"{server.url}/events/{event.slug}/")
        reader.page.wait_for_selector("[data-live][data-connected=true]")
        wait_for(lambda: reader.page.evaluate("window.__violations.length") > 0)
        assert reader.page.evaluate("window.__violations") == [f"img-src {PIXEL}"]
        assert reader.foreign() == []
    context.close()


@contextmanager
def _site(html: str) -> Iterator[str]:
    """Another site (its own port on loopback: Chromium refuses a public page's frame of a
    loopback address, Local Network Access) serving one page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_embed_runs_live_in_another_sites_frame_and_the_event_page_does_not(browser, newsroom):
    event, reporter = newsroom
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        host_page = (
            f'<iframe id="embed" src="{server.url}/events/{event.slug}/embed/"></iframe>'
            f'<iframe id="page" src="{server.url}/events/{event.slug}/"></iframe>'
        )
        host = Watched(context)
        with _site(host_page) as other_site:
            host.page.goto(other_site)
            embed = host.page.frame_locator("#embed")
            embed.locator("[data-live][data-connected=true]").wait_for(state="attached")
            off_the_browser_loop(
                services.post_publish, event=event, author=reporter, body="Framed news"
            )
            embed.locator("article.entry", has_text="Framed news").wait_for(state="attached")

            (framed,) = [f for f in host.page.frames if f.url.endswith("/embed/")]
            assert framed.evaluate("window.__violations") == []

            page = host.page.frame_locator("#page")
            assert page.locator("article.entry").count() == 0
            refused = [m for m in host.console if "frame-ancestors" in m]
            assert refused, host.console
    context.close()


def test_editor_compose_runs_its_script_and_preview_loads_no_foreign_pixel(browser, newsroom):
    event, reporter = newsroom
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        editor = Watched(context)
        log_in(editor.page, server.url, reporter.username)
        editor.page.goto(f"{server.url}/editor/events/{event.slug}/")
        editor.page.wait_for_selector("[data-live][data-connected=true]")
        # Hidden by editor.js when it runs: the live preview replaces the button.
        assert editor.page.locator("[data-preview-button]").is_hidden()
        editor.page.get_by_role("textbox", name="Entry").fill(f"Look ![a pixel]({PIXEL})")
        editor.page.locator("[data-preview-body] a", has_text="a pixel").wait_for()
        editor.page.get_by_role("button", name="Publish").click()
        editor.page.wait_for_selector("text=Published.")
        editor.page.wait_for_selector("[data-live][data-connected=true]")

        assert editor.violations() == []
        assert editor.foreign() == []
    context.close()
