"""When a committed change is pushed: at once, or, inside a request, once its response has
been sent (PushAfterResponseMiddleware)."""

import json

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from liveblog.blog import broadcast, services

pytestmark = pytest.mark.django_db(transaction=True)


def seqs(sent):
    return [json.loads(m["frame"])["seq"] for m in sent]


def test_outside_a_request_a_change_is_pushed_when_it_commits(event, reporter, sent):
    services.post_publish(event=event, author=reporter, body="at once")
    assert seqs(sent) == [1]


def test_a_request_s_changes_are_pushed_once_its_response_is_sent(event, reporter, sent):
    def view(request):
        services.post_publish(event=event, author=reporter, body="one")
        services.post_publish(event=event, author=reporter, body="two")
        assert sent == [], "committed, but the response is not out yet"
        return HttpResponse(status=201)

    response = broadcast.PushAfterResponseMiddleware(view)(RequestFactory().post("/"))
    assert response.status_code == 201 and sent == []
    response.close()  # what the server does after sending the response
    assert seqs(sent) == [1, 2]
    sent.clear()
    services.post_publish(event=event, author=reporter, body="after the request")
    assert seqs(sent) == [3], "outside the request again: at once"


def test_a_request_that_fails_after_committing_still_pushes(event, reporter, sent):
    def view(request):
        services.post_publish(event=event, author=reporter, body="committed")
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        broadcast.PushAfterResponseMiddleware(view)(RequestFactory().post("/"))
    assert seqs(sent) == [1]


async def test_under_asgi_sync_views_hold_their_pushes_for_the_response(event, reporter, sent):
    from asgiref.sync import sync_to_async

    @sync_to_async
    def view(request):
        services.post_publish(event=event, author=reporter, body="from a thread")
        return HttpResponse(status=201)

    middleware = broadcast.PushAfterResponseMiddleware(view)
    response = await middleware(RequestFactory().post("/"))
    assert response.status_code == 201 and sent == []
    await sync_to_async(response.close)()
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
