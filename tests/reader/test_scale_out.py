"""Several ASGI processes share PostgreSQL and Redis (SPEC §8): a reader connected to one
sees what is published through another."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from liveblog.blog.models import ApiToken
from tests.api import openapi
from tests.factories import EventFactory, MembershipFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def api_post(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        openapi.check_urllib("POST", url, response, raw)
        assert response.status == 201
        return json.loads(raw)


async def next_frame(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


def test_reader_on_one_process_sees_posts_published_through_another():
    event = EventFactory()
    author = MembershipFactory(event=event, role="editor").user
    _token, key = ApiToken.issue(user=author)

    with asgi_servers(2) as (a, b):

        async def scenario() -> list[dict]:
            origin = {"Origin": a.url}
            async with websockets.connect(
                f"{a.ws}/ws/events/{event.slug}/", additional_headers=origin
            ) as ws:
                assert await next_frame(ws) == {"type": "hello", "seq": 0}
                created = await asyncio.to_thread(
                    api_post, f"{b.url}/api/v1/events/{event.slug}/posts/", key, {"body": "Hi"}
                )
                frame = await next_frame(ws)
                assert frame["post"]["id"] == created["id"]
                return [frame]

        [frame] = asyncio.run(scenario())
    assert frame["type"] == "post.created" and frame["seq"] == 1
