"""The live protocol (SPEC §7) over the real Redis channel layer and PostgreSQL."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from liveblog.asgi import application
from liveblog.blog import services
from tests.factories import EventFactory, MembershipFactory
from tests.live.client import ORIGIN, connect, publish

pytestmark = pytest.mark.django_db(transaction=True)


def test_tests_use_the_redis_channel_layer():
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis.")


async def test_hello_then_live_post_with_fragment(live_event):
    event, author = live_event
    reader = await connect(event.slug)
    assert await reader.receive_json_from(timeout=5) == {"type": "hello", "seq": 0}
    post = await publish(event, author, "The conference **opens**.")
    frame = await reader.receive_json_from(timeout=5)
    assert frame["type"] == "post.created" and frame["seq"] == 1
    assert frame["post"]["id"] == post.pk
    assert frame["post"]["author"]["username"] == author.username
    assert f'id="post-{post.pk}"' in frame["html"] and "<strong>opens</strong>" in frame["html"]
    await reader.disconnect()


async def test_catch_up_replays_missed_changes_then_goes_live(live_event):
    event, author = live_event
    first = await publish(event, author, "one")
    await publish(event, author, "two")
    await sync_to_async(services.post_update)(actor=author, post=first, changes={"body": "1"})
    reader = await connect(event.slug, "since=1")
    assert await reader.receive_json_from(timeout=5) == {"type": "hello", "seq": 3}
    replay = [await reader.receive_json_from(timeout=5) for _ in range(2)]
    assert [(f["type"], f["seq"]) for f in replay] == [("post.created", 2), ("post.updated", 3)]
    await publish(event, author, "four")
    live = await reader.receive_json_from(timeout=5)
    assert live["seq"] == 4
    assert await reader.receive_nothing(timeout=0.3)
    await reader.disconnect()


async def test_since_ahead_of_event_gets_reset(live_event):
    event, _author = live_event
    reader = await connect(event.slug, "since=99")
    assert (await reader.receive_json_from(timeout=5))["type"] == "hello"
    assert (await reader.receive_json_from(timeout=5))["type"] == "reset"
    await reader.disconnect()


async def test_too_many_missing_changes_gets_reset(live_event, settings):
    settings.LIVEBLOG_CATCHUP_LIMIT = 2
    event, author = live_event
    for i in range(4):
        await publish(event, author, f"entry {i}")
    reader = await connect(event.slug, "since=0")
    assert (await reader.receive_json_from(timeout=5))["seq"] == 4
    assert (await reader.receive_json_from(timeout=5))["type"] == "reset"
    await reader.disconnect()


async def test_drafts_are_never_sent(live_event):
    event, author = live_event
    reader = await connect(event.slug)
    await reader.receive_json_from(timeout=5)
    await sync_to_async(services.post_publish)(
        event=event, author=author, body="secret", status="draft"
    )
    assert await reader.receive_nothing(timeout=0.5)
    await reader.disconnect()


async def test_unknown_event_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/events/nope/", headers=[ORIGIN])
    connected, code = await communicator.connect(timeout=5)
    assert not connected and code == 4404


async def test_bad_since_is_refused(live_event):
    event, _ = live_event
    communicator = WebsocketCommunicator(
        application, f"/ws/events/{event.slug}/?since=abc", headers=[ORIGIN]
    )
    connected, code = await communicator.connect(timeout=5)
    assert not connected and code == 4400


async def test_foreign_origin_is_refused(live_event):
    event, _ = live_event
    communicator = WebsocketCommunicator(
        application, f"/ws/events/{event.slug}/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


@pytest.mark.parametrize("headers", [[], [(b"origin", b"http://[localhost")]])
async def test_a_socket_without_a_readable_origin_is_refused(live_event, headers):
    """No Origin (not a browser's page: refused, as Channels' origin check does), or one
    that does not parse as a URL."""
    event, _ = live_event
    communicator = WebsocketCommunicator(application, f"/ws/events/{event.slug}/", headers)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_readers_messages_are_ignored(live_event):
    event, _ = live_event
    reader = await connect(event.slug)
    await reader.receive_json_from(timeout=5)
    await reader.send_to(text_data='{"type": "post.created"}')
    assert await reader.receive_nothing(timeout=0.3)
    await reader.disconnect()


async def test_idle_reader_still_receives_after_more_than_ten_seconds(live_event):
    """redis-py 8's 5 s socket_timeout must not drop idle subscribers (channels_redis#422)."""
    event, author = live_event
    reader = await connect(event.slug)
    await reader.receive_json_from(timeout=5)
    await asyncio.sleep(11)
    await publish(event, author, "after the lull")
    frame = await reader.receive_json_from(timeout=5)
    assert frame["type"] == "post.created"
    await reader.disconnect()


async def test_every_reader_sees_every_change_in_order(live_event):
    event, author = live_event
    readers = [await connect(event.slug) for _ in range(5)]
    for reader in readers:
        await reader.receive_json_from(timeout=5)
    for i in range(10):
        await publish(event, author, f"entry {i}")
    for reader in readers:
        seqs = [(await reader.receive_json_from(timeout=5))["seq"] for _ in range(10)]
        assert seqs == list(range(1, 11))
        await reader.disconnect()


async def test_readers_of_a_deleted_event_are_closed_as_for_an_unknown_event(live_event):
    event, _ = live_event
    reader = await connect(event.slug)
    await reader.receive_json_from(timeout=5)
    await sync_to_async(event.delete)()
    closed = await reader.receive_output(timeout=5)  # the hub's next watch tick (1 s)
    assert closed == {"type": "websocket.close", "code": 4404}


async def test_a_slug_taken_by_a_new_event_reaches_the_new_event(live_event):
    """The hub remembers which event a slug names; a deleted event's slug may be reused."""
    old, _ = live_event
    reader = await connect(old.slug)
    assert (await reader.receive_json_from(timeout=5))["seq"] == 0
    await reader.disconnect()
    await sync_to_async(old.delete)()
    new = await sync_to_async(EventFactory)(slug=old.slug)
    author = (await sync_to_async(MembershipFactory)(event=new, role="editor")).user
    await publish(new, author, "first of the new event")
    reader = await connect(old.slug)
    assert await reader.receive_json_from(timeout=5) == {"type": "hello", "seq": 1}
    await publish(new, author, "second")
    assert (await reader.receive_json_from(timeout=5))["seq"] == 2
    await reader.disconnect()
