"""Recent history in Redis: the last frames of every event, shared by all processes.

Each live process keeps the frames it delivered in memory (the hub), but a process that has
just started — a rolling deploy, a scale-out, the survivor of a crash taking over readers —
has none, and the change log in PostgreSQL is the expensive place to replay from. So the
publisher also keeps the last LIVEBLOG_CATCHUP_LIMIT frames of each event in a Redis sorted
set scored by seq, written on commit just before the change is pushed: a reconnecting
reader's gap is served from memory, else from here, and only else from the log.

A cache, never the truth: a write that fails is logged and counted, and a read that finds a
hole (a write that failed, or a change committed but not yet written) returns None so the
caller goes to the log. The key carries the event's creation time as well as its id, so a
database restored or recreated under a Redis that kept its data can never serve another
event's frames under a reused id.
"""

import asyncio
import logging
import weakref
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

import redis
import redis.asyncio
from django.conf import settings

from liveblog import metrics

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TTL = 24 * 3600  # an event quiet for a day is read from the log again
TIMEOUT = 1.0  # a hung Redis must not hold the reporter's request for long


def key_for(event_id: int, stamp: int) -> str:
    """`stamp`: the event's creation time in microseconds (see `stamp_of`)."""
    return f"{settings.LIVEBLOG_HISTORY_PREFIX}:history:{event_id}:{stamp}"


def stamp_of(created_at: datetime) -> int:
    """Whole microseconds since the epoch (exact: no float on the way)."""
    return (created_at - EPOCH) // timedelta(microseconds=1)


@cache
def _client() -> "redis.Redis | None":
    url = settings.LIVEBLOG_HISTORY_URL
    if not url:
        return None
    # Thread-safe connection pool: publishes come from the threads that run sync views.
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)


# One round trip, atomic: keep a change's frame, retell the earlier frames of its post that
# are still kept (replace if present: a seq trimmed away stays away), trim to the window,
# renew the TTLs. KEYS: the frames (a sorted set scored by seq), each post's latest seq
# kept (a hash) and the highest seq told to Redis (a string: the event's last_seq as Redis
# knows it, read by the API's fast path, liveblog/api/fast.py, without asking PostgreSQL).
# ARGV: seq, frame, subject (`post:<id>`, `event`, or ''), window, TTL, then the retold
# (seq, frame) pairs. Two processes can push one subject's changes out of commit
# order: a change older than the subject's latest kept one is stale (its text may be retracted by
# then), so it is not kept, and its seq stays a hole that sends a reader to the log.
_KEEP = """
local seq = tonumber(ARGV[1])
local post = ARGV[3]
if tonumber(redis.call('GET', KEYS[3]) or '0') < seq then
  redis.call('SET', KEYS[3], seq, 'EX', ARGV[5])
else
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
if post ~= '' then
  local latest = tonumber(redis.call('HGET', KEYS[2], post) or '0')
  if latest > seq then
    return 0
  end
  redis.call('HSET', KEYS[2], post, seq)
  for i = 6, #ARGV, 2 do
    if redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[i], ARGV[i]) > 0 then
      redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
    end
  end
end
redis.call('ZADD', KEYS[1], seq, ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""


def _keep_args(key: str, message: dict[str, Any]) -> list[Any]:
    subject = message.get("subject") or ""
    # As many frames as a reconnecting reader is ever replayed (more gets a reset).
    args: list[Any] = [3, key, key + ":posts", key + ":last", message["seq"], message["frame"]]
    args += [subject, settings.LIVEBLOG_CATCHUP_LIMIT, TTL]
    for seq, frame in message.get("replaces") or ():
        args += [seq, frame]
    return args


def _failed(event_id: int, seq: int) -> None:
    metrics.HISTORY_FAILURES.inc()
    logger.warning("recent history: could not keep seq %s of event %s", seq, event_id)


def record(event_id: int, stamp: int, message: dict[str, Any]) -> None:
    """Keep a committed change's frame, `message` as protocol.live_message builds it (from a
    thread: a sync view, a command)."""
    client = _client()
    if client is None:
        return
    try:
        client.eval(_KEEP, *_keep_args(key_for(event_id, stamp), message))
    except (redis.RedisError, OSError):
        _failed(event_id, message["seq"])


# One client per event loop: an asyncio connection belongs to the loop that opened it.
_loop_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis]" = (
    weakref.WeakKeyDictionary()
)


def _loop_client() -> "redis.asyncio.Redis | None":
    """The running loop's client (made on first use), or None without Redis."""
    url = settings.LIVEBLOG_HISTORY_URL
    if not url:
        return None
    loop = asyncio.get_running_loop()
    client = _loop_clients.get(loop)
    if client is None:
        client = _loop_clients[loop] = redis.asyncio.Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
    return client


async def arecord(event_id: int, stamp: int, message: dict[str, Any]) -> None:
    """`record` on the running event loop (the server's pushes after a response)."""
    client = _loop_client()
    if client is None:
        return
    try:
        await client.eval(_KEEP, *_keep_args(key_for(event_id, stamp), message))
    except (redis.RedisError, OSError):
        _failed(event_id, message["seq"])


def contiguous(frames: list[tuple[int, str]], since: int, upto: int) -> bool:
    """Whether (seq, frame) pairs are exactly seqs since+1 … upto, in order."""
    return [seq for seq, _ in frames] == list(range(since + 1, upto + 1))


class Unavailable(Exception):
    """Redis did not answer."""


# One round trip for the API's fast path: the last seq Redis was told of, and the frames
# after `since` up to it (at most ARGV[2] of them). Read in one script so that the frames and
# the last seq are one state: a change recorded between two separate reads could otherwise
# name a last_seq whose frame the answer lacks.
_READ = """
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
if last < 0 then
  return {-1}
end
local upto = math.min(last, tonumber(ARGV[1]) + tonumber(ARGV[2]))
if upto <= tonumber(ARGV[1]) then
  return {last}
end
return {last, redis.call('ZRANGEBYSCORE', KEYS[1], tonumber(ARGV[1]) + 1, upto, 'WITHSCORES')}
"""


async def changes_after(
    event_id: int, stamp: int, since: int, limit: int
) -> tuple[int, list[str]] | None:
    """The last seq Redis knows and the frames after `since` (at most `limit`, oldest first),
    or None unless Redis holds every one of them and knows the last seq (no Redis, an event
    not yet told, a hole); Unavailable if Redis does not answer."""
    client = _loop_client()
    if client is None:
        return None
    key = key_for(event_id, stamp)
    try:
        reply = await client.eval(_READ, 2, key, key + ":last", since, limit)
    except (redis.RedisError, OSError) as exc:
        logger.warning("recent history: read failed for event %s", event_id)
        raise Unavailable from exc
    last = int(reply[0])
    if last < 0:
        return None
    if len(reply) == 1:
        return last, []
    flat = reply[1]
    frames = [(int(float(flat[i + 1])), flat[i].decode()) for i in range(0, len(flat), 2)]
    if not contiguous(frames, since, min(last, since + limit)):
        return None
    return last, [frame for _, frame in frames]


async def last_seq(event_id: int, stamp: int) -> int | None:
    """The last seq Redis was told of for the event, or None (no Redis, none told yet);
    Unavailable if Redis does not answer."""
    client = _loop_client()
    if client is None:
        return None
    try:
        value = await client.get(key_for(event_id, stamp) + ":last")
    except (redis.RedisError, OSError) as exc:
        logger.warning("recent history: read failed for event %s", event_id)
        raise Unavailable from exc
    return int(value) if value is not None else None


async def recent(event_id: int, stamp: int, since: int, upto: int) -> list[tuple[int, str]] | None:
    """The frames with since < seq ≤ upto, or None unless Redis has every one of them (or
    there is no Redis); Unavailable if Redis does not answer."""
    client = _loop_client()
    if client is None:
        return None
    try:
        rows = await client.zrangebyscore(
            key_for(event_id, stamp), since + 1, upto, withscores=True
        )
    except (redis.RedisError, OSError) as exc:
        logger.warning("recent history: read failed for event %s", event_id)
        raise Unavailable from exc
    pairs = cast(list[tuple[bytes, float]], rows)
    frames = [(int(score), member.decode()) for member, score in pairs]
    return frames if contiguous(frames, since, upto) else None
