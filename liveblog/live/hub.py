"""The per-process fan-out hub: one channel-layer subscription per event per process.

Readers (consumers) register here instead of each owning a channel-layer channel, so a
change costs one Redis message per process, one decode, and one shared frame string for
all of that process's readers.

The channel layer is at-most-once: Redis can restart, a subscription can be lost, two
processes' publishes can arrive out of seq order. PostgreSQL's change log is the truth, so
the hub also *watches*: every SYNC_INTERVAL it reads the last seq of the events it serves
(one query for all of them) and, when the layer has fallen behind for two ticks, delivers
the missing changes from the log itself. A probe message sent to its own channel every
PROBE_INTERVAL detects a dead subscription; the hub then drops the layer's connections and
subscribes afresh. Readers therefore converge even when Redis is down for a while.

A reconnecting reader's gap is replayed from the frames this process delivered (memory),
else from the recent history every publisher keeps in Redis (liveblog/live/history.py: a
process that just started has no memory yet), else from the change log, read once for a
storm of readers under the event's lock.

The first joins of many events at once (a newsroom's sports day reconnecting) are looked up
in rounds (Rounds): one query for the slugs asked for meanwhile, then one for their last
seqs, each read after its event was subscribed.

Everything here runs on one event loop; the only concurrency is between awaits.
"""

import asyncio
import logging
import time
import weakref
from collections import OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from liveblog import metrics
from liveblog.blog import selectors
from liveblog.blog.models import Event
from liveblog.live import history, presence, protocol
from liveblog.live.protocol import encode_frame, group_for

logger = logging.getLogger(__name__)

SYNC_INTERVAL = 1.0
PROBE_INTERVAL = 3.0
SLUG_TTL = 60.0
# Slugs that named no event, remembered for SLUG_TTL so a reconnecting crowd at a wrong
# address costs one query; at most this many (a socket can ask for any slug it likes).
SLUG_CACHE = 1024
SLUG_MAX = Event._meta.get_field("slug").max_length or 0  # no event has a longer one


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Rounds(Generic[K, V]):
    """Looks keys up in rounds of one query each: a key asked for while a round's query runs
    waits for the next round, with every other key asked for meanwhile; a key already asked
    for waits for the answer it will get. A lone key is asked at once, so one reader's first
    join costs no more than it did; a burst of first joins over many events costs a query
    per round, not one per event, and five readers of a new event no longer look its slug
    up five times. Measured with bench/events.py, 1,000 events x 5 readers on one process,
    two alternating runs each on a quiet machine: SQL statements to connect the readers
    event by event 5,896 / 5,914 → 2,013 / 2,021 (in 9.0 / 9.7 → 6.0 / 6.3 s); all 5,000 at
    once on a fresh process 2,161 / 2,167 → 495 / 491 statements, 4.7 / 4.9 → 3.7 / 3.7 s."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]]) -> None:
        self.fetch = fetch
        self.asked: dict[K, asyncio.Future[V | None]] = {}  # every key not answered yet
        self.queued: list[K] = []  # the keys of the next round
        self.task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        """The key's value, None when the query found none."""
        future = self.asked.get(key)
        if future is None:
            future = self.asked[key] = asyncio.get_running_loop().create_future()
            self.queued.append(key)
            if self.task is None or self.task.done():
                self.task = asyncio.create_task(self._run())
        # Shielded: one reader that gives up must not cancel the others' answer.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self.queued:
            keys, self.queued = self.queued, []
            try:
                found = await self.fetch(keys)
            except BaseException as exc:
                self._answer(keys, {}, exc)
                if not isinstance(exc, Exception):
                    self._answer(self.queued, {}, exc)
                    raise
                continue
            self._answer(keys, found, None)

    def _answer(self, keys: list[K], found: dict[K, V], error: BaseException | None) -> None:
        for key in keys:
            future = self.asked.pop(key)
            if future.done():
                continue
            if error is None:
                future.set_result(found.get(key))
            elif isinstance(error, Exception):
                future.set_exception(error)
                future.exception()  # retrieved: every waiter may have gone meanwhile
            else:
                future.cancel()


class Reader(Protocol):
    def deliver(self, seq: int, frame: str) -> None: ...

    def gone(self) -> None:
        """The event was deleted."""


class Hub:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.readers: dict[int, set[Reader]] = defaultdict(set)
        self.seen: dict[int, int] = {}  # highest seq this process has delivered, per event
        self.history: dict[int, deque[tuple[int, str]]] = {}
        self.lagging: dict[int, int] = {}  # event -> `seen` when a lag was first noticed
        # event -> subject (a post, or the event itself) -> its latest seq here
        self.subject_seqs: dict[int, dict[str, int]] = {}
        self.subscribed: set[int] = set()
        self.slugs: dict[str, tuple[int, int, float]] = {}  # slug -> (event, stamp, when)
        self.stamps: dict[int, int] = {}  # event -> its key in the recent history
        # First joins: slugs looked up, and last seqs read after subscribing, in rounds.
        self.lookups: Rounds[str, tuple[int, Any]] = Rounds(lambda slugs: _live_keys(slugs))
        self.first_seqs: Rounds[int, int] = Rounds(lambda ids: _last_seqs(ids))
        self.unknown: OrderedDict[str, float] = OrderedDict()  # slug -> when, oldest first
        self.recent_down_until = 0.0  # monotonic time before which Redis is not asked
        self.channel: str | None = None
        self.pump: asyncio.Task[None] | None = None
        self.watch: asyncio.Task[None] | None = None
        self.probe_pending: float | None = None
        self.locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        # This process's reader counts for the desks' "readers now", sent every few ticks
        # (presence.py): a heartbeat and the counts that changed, nothing per reader.
        self.audience = presence.Audience()

    # --- readers ------------------------------------------------------------------------

    async def event_id(self, slug: str) -> int | None:
        """The id of the event with this slug, or None. Known slugs are as many as there are
        events; unknown ones are bounded (SLUG_CACHE), and an impossible one costs nothing."""
        if len(slug) > SLUG_MAX:
            return None
        now = time.monotonic()
        cached = self.slugs.get(slug)
        if cached is not None and now - cached[2] < SLUG_TTL:
            return cached[0]
        missed = self.unknown.get(slug)
        if missed is not None and now - missed < SLUG_TTL:
            return None
        found = await self.lookups.get(slug)
        now = time.monotonic()
        if found is None:
            self.slugs.pop(slug, None)
            self.unknown[slug] = now
            self.unknown.move_to_end(slug)
            while len(self.unknown) > SLUG_CACHE:
                self.unknown.popitem(last=False)
            return None
        event_id, created_at = found
        self.unknown.pop(slug, None)
        stamp = history.stamp_of(created_at)
        self.slugs[slug] = (event_id, stamp, now)
        self.stamps[event_id] = stamp
        return event_id

    def _stamp(self, event_id: int) -> int | None:
        """The event's key in the recent history, from the slug it was looked up by."""
        return self.stamps.get(event_id)

    async def join_slug(self, slug: str, reader: Reader) -> tuple[int, int] | None:
        """`event_id`, then `join`: the event's id and the seq the reader starts from, or
        None if no event has this slug (the socket's and the event stream's way in)."""
        for _attempt in range(2):  # again if the event was deleted since its slug was cached
            event_id = await self.event_id(slug)
            if event_id is None:
                return None
            try:
                return event_id, await self.join(event_id, reader)
            except Event.DoesNotExist:
                continue
        return None

    async def join(self, event_id: int, reader: Reader) -> int:
        """Register a reader and return the seq it starts from: every change above it will
        be delivered to the reader; every change up to it is in history or the log."""
        self.readers[event_id].add(reader)
        metrics.READERS.labels(str(event_id)).inc()
        self._start()
        await self._subscribe(event_id)
        if event_id not in self.seen:
            try:
                # Read after subscribing: every change above it comes through the layer.
                seq = await self.first_seqs.get(event_id)
                if seq is None:  # deleted since looked up
                    self._forget(event_id)
                    raise Event.DoesNotExist(f"event {event_id}")
            except BaseException:  # the reader is not joined after all
                await self.leave(event_id, reader)
                raise
            self.seen[event_id] = max(seq, self.seen.get(event_id, 0))
        return self.seen[event_id]

    def _forget(self, event_id: int) -> None:
        """Drop the slugs that named a deleted event (a new event may take the slug)."""
        self.stamps.pop(event_id, None)
        for slug, cached in list(self.slugs.items()):
            if cached[0] == event_id:
                del self.slugs[slug]

    async def leave(self, event_id: int, reader: Reader) -> None:
        readers = self.readers.get(event_id)
        if readers is None:
            return
        if reader in readers:
            readers.discard(reader)
            metrics.READERS.labels(str(event_id)).dec()
        if readers:
            return
        metrics.READERS.remove(str(event_id))
        del self.readers[event_id]
        self.seen.pop(event_id, None)
        self.history.pop(event_id, None)
        self.subject_seqs.pop(event_id, None)
        self.lagging.pop(event_id, None)
        self.locks.pop(event_id, None)
        if event_id in self.subscribed and self.channel:
            self.subscribed.discard(event_id)
            try:
                await self.layer.group_discard(group_for(event_id), self.channel)
            except Exception:
                logger.warning("hub: could not leave %s", group_for(event_id), exc_info=True)
        if not self.readers:
            await self._stop()

    async def catch_up(self, event_id: int, since: int | None, start: int) -> list[str] | None:
        """What a reader that joined at `start` asking `since` is replayed before its live
        changes: nothing without a `since`, the frames since < seq ≤ start, or None for a
        reset (more missing than a reader is replayed, or `since` ahead of the event)."""
        if since is None or since == start:
            return []
        replay = await self.changes_between(event_id, since, start) if since < start else None
        if replay is None:
            metrics.CATCH_UPS.labels("reset").inc()
        return replay

    async def changes_between(self, event_id: int, since: int, upto: int) -> list[str] | None:
        """Frames with since < seq ≤ upto, from this process's memory, Redis' recent
        history or else the change log; None when more are missing than a reader is
        replayed."""
        if upto - since > settings.LIVEBLOG_CATCHUP_LIMIT:
            return None
        if upto <= since:
            return []
        cached = self._from_history(event_id, since, upto)
        if cached is not None:
            metrics.CATCH_UPS.labels("history").inc()
            return cached
        async with self.locks[event_id]:  # one read for a storm of reconnecting readers
            cached = self._from_history(event_id, since, upto)
            if cached is not None:
                metrics.CATCH_UPS.labels("history").inc()
                return cached
            frames = await self._recent(event_id, since, upto)
            if frames is not None:
                metrics.CATCH_UPS.labels("redis").inc()
            else:
                metrics.CATCH_UPS.labels("log").inc()
                frames = await self._from_log(event_id, since, upto)
            self._remember(event_id, frames)
            return [frame for _, frame in frames]

    async def _recent(self, event_id: int, since: int, upto: int) -> list[tuple[int, str]] | None:
        stamp = self._stamp(event_id)
        if stamp is None:
            return None
        if time.monotonic() < self.recent_down_until:
            return None
        try:
            return await history.recent(event_id, stamp, since, upto)
        except history.Unavailable:
            # Not again for a while: a hung Redis would cost every lagging event a timeout.
            self.recent_down_until = time.monotonic() + PROBE_INTERVAL
            return None

    async def _from_log(self, event_id: int, since: int, upto: int) -> list[tuple[int, str]]:
        return [(p["seq"], encode_frame(p)) for p in await _changes(event_id, since, upto)]

    # --- fan-out ------------------------------------------------------------------------

    def change(self, message: dict[str, Any]) -> None:
        """A committed change from the layer (protocol.live_message). The earlier frames of
        its post kept in memory are replaced by their retold form (SPEC §7: replays carry
        what is true now). A change older than its post's latest one here came out of
        commit order (two publishing processes) and may carry text retracted since: it is
        dropped, its readers fetch the gap from the change log, and replays find a hole
        here and go to Redis or the log, which hold the truth."""
        event_id, seq, subject = message["event"], message["seq"], message.get("subject")
        if subject and event_id in self.readers:
            latest = self.subject_seqs.setdefault(event_id, {})
            if latest.get(subject, 0) > seq:
                logger.info(
                    "hub: seq %s of event %s is older than its post's; dropped", seq, event_id
                )
                return
            latest[subject] = seq
            self._retell(event_id, message.get("replaces") or ())
        self.fanout(event_id, seq, message["frame"], message.get("at"))

    def _retell(self, event_id: int, replaces: Iterable[tuple[int, str]]) -> None:
        kept = self.history.get(event_id)
        retold = dict(replaces)
        if not kept or not retold:
            return
        for i, (seq, _frame) in enumerate(kept):
            if seq in retold:
                kept[i] = (seq, retold[seq])

    def fanout(self, event_id: int, seq: int, frame: str, sent_at: float | None = None) -> None:
        self._remember(event_id, [(seq, frame)])
        if seq > self.seen.get(event_id, 0):
            self.seen[event_id] = seq
        readers = list(self.readers.get(event_id, ()))
        for reader in readers:
            reader.deliver(seq, frame)
        metrics.FRAMES.inc(len(readers))
        if sent_at is not None:
            metrics.PUBLISH_TO_SEND.observe(max(0.0, time.time() - sent_at))

    def _remember(self, event_id: int, frames: Iterable[tuple[int, str]]) -> None:
        if event_id not in self.readers:
            return
        kept = self.history.setdefault(event_id, deque(maxlen=settings.LIVEBLOG_CATCHUP_LIMIT))
        for seq, frame in frames:
            if not kept or seq > kept[-1][0]:
                kept.append((seq, frame))
            elif all(seq != s for s, _ in kept):
                # Out of order (two publishers): keep history sorted; rare and short.
                items = sorted([*kept, (seq, frame)])
                kept.clear()
                kept.extend(items[-settings.LIVEBLOG_CATCHUP_LIMIT :])

    def _from_history(self, event_id: int, since: int, upto: int) -> list[str] | None:
        kept = self.history.get(event_id)
        if not kept:
            return None
        wanted = [(s, f) for s, f in kept if since < s <= upto]
        if not history.contiguous(wanted, since, upto):
            return None  # a hole: Redis or the log has the rest
        return [f for _, f in wanted]

    # --- the layer ----------------------------------------------------------------------

    def _start(self) -> None:
        if self.watch is None or self.watch.done():
            self.watch = asyncio.create_task(self._watch())

    async def _stop(self) -> None:
        tasks = [t for t in (self.pump, self.watch) if t is not None]
        self.pump = self.watch = None
        for task in tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.channel = None
        self.subscribed.clear()
        self.probe_pending = None

    async def _ensure_channel(self) -> bool:
        if self.channel is not None:
            return True
        try:
            self.channel = await self.layer.new_channel("hub.")
        except Exception:
            logger.warning("hub: channel layer unavailable", exc_info=True)
            return False
        self.pump = asyncio.create_task(self._pump(self.channel))
        return True

    async def _subscribe(self, event_id: int) -> None:
        if event_id in self.subscribed or not await self._ensure_channel():
            return
        assert self.channel is not None
        try:
            await self.layer.group_add(group_for(event_id), self.channel)
            self.subscribed.add(event_id)
        except Exception:
            logger.warning("hub: could not join %s; will retry", group_for(event_id))

    async def _pump(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("hub: receive failed", exc_info=True)
                await asyncio.sleep(SYNC_INTERVAL)
                continue
            if message.get("type") == "hub.probe":
                self.probe_pending = None
            elif "event" in message:
                self.change(message)

    async def _resubscribe(self) -> None:
        """The subscription is dead (Redis restarted, connection lost): start afresh."""
        logger.warning("hub: channel layer stopped answering; resubscribing")
        metrics.RESUBSCRIBES.inc()
        if self.pump is not None:
            self.pump.cancel()
        self.pump, self.channel, self.probe_pending = None, None, None
        self.subscribed.clear()
        try:
            await self.layer.flush()
        except Exception:
            logger.warning("hub: flush failed", exc_info=True)

    async def _probe(self) -> None:
        now = time.monotonic()
        if self.probe_pending is not None:
            if now - self.probe_pending < PROBE_INTERVAL:
                return
            await self._resubscribe()
        if not await self._ensure_channel():
            return
        try:
            self.probe_pending = now
            assert self.channel is not None
            await self.layer.send(self.channel, {"type": "hub.probe"})
        except Exception:
            logger.warning("hub: probe could not be sent")

    async def _watch(self) -> None:
        while self.readers:
            await asyncio.sleep(SYNC_INTERVAL)
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("hub: watch tick failed", exc_info=True)

    async def _tick(self) -> None:
        # First: counting readers needs neither the layer nor the database.
        await self.audience.report({e: len(readers) for e, readers in self.readers.items()})
        await self._probe()
        for event_id in self.readers.keys() - self.subscribed:
            await self._subscribe(event_id)
        served = list(self.readers)  # events joined during the query are not in `latest`
        latest = await _last_seqs(served)
        for event_id in [e for e in served if e not in latest and e in self.readers]:
            logger.info("hub: event %s was deleted; closing its readers", event_id)
            self._forget(event_id)
            for reader in list(self.readers.get(event_id, ())):
                reader.gone()
        for event_id, db_seq in latest.items():
            seen = self.seen.get(event_id, 0)
            if db_seq <= seen:
                self.lagging.pop(event_id, None)
            elif self.lagging.get(event_id) != seen:
                self.lagging[event_id] = seen  # maybe in flight: look again next tick
            else:
                await self._fill(event_id, seen, db_seq)

    async def _fill(self, event_id: int, seen: int, db_seq: int) -> None:
        logger.info("hub: event %s lagged at seq %s < %s; filling it in", event_id, seen, db_seq)
        if db_seq - seen > settings.LIVEBLOG_CATCHUP_LIMIT:
            reset = encode_frame(protocol.reset(db_seq))
            for reader in list(self.readers.get(event_id, ())):
                reader.deliver(db_seq, reset)
            self.seen[event_id] = db_seq
            return
        # Redis' history may have them (a lost subscription, a dropped message); when Redis
        # itself is down, the log.
        # What the layer lost may retell frames this process keeps (a removal, a
        # correction): its memory of the event is dropped, and replays go to Redis or the
        # log, which hold them retold, until it has delivered its own again.
        self.history.pop(event_id, None)
        self.subject_seqs.pop(event_id, None)
        frames = await self._recent(event_id, seen, db_seq)
        if frames is None:
            frames = await self._from_log(event_id, seen, db_seq)
            metrics.LOG_FILLS.inc(len(frames))
        for seq, frame in frames:
            self.fanout(event_id, seq, frame)
        self.lagging.pop(event_id, None)


@database_sync_to_async
def _live_keys(slugs: list[str]) -> dict[str, tuple[int, Any]]:
    return selectors.live_keys(slugs)


@database_sync_to_async
def _last_seqs(event_ids: list[int]) -> dict[int, int]:
    return selectors.last_seqs(event_ids)


@database_sync_to_async
def _changes(event_id: int, since: int, upto: int) -> list[dict[str, Any]]:
    return selectors.changes_since(event_id, since, upto=upto)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def current_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("CHANNEL_LAYERS must configure a default layer")
        hub = _hubs[loop] = Hub(layer)
    return hub
