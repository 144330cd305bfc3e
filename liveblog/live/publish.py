"""The only place that pushes to live readers (Zulip's send_event_on_commit idea).

A change is sent after its transaction commits, so a rolled-back change reaches nobody.
The frame is serialised once here; consumers forward the text as it is.
If the channel layer is down the change is still stored: readers converge through the
change log (the live hub's watch, `since` on reconnect, gap detection in the client).
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from asgiref.sync import async_to_sync, markcoroutinefunction, sync_to_async
from channels.layers import get_channel_layer
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from liveblog import metrics
from liveblog.live import history
from liveblog.live.protocol import group_for, live_message

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 2.0


@dataclass(frozen=True)
class _Push:
    """One committed change on its way to readers. Into the recent history first: a reader
    that gets the push and reconnects at once finds it there."""

    event_id: int
    stamp: int
    message: dict[str, Any]

    def now(self) -> None:
        """From a thread: a sync view outside a request, a command, a WSGI server."""
        history.record(self.event_id, self.stamp, self.message)
        send_now(group_for(self.event_id), self.message)

    async def out(self) -> None:
        """On the server's event loop: no thread waits on Redis."""
        await history.arecord(self.event_id, self.stamp, self.message)
        await _deliver(group_for(self.event_id), self.message)


class _Held:
    """The pushes of one request, held until its response is out; after that (or if the
    request ends without one), pushes go at once.

    Under an ASGI server they go out on its event loop (`loop`): released when the request's
    task ends (right after Django's ASGIHandler sent the response), they are started there
    as a task that the loop keeps (`_sending`), not awaited by the request; released from a
    thread instead (a response closed late), that thread hands them to the loop and waits.
    A push from the thread itself took ~3.5 ms: Redis from the thread, then a hop to the
    loop and back to publish. Without a loop (`loop` None: a WSGI server runs this
    middleware in a loop of its own that is gone by then) they go from the thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.pushes: list[_Push] = []
        self.open = True
        self.lock = threading.Lock()  # views run in threads; a cancelled one still commits

    def add(self, push: _Push) -> None:
        with self.lock:
            if self.open:
                self.pushes.append(push)
                return
        push.now()

    def release(self) -> None:
        """Send what was held (once: later calls find nothing). From the closing thread it
        returns when the loop has sent them; on the loop itself it only starts them."""
        with self.lock:
            self.open = False
            pushes, self.pushes = self.pushes, []
        if not pushes:
            return
        if self.loop is not None:
            sending = _push_all(pushes)
            try:
                future = asyncio.run_coroutine_threadsafe(sending, self.loop)
            except RuntimeError:  # the loop has closed: the server is going away
                sending.close()
            else:
                if not _running(self.loop):
                    _wait(future)
                return
        for push in pushes:
            try:
                push.now()
            except Exception:  # the change is stored; readers converge through the log
                logger.exception("live push failed")


def _running(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread is the one running `loop`."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _wait(future: "concurrent.futures.Future[None]") -> None:
    try:
        future.result(timeout=history.TIMEOUT + PUBLISH_TIMEOUT + 1)
    except concurrent.futures.TimeoutError:
        logger.warning("live pushes still going after %s s; not waiting longer", PUBLISH_TIMEOUT)
    except concurrent.futures.CancelledError:
        pass  # _push_all logged it


_sending: set["asyncio.Task[Any]"] = set()  # the loop keeps only weak references to tasks


async def _push_all(pushes: list[_Push]) -> None:
    task = asyncio.current_task()
    if task is not None:
        _sending.add(task)
    try:
        for push in pushes:  # in commit order
            try:
                await push.out()
            except Exception:  # the change is stored; readers converge through the log
                logger.exception("live push failed")
    except asyncio.CancelledError:
        seqs = [push.message["seq"] for push in pushes]
        logger.warning("live push of seqs %s cancelled; readers catch up from the log", seqs)
        raise
    finally:
        if task is not None:
            _sending.discard(task)


# The current request's held pushes (PushAfterResponseMiddleware); None outside a request.
_held: ContextVar[_Held | None] = ContextVar("liveblog_held", default=None)


class Published(Protocol):
    """What a push needs of the event (the domain's Event): no model is imported here."""

    pk: Any
    created_at: datetime


def send_change_on_commit(
    *, event: Published, payload: dict[str, Any], replaces: list[dict[str, Any]] | None = None
) -> None:
    """Push the change frame `payload` (protocol.change) once the transaction commits, with
    the earlier frames of its post as they are now told (`replaces`, protocol.retold) for
    the caches that keep frames to replay."""
    event_id, stamp = event.pk, history.stamp_of(event.created_at)

    def committed() -> None:
        message = live_message(event_id, payload, replaces)  # stamped at the commit
        push = _Push(event_id, stamp, message)
        held = _held.get()
        if held is None:
            push.now()
        else:
            held.add(push)

    transaction.on_commit(committed)


class PushAfterResponseMiddleware:
    """Changes that a request commits are pushed once its response has been sent.

    The push starts the fan-out at once, and on a busy machine the fan-out of a big crowd
    takes the CPU the reporter's own response still needed (publish p50 10 → 10,000
    readers: +5-30 % in bench/, all of it after the commit; bench/RESULTS.md, "Push after
    the response", 2026-11-26). Pushing when the response is out costs readers the time to
    send it (~1-2 ms for the API's small answers) and keeps publishing as fast with 10,000
    readers as with 10. The moment: under an ASGI server, the end of the request's task,
    which in Django's ASGIHandler is right after it sent the response; otherwise (a WSGI
    server, the test client) the response's public `close()`, which a WSGI server calls once
    the body is out (PEP 3333) and Django's ASGIHandler calls after the last body message
    too. tests/live/test_upgrade_guards.py pins all three.

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
        # An ASGIRequest comes from an ASGI server, whose loop outlives the request.
        served = isinstance(request, ASGIRequest)
        held = _Held(asyncio.get_running_loop() if served else None)
        token = _held.set(held)  # sync views run in a copy of this context: same object
        try:
            response = await self.get_response(request)
        except BaseException:
            if served:
                held.release()
            else:
                await sync_to_async(held.release, thread_sensitive=False)()
            raise
        finally:
            _held.reset(token)
        _after_close(response, held.release)
        if served:
            # Django may still be working on the request (logging an error response) when
            # the client goes away: the request task is then cancelled and the response
            # never closed. The task ends either way.
            task = asyncio.current_task()
            if task is not None:
                task.add_done_callback(lambda _: held.release())
        return response


def _after_close(response: HttpResponseBase, then: Callable[[], None]) -> None:
    """Call `then` when the response is closed, after what closing it does (its closers and
    the request_finished signal). Public API only: `close`, replaced on this one response
    (Django's WSGIHandler hooks a streamed file's `close` the same way), not Django's
    private `_resource_closers`."""
    close = response.close

    def closed() -> None:
        try:
            close()
        finally:
            then()

    response.close = closed  # type: ignore[method-assign]


async def _publish(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        # Bounded: a hung Redis must not hold the reporter's request.
        await asyncio.wait_for(layer.group_send(group, message), timeout=PUBLISH_TIMEOUT)


async def _deliver(group: str, message: dict[str, Any]) -> None:
    try:
        await _publish(group, message)
    except Exception:
        # The change is committed; never fail the reporter's request for the fast path.
        metrics.PUBLISH_FAILURES.inc()
        logger.warning("live push of seq %s to %s failed", message.get("seq"), group, exc_info=True)


def send_now(group: str, message: dict[str, Any]) -> None:
    async_to_sync(_deliver)(group, message)
