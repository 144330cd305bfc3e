"""The live protocol as Server-Sent Events (liveblog/live/stream.py), through the ASGI
application over the real Redis channel layer and PostgreSQL: the same frames and seq
guarantees as the WebSocket (tests/live/test_consumer.py)."""

import asyncio
import http.client
import json
import signal
import subprocess

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator

from liveblog.asgi import application
from liveblog.blog import services
from liveblog.live import stream as streams
from liveblog.live.hub import current_hub
from tests.live.client import publish
from tests.servers import asgi_servers

pytestmark = pytest.mark.django_db(transaction=True)


class Reader:
    """An EventSource, as far as the server can tell: a GET it reads message by message."""

    def __init__(self, path: str, query: str = "", headers=()) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"localhost"), (b"accept", b"text/event-stream"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        self.app = ApplicationCommunicator(application, scope)
        self.buffer = b""
        self.ended = False

    async def open(self) -> dict:
        await self.app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await self.app.receive_output(timeout=5)
        assert start["type"] == "http.response.start"
        self.status = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start["headers"]}
        return start

    async def _more(self, timeout: float) -> None:
        body = await self.app.receive_output(timeout=timeout)
        assert body["type"] == "http.response.body"
        self.buffer += body.get("body", b"")
        if not body.get("more_body", False):
            self.ended = True

    async def message(self, timeout: float = 5) -> dict:
        """The next message: its fields (`id`, `data`, a comment as `comment`)."""
        while b"\n\n" not in self.buffer:
            assert not self.ended, f"the stream ended ({self.buffer!r})"
            await self._more(timeout)
        raw, self.buffer = self.buffer.split(b"\n\n", 1)
        fields: dict = {}
        for line in raw.decode().split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        return fields

    async def frame(self, timeout: float = 5) -> dict:
        """The next frame (messages with data), with the message's id beside it."""
        while True:
            fields = await self.message(timeout)
            if "data" in fields:
                return {**json.loads(fields["data"]), "_id": fields.get("id")}

    async def end(self, timeout: float = 5) -> bytes:
        while not self.ended:
            await self._more(timeout)
        return self.buffer

    async def leave(self) -> None:
        await self.app.send_input({"type": "http.disconnect"})
        await self.app.wait(timeout=5)


def path(slug: str) -> str:
    return f"/sse/events/{slug}/"


async def opened(slug: str, query: str = "", headers=()) -> Reader:
    reader = Reader(path(slug), query, headers)
    await reader.open()
    assert reader.status == 200
    return reader


async def test_hello_then_each_change_with_its_seq_as_id(live_event):
    event, author = live_event
    reader = await opened(event.slug)
    assert reader.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reader.headers["cache-control"] == "no-store"
    assert reader.headers["x-accel-buffering"] == "no"
    first = await reader.message()  # how long to wait before reconnecting, and the hello
    assert first["retry"] == str(streams.RETRY_MS) and "id" not in first
    assert json.loads(first["data"]) == {"type": "hello", "seq": 0}
    post = await publish(event, author, "The conference **opens**.")
    frame = await reader.frame()
    assert frame["type"] == "post.created" and frame["seq"] == 1 and frame["_id"] == "1"
    assert frame["post"]["id"] == post.pk and "<strong>opens</strong>" in frame["html"]
    await reader.leave()


async def test_catch_up_replays_missed_changes_with_their_ids_then_goes_live(live_event):
    event, author = live_event
    first = await publish(event, author, "one")
    await publish(event, author, "two")
    await sync_to_async(services.post_update)(actor=author, post=first, changes={"body": "1"})
    reader = await opened(event.slug, "since=1")
    assert (await reader.frame())["type"] == "hello"
    replay = [await reader.frame() for _ in range(2)]
    assert [(f["type"], f["seq"], f["_id"]) for f in replay] == [
        ("post.created", 2, "2"),
        ("post.updated", 3, "3"),
    ]
    await publish(event, author, "four")
    assert (await reader.frame())["seq"] == 4
    await reader.leave()


async def test_a_replay_carries_what_is_true_now(live_event):
    """SPEC §7: a post removed since is replayed as post.deleted, its text never again."""
    event, author = live_event
    watching = await opened(event.slug)  # so that the replay is from this process's memory
    await watching.frame()
    post = await publish(event, author, "Retracted **claim**.")
    await sync_to_async(services.post_delete)(actor=author, post=post)
    assert [(await watching.frame())["seq"] for _ in range(2)] == [1, 2]
    reader = await opened(event.slug, "since=0")
    assert (await reader.frame())["type"] == "hello"
    replay = [await reader.frame() for _ in range(2)]
    assert [(f["type"], f["seq"]) for f in replay] == [("post.deleted", 1), ("post.deleted", 2)]
    assert all(f["post"] == {"id": post.pk} for f in replay)
    assert b"Retracted" not in reader.buffer and "Retracted" not in json.dumps(replay)
    await reader.leave()
    await watching.leave()


async def test_an_eventsource_reconnecting_resumes_from_its_last_event_id(live_event):
    """Last-Event-ID (what a browser sends when it reconnects by itself) wins over the
    URL's since, which stays what the page first asked."""
    event, author = live_event
    for body in ("one", "two", "three"):
        await publish(event, author, body)
    reader = await opened(event.slug, "since=0", headers=[(b"last-event-id", b"2")])
    assert await reader.frame() == {"type": "hello", "seq": 3, "_id": None}
    assert [(await reader.frame())["seq"]] == [3]
    await reader.leave()


async def test_since_ahead_or_too_far_behind_gets_a_reset(live_event, settings):
    event, author = live_event
    reader = await opened(event.slug, "since=99")
    assert (await reader.frame())["type"] == "hello"
    assert (await reader.frame()) == {"type": "reset", "seq": 0, "_id": None}
    await reader.leave()

    settings.LIVEBLOG_CATCHUP_LIMIT = 2
    for i in range(4):
        await publish(event, author, f"entry {i}")
    reader = await opened(event.slug, "since=0")
    assert (await reader.frame())["seq"] == 4
    assert (await reader.frame())["type"] == "reset"
    await reader.leave()


async def test_drafts_are_never_sent(live_event):
    event, author = live_event
    reader = await opened(event.slug)
    await reader.frame()
    await sync_to_async(services.post_publish)(
        event=event, author=author, body="secret", status="draft"
    )
    await publish(event, author, "public")
    frame = await reader.frame()
    assert frame["post"]["body"] == "public" and frame["seq"] == 1
    await reader.leave()


async def test_a_quiet_stream_sends_a_heartbeat(live_event, monkeypatch):
    monkeypatch.setattr(streams, "HEARTBEAT", 0.2)
    event, _ = live_event
    reader = await opened(event.slug)
    await reader.frame()
    assert await reader.message() == {"comment": "heartbeat"}
    await reader.leave()


@pytest.mark.parametrize(
    "query, headers, status",
    [
        ("since=abc", [], 400),
        ("since=-1", [], 400),
        ("", [(b"last-event-id", b"x")], 400),
    ],
)
async def test_a_bad_since_is_refused(live_event, query, headers, status):
    event, _ = live_event
    reader = Reader(path(event.slug), query, headers)
    await reader.open()
    assert reader.status == status
    assert reader.headers["content-type"].startswith("text/plain")


async def test_an_unknown_event_another_method_or_host_is_refused(live_event):
    event, _ = live_event
    unknown = Reader(path("nope"))
    await unknown.open()
    assert unknown.status == 404

    other = Reader("/sse/elsewhere/")
    await other.open()
    assert other.status == 404

    post = Reader(path(event.slug))
    post.app.scope["method"] = "POST"
    await post.open()
    assert post.status == 405 and post.headers["allow"] == "GET"

    foreign = Reader(path(event.slug), headers=[])
    foreign.app.scope["headers"] = [(b"host", b"evil.example")]
    await foreign.open()
    assert foreign.status == 400


async def test_readers_of_a_deleted_event_are_ended_and_not_let_back(live_event):
    event, _ = live_event
    reader = await opened(event.slug)
    await reader.frame()
    await sync_to_async(event.delete)()
    await reader.end(timeout=5)  # the hub's next watch tick (1 s)
    again = Reader(path(event.slug))
    await again.open()
    assert again.status == 404


async def test_a_reader_that_leaves_is_let_go(live_event):
    event, _ = live_event
    reader = await opened(event.slug)
    hello = await reader.frame()
    hub = current_hub()
    (event_id,) = [e for e, readers in hub.readers.items() if readers]
    assert hello["seq"] == 0 and len(hub.readers[event_id]) == 1
    await reader.leave()
    assert event_id not in hub.readers


def test_a_reader_too_slow_for_its_messages_is_ended():
    """Its stream ends (the browser reconnects with Last-Event-ID and catches up) instead
    of the server holding more and more for it."""
    stream = streams.Stream()
    stream.ready = True
    for seq in range(1, streams.OUTBOX_LIMIT + 1):
        stream.deliver(seq, f'{{"seq":{seq}}}')
    assert stream.ending is None and len(stream.outbox) == streams.OUTBOX_LIMIT
    stream.deliver(streams.OUTBOX_LIMIT + 1, "{}")
    assert stream.ending == "slow"
    stream.deliver(streams.OUTBOX_LIMIT + 2, "{}")
    assert len(stream.outbox) == streams.OUTBOX_LIMIT


async def test_a_slow_reader_s_response_ends(live_event, monkeypatch):
    monkeypatch.setattr(streams, "OUTBOX_LIMIT", 0)
    event, author = live_event
    reader = await opened(event.slug)
    await reader.frame()
    await publish(event, author, "too much")
    await reader.end()
    assert b"too much" not in reader.buffer


async def test_streams_per_address_are_limited(live_event, settings):
    settings.LIVEBLOG_RATE_LIMITS = True
    settings.LIVEBLOG_SOCKETS_PER_ADDRESS = 1
    event, _ = live_event
    first = await opened(event.slug)
    second = Reader(path(event.slug))
    await second.open()
    assert second.status == 429
    await first.leave()
    third = await opened(event.slug)
    await third.leave()


async def test_every_reader_sees_every_change_in_order(live_event):
    event, author = live_event
    readers = [await opened(event.slug) for _ in range(5)]
    for reader in readers:
        await reader.frame()
    for i in range(10):
        await publish(event, author, f"entry {i}")
    for reader in readers:
        frames = [await reader.frame() for _ in range(10)]
        assert [f["seq"] for f in frames] == list(range(1, 11))
        assert [f["_id"] for f in frames] == [str(n) for n in range(1, 11)]
        await reader.leave()


async def test_a_reader_that_stops_reading_is_dropped_not_waited_for(live_event, monkeypatch):
    """The client keeps the connection but reads nothing: the server's sends block. Once
    its outbox is full the stream ends at once, leaving the hub, instead of holding the
    outbox for as long as the client holds the connection."""
    monkeypatch.setattr(streams, "OUTBOX_LIMIT", 2)
    event, author = live_event
    sent: list[dict] = []
    greeted, stuck = asyncio.Event(), asyncio.Event()

    async def send(message):
        sent.append(message)
        if len(sent) == 2:  # the response's start and the hello went out; then nothing
            greeted.set()
        if len(sent) > 2:
            stuck.set()
            await asyncio.Event().wait()

    async def receive():
        await asyncio.Event().wait()

    scope = Reader(path(event.slug)).app.scope
    serving = asyncio.ensure_future(application(scope, receive, send))
    hub = current_hub()
    await asyncio.wait_for(greeted.wait(), 5)
    await publish(event, author, "one")  # the send of this one blocks
    await asyncio.wait_for(stuck.wait(), 5)
    for body in ("two", "three", "four"):
        await publish(event, author, body)
    await asyncio.wait_for(serving, 5)
    assert not any(hub.readers.values())


def test_a_live_process_holding_streams_stops_when_a_deploy_says_so(live_event):
    """A deploy sends SIGTERM and kills the process when its grace period is over (Docker's
    default: 10 s). uvicorn waits for every response to finish before it exits, and a stream
    never does: without --timeout-graceful-shutdown the process held its streams until the
    kill. With it, the streams are cancelled and the browsers reconnect, with Last-Event-ID,
    to a process still running (nginx's `live` pool)."""
    event, _ = live_event
    with asgi_servers(1) as (server,):
        assert server.process is not None
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
        connection.request("GET", path(event.slug), headers={"Accept": "text/event-stream"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.readline() == f"retry: {streams.RETRY_MS}\n".encode()
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=9)  # before the grace period ends
        except subprocess.TimeoutExpired:
            pytest.fail("the process was still serving its stream when the kill would come")
        finally:
            connection.close()
