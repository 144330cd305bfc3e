"""A process's reports of its reader counts (presence.Audience) against the real Redis: a
heartbeat and only the counts that changed, which the desk still adds up as before."""

import itertools
import time

import pytest
from django.conf import settings

from liveblog.live import presence

_ids = itertools.count(int(time.time() * 1000) % 10**9)


@pytest.fixture(autouse=True)
def _every_tick(monkeypatch):
    monkeypatch.setattr(presence, "READERS_EVERY", 0.0)
    presence._tallies.clear()
    yield
    presence._tallies.clear()


@pytest.fixture
def sent(monkeypatch):
    """The counts of every report that reached the tally."""
    calls: list[dict[int, int]] = []
    real = presence._RedisTally.report

    async def recording(self, process, counts):
        calls.append(dict(counts))
        return await real(self, process, counts)

    monkeypatch.setattr(presence._RedisTally, "report", recording)
    return calls


def events(n: int) -> list[int]:
    return [next(_ids) for _ in range(n)]


async def test_a_report_carries_only_the_counts_that_changed(sent):
    one, two, three = events(3)
    audience = presence.Audience()
    await audience.report({one: 3, two: 5, three: 1})
    await audience.report({one: 3, two: 6, three: 1})
    await audience.report({one: 3, two: 6})  # the last reader of `three` has left
    await audience.report({one: 3, two: 6})
    assert sent == [{one: 3, two: 5, three: 1}, {two: 6}, {three: 0}, {}]
    assert [await presence.readers(e) for e in (one, two, three)] == [3, 6, 0]


async def test_unchanged_counts_count_while_the_heartbeat_is_fresh_and_not_after(sent):
    (event,) = events(1)
    here, killed = presence.Audience(), presence.Audience()
    await here.report({event: 2})
    await killed.report({event: 40})
    await here.report({event: 2})  # nothing changed: a heartbeat alone
    assert sent[-1] == {}
    assert await presence.readers(event) == 42
    # The other process's last heartbeat is older than READERS_STALE (it was killed).
    beats = f"{settings.LIVEBLOG_HISTORY_PREFIX}:desk:audience-beats"
    client = presence.tally().client
    await client.zadd(beats, {killed.process: time.time() - presence.READERS_STALE - 5})
    assert await presence.readers(event) == 2


async def test_a_process_reports_every_count_again_when_redis_lost_them(sent):
    (event,) = events(1)
    audience = presence.Audience()
    await audience.report({event: 7})
    prefix = f"{settings.LIVEBLOG_HISTORY_PREFIX}:desk"
    await presence.tally().client.delete(f"{prefix}:audience-beats", f"{prefix}:{event}:audience")
    assert await presence.readers(event) == 0  # Redis restarted empty
    await audience.report({event: 7})
    assert sent[-2:] == [{}, {event: 7}], "the heartbeat was new: everything again"
    assert await presence.readers(event) == 7


async def test_every_count_is_sent_again_each_full_interval_to_keep_its_key(sent, monkeypatch):
    one, two = events(2)
    audience = presence.Audience()
    await audience.report({one: 1, two: 2})
    monkeypatch.setattr(presence, "FULL_EVERY", 0.0)
    await audience.report({one: 1, two: 2})
    assert sent == [{one: 1, two: 2}, {one: 1, two: 2}]


async def test_after_a_failed_report_the_next_sends_everything(sent, monkeypatch):
    one, two = events(2)
    audience = presence.Audience()
    await audience.report({one: 1, two: 2})
    recording = presence._RedisTally.report

    async def down(self, process, counts):
        raise presence.Unavailable

    monkeypatch.setattr(presence._RedisTally, "report", down)
    await audience.report({one: 1, two: 3})
    monkeypatch.setattr(presence._RedisTally, "report", recording)
    sent.clear()
    await audience.report({one: 1, two: 3})
    assert sent == [{one: 1, two: 3}]
    assert await presence.readers(two) == 3
