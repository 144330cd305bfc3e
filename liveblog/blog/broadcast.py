"""The only place that pushes to live readers (Zulip's send_event_on_commit idea).

A change is sent after its transaction commits, so a rolled-back change reaches nobody.
The frame is serialised once here; consumers forward the text as it is.
If the channel layer is down the change is still stored: readers converge through the
change log (the live hub's watch, `since` on reconnect, gap detection in the client).
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from liveblog import metrics
from liveblog.blog import history

logger = logging.getLogger(__name__)

LIVE_MESSAGE_TYPE = "live.change"
PUBLISH_TIMEOUT = 2.0


def group_for(event_id: int) -> str:
    return f"event.{event_id}"


def encode_frame(payload: dict[str, Any]) -> str:
    """The one text encoding of a live frame (SPEC §7), shared by every path to readers."""
    return json.dumps(payload, separators=(",", ":"))


def live_message(event_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": LIVE_MESSAGE_TYPE,
        "event": event_id,
        "seq": payload["seq"],
        "at": time.time(),  # the commit, for the publish-to-send latency metric
        "frame": encode_frame(payload),
    }


# Pushes held back until the current request's response has been sent (see
# PushAfterResponseMiddleware); None outside a request: push at once.
_held: ContextVar[list[Callable[[], None]] | None] = ContextVar("liveblog_held", default=None)


def send_change_on_commit(*, event_id: int, stamp: int, payload: dict[str, Any]) -> None:
    """`stamp`: the event's history stamp (`history.stamp_of(event.created_at)`)."""

    def committed() -> None:
        message = live_message(event_id, payload)  # stamped at the commit
        push = partial(_push, event_id, stamp, message)
        held = _held.get()
        if held is None:
            push()
        else:
            held.append(push)

    transaction.on_commit(committed)


def _push(event_id: int, stamp: int, message: dict[str, Any]) -> None:
    # Into the recent history first: a reader that gets the push and reconnects at once
    # finds it there.
    history.record(event_id, stamp, message["seq"], message["frame"])
    send_now(group_for(event_id), message)


def _push_all(pushes: list[Callable[[], None]]) -> None:
    while pushes:
        pushes.pop(0)()


class PushAfterResponseMiddleware:
    """Changes that a request commits are pushed once its response has been sent.

    The push starts the fan-out at once, and on a busy machine the fan-out of a big crowd
    takes the CPU the reporter's own response still needed (publish p50 10 → 10,000
    readers: +15-30 % in bench/, all of it after the commit). Pushing when the response is
    out costs readers the time to send it (~1 ms) and keeps publishing as fast with 10,000
    readers as with 10. Django closes a response after sending it, in ASGI and WSGI alike;
    its `_resource_closers` run then (Django uses them for file responses). If the request
    fails before it has a response, what it committed is pushed at once.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        held: list[Callable[[], None]] = []
        token = _held.set(held)
        try:
            response = self.get_response(request)
        except BaseException:
            _push_all(held)
            raise
        finally:
            _held.reset(token)
        return self._after(response, held)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        held: list[Callable[[], None]] = []
        token = _held.set(held)  # sync views run in a copy of this context: same list
        try:
            response = await self.get_response(request)
        except BaseException:
            await sync_to_async(_push_all)(held)
            raise
        finally:
            _held.reset(token)
        return self._after(response, held)

    @staticmethod
    def _after(response: HttpResponseBase, held: list[Callable[[], None]]) -> HttpResponseBase:
        if held:
            response._resource_closers.append(partial(_push_all, held))  # type: ignore[attr-defined]
        return response


async def _publish(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        # Bounded: a hung Redis must not hold the reporter's request.
        await asyncio.wait_for(layer.group_send(group, message), timeout=PUBLISH_TIMEOUT)


def send_now(group: str, message: dict[str, Any]) -> None:
    try:
        async_to_sync(_publish)(group, message)
    except Exception:
        # The change is committed; never fail the reporter's request for the fast path.
        metrics.PUBLISH_FAILURES.inc()
        logger.warning("live push of seq %s to %s failed", message.get("seq"), group, exc_info=True)
