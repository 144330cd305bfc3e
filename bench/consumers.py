"""Variants of the reader consumer, to measure what each reach into Channels' internals buys.

`python -m bench --servers uvicorn-sansio,uvicorn-sansio:documented …` serves the readers with
the variant named after the colon (bench/servers.py passes it as BENCH_CONSUMER, and
bench/asgi.py routes /ws/events/ to it). Each variant is liveblog.live.consumer.EventConsumer
with some of its parts replaced by the forms below, so every figure in a comparison comes from
the same consumer but for the parts compared:

- loop: Channels' documented `AsyncConsumer.__call__` (a receive task per reader raced by
  `await_many_dispatch`) or the own loop that awaits the socket's `receive()` directly;
- db-hop: Channels' `dispatch`/`websocket_disconnect` (a hop to the sync thread to close old
  database connections before every handler and after a disconnect) or without that hop;
- send: a writer task per reader per frame that `await self.send(...)`s (documented), or the
  send stepped by hand, becoming a task only when the socket's buffer is full;
- write: under uvicorn's websockets-sansio protocol, the frame serialised once per change and
  written straight to each reader's transport when uvicorn's send would write it at once
  (ours), or every frame through uvicorn's send, stepped by hand (`uvicorn-send`).
"""

import asyncio
import logging
from collections import deque
from typing import Any

from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from liveblog.live.consumer import EventConsumer

logger = logging.getLogger(__name__)


# --- the documented forms -------------------------------------------------------------------


class DocumentedLoop:
    __call__ = AsyncConsumer.__call__


class DocumentedDispatch:
    dispatch = AsyncConsumer.dispatch
    websocket_disconnect = AsyncWebsocketConsumer.websocket_disconnect


class TaskSend:
    """A frame for an idle socket starts a writer task that drains the outbox with the
    documented `send`; frames that come meanwhile queue behind it (order and the outbox limit
    as in EventConsumer)."""

    outbox: deque[str] | None
    writer: asyncio.Task[None] | None

    def _send_now(self, frame: str) -> None:
        self.outbox = deque([frame])
        self.writer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.outbox:
                await self.send(text_data=self.outbox.popleft())  # type: ignore[attr-defined]
        except Exception:
            logger.debug("reader socket gone while sending", exc_info=True)
        finally:
            self.writer = None
            if not self.outbox:
                self.outbox = None


# --- the forms that reach into Channels -----------------------------------------------------


class OwnLoop:
    async def __call__(self: Any, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass


class NoDbHop:
    async def dispatch(self: Any, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self: Any, message: dict[str, Any]) -> None:
        await self.disconnect(message["code"])
        raise StopConsumer()


class _Resumed:
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


class SteppedSend:
    outbox: deque[str] | None
    writer: asyncio.Task[None] | None
    base_send: Any

    def _send_now(self, frame: str) -> None:
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
        try:
            await _Resumed(send, pending)
            while self.outbox:
                await self.send(text_data=self.outbox.popleft())  # type: ignore[attr-defined]
        finally:
            self.writer = None
            if not self.outbox:
                self.outbox = None


def _variant(name: str, *parts: type) -> type[EventConsumer]:
    return type(name, (*parts, EventConsumer), {})


VARIANTS: dict[str, type[EventConsumer]] = {
    "ours": EventConsumer,  # the consumer as it is in liveblog/live/consumer.py
    "documented": _variant("Documented", DocumentedLoop, DocumentedDispatch, TaskSend),
    "documented+own-loop": _variant("OwnLoop", OwnLoop, DocumentedDispatch, TaskSend),
    "documented+no-db-hop": _variant("NoDbHop", DocumentedLoop, NoDbHop, TaskSend),
    "documented+stepped-send": _variant(
        "SteppedSend", DocumentedLoop, DocumentedDispatch, SteppedSend
    ),
    "all-private": _variant("AllPrivate", OwnLoop, NoDbHop, SteppedSend),
    # ours, but every frame through uvicorn's send (the consumer before the direct write)
    "uvicorn-send": _variant("UvicornSend", SteppedSend),
}
