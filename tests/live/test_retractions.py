"""Replays carry what is true now (SPEC §7): a removed entry is replayed as `post.deleted`
(its id only), a corrected one with its current text. Removed or replaced text is never
sent again, from the change log, Redis' recent history or a process's memory (issue 14,
reproduction 1: `/changes/?since=0` and `?since=0` sockets replayed a deleted entry's body).
"""

import json

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from liveblog.blog import services
from liveblog.live import history, protocol
from liveblog.live import hub as hub_module
from tests.live.client import connect, publish_now

pytestmark = pytest.mark.django_db(transaction=True)

RETRACTED = "The minister took a bribe"  # the line a newsroom must be able to take back
CORRECTED = "The minister denied taking a bribe"


def _changes(event) -> list[dict]:
    response = Client().get(f"/api/v1/events/{event.slug}/changes/?since=0")
    assert response.status_code == 200
    return response.json()["changes"]


def _removed(event, author):
    post = publish_now(event, author, RETRACTED)
    services.post_delete(actor=author, post=post)
    return post


def _corrected(event, author):
    post = publish_now(event, author, RETRACTED)
    return services.post_update(actor=author, post=post, changes={"body": CORRECTED})


def test_changes_replay_a_removed_entry_as_deleted_only(live_event):
    event, author = live_event
    post = _removed(event, author)
    changes = _changes(event)
    assert changes == [
        {"type": "post.deleted", "seq": 1, "post": {"id": post.pk}},
        {"type": "post.deleted", "seq": 2, "post": {"id": post.pk}},
    ]


def test_changes_replay_a_corrected_entry_with_its_current_text(live_event):
    event, author = live_event
    _corrected(event, author)
    changes = _changes(event)
    assert [(c["type"], c["seq"]) for c in changes] == [("post.created", 1), ("post.updated", 2)]
    assert RETRACTED not in json.dumps(changes)
    assert all(CORRECTED in c["post"]["body"] and CORRECTED in c["html"] for c in changes)


def test_an_entry_taken_back_to_draft_and_rewritten_never_replays_its_first_text(live_event):
    event, author = live_event
    post = publish_now(event, author, RETRACTED)
    services.post_update(actor=author, post=post, changes={"status": "draft"})
    services.post_update(actor=author, post=post, changes={"body": CORRECTED})  # a draft
    services.post_update(actor=author, post=post, changes={"status": "published"})
    changes = _changes(event)
    assert [(c["type"], c["seq"]) for c in changes] == [
        ("post.created", 1),
        ("post.deleted", 2),
        ("post.created", 3),
    ]
    assert RETRACTED not in json.dumps(changes)


def test_the_recent_history_in_redis_holds_no_retracted_text(live_event):
    event, author = live_event
    _removed(event, author)
    _corrected(event, author)
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    key = history.key_for(event.pk, history.stamp_of(event.created_at))
    frames = [(int(score), m.decode()) for m, score in client.zrange(key, 0, -1, withscores=True)]
    client.close()
    assert [seq for seq, _ in frames] == [1, 2, 3, 4]
    assert not [frame for _, frame in frames if RETRACTED in frame]


def _no_log_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the change log was read")

    monkeypatch.setattr(hub_module, "_changes", sync_to_async(refuse))


async def _replay(slug: str) -> list[dict]:
    reader = await connect(slug, "since=0")
    hello = await reader.receive_json_from(timeout=5)
    frames = [await reader.receive_json_from(timeout=5) for _ in range(hello["seq"])]
    await reader.disconnect()
    return frames


async def test_a_reconnecting_reader_gets_no_retracted_text_from_a_process_memory(live_event):
    """A process whose readers saw the entry keeps its frames in memory; the correction and
    the removal replace them there too."""
    event, author = live_event
    watcher = await connect(event.slug)  # this process (event loop) now serves the event
    assert (await watcher.receive_json_from(timeout=5))["type"] == "hello"
    await sync_to_async(_removed)(event, author)
    await sync_to_async(_corrected)(event, author)
    for _ in range(4):
        await watcher.receive_json_from(timeout=5)  # the hub has all four in memory

    def refuse(*args, **kwargs):
        raise AssertionError("not from memory")

    original = history.recent
    history.recent = refuse  # type: ignore[assignment]
    try:
        frames = await _replay(event.slug)
    finally:
        history.recent = original
    assert [f["seq"] for f in frames] == [1, 2, 3, 4]
    assert RETRACTED not in json.dumps(frames)
    assert frames[0] == {"type": "post.deleted", "seq": 1, "post": {"id": frames[1]["post"]["id"]}}
    await watcher.disconnect()


async def test_a_reconnecting_reader_gets_no_retracted_text_from_redis(live_event, monkeypatch):
    event, author = live_event
    await sync_to_async(_removed)(event, author)
    await sync_to_async(_corrected)(event, author)
    _no_log_reads(monkeypatch)
    frames = await _replay(event.slug)  # a new event loop: a hub with no memory
    assert [f["seq"] for f in frames] == [1, 2, 3, 4]
    assert RETRACTED not in json.dumps(frames)


async def test_a_reconnecting_reader_gets_no_retracted_text_from_the_log(live_event):
    event, author = live_event
    await sync_to_async(_removed)(event, author)
    await sync_to_async(_corrected)(event, author)
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    client.delete(history.key_for(event.pk, history.stamp_of(event.created_at)))
    client.close()
    frames = await _replay(event.slug)
    assert [f["seq"] for f in frames] == [1, 2, 3, 4]
    assert RETRACTED not in json.dumps(frames)


def _message(event_id: int, frame: dict, replaces=()) -> dict:
    return protocol.live_message(event_id, frame, list(replaces))


def test_redis_keeps_no_change_older_than_its_posts_latest(live_event):
    """Two processes can push one post's changes out of commit order: the removal (seq 3)
    lands first, then the correction it followed (seq 2, whose text is now retracted)."""
    event, _ = live_event
    stamp = history.stamp_of(event.created_at)
    created = protocol.change("post.created", 1, post={"id": 9, "body": RETRACTED}, html="<p>")
    corrected = protocol.change("post.updated", 2, post={"id": 9, "body": CORRECTED}, html="<p>")
    removed = protocol.change("post.deleted", 3, post={"id": 9})
    history.record(event.pk, stamp, _message(event.pk, created))
    history.record(
        event.pk, stamp, _message(event.pk, removed, [protocol.retold(created, removed)])
    )
    history.record(event.pk, stamp, _message(event.pk, corrected))  # late
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    rows = client.zrange(history.key_for(event.pk, stamp), 0, -1, withscores=True)
    client.close()
    assert [(int(score), json.loads(member)["type"]) for member, score in rows] == [
        (1, "post.deleted"),
        (3, "post.deleted"),
    ], "seq 2 is a hole: a reader who needs it is replayed from the log"


class _Reader:
    def __init__(self) -> None:
        self.frames: list[tuple[int, str]] = []

    def deliver(self, seq: int, frame: str) -> None:
        self.frames.append((seq, frame))

    def gone(self) -> None:
        pass


def test_the_hub_drops_a_change_older_than_its_posts_latest_and_retells_its_memory():
    hub = hub_module.Hub(layer=None)  # type: ignore[arg-type]
    reader = _Reader()
    hub.readers[1].add(reader)
    created = protocol.change("post.created", 1, post={"id": 9, "body": RETRACTED}, html="<p>")
    corrected = protocol.change("post.updated", 2, post={"id": 9, "body": CORRECTED}, html="<p>")
    removed = protocol.change("post.deleted", 3, post={"id": 9})
    hub.change(_message(1, created))
    hub.change(_message(1, removed, [protocol.retold(created, removed)]))
    hub.change(_message(1, corrected))  # out of commit order: dropped
    assert [seq for seq, _ in reader.frames] == [1, 3]
    assert [seq for seq, _ in hub.history[1]] == [1, 3]
    assert RETRACTED not in json.dumps(list(hub.history[1]))


def _event_changes_told(event) -> str:
    return json.dumps(_changes(event))


def test_a_corrected_event_summary_is_never_replayed(live_event):
    """Review finding: an event's earlier `event.updated` frames kept a summary corrected
    since; replays now carry the event as it is."""
    event, author = live_event
    services.event_update(actor=author, event=event, changes={"summary": RETRACTED})
    services.event_update(actor=author, event=event, changes={"summary": CORRECTED})
    told = _event_changes_told(event)
    assert RETRACTED not in told and CORRECTED in told
    assert [c["seq"] for c in _changes(event)] == [1, 2]


async def test_a_corrected_event_summary_is_not_replayed_from_redis_or_memory(
    live_event, monkeypatch
):
    event, author = live_event
    watcher = await connect(event.slug)
    assert (await watcher.receive_json_from(timeout=5))["type"] == "hello"
    await sync_to_async(services.event_update)(
        actor=author, event=event, changes={"summary": RETRACTED}
    )
    await sync_to_async(services.event_update)(
        actor=author, event=event, changes={"summary": CORRECTED}
    )
    for _ in range(2):
        await watcher.receive_json_from(timeout=5)
    _no_log_reads(monkeypatch)
    from_memory = await _replay(event.slug)  # same loop: this hub's memory
    assert RETRACTED not in json.dumps(from_memory)
    await watcher.disconnect()
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    key = history.key_for(event.pk, history.stamp_of(event.created_at))
    kept = [m.decode() for m in client.zrange(key, 0, -1)]
    client.close()
    assert kept and not [frame for frame in kept if RETRACTED in frame]


async def test_a_removal_the_hub_fills_in_leaves_no_text_in_its_memory(live_event, monkeypatch):
    """Review finding: the layer lost the removal; the hub's watch filled it in from Redis
    or the log, but its memory still held the entry's first frame for replays."""
    event, author = live_event
    watcher = await connect(event.slug)
    assert (await watcher.receive_json_from(timeout=5))["type"] == "hello"
    post = await sync_to_async(publish_now)(event, author, RETRACTED)
    await watcher.receive_json_from(timeout=5)

    async def lost(group, message):
        """Pub/Sub dropped it."""

    from liveblog.live import publish as live_publish

    monkeypatch.setattr(live_publish, "_publish", lost)
    await sync_to_async(services.post_delete)(actor=author, post=post)
    filled = await watcher.receive_json_from(timeout=6)  # the watch's 1 s ticks
    assert filled["type"] == "post.deleted"
    frames = await _replay(event.slug)
    assert RETRACTED not in json.dumps(frames)
    await watcher.disconnect()
