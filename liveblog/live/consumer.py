"""The live connection of a reader (SPEC §7). Thin and read-only: find the event, register
with this process's hub, say hello, replay what the reader missed, then forward frames.

Ordering argument: the reader registers with the hub *before* the hub tells it the seq H it
starts from. Every change above H reaches the hub after registration (through the layer, or
the hub's watch over the change log); every change up to H is in history or the log and is
replayed. Frames at or below H are dropped, so the boundary has neither gap nor duplicate.
The client orders, de-duplicates and fills gaps by seq for everything after that.

A reader too slow to take its frames (its outbox full) is closed with CLOSE_TOO_SLOW; the
client reconnects with `since` and catches up from history instead of growing our memory.

Three parts replace Channels' own machinery, each kept for what it measurably saves over the
documented path (Channels' AsyncConsumer.__call__, dispatch and websocket_disconnect, and a
writer task per frame that awaits `self.send`). Measured 2026-12-01 on 2 shared vCPUs, one
uvicorn (websockets-sansio) process, N = 2,000 and 5,000 readers, medians of 5 alternating
runs of the documented consumer with one part put back at a time (bench/consumers.py;
figures in bench/RESULTS.md, "The consumer's three overrides"):

    python -m bench --only fanout --sizes 2000,5000 --storm-spread 0 --no-fresh-storm \
        --extra '' --posts 10 --baseline-posts 5 --storm-posts 2 --servers \
        uvicorn-sansio:ours,uvicorn-sansio:documented,uvicorn-sansio:documented+own-loop,\
        uvicorn-sansio:documented+no-db-hop,uvicorn-sansio:documented+stepped-send

tests/live/test_upgrade_guards.py pins the Channels code each part copies or skips: a Channels
upgrade that changes it fails there, saying what to re-read and re-measure.

A fourth part bypasses the server's own send for most frames: under uvicorn's
websockets-sansio protocol (production), a frame its send would write at once is serialised
once per change and written straight to each reader's transport, as websockets' broadcast
does for the floor (_send_now; figures there). tests/live/test_upgrade_guards.py pins the
uvicorn and websockets code it mirrors, tests/live/test_wire.py that the bytes are the same.
"""

import asyncio
import logging
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from liveblog import metrics
from liveblog.live import protocol
from liveblog.live.hub import Hub, current_hub
from liveblog.live.protocol import encode_frame

try:  # the production server's WebSocket protocol (deploy/README.md: --ws websockets-sansio)
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.frames import Frame, Opcode
    from websockets.protocol import State
except ImportError:  # pragma: no cover  # another server: every frame takes Channels' send
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_SLOW = 4008
OUTBOX_LIMIT = 256


class _Resumed:
    """Awaits a coroutine that has already run up to its first suspension (`pending`, what
    it yielded), forwarding results, errors and cancellation to it as a task would."""

    def __init__(self, coro: Any, pending: Any) -> None:
        self.coro, self.pending = coro, pending

    def __await__(self) -> Any:
        pending = self.pending
        while True:
            try:
                yield pending
            except BaseException as exc:
                try:
                    pending = self.coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = self.coro.send(None)
                except StopIteration as stop:
                    return stop.value


_wire_of: list[Any] = [None, b""]  # the last frame handed to _wire, and its bytes


def _wire(frame: str) -> bytes:
    """The frame as uvicorn's websockets-sansio protocol writes it on a socket without
    compression: one final, unmasked text frame, the same bytes for every reader. The hub
    hands every reader of a change the same str, so this serialises it once per change
    (websockets' own Frame.serialize, what uvicorn's send calls once per reader)."""
    if _wire_of[0] is not frame:
        _wire_of[1] = Frame(Opcode.TEXT, frame.encode()).serialize(mask=False, extensions=[])
        _wire_of[0] = frame
    return _wire_of[1]


def _writes_now(socket: Any) -> bool:
    """Whether uvicorn's WebSocketsSansIOProtocol.send, given {"type": "websocket.send",
    "text": ...} now, would write the frame to the transport at once and nothing else: its
    `writable` is set (it would not wait), the handshake is done and no close was sent or
    received, the connection is open with no fragmented message and no extension (so the
    bytes are _wire's). tests/live/test_upgrade_guards.py pins that send."""
    conn = socket.conn
    return bool(
        socket.writable.is_set()
        and socket.handshake_complete
        and not socket.close_sent
        and not socket.disconnected
        and socket.initial_response is None
        and conn.state is State.OPEN
        and not conn.extensions
        and not conn.expect_continuation_frame
        and not socket.transport.is_closing()
    )


class EventConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per reader: the hub subscribes once per event per process.
    channel_layer_alias = "liveblog.no-per-reader-channel"

    # Class-level defaults, and containers created only when needed: ten thousand idle
    # readers per process are mostly this object, so every attribute counts (bench/).
    groups: tuple[str, ...] = ()  # none: Channels would otherwise give each reader a list
    hub: Hub | None = None
    event_id: int | None = None
    start_seq = 0
    ready = False
    early: list[tuple[int, str]] | None = None  # frames that came while connecting
    outbox: deque[str] | None = None  # frames waiting for the socket
    writer: asyncio.Task[None] | None = None  # exists only while frames wait
    closer: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' AsyncConsumer.__call__, for a consumer with no channel-layer channel
        (what it sets up is what Channels' sets up, minus the channel): it reads only the
        client's socket, so it awaits it directly instead of racing a receive task per source
        with asyncio.wait in await_many_dispatch. That task and its waiters cost every idle
        reader 3.3 KiB: 25.3 → 22.0 KiB per idle reader at N = 2,000, 25.6 → 22.4 at 5,000
        (-13 %; no effect on CPU or storms. Module docstring: how measured, how to rerun)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' AsyncConsumer.dispatch minus its hop to the sync thread before every
        handler to close stale database connections: this consumer reads the database only
        through the hub's database_sync_to_async, which does that itself. A reconnect storm
        is thousands of connects and disconnects, and that hop serialises them on one
        thread. With the hop (here and in websocket_disconnect), 2,000 readers dropped and
        back at once all had their hello after 3.0 s and cost the server 1.9 s of CPU;
        without, 1.55 s and 1.0 s (N = 5,000: 7.8 → 6.0 s, 6.2 → 3.3 s of CPU; module
        docstring: how measured, how to rerun)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        try:
            since = protocol.parse_since(self.scope.get("query_string", b""))
        except ValueError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        hub = current_hub()
        event_id = await self._join(hub, self.scope["url_route"]["kwargs"]["slug"])
        if event_id is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept()
        await self._send_json(protocol.hello(self.start_seq))
        replay = await hub.catch_up(event_id, since, self.start_seq)
        if replay is None:
            await self._send_json(protocol.reset(self.start_seq))
        else:
            for frame in replay:
                await self.send(text_data=frame)
        self.ready = True
        early, self.early = self.early, None
        for seq, frame in early or ():
            self.deliver(seq, frame)

    async def _join(self, hub: Hub, slug: str) -> int | None:
        """Register with the hub; the event's id, or None if there is no such event."""
        joined = await hub.join_slug(slug, self)
        if joined is None:
            return None
        (self.event_id, self.start_seq), self.hub = joined, hub
        return self.event_id

    def deliver(self, seq: int, frame: str) -> None:
        """Called by the hub for every change of the event; must not block."""
        if not self.ready:
            if self.early is None:
                self.early = []
            self.early.append((seq, frame))
        elif seq > self.start_seq:
            if self.writer is None:  # nothing waiting: the outbox is empty too
                self._send_now(frame)
                return
            if self.outbox is None:
                self.outbox = deque()
            if len(self.outbox) >= OUTBOX_LIMIT:
                self.ready = False
                logger.info("reader too slow at seq %s; closing for catch-up", seq)
                metrics.TOO_SLOW.inc()
                self.closer = asyncio.create_task(self._close_too_slow())
                return
            self.outbox.append(frame)  # the writer drains it after its current send

    def gone(self) -> None:
        """Called by the hub when the event was deleted: as for an unknown event. (A reader
        still connecting is left to the next tick; one already closing is left alone.)"""
        if not self.ready or self.closer is not None:
            return
        self.ready = False
        self.closer = asyncio.create_task(self.close(code=CLOSE_NOT_FOUND))

    def _send_now(self, frame: str) -> None:
        """Write the frame at once when the socket takes it without waiting (nearly always),
        with no task per reader per change: the send is stepped here and becomes a task
        only if it suspends (the transport's buffer is full). Python 3.12's eager tasks do
        the same; this is the 3.11 form of it. It writes to `base_send` what Channels'
        `send(text_data=…)` would. Against a writer task per frame awaiting `self.send`:
        server CPU per 1,000 deliveries 0.029 → 0.015 s at N = 2,000 and 0.039 → 0.018 s
        at 5,000, delivery p99 275 → 78 ms and 711 → 256 ms (module docstring: how
        measured, how to rerun).

        Under uvicorn's websockets-sansio protocol (production), a frame its send would
        write at once is written here straight to the transport, serialised once per change
        (_wire) instead of encoded, framed and joined once per reader behind a coroutine per
        reader; anything else (a full buffer, a closing socket, compression, another
        server) takes the stepped send above. Measured 2026-12-02 on 2 shared vCPUs,
        N = 2,000, 15 changes of 2.7 KB injected into the channel layer, server CPU per
        1,000 deliveries (user + system): 17.3 / 17.3 / 19.3 ms before, 15.7 / 19.0 / 14.7
        after, the floor 10.7 to 13.7 in the same runs; the Python part alone (transport.write
        a no-op, 2,000 uvicorn protocols in one process) 2.7 → 0.8 µs a delivery, the
        floor's broadcast 1.5. `python -m bench --only fanout --sizes 1000,2000 --servers
        floor,uvicorn-sansio:ours,uvicorn-sansio:uvicorn-send --extra '' --no-storm`
        compares it with the consumer before it (bench/consumers.py)."""
        socket = getattr(self.base_send, "__self__", None)
        if type(socket) is WebSocketsSansIOProtocol and _writes_now(socket):
            socket.transport.write(_wire(frame))
            return
        send = self.base_send({"type": "websocket.send", "text": frame})
        try:
            pending = send.send(None)
        except StopIteration:
            return
        except Exception:
            logger.debug("reader socket gone while sending", exc_info=True)
            return
        self.writer = asyncio.ensure_future(self._finish(send, pending))

    async def _finish(self, send: Any, pending: Any) -> None:
        """The writer: finish the suspended send, then drain what queued behind it."""
        try:
            await _Resumed(send, pending)
            while self.outbox:
                await self.send(text_data=self.outbox.popleft())
        finally:
            self.writer = None
            if not self.outbox:
                self.outbox = None

    async def _close_too_slow(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
        await self.close(code=CLOSE_TOO_SLOW)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        # Channels' version also hops to the sync thread to close database connections;
        # this consumer holds none (see dispatch, and the storm figures there), and a storm
        # is thousands of disconnects. `groups` is empty, so it discards no group either.
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code: int) -> None:
        self.ready = False
        if self.writer is not None:
            self.writer.cancel()
        if self.hub is not None and self.event_id is not None:
            await self.hub.leave(self.event_id, self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Readers are read-only; anything they send is ignored."""

    async def _send_json(self, data: dict[str, Any]) -> None:
        await self.send(text_data=encode_frame(data))
