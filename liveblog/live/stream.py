"""The live protocol as Server-Sent Events, for readers whose proxy refuses WebSocket upgrades
(SPEC §7's frames, unchanged, as a `text/event-stream`).

A corporate or hotel proxy that blocks the `Upgrade` often passes a long streaming response,
and through it a reader has each change in milliseconds, where polling `/changes/` every
5 s has it after 3 s on median and 6 s at worst (bench/pollers.py). So the reader page tries
this stream after its WebSocket failed (static/js/live.js), and polls only if the stream
fails too (a proxy that buffers whole responses never lets the hello through).

`GET /sse/events/<slug>/?since=<seq>` on a `live` process: the same join as the WebSocket
(liveblog/live/consumer.py, whose module docstring has the ordering argument): registered
with the hub, a hello with the seq it starts from, the missed changes replayed from memory,
Redis or the log (or a reset), then every change, each as one message whose `id` is its seq.
A browser's EventSource reconnects by itself with `Last-Event-ID: <the last id it had>`,
which is taken as `since`: the same seq guarantees through every reconnect. A comment line
every HEARTBEAT seconds keeps proxies from closing a quiet stream and shows the client it is
alive. A reader too slow to take its messages is ended (it reconnects and catches up, as
the socket's CLOSE_TOO_SLOW); the readers of a deleted event are ended, and reconnecting
gets a 404, which stops an EventSource.

A plain ASGI app rather than a Channels consumer: Channels' AsyncHttpConsumer races a
receive task per source and gives each connection a channel-layer channel, which this
needs neither of (one task per stream watches for the client leaving).
"""

import asyncio
import json
import logging
import re
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from liveblog import metrics
from liveblog.live import protocol
from liveblog.live.hub import current_hub
from liveblog.live.protocol import encode_frame
from liveblog.live.routing import OpenPerAddress

logger = logging.getLogger(__name__)

PATH = re.compile(r"/sse/events/(?P<slug>[-a-zA-Z0-9_]+)/")
HEARTBEAT = 15.0
OUTBOX_LIMIT = 256
RETRY_MS = 2000  # how long an EventSource waits before it reconnects by itself

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # nginx passes each message on as it comes
    (b"x-content-type-options", b"nosniff"),
]


def message(seq: int | None, frame: str) -> bytes:
    """One event-stream message. A frame is JSON with ASCII escapes (protocol.encode_frame):
    it never holds a line break, so it is one `data` line."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}data: {frame}\n\n".encode()


def _since(scope: dict[str, Any]) -> int | None:
    """`Last-Event-ID` (an EventSource reconnecting), else `?since=`; ValueError if bad."""
    for name, value in scope.get("headers", ()):
        if name == b"last-event-id":
            return protocol.since_value(value.decode("latin-1").strip())
    return protocol.parse_since(scope.get("query_string", b""))


async def _plain(send: Any, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = (text + "\n").encode()
    start = [(b"content-type", b"text/plain; charset=utf-8"), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


class Stream:
    """One reader's stream: what the hub delivers waits in `outbox` for the writer, which is
    the request's own coroutine (`EventStream.serve`)."""

    def __init__(self) -> None:
        self.ready = False
        self.start_seq = 0
        self.early: list[tuple[int, str]] = []
        self.outbox: list[bytes] = []
        self.ending: str | None = None  # why the stream ends: "gone", "slow", "left"
        self.waiter: asyncio.Future[None] | None = None
        self.writer: asyncio.Task[Any] | None = None  # the request's task, which writes

    def deliver(self, seq: int, frame: str) -> None:
        """Called by the hub for every change of the event; must not block."""
        if self.ending is not None:
            return
        if not self.ready:
            self.early.append((seq, frame))
            return
        if seq <= self.start_seq:
            return
        if len(self.outbox) >= OUTBOX_LIMIT:
            metrics.TOO_SLOW.inc()
            logger.info("event stream too slow at seq %s; ending it for catch-up", seq)
            self.end("slow")
            if self.waiter is None and self.writer is not None:
                # The writer is stuck in a send: the client stopped reading and the server's
                # buffer is full. Waiting for it would hold the buffer and the outbox for as
                # long as the client keeps the connection open (a stream has no ping timeout,
                # unlike a socket): the writer is cancelled, and the server drops the
                # connection (uvicorn logs "returned without completing response").
                self.writer.cancel()
            return
        self.outbox.append(message(seq, frame))
        self.wake()

    def gone(self) -> None:
        """Called by the hub when the event was deleted."""
        self.end("gone")

    def end(self, why: str) -> None:
        if self.ending is None:
            self.ending = why
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until there is something to write, the stream ends, or `timeout` passes."""
        if self.outbox or self.ending is not None:
            return
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        timer = loop.call_later(timeout, self.wake)
        try:
            await self.waiter
        finally:
            timer.cancel()
            self.waiter = None


class EventStream:
    """The ASGI app of `/sse/events/<slug>/` (liveblog/asgi.py routes `/sse/` here)."""

    def __init__(self) -> None:
        self.open = OpenPerAddress()  # streams per client address, as sockets are

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = PATH.fullmatch(scope["path"])
        if match is None:
            await _plain(send, 404, "Not found", [])
            return
        if scope["method"] != "GET":
            await _plain(send, 405, "Method not allowed", [(b"allow", b"GET")])
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
            await _plain(send, 400, "Bad request", [])
            return
        try:
            since = _since(scope)
        except ValueError:
            await _plain(send, 400, "since must be a whole number of zero or more", [])
            return
        address = (scope.get("client") or ("unknown",))[0]
        if self.open.full(address):
            await _plain(send, 429, "Too many live connections from this address", [])
            return
        self.open.add(address)
        try:
            await self.serve(match.group("slug"), since, receive, send)
        finally:
            self.open.remove(address)

    async def serve(self, slug: str, since: int | None, receive: Any, send: Any) -> None:
        hub = current_hub()
        stream = Stream()
        joined = await hub.join_slug(slug, stream)
        if joined is None:
            await _plain(send, 404, "No such event", [(b"cache-control", b"no-store")])
            return
        event_id, stream.start_seq = joined
        watcher = asyncio.ensure_future(_left(receive, stream))
        stream.writer = asyncio.current_task()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            # The hello and a reset carry no id: an EventSource reconnects with the id of the
            # last change it had, not the seq the hello announced before the replay.
            hello = encode_frame(protocol.hello(stream.start_seq))
            first = [f"retry: {RETRY_MS}\n".encode(), message(None, hello)]
            replay = await hub.catch_up(event_id, since, stream.start_seq)
            if replay is None:
                first.append(message(None, encode_frame(protocol.reset(stream.start_seq))))
            else:
                first += [message(json.loads(frame)["seq"], frame) for frame in replay]
            await send({"type": "http.response.body", "body": b"".join(first), "more_body": True})
            stream.ready = True
            for seq, frame in stream.early:
                stream.deliver(seq, frame)
            stream.early = []
            while stream.ending is None:
                await stream.wait(HEARTBEAT)
                chunk = b"".join(stream.outbox) if stream.outbox else b": heartbeat\n\n"
                stream.outbox = []
                if stream.ending is None or stream.ending == "gone":
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if stream.ending != "left":
                await send({"type": "http.response.body", "body": b""})
        except asyncio.CancelledError:
            if stream.ending != "slow":
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # ours, not the server's: the stream just ends here
        finally:
            watcher.cancel()
            await hub.leave(event_id, stream)


async def _left(receive: Any, stream: Stream) -> None:
    """Ends the stream when the client goes away (the server says so on `receive`)."""
    while True:
        if (await receive())["type"] == "http.disconnect":
            stream.end("left")
            return
