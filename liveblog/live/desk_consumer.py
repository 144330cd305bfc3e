"""The editor page's live connection: the desk of one event, for its team only.

A member's editor page opens `ws/editor/events/<slug>/` with its session cookie (Channels'
AuthMiddlewareStack on this route only: readers' sockets read no session). The Origin is
checked for every socket with the rules of Channels' AllowedHostsOriginValidator
(liveblog/live/routing.py, Sockets), so another site cannot open a desk in a signed-in
reporter's browser.

Who may: `permissions.can_write` (every member, and admins), read through
`selectors.desk_seat`, at connect and again every RECHECK seconds (a deactivated account, a
changed role, a session that was logged out); and at once when a `desk.revoke` for the user
arrives on the event's desk group (services.membership_remove sends it on commit).

Close codes. Before the handshake completes the browser only sees a refusal; the codes name
the reason in the server's tests and logs. After it, the page reads them and stops trying:
- 4401: not signed in (or the session has ended since);
- 4403: not allowed at this event's desk (not a member, removed, deactivated);
- 4404: no such event;
- 1009: a frame larger than MAX_FRAME.

Frames to the browser: everything the services send to the desk group (`desk.changed`, see
liveblog/live/desk.py), forwarded as is; {"type": "desk.presence", "rev": n, "people":
[{"user_id", "name", "role", "doing", "post"}]}, whenever someone comes, goes or does
something else; {"type": "desk.readers", "count": n}, readers connected now over all
processes, when it changes (looked at every TICK seconds).

Frames from the browser: only {"type": "presence", "doing": "idle" | "typing" | "editing",
"post": <id> | null} ("editing" names its entry, the others none). Anything else is
ignored; at most BURST frames at once and RATE a second are looked at, and what they say is
written at most every MIN_GAP seconds (the last word wins). Reporters write over HTTP.
"""

import asyncio
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from liveblog.blog import selectors
from liveblog.blog.selectors import DeskSeat
from liveblog.live import presence
from liveblog.live.desk import desk_group

logger = logging.getLogger(__name__)

CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_BIG = 1009

MAX_FRAME = 256  # characters: the largest presence frame is about 60
BURST, RATE = 10, 2.0  # frames looked at: a burst, then so many a second
MIN_GAP = 0.5  # seconds between two writes of one socket's presence
TICK = 2.0  # seconds between looks at the reader count (and heartbeats, re-checks)
RECHECK = 30.0  # seconds between two checks that the person may still be here
POST_ID_MAX = 2**63 - 1


def parse_presence(text: str) -> tuple[str, int | None] | None:
    """(doing, post) from a browser's presence frame, or None for anything else."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict) or set(frame) != {"type", "doing", "post"}:
        return None
    doing, post = frame["doing"], frame["post"]
    if frame["type"] != "presence" or doing not in presence.DOING:
        return None
    if doing == "editing":
        # bool is an int to Python; not an entry's id.
        if type(post) is not int or not 0 < post <= POST_ID_MAX:
            return None
    elif post is not None:
        return None
    return doing, post


class _Allowance:
    """A token bucket: BURST frames at once, RATE a second after that."""

    def __init__(self) -> None:
        self.tokens, self.at = float(BURST), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class DeskConsumer(AsyncWebsocketConsumer):
    groups: list[str] = []  # the desk group is joined only once the person is let in
    seat: DeskSeat | None = None
    group = ""
    closed = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        slug = self.scope["url_route"]["kwargs"]["slug"]
        event = await database_sync_to_async(selectors.event_by_slug)(slug)
        if event is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        seat = await database_sync_to_async(selectors.desk_seat)(event.pk, user.pk)
        if seat is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.seat, self.group = seat, desk_group(event.pk)
        self.allowance = _Allowance()
        self.entry = self._entry("idle", None)
        self.rev = 0
        self.readers: int | None = None
        self.wanted: tuple[str, int | None] = ("idle", None)
        self.said_at = 0.0
        self.pending: asyncio.Task[None] | None = None
        self.known_posts: set[int] = set()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._share(await self._tally(presence.put, self.entry))
        await self._count_readers()
        self.ticker: asyncio.Task[None] = asyncio.create_task(self._tick())

    def _entry(self, doing: str, post: int | None) -> dict[str, Any]:
        assert self.seat is not None
        seat = self.seat
        return {"user_id": seat.user_id, "name": seat.name, "role": seat.role,
                "doing": doing, "post": post, "at": time.time()}  # fmt: skip

    # --- from the browser -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.seat is None or self.closed:
            return
        if len(text_data or bytes_data or "") > MAX_FRAME:
            await self._leave(CLOSE_TOO_BIG)
            return
        if text_data is None or not self.allowance.take():
            return
        wanted = parse_presence(text_data)
        if wanted is None:
            return
        self.wanted = wanted
        if self.pending is None:
            self.pending = asyncio.create_task(self._say())

    async def _say(self) -> None:
        """Write what the browser last said it is doing, MIN_GAP after the last write."""
        try:
            while not self.closed and self.wanted != (self.entry["doing"], self.entry["post"]):
                await asyncio.sleep(max(0.0, self.said_at + MIN_GAP - time.monotonic()))
                doing, post = self.wanted
                if post is not None and not await self._is_entry(post):
                    self.wanted = (self.entry["doing"], self.entry["post"])  # ignored
                    return
                self.said_at = time.monotonic()
                self.entry = self._entry(doing, post)
                await self._share(await self._tally(presence.put, self.entry))
        finally:
            self.pending = None

    async def _is_entry(self, post: int) -> bool:
        if post in self.known_posts:
            return True
        assert self.seat is not None
        if not await database_sync_to_async(selectors.desk_post_exists)(self.seat.event_id, post):
            return False
        if len(self.known_posts) < 64:
            self.known_posts.add(post)
        return True

    # --- from the desk group ----------------------------------------------------------

    async def desk_changed(self, message: dict[str, Any]) -> None:
        # Editors (and admins) see the whole team's work; other members only their own
        # (SPEC §4), so they are told what kind of thing changed, not which entry, its
        # status or who acted: their page then re-reads its own lists.
        assert self.seat is not None
        if self.seat.moderator:
            await self._send(message)
        else:
            await self._send({"type": message["type"], "what": message["what"]})

    async def desk_presence(self, message: dict[str, Any]) -> None:
        if message["rev"] > self.rev:  # two lists can cross on the way: the newer stays
            self.rev = message["rev"]
            await self._send(message)

    async def desk_revoke(self, message: dict[str, Any]) -> None:
        if self.seat is not None and message.get("user_id") == self.seat.user_id:
            await self._leave(CLOSE_FORBIDDEN)

    # --- every TICK -------------------------------------------------------------------

    async def _tick(self) -> None:
        beat = checked = time.monotonic()
        while not self.closed:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            try:
                await self._count_readers()
                if now - checked >= RECHECK:
                    checked = now
                    if not await self._still_seated():
                        return
                if now - beat >= presence.BEAT:
                    beat = now
                    await self._share(await self._tally(presence.put, self.entry))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("desk: tick failed", exc_info=True)

    async def _still_seated(self) -> bool:
        assert self.seat is not None
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if key and not await database_sync_to_async(session.exists)(key):  # logged out
            await self._leave(CLOSE_SIGNED_OUT)
            return False
        seat = await database_sync_to_async(selectors.desk_seat)(
            self.seat.event_id, self.seat.user_id
        )
        if seat is None:
            await self._leave(CLOSE_FORBIDDEN)
            return False
        if seat != self.seat:  # a new role or name: the others see it
            self.seat = seat
            self.entry = self._entry(self.entry["doing"], self.entry["post"])
            await self._share(await self._tally(presence.put, self.entry))
        return True

    async def _count_readers(self) -> None:
        assert self.seat is not None
        try:
            count = await asyncio.wait_for(presence.readers(self.seat.event_id), presence.TIMEOUT)
        except (presence.Unavailable, TimeoutError):
            return
        if count != self.readers:
            self.readers = count
            await self._send({"type": "desk.readers", "count": count})

    # --- the tally --------------------------------------------------------------------

    async def _tally(self, change: Any, *args: Any) -> presence.Snapshot | None:
        """`change` (presence.put or drop) for this socket; None when Redis is away (the
        page then shows nobody's presence until it is back: the next heartbeat)."""
        assert self.seat is not None
        try:
            return await asyncio.wait_for(
                change(self.seat.event_id, self.channel_name, *args), presence.TIMEOUT
            )
        except (presence.Unavailable, TimeoutError):
            logger.info("desk: presence unavailable for event %s", self.seat.event_id)
            return None

    async def _share(self, snapshot: presence.Snapshot | None, *, me: bool = True) -> None:
        if snapshot is None:
            return
        frame = {"type": "desk.presence", "rev": snapshot.rev,
                 "people": presence.people(snapshot.entries)}  # fmt: skip
        if me:
            await self.desk_presence(frame)
        if snapshot.changed:
            await self.channel_layer.group_send(self.group, frame)

    # --- leaving ----------------------------------------------------------------------

    async def _send(self, frame: dict[str, Any]) -> None:
        if not self.closed:
            await self.send(text_data=json.dumps(frame))

    async def _leave(self, code: int | None = None) -> None:
        """Close (with `code`, unless the browser has gone) and take the person off the
        desk. Once: a revoke, a re-check and the browser's own close may all come."""
        if self.closed or self.seat is None:
            return
        self.closed = True
        if code is not None:
            await self.close(code=code)
        tasks: list[asyncio.Task[None]] = [
            task
            for task in (self.pending, getattr(self, "ticker", None))
            if task is not None and task is not asyncio.current_task()
        ]
        for task in tasks:
            task.cancel()
        # Finished before the person is taken off: a write still on its way would put
        # them back until STALE.
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self._share(await self._tally(presence.drop), me=False)

    async def disconnect(self, code: int) -> None:
        await self._leave()
