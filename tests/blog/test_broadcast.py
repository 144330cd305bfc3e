"""When a committed change is pushed: at once, or, inside a request, once its response has
been sent (PushAfterResponseMiddleware)."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.test import RequestFactory

from liveblog.blog import broadcast, services

pytestmark = pytest.mark.django_db(transaction=True)


def seqs(sent):
    return [json.loads(m["frame"])["seq"] for m in sent]


def test_outside_a_request_a_change_is_pushed_when_it_commits(event, reporter, sent):
    services.post_publish(event=event, author=reporter, body="at once")
    assert seqs(sent) == [1]


async def _through_middleware(view):
    """Run a sync view as Django does under ASGI: in a thread, behind the middleware."""
    middleware = broadcast.PushAfterResponseMiddleware(sync_to_async(view))
    return await middleware(RequestFactory().post("/"))


async def test_a_request_s_changes_are_pushed_once_its_response_is_sent(event, reporter, sent):
    def view(request):
        services.post_publish(event=event, author=reporter, body="one")
        services.post_publish(event=event, author=reporter, body="two")
        assert sent == [], "committed, but the response is not out yet"
        return HttpResponse(status=201)

    response = await _through_middleware(view)
    assert response.status_code == 201 and sent == []
    await sync_to_async(response.close)()  # what Django does once the response is sent
    assert seqs(sent) == [1, 2]
    sent.clear()
    await sync_to_async(services.post_publish)(event=event, author=reporter, body="after")
    assert seqs(sent) == [3], "outside the request again: at once"


async def test_a_request_that_fails_after_committing_still_pushes(event, reporter, sent):
    def view(request):
        services.post_publish(event=event, author=reporter, body="committed")
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        await _through_middleware(view)
    assert seqs(sent) == [1]


async def test_a_request_whose_client_left_still_pushes_what_its_view_commits(
    event, reporter, sent
):
    """The client goes away: Django cancels the request and never closes a response, but
    the view's thread runs on and commits."""
    started, finish = threading.Event(), threading.Event()

    def view(request):
        started.set()
        finish.wait(5)
        services.post_publish(event=event, author=reporter, body="committed after all")
        return HttpResponse(status=201)

    request = asyncio.ensure_future(_through_middleware(view))
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
