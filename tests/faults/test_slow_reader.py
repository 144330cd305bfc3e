"""A reader too slow to take its frames is cut loose before it costs the process memory,
and converges by reconnecting with `since` (SPEC §7; issue: channel over capacity)."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from liveblog.asgi import application
from liveblog.blog import services
from liveblog.live import consumer as consumers
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture
def live_event():
    event = EventFactory()
    return event, MembershipFactory(event=event, role="editor").user


def stalling(app, stalled: asyncio.Event):
    """The reader's socket stops taking frames after the hello: a phone in a tunnel."""

    async def wrapped(scope, receive, send):
        if b"stall" not in scope.get("query_string", b""):
            return await app(scope, receive, send)
        frames = 0

        async def slow_send(message):
            nonlocal frames
            if message["type"] == "websocket.send":
                frames += 1
                if frames > 1:
                    await stalled.wait()
            await send(message)

        return await app(scope, receive, slow_send)

    return wrapped


async def test_slow_reader_is_closed_then_converges_with_since(monkeypatch, live_event):
    event, author = live_event
    monkeypatch.setattr(consumers, "OUTBOX_LIMIT", 3)
    stalled = asyncio.Event()
    slow = WebsocketCommunicator(
        stalling(application, stalled),
        f"/ws/events/{event.slug}/?since=0&stall=1",
        headers=[ORIGIN],
    )
    assert (await slow.connect(timeout=5))[0]
    assert json.loads((await slow.receive_output(timeout=5))["text"])["type"] == "hello"

    publish = sync_to_async(services.post_publish)
    for i in range(10):
        await publish(event=event, author=author, body=f"entry {i}")

    received = []
    while True:
        output = await slow.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            assert output["code"] == consumers.CLOSE_TOO_SLOW
            break
        received.append(json.loads(output["text"])["seq"])
    stalled.set()

    last = received[-1] if received else 0
    again = WebsocketCommunicator(
        application, f"/ws/events/{event.slug}/?since={last}", headers=[ORIGIN]
    )
    assert (await again.connect(timeout=5))[0]
    hello = await again.receive_json_from(timeout=5)
    replay = [(await again.receive_json_from(timeout=5))["seq"] for _ in range(hello["seq"] - last)]
    await again.disconnect()
    assert received + replay == list(range(1, 11))
