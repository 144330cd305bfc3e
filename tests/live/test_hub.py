"""The live hub's watch, in isolation: which events it takes for deleted."""

import pytest
from channels.layers import InMemoryChannelLayer

from liveblog.live import hub as hub_module


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
