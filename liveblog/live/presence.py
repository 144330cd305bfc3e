"""Who is at an event's desk now, and how many readers it has, across all processes.

Two small tallies, kept where every process sees them (Redis; one process's memory when the
project runs embedded, without Redis):

- The desk's people: one entry per open editor page (a desk socket), written when it opens,
  when what its person is doing changes, and again every BEAT as a heartbeat. An entry whose
  heartbeat is older than STALE is dropped by whoever looks next, so the people of a process
  that was killed leave the list within STALE + BEAT seconds. Every change returns the whole
  list with a revision that only grows (the time of the change in microseconds, or one more
  than the last), so a desk page sent two lists out of order keeps the newer.
- The readers: each process adds up its own readers per event (the hub's registrations: no
  Redis write per reader) and reports every READERS_EVERY seconds; the desk adds up the
  counts of the processes that reported within READERS_STALE. A process that stops
  reporting (gone, or no reader left at all) stops counting once its report is that old.
  A report is the process's heartbeat plus only the counts that changed since its last
  one (all of them every FULL_EVERY seconds, which keeps their keys alive, and after Redis
  lost them): a process serving 1,000 events sent 1,000 script calls every 2 s before,
  one small call now (figures: Audience).

Knows no model: the desk consumer passes plain values.
"""

import asyncio
import json
import logging
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)

BEAT = 8.0  # seconds between a desk socket's heartbeats
STALE = 25.0  # an entry not refreshed for this long is someone who has gone
KEY_TTL = 120  # seconds: the keys of an event nobody has at their desk any more go away
READERS_EVERY = 2.0  # seconds between a process's reports of its reader counts
READERS_STALE = 10.0  # a report older than this no longer counts
FULL_EVERY = KEY_TTL / 2  # seconds between reports of every count, changed or not
TIMEOUT = 1.0  # a hung Redis must not hold a socket's handler for long

# What a person at the desk can be doing (the browser's presence frames).
DOING = ("idle", "typing", "editing")


@dataclass(frozen=True)
class Snapshot:
    rev: int
    entries: list[dict[str, Any]]
    changed: bool  # whether this call changed the list (someone came, went or did something)


def people(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per person (several tabs are one person), doing the busiest thing any of
    their pages does: editing or typing before idle, the latest change first."""
    rank = {doing: n for n, doing in enumerate(DOING)}
    chosen: dict[int, dict[str, Any]] = {}
    for entry in entries:
        seen = chosen.get(entry["user_id"])
        key = (rank.get(entry["doing"], 0), entry.get("at", 0))
        if seen is None or key > (rank.get(seen["doing"], 0), seen.get("at", 0)):
            chosen[entry["user_id"]] = entry
    fields = ("user_id", "name", "role", "doing", "post")
    listed = [{field: entry.get(field) for field in fields} for entry in chosen.values()]
    return sorted(listed, key=lambda person: (str(person["name"]).lower(), person["user_id"]))


def _prefix() -> str:
    return f"{settings.LIVEBLOG_HISTORY_PREFIX}:desk"


# One round trip, atomic, on Redis' own clock (processes' clocks may differ): put (or drop,
# with an empty entry) one socket's entry, refresh its heartbeat, drop every entry whose
# heartbeat is older than STALE, and return the revision and what is left. KEYS: entries
# (hash socket -> JSON), heartbeats (sorted set scored by time), revision. ARGV: socket id
# ('' to only look), entry JSON ('' to drop), STALE, TTL.
_PEOPLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local changed = 0
if ARGV[1] ~= '' then
  if ARGV[2] ~= '' then
    if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
      redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
      changed = 1
    end
    redis.call('ZADD', KEYS[2], now, ARGV[1])
  else
    changed = redis.call('HDEL', KEYS[1], ARGV[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
end
local cutoff = now - tonumber(ARGV[3])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff)) do
  changed = changed + redis.call('HDEL', KEYS[1], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
local rev = tonumber(redis.call('GET', KEYS[3]) or '0')
if changed > 0 then
  rev = math.max(rev + 1, math.floor(now * 1000000))
  redis.call('SET', KEYS[3], string.format('%d', rev))
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
return {string.format('%d', rev), changed, redis.call('HVALS', KEYS[1])}
"""

# One process's report, on Redis' own clock (processes' clocks may differ): its heartbeat
# and the counts it changed (0 drops it). Its counts count while its heartbeat is younger
# than READERS_STALE. Answers 1 when the heartbeat was not there (the first report, or
# Redis lost it): the process then reports all its counts again. Heartbeats older than TTL
# are dropped (their processes are long gone). KEYS: the heartbeats
# (sorted set process -> time), then one event's counts (hash process -> count) per count.
# ARGV: process, TTL, then the counts in the order of their keys.
_REPORT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local new = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[2])
for i = 2, #KEYS do
  if ARGV[i + 1] == '0' then
    redis.call('HDEL', KEYS[i], ARGV[1])
  else
    redis.call('HSET', KEYS[i], ARGV[1], ARGV[i + 1])
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
end
return new
"""

# The sum of one event's counts whose process's heartbeat is younger than READERS_STALE;
# the others are dropped (their process is gone). KEYS: the event's counts, the heartbeats.
# ARGV: READERS_STALE.
_READERS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local total = 0
local counts = redis.call('HGETALL', KEYS[1])
for i = 1, #counts, 2 do
  local beat = redis.call('ZSCORE', KEYS[2], counts[i])
  if beat and now - tonumber(beat) <= tonumber(ARGV[1]) then
    total = total + tonumber(counts[i + 1])
  else
    redis.call('HDEL', KEYS[1], counts[i])
  end
end
return total
"""


class Unavailable(Exception):
    """The tally could not be read or written (Redis down): the desk carries on without."""


class _RedisTally:
    def __init__(self, url: str) -> None:
        self.client = redis.asyncio.Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )

    async def _eval(self, script: str, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self.client.eval(script, len(keys), *keys, *args)
        except (redis.RedisError, OSError) as exc:
            raise Unavailable from exc

    async def people(self, event_id: int, socket: str, entry: str) -> Snapshot:
        base = f"{_prefix()}:{event_id}"
        rev, changed, values = await self._eval(
            _PEOPLE,
            [f"{base}:people", f"{base}:beats", f"{base}:rev"],
            [socket, entry, STALE, KEY_TTL],
        )
        entries = [json.loads(value) for value in values]
        return Snapshot(int(rev), entries, bool(changed))

    async def readers(self, event_id: int) -> int:
        keys = [f"{_prefix()}:{event_id}:audience", f"{_prefix()}:audience-beats"]
        return int(await self._eval(_READERS, keys, [READERS_STALE]))

    async def report(self, process: str, counts: dict[int, int]) -> bool:
        """The heartbeat and these counts in one round trip; whether the heartbeat was new."""
        keys = [f"{_prefix()}:audience-beats"]
        keys += [f"{_prefix()}:{event_id}:audience" for event_id in counts]
        return bool(await self._eval(_REPORT, keys, [process, KEY_TTL, *counts.values()]))


class _MemoryTally:
    """The same tallies in this process's memory: `make run` without Redis is one process."""

    def __init__(self) -> None:
        self.entries: dict[int, dict[str, tuple[str, float]]] = {}
        self.revs: dict[int, int] = {}
        self.counts: dict[int, dict[str, int]] = {}  # event -> process -> count
        self.beats: dict[str, float] = {}  # process -> when it last reported

    async def people(self, event_id: int, socket: str, entry: str) -> Snapshot:
        now = time.time()
        entries = self.entries.setdefault(event_id, {})
        before = {key: value for key, (value, _) in entries.items()}
        if socket and entry:
            entries[socket] = (entry, now)
        elif socket:
            entries.pop(socket, None)
        for key, (_value, beat) in list(entries.items()):
            if now - beat > STALE:
                del entries[key]
        after = {key: value for key, (value, _) in entries.items()}
        changed = before != after
        if changed:
            self.revs[event_id] = max(self.revs.get(event_id, 0) + 1, int(now * 1_000_000))
        values = [json.loads(value) for value in after.values()]
        return Snapshot(self.revs.get(event_id, 0), values, changed)

    async def readers(self, event_id: int) -> int:
        now = time.time()
        counts = self.counts.get(event_id, {})
        return sum(
            n
            for process, n in counts.items()
            if now - self.beats.get(process, -1e18) <= READERS_STALE
        )

    async def report(self, process: str, counts: dict[int, int]) -> bool:
        new = process not in self.beats
        self.beats[process] = time.time()
        for event_id, count in counts.items():
            if count:
                self.counts.setdefault(event_id, {})[process] = count
            else:
                self.counts.get(event_id, {}).pop(process, None)
        return new


_Tally = _RedisTally | _MemoryTally
_tallies: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _RedisTally]" = (
    weakref.WeakKeyDictionary()
)
_memory = _MemoryTally()


def tally() -> _Tally:
    """The running loop's tally (an asyncio Redis connection belongs to its loop)."""
    url = settings.LIVEBLOG_HISTORY_URL
    if not url:
        return _memory
    loop = asyncio.get_running_loop()
    found = _tallies.get(loop)
    if found is None:
        found = _tallies[loop] = _RedisTally(url)
    return found


async def put(event_id: int, socket: str, entry: dict[str, Any]) -> Snapshot:
    """Say what the person on `socket` is doing (also the heartbeat: the same entry again)."""
    return await tally().people(event_id, socket, json.dumps(entry, sort_keys=True))


async def drop(event_id: int, socket: str) -> Snapshot:
    return await tally().people(event_id, socket, "")


async def look(event_id: int) -> Snapshot:
    """The list as it is (dropping whoever has gone quiet)."""
    return await tally().people(event_id, "", "")


async def readers(event_id: int) -> int:
    """Readers connected now to the event, over every process that reported lately."""
    return await tally().readers(event_id)


class Audience:
    """One process's (one hub's) reports of its reader counts. The hub calls `report` on
    each of its ticks; between reports that costs nothing.

    A report sends only the counts that changed since the last one that reached Redis,
    with the process's heartbeat (which keeps the unchanged ones counting), and every count
    each FULL_EVERY seconds. Measured with py-spy (--native) on a live process serving 1,000
    events x 5 readers, one change a second (bench/events.py, BENCH_EVENTS_PYSPY): a report
    of every count every 2 s (a script call per event, pipelined) was 13 ms of the process's
    90 ms of busy samples a second, and held Redis, which delivers the changes too, for
    1,000 script calls at a time; now 1 ms of 13 (with the hub's other changes of the same
    branch: the process's CPU at 1,000 events 3.8 / 4.6 % → 2.0 / 2.0 %, two runs each)."""

    def __init__(self) -> None:
        self.process = uuid.uuid4().hex
        self.last = float("-inf")  # the first tick reports
        self.full_at = float("-inf")  # when every count was last sent
        self.sent: dict[int, int] = {}  # the counts Redis holds for this process (none is 0)

    async def report(self, counts: dict[int, int]) -> None:
        now = time.monotonic()
        if now - self.last < READERS_EVERY:
            return
        self.last = now
        # An event whose last reader here has left is reported once more, as none.
        counted = {**dict.fromkeys(self.sent, 0), **counts}
        if not counted:
            return
        full = now - self.full_at >= FULL_EVERY
        changed = (
            counted if full else {e: n for e, n in counted.items() if self.sent.get(e, 0) != n}
        )
        try:
            new = await asyncio.wait_for(tally().report(self.process, changed), timeout=TIMEOUT)
            if new and not full:  # Redis lost this process's report: all of it again
                full = True
                await asyncio.wait_for(tally().report(self.process, counted), timeout=TIMEOUT)
        except (Unavailable, TimeoutError):
            # What reached Redis is unknown: everything goes again in the next report.
            self.sent, self.full_at = {}, float("-inf")
            logger.info("presence: reader counts not reported (Redis unavailable)")
            return
        if full:
            self.full_at = now
        self.sent = {event_id: n for event_id, n in counted.items() if n}
