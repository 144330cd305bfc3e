"""The reader page under faults, in Debian's Chromium: a lost connection catches up to
exactly what a fresh load shows, and blocked WebSockets fall back to the event stream, or
to polling when the stream is held up too, and back."""

import time

import pytest

from liveblog.blog import services
from tests.browser import entries, off_the_browser_loop
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

BLOCKABLE_WEBSOCKET = """
(() => {
  const Real = window.WebSocket;
  window.__blockWebSockets = true;
  window.WebSocket = function (url, protocols) {
    if (!window.__blockWebSockets) return new Real(url, protocols);
    window.__refusedSockets = (window.__refusedSockets || 0) + 1;
    const refused = new EventTarget();
    refused.close = () => {};
    setTimeout(() => refused.dispatchEvent(new CloseEvent("close", { code: 1006 })), 10);
    return refused;
  };
})();
"""


# A proxy that buffers whole responses: the event stream opens and never says a word.
BLOCKABLE_EVENT_STREAM = """
(() => {
  const Real = window.EventSource;
  window.__blockStreams = true;
  window.EventSource = function (url, options) {
    if (!window.__blockStreams) return new Real(url, options);
    const held = new EventTarget();
    held.readyState = 1;
    held.close = () => { held.readyState = 2; };
    return held;
  };
  window.EventSource.CONNECTING = 0;
  window.EventSource.OPEN = 1;
  window.EventSource.CLOSED = 2;
})();
"""


def publish(newsroom, body):
    post, _ = off_the_browser_loop(
        services.post_publish, event=newsroom.event, author=newsroom.editor, body=body
    )
    return post


def wait_for_seq(page, seq: int, timeout: float = 20) -> None:
    # Polled from here: wait_for_function would eval a string, which the page's CSP forbids.
    deadline = time.monotonic() + timeout
    while page.evaluate("Number(document.querySelector('[data-live]').dataset.seq)") < seq:
        assert time.monotonic() < deadline, f"the page did not reach seq {seq}"
        page.wait_for_timeout(50)


def test_reader_page_catches_up_after_losing_its_server(newsroom, browser, screenshot):
    first = publish(newsroom, "Before the outage")
    with asgi_servers(1) as (server,):
        reader = browser.new_page()
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.evaluate("window.__notReloaded = true")

        server.stop()  # the process is gone; the page keeps what it has
        posts = [publish(newsroom, f"While away {i}") for i in range(5)]
        off_the_browser_loop(
            services.post_update,
            actor=newsroom.editor,
            post=posts[0],
            changes={"body": "While away 0 (corrected)"},
        )
        off_the_browser_loop(services.post_delete, actor=newsroom.editor, post=first)
        server.restart()

        wait_for_seq(reader, 8)
        reader.wait_for_selector("[data-live][data-connected=true]")
        fresh = browser.new_page()
        fresh.goto(f"{server.url}/events/{newsroom.event.slug}/")
        assert entries(reader) == entries(fresh)
        assert len(entries(reader)) == 5
        assert reader.evaluate("window.__notReloaded") is True
        screenshot(reader, "faults-reader-after-catch-up")


def test_blocked_websockets_fall_back_to_the_event_stream_and_return_to_push(newsroom, browser):
    """A proxy that refuses the upgrade but passes a streaming response: the page takes the
    same frames as Server-Sent Events, as fast as by socket, and says nothing is wrong."""
    with asgi_servers(1) as (server,):
        context = browser.new_context()
        context.add_init_script(BLOCKABLE_WEBSOCKET)
        reader = context.new_page()
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-mode=stream]", timeout=20_000)

        publish(newsroom, "Arrives by the stream")
        reader.wait_for_selector("article.entry >> text=Arrives by the stream", timeout=10_000)
        # The page keeps trying the WebSocket: a refused attempt while the stream is live
        # must not mark the page disconnected (it once did, until the next change).
        refused = reader.evaluate("window.__refusedSockets")
        deadline = time.monotonic() + 40
        while reader.evaluate("window.__refusedSockets") == refused:
            assert time.monotonic() < deadline, "the page stopped trying the WebSocket"
            reader.wait_for_timeout(100)
        reader.wait_for_timeout(200)  # its close event comes 10 ms after the attempt
        assert reader.locator("[data-connection]").is_hidden()
        assert reader.evaluate("document.querySelector('[data-live]').dataset.connected") == "true"

        reader.evaluate("window.__blockWebSockets = false")
        reader.wait_for_selector("[data-live][data-mode=push]", timeout=40_000)
        publish(newsroom, "Arrives by push")
        reader.wait_for_selector("article.entry >> text=Arrives by push", timeout=10_000)
        assert sum("Arrives by the stream" in text for _, text in entries(reader)) == 1
        context.close()


def test_a_stream_back_after_its_server_was_away_is_taken_again(newsroom, browser):
    """The live process restarts (a deploy) while WebSockets are blocked: the stream fails for
    a few seconds and the page polls meanwhile, then takes the stream again once it answers,
    rather than polling for as long as the page is open."""
    with asgi_servers(1) as (server,):
        context = browser.new_context()
        context.add_init_script(BLOCKABLE_WEBSOCKET)
        reader = context.new_page()
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-mode=stream]", timeout=20_000)

        server.stop()
        reader.wait_for_selector("[data-live][data-mode=polling]", timeout=30_000)
        server.restart()
        reader.wait_for_selector("[data-live][data-mode=stream]", timeout=45_000)
        publish(newsroom, "Back on the stream")
        reader.wait_for_selector("article.entry >> text=Back on the stream", timeout=10_000)
        assert reader.locator("[data-connection]").is_hidden()
        context.close()


def test_readers_of_a_deleted_event_on_the_stream_stop_asking(newsroom, browser):
    """As a socket's readers do (CLOSE_NOT_FOUND): the stream ends, its reconnect gets a 404,
    and the page then asks nothing more, rather than polling a 404 every 5 s for as long as
    it is open (each one a query on a `web` process: nginx caches no 404)."""
    with asgi_servers(1) as (server,):
        context = browser.new_context()
        context.add_init_script(BLOCKABLE_WEBSOCKET)
        reader = context.new_page()
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-mode=stream]", timeout=20_000)
        asked: list[str] = []
        reader.on("request", lambda r: asked.append(r.url) if "/api/" in r.url else None)

        off_the_browser_loop(newsroom.event.delete)
        reader.wait_for_timeout(8_000)  # the hub's tick (1 s), the stream's retry (2 s), a poll
        settled = len(asked)
        reader.wait_for_timeout(11_000)  # two more polls, had it kept polling
        assert asked[settled:] == []
        context.close()


def test_blocked_websockets_and_a_buffered_stream_fall_back_to_polling_and_return_to_push(
    newsroom, browser
):
    with asgi_servers(1) as (server,):
        context = browser.new_context()
        context.add_init_script(BLOCKABLE_WEBSOCKET)
        context.add_init_script(BLOCKABLE_EVENT_STREAM)
        reader = context.new_page()
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-mode=polling]", timeout=30_000)

        publish(newsroom, "Arrives by polling")
        reader.wait_for_selector("article.entry >> text=Arrives by polling", timeout=20_000)
        assert reader.locator("[data-connection]").is_visible()

        reader.evaluate("window.__blockWebSockets = false")
        reader.wait_for_selector("[data-live][data-mode=push]", timeout=40_000)
        publish(newsroom, "Arrives by push")
        reader.wait_for_selector("article.entry >> text=Arrives by push", timeout=10_000)
        assert reader.locator("[data-connection]").is_hidden()
        context.close()


def test_scrolled_reader_is_not_pushed_around_by_new_entries(newsroom, browser):
    posts = [
        publish(newsroom, f"Earlier entry {i}. " + "Lorem ipsum dolor. " * 30) for i in range(12)
    ]
    with asgi_servers(1) as (server,):
        reader = browser.new_page(viewport={"width": 800, "height": 600})
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.locator(f"#post-{posts[3].pk}").scroll_into_view_if_needed()
        anchor = reader.locator(f"#post-{posts[3].pk}")
        top_before = anchor.bounding_box()["y"]

        publish(newsroom, "Breaking: a new entry")
        button = reader.locator("[data-new-updates]")
        button.wait_for(state="visible")
        assert button.inner_text() == "1 new update"
        assert reader.locator("article.entry >> text=Breaking").count() == 0
        assert abs(anchor.bounding_box()["y"] - top_before) < 2, "the text did not move"

        off_the_browser_loop(
            services.post_update,
            actor=newsroom.editor,
            post=posts[3],
            changes={"body": "Earlier entry 3, corrected in place."},
        )
        reader.wait_for_selector(f"#post-{posts[3].pk} >> text=corrected in place")

        button.click()
        reader.wait_for_selector("article.entry >> text=Breaking")
        assert button.is_hidden()
        first = reader.locator("[data-stream] > article.entry").first
        assert "Breaking" in first.inner_text()


def test_reader_too_far_behind_is_reset_and_reloads_cleanly(newsroom, browser):
    publish(newsroom, "The first entry")
    with asgi_servers(1) as (server,):
        reader = browser.new_page()
        reader.goto(f"{server.url}/events/{newsroom.event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.evaluate("window.__notReloaded = true")
        server.stop()

        def burst():
            for i in range(501):  # more than the server replays (LIVEBLOG_CATCHUP_LIMIT)
                services.post_publish(event=newsroom.event, author=newsroom.editor, body=f"n{i}")

        off_the_browser_loop(burst)
        server.restart()
        reader.wait_for_selector("article.entry >> text=n500", timeout=30_000)
        assert reader.evaluate("window.__notReloaded") is None, "the page was reloaded"
        assert reader.evaluate("document.querySelector('[data-live]').dataset.seq") == "502"
