"""The live hub in isolation: which events its watch takes for deleted, and what the first
joins of a burst of readers over many events ask the database."""

import asyncio
import random
import time

import pytest
from channels.layers import InMemoryChannelLayer

from liveblog.blog.models import Event
from liveblog.live import history
from liveblog.live import hub as hub_module

EPOCH = history.EPOCH


class Reader:
    def __init__(self) -> None:
        self.frames: list[tuple[int, str]] = []
        self.gone_calls = 0

    def deliver(self, seq: int, frame: str) -> None:
        self.frames.append((seq, frame))

    def gone(self) -> None:
        self.gone_calls += 1


@pytest.fixture
def hub(monkeypatch):
    hub = hub_module.Hub(InMemoryChannelLayer())

    async def no_probe() -> None:
        return None

    monkeypatch.setattr(hub, "_probe", no_probe)
    monkeypatch.setattr(hub, "_subscribe", lambda event_id: no_probe())
    return hub


async def test_an_event_joined_during_the_watch_query_is_not_taken_for_deleted(hub, monkeypatch):
    watched, joining = Reader(), Reader()
    hub.readers[1].add(watched)
    hub.seen[1] = 0

    async def last_seqs(event_ids):
        hub.readers[2].add(joining)  # a first reader of event 2 joins meanwhile
        return dict.fromkeys(event_ids, 0)

    monkeypatch.setattr(hub_module, "_last_seqs", last_seqs)
    await hub._tick()
    assert joining.gone_calls == 0 and watched.gone_calls == 0


async def test_readers_of_an_event_missing_from_the_database_are_told_it_is_gone(hub, monkeypatch):
    reader = Reader()
    hub.readers[7].add(reader)
    hub.slugs["old-slug"] = (7, 0, 0.0)

    async def last_seqs(event_ids):
        return {}

    monkeypatch.setattr(hub_module, "_last_seqs", last_seqs)
    await hub._tick()
    assert reader.gone_calls == 1
    assert "old-slug" not in hub.slugs, "the slug may name a new event now"


# --- first joins ------------------------------------------------------------------------


async def test_first_joins_of_a_burst_over_many_events_ask_each_thing_once(hub, monkeypatch):
    asked: dict[str, list[list]] = {"slugs": [], "seqs": []}

    async def live_keys(slugs):
        asked["slugs"].append(sorted(slugs))
        await asyncio.sleep(0.01)  # a query on the database thread
        return {slug: (int(slug[1:]), EPOCH) for slug in slugs if slug != "e404"}

    async def last_seqs(event_ids):
        asked["seqs"].append(sorted(event_ids))
        await asyncio.sleep(0.01)
        return {event_id: event_id * 10 for event_id in event_ids}

    monkeypatch.setattr(hub_module, "_live_keys", live_keys)
    monkeypatch.setattr(hub_module, "_last_seqs", last_seqs)

    async def reader_of(slug):
        event_id = await hub.event_id(slug)
        if event_id is None:
            return None
        return await hub.join(event_id, Reader())

    slugs = [f"e{n}" for n in range(1, 21)] * 5 + ["e404"]
    random.Random(13).shuffle(slugs)
    try:
        starts = await asyncio.gather(*(reader_of(slug) for slug in slugs))
    finally:
        await hub._stop()
    assert [s for slug, s in zip(slugs, starts, strict=True) if slug == "e7"] == [70] * 5
    assert starts[slugs.index("e404")] is None
    assert sum(len(keys) for keys in asked["slugs"]) == 21, "each slug looked up once"
    assert sum(len(keys) for keys in asked["seqs"]) == 20, "each event's last seq read once"
    assert len(asked["slugs"]) <= 2 and len(asked["seqs"]) <= 2, "in rounds, not one by one"
    assert hub._stamp(7) == history.stamp_of(EPOCH)
    assert sum(len(readers) for readers in hub.readers.values()) == 100


async def test_a_first_join_of_an_event_deleted_since_its_lookup_is_refused(hub, monkeypatch):
    async def last_seqs(event_ids):
        return {}

    monkeypatch.setattr(hub_module, "_last_seqs", last_seqs)
    hub.slugs["gone"] = (5, 0, time.monotonic())
    hub.stamps[5] = 0
    reader = Reader()
    with pytest.raises(Event.DoesNotExist):
        await hub.join(5, reader)
    await hub._stop()
    assert 5 not in hub.readers and "gone" not in hub.slugs and hub._stamp(5) is None


async def test_a_failed_round_fails_its_waiters_and_the_next_asks_again():
    calls = []

    async def fetch(keys):
        calls.append(list(keys))
        if len(calls) == 1:
            raise OSError("database down")
        return {key: key.upper() for key in keys}

    rounds = hub_module.Rounds(fetch)
    first = await asyncio.gather(rounds.get("a"), rounds.get("a"), return_exceptions=True)
    assert [type(result) for result in first] == [OSError, OSError]
    assert await rounds.get("a") == "A"
    assert calls == [["a"], ["a"]]


async def test_a_waiter_that_gives_up_does_not_cancel_the_others_answer():
    release = asyncio.Event()

    async def fetch(keys):
        await release.wait()
        return dict.fromkeys(keys, 1)

    rounds = hub_module.Rounds(fetch)
    quitter = asyncio.create_task(rounds.get("k"))
    stayer = asyncio.create_task(rounds.get("k"))
    await asyncio.sleep(0)
    quitter.cancel()
    release.set()
    assert await stayer == 1
