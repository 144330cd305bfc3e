"""The recent history in Redis (liveblog/live/history.py) and the live hub's use of it:
a process with no memory of an event replays a reader's gap from Redis, not PostgreSQL."""

import json

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.test import AsyncClient
from prometheus_client import REGISTRY

from liveblog.blog import services
from liveblog.blog.models import Change
from liveblog.live import history
from liveblog.live import hub as hub_module
from liveblog.live import publish as live_publish
from tests.live.client import connect, publish, publish_now
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history_client():
    history._client.cache_clear()
    yield
    history._client.cache_clear()


def kept(event) -> list[tuple[int, dict]]:
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    key = history.key_for(event.pk, history.stamp_of(event.created_at))
    rows = client.zrange(key, 0, -1, withscores=True)
    client.close()
    return [(int(score), json.loads(member)) for member, score in rows]


def logged(event) -> list[tuple[int, dict]]:
    return [(c.seq, c.payload) for c in Change.objects.filter(event=event).order_by("seq")]


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _no_log_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the change log was read")

    monkeypatch.setattr(hub_module, "_changes", sync_to_async(refuse))


def test_every_committed_change_is_kept_as_its_live_frame_up_to_the_limit(live_event, settings):
    settings.LIVEBLOG_CATCHUP_LIMIT = 3
    event, author = live_event
    posts = [publish_now(event, author, f"entry {i}") for i in range(5)]
    services.post_update(actor=author, post=posts[0], changes={"body": "corrected"})
    services.post_delete(actor=author, post=posts[1])
    assert [seq for seq, _ in kept(event)] == [5, 6, 7]
    assert kept(event) == logged(event)[-3:]


def test_a_rolled_back_change_is_not_kept(live_event):
    event, author = live_event
    publish_now(event, author, "kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_now(event, author, "rolled back")
        raise RuntimeError
    assert kept(event) == logged(event) and len(kept(event)) == 1


async def test_a_process_with_no_memory_replays_a_gap_from_redis_not_the_log(
    live_event, monkeypatch
):
    event, author = live_event
    for i in range(3):
        await publish(event, author, f"entry {i}")
    _no_log_reads(monkeypatch)
    served = counted("liveblog_catch_ups_total", source="redis")
    reader = await connect(event.slug, "since=1")  # a new event loop: a hub with no memory
    assert await reader.receive_json_from(timeout=5) == {"type": "hello", "seq": 3}
    replay = [await reader.receive_json_from(timeout=5) for _ in range(2)]
    assert [(f["seq"], f) for f in replay] == (await sync_to_async(logged)(event))[1:]
    assert counted("liveblog_catch_ups_total", source="redis") == served + 1
    await reader.disconnect()


async def test_a_hole_in_redis_sends_the_reader_to_the_log(live_event):
    event, author = live_event
    for i in range(3):
        await publish(event, author, f"entry {i}")
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    key = history.key_for(event.pk, history.stamp_of(event.created_at))
    assert client.zremrangebyscore(key, 2, 2) == 1  # as if that write had failed
    client.close()
    from_log = counted("liveblog_catch_ups_total", source="log")
    reader = await connect(event.slug, "since=0")
    assert (await reader.receive_json_from(timeout=5))["seq"] == 3
    replay = [await reader.receive_json_from(timeout=5) for _ in range(3)]
    assert [(f["seq"], f) for f in replay] == await sync_to_async(logged)(event)
    assert counted("liveblog_catch_ups_total", source="log") == from_log + 1
    await reader.disconnect()


async def lost(group, message):
    """Pub/Sub dropped it."""


async def test_the_hub_fills_what_the_layer_lost_from_redis(live_event, monkeypatch):
    """Pub/Sub lost two changes (Redis itself is up): the hub's watch delivers them from
    Redis' history, not from PostgreSQL."""
    event, author = live_event
    reader = await connect(event.slug)
    assert (await reader.receive_json_from(timeout=5))["type"] == "hello"
    monkeypatch.setattr(live_publish, "_publish", lost)
    _no_log_reads(monkeypatch)
    fills = counted("liveblog_log_fills_total")
    await publish(event, author, "lost one")
    await publish(event, author, "lost two")
    frames = [await reader.receive_json_from(timeout=6) for _ in range(2)]  # two 1 s ticks
    assert [(f["seq"], f) for f in frames] == await sync_to_async(logged)(event)
    assert counted("liveblog_log_fills_total") == fills
    await reader.disconnect()


def test_publishing_succeeds_when_the_history_cannot_be_written(
    live_event, settings, history_client
):
    settings.LIVEBLOG_HISTORY_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    event, author = live_event
    failures = counted("liveblog_history_failures_total")
    post = publish_now(event, author, "still published")
    assert post.pk and [seq for seq, _ in logged(event)] == [1]
    assert counted("liveblog_history_failures_total") == failures + 1


async def test_a_publish_served_over_asgi_is_kept_and_pushed_from_the_loop(live_event):
    """The API behind an ASGI server: the push after the response goes out on the loop
    (history.arecord, then the layer), and a connected reader gets it."""
    event, author = live_event
    token = await sync_to_async(services.token_issue)(user=author, name="t")
    reader = await connect(event.slug)
    assert (await reader.receive_json_from(timeout=5))["type"] == "hello"
    response = await AsyncClient().post(
        f"/api/v1/events/{event.slug}/posts/",
        {"body": "over ASGI"},
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    frame = await reader.receive_json_from(timeout=5)
    assert frame["seq"] == 1 and frame["post"]["id"] == response.json()["id"]
    assert await sync_to_async(kept)(event) == await sync_to_async(logged)(event)
    await reader.disconnect()


async def test_a_push_from_the_loop_survives_a_dead_history(live_event, settings):
    settings.LIVEBLOG_HISTORY_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    event, _ = live_event
    failures = counted("liveblog_history_failures_total")
    await history.arecord(event.pk, history.stamp_of(event.created_at), {"seq": 1, "frame": "{}"})
    assert counted("liveblog_history_failures_total") == failures + 1
