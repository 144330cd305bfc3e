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
  Redis write per reader) and reports the sums every READERS_EVERY seconds; the desk adds up
  the processes' reports younger than READERS_STALE. A process that stops reporting (gone,
  or no reader left at all) stops counting once its report is that old.

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

# Each process's reader count of one event, stamped with Redis' time; the sum of the reports
# younger than READERS_STALE (older ones are dropped by the next report). KEYS: the event's
# reports (hash process -> "count time"). ARGV: process id, count ('' to only read),
# READERS_STALE, TTL.
_READERS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. string.format('%.3f', now))
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local total = 0
local reports = redis.call('HGETALL', KEYS[1])
for i = 1, #reports, 2 do
  local count, at = string.match(reports[i + 1], '^(%d+) ([%d.]+)$')
  if count and now - tonumber(at) <= tonumber(ARGV[3]) then
    total = total + tonumber(count)
  elseif ARGV[2] ~= '' then
    redis.call('HDEL', KEYS[1], reports[i])
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

    async def readers(self, event_id: int, process: str, count: int | None) -> int:
        args = [process, "" if count is None else count, READERS_STALE, KEY_TTL]
        return int(await self._eval(_READERS, [f"{_prefix()}:{event_id}:readers"], args))

    async def report(self, process: str, counts: dict[int, int]) -> None:
        """All of a process's counts in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for event_id, count in counts.items():
            keys = [f"{_prefix()}:{event_id}:readers"]
            pipe.eval(_READERS, 1, *keys, process, count, READERS_STALE, KEY_TTL)
        try:
            await pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise Unavailable from exc


class _MemoryTally:
    """The same tallies in this process's memory: `make run` without Redis is one process."""

    def __init__(self) -> None:
        self.entries: dict[int, dict[str, tuple[str, float]]] = {}
        self.revs: dict[int, int] = {}
        self.reports: dict[int, dict[str, tuple[int, float]]] = {}

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

    async def readers(self, event_id: int, process: str, count: int | None) -> int:
        now = time.time()
        reports = self.reports.setdefault(event_id, {})
        if count is not None:
            reports[process] = (count, now)
        return sum(n for n, at in reports.values() if now - at <= READERS_STALE)

    async def report(self, process: str, counts: dict[int, int]) -> None:
        for event_id, count in counts.items():
            await self.readers(event_id, process, count)


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
    return await tally().readers(event_id, "", None)


class Audience:
    """One process's (one hub's) reports of its reader counts. The hub calls `report` on
    each of its ticks; between reports that costs nothing."""

    def __init__(self) -> None:
        self.process = uuid.uuid4().hex
        self.last = float("-inf")  # the first tick reports
        self.reported: set[int] = set()

    async def report(self, counts: dict[int, int]) -> None:
        now = time.monotonic()
        if now - self.last < READERS_EVERY:
            return
        self.last = now
        # An event whose last reader here has left is reported once more, as none.
        counted = {**dict.fromkeys(self.reported, 0), **counts}
        self.reported = {event_id for event_id, n in counts.items() if n}
        if not counted:
            return
        try:
            await asyncio.wait_for(tally().report(self.process, counted), timeout=TIMEOUT)
        except (Unavailable, TimeoutError):
            logger.info("presence: reader counts not reported (Redis unavailable)")
