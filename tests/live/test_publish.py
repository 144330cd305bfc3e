"""When a committed change is pushed: at once, or, inside a request, once its response has
been sent (PushAfterResponseMiddleware)."""

import asyncio
import json
import sys
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers import base as base_handler
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse
from django.test import AsyncRequestFactory, RequestFactory
from django.urls import include, path

from liveblog.blog import services
from liveblog.live import publish as live_publish

pytestmark = pytest.mark.django_db(transaction=True)


def seqs(sent):
    return [json.loads(m["frame"])["seq"] for m in sent]


def test_outside_a_request_a_change_is_pushed_when_it_commits(event, reporter, sent):
    services.post_publish(event=event, author=reporter, body="at once")
    assert seqs(sent) == [1]


# An ASGI server's request, whose pushes go out on the server's loop, and a WSGI server's
# (the middleware then runs in a loop of its own that is gone once the response is sent).
served = pytest.mark.parametrize("factory", [AsyncRequestFactory, RequestFactory])


async def _through_middleware(view, factory=AsyncRequestFactory):
    """Run a sync view as Django does: in a thread, behind the middleware."""
    middleware = live_publish.PushAfterResponseMiddleware(sync_to_async(view))
    return await middleware(factory().post("/"))


async def pushed(sent, count):
    """What was sent, once `count` messages were (a push on the loop is a task of its own)."""
    for _ in range(100):
        if len(sent) >= count:
            break
        await asyncio.sleep(0.02)
    return seqs(sent)


@served
async def test_a_request_s_changes_are_pushed_once_its_response_is_sent(
    event, reporter, sent, factory
):
    def view(request):
        services.post_publish(event=event, author=reporter, body="one")
        services.post_publish(event=event, author=reporter, body="two")
        assert sent == [], "committed, but the response is not out yet"
        return HttpResponse(status=201)

    response = await _through_middleware(view, factory)
    assert response.status_code == 201 and sent == []
    await asyncio.sleep(0.1)
    assert sent == [], "held until the response is out"
    await sync_to_async(response.close)()  # what Django does once the response is sent
    assert seqs(sent) == [1, 2], "the closing thread returns once they are out"
    sent.clear()
    await sync_to_async(services.post_publish)(event=event, author=reporter, body="after")
    assert seqs(sent) == [3], "outside the request again: at once"


@served
async def test_a_request_that_fails_after_committing_still_pushes(event, reporter, sent, factory):
    def view(request):
        services.post_publish(event=event, author=reporter, body="committed")
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        await _through_middleware(view, factory)
    assert await pushed(sent, 1) == [1]


@served
async def test_a_request_whose_client_left_still_pushes_what_its_view_commits(
    event, reporter, sent, factory
):
    """The client goes away: Django cancels the request and never closes a response, but
    the view's thread runs on and commits."""
    started, finish = threading.Event(), threading.Event()

    def view(request):
        started.set()
        finish.wait(5)
        services.post_publish(event=event, author=reporter, body="committed after all")
        return HttpResponse(status=201)

    request = asyncio.ensure_future(_through_middleware(view, factory))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert sent == []
    finish.set()
    for _ in range(100):  # the view's thread commits and pushes on its own
        if sent:
            break
        await asyncio.sleep(0.05)
    assert seqs(sent) == [1]


def test_the_api_pushes_what_it_publishes(event, editor, sent, client):
    token = services.token_issue(user=editor, name="t")
    response = client.post(
        f"/api/v1/events/{event.slug}/posts/",
        {"body": "through the API"},
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    assert seqs(sent) == [1]  # the test client closes the response, as a server does


async def test_an_asgi_request_s_pushes_go_out_on_the_server_s_loop(event, reporter, monkeypatch):
    """Not from the thread that closes the response: it only hands them over."""
    loop_thread = threading.get_ident()
    published, kept = [], []

    async def publish(group, message):
        published.append((threading.get_ident(), json.loads(message["frame"])["seq"]))

    async def record(event_id, stamp, message):
        seq = message["seq"]
        kept.append(seq)
        assert not published or published[-1][1] < seq, "into the history before the push"

    monkeypatch.setattr(live_publish, "_publish", publish)
    monkeypatch.setattr(live_publish.history, "arecord", record)

    def view(request):
        for body in ("one", "two", "three"):
            services.post_publish(event=event, author=reporter, body=body)
        return HttpResponse(status=201)

    response = await _through_middleware(view)
    await sync_to_async(response.close)()
    for _ in range(100):
        if len(published) == 3:
            break
        await asyncio.sleep(0.02)
    assert published == [(loop_thread, 1), (loop_thread, 2), (loop_thread, 3)]
    assert kept == [1, 2, 3]


# A URLconf of this module's own, to go through Django's whole ASGI handler.
_view = None


def _dispatch(request):
    return _view(request)


urlpatterns = [path("through-django", _dispatch), path("", include("liveblog.urls"))]


async def test_a_client_that_leaves_while_django_logs_an_error_still_gets_pushes_out(
    event, reporter, sent, settings, monkeypatch
):
    """The view committed and answered 500; Django is still logging that (in a thread) when
    the client goes away: the request task is cancelled and the response is never closed."""

    def view(request):
        services.post_publish(event=event, author=reporter, body="committed")
        return HttpResponse(status=500)

    def slow_log(*args, **kwargs):
        time.sleep(0.3)

    settings.ROOT_URLCONF = __name__
    monkeypatch.setattr(sys.modules[__name__], "_view", view)
    monkeypatch.setattr(base_handler, "log_response", slow_log)
    messages = [{"type": "http.request", "body": b""}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(0.15)
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    scope = {
        "type": "http", "method": "GET", "path": "/through-django", "query_string": b"",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }  # fmt: skip
    await ASGIHandler()(scope, receive, send)
    assert await pushed(sent, 1) == [1]


async def test_pushes_cut_short_by_a_stopping_server_are_logged(monkeypatch, caplog):
    async def hung(group, message):
        await asyncio.sleep(60)

    async def record(*args):
        pass

    monkeypatch.setattr(live_publish, "_publish", hung)
    monkeypatch.setattr(live_publish.history, "arecord", record)
    held = live_publish._Held(asyncio.get_running_loop())
    held.add(live_publish._Push(1, 1, {"seq": 7, "frame": "{}"}))
    held.release()  # on the loop: starts them, does not wait
    await asyncio.sleep(0.05)
    (task,) = live_publish._sending
    task.cancel()  # what asyncio.run does with what is left when a server stops
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "seqs [7] cancelled" in caplog.text
