"""The only place that pushes to live readers (Zulip's send_event_on_commit idea).

A change is sent after its transaction commits, so a rolled-back change reaches nobody.
The frame is serialised once here; consumers forward the text as it is.
If the channel layer is down the change is still stored: readers converge through the
change log (the live hub's watch, `since` on reconnect, gap detection in the client).
"""

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync, markcoroutinefunction, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from liveblog import metrics
from liveblog.blog import history
from liveblog.blog.models import Event

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


class _Held:
    """The pushes of one request, held until its response is out; after that (or if the
    request ends without one), pushes go at once."""

    def __init__(self) -> None:
        self.pushes: list[Callable[[], None]] = []
        self.open = True
        self.lock = threading.Lock()  # views run in threads; a cancelled one still commits

    def add(self, push: Callable[[], None]) -> None:
        with self.lock:
            if self.open:
                self.pushes.append(push)
                return
        push()

    def release(self) -> None:
        with self.lock:
            self.open = False
            pushes, self.pushes = self.pushes, []
        for push in pushes:
            try:
                push()
            except Exception:  # the change is stored; readers converge through the log
                logger.exception("live push failed")


# The current request's held pushes (PushAfterResponseMiddleware); None outside a request.
_held: ContextVar[_Held | None] = ContextVar("liveblog_held", default=None)


def send_change_on_commit(*, event: Event, payload: dict[str, Any]) -> None:
    event_id, stamp = event.pk, history.stamp_of(event.created_at)

    def committed() -> None:
        message = live_message(event_id, payload)  # stamped at the commit
        push = partial(_push, event_id, stamp, message)
        held = _held.get()
        if held is None:
            push()
        else:
            held.add(push)

    transaction.on_commit(committed)


def _push(event_id: int, stamp: int, message: dict[str, Any]) -> None:
    # Into the recent history first: a reader that gets the push and reconnects at once
    # finds it there.
    history.record(event_id, stamp, message["seq"], message["frame"])
    send_now(group_for(event_id), message)


class PushAfterResponseMiddleware:
    """Changes that a request commits are pushed once its response has been sent.

    The push starts the fan-out at once, and on a busy machine the fan-out of a big crowd
    takes the CPU the reporter's own response still needed (publish p50 10 → 10,000
    readers: +5-30 % in bench/, all of it after the commit). Pushing when the response is
    out costs readers the time to send it (~1-2 ms for the API's small answers) and keeps
    publishing as fast with 10,000 readers as with 10. Django closes a response once it has
    sent it, and `_resource_closers` run then (Django uses them for file responses).

    Async only, so that it sees the request task end: a client that goes away mid-request
    cancels it, and Django then never closes the response. What was committed is pushed
    then, and whatever the view (still running in its thread) commits later goes at once.
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        held = _Held()
        token = _held.set(held)  # sync views run in a copy of this context: same object
        try:
            response = await self.get_response(request)
        except BaseException:
            await sync_to_async(held.release, thread_sensitive=False)()
            raise
        finally:
            _held.reset(token)
        response._resource_closers.append(held.release)
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
