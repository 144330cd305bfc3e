"""The hot anonymous reads of the API, answered before Django: `GET …/changes/?since=N`, and
the posts list from its last rendering while the event's seq holds (`FastReads._posts`).

A reader whose proxy blocks WebSockets polls `/changes/?since=<last seq it has>` every few
seconds (static/js/live.js), and every reader at one state asks the same URL. Through the
whole Django chain (eleven middleware, ninja, two queries in a thread) one process answered
about 70 such polls a second (bench/RESULTS.md, "API reads"). Here, on the server's event
loop, the answer is one Redis round trip: the recent history (liveblog/live/history.py)
keeps the frames of the last changes and the last seq it was told, in one script, so the
body is the frames joined, with no query and no thread hop.

Only what can be answered exactly as the Django view would is answered here; everything else
goes on to Django unchanged: a request with credentials (an Authorization header or a session
cookie), any other query string, a slug this process has not seen answered lately, a range
Redis does not hold whole, Redis down or behind what PostgreSQL last said.

Sameness with the view, by construction rather than by a second copy of the rules:

- The headers are those of the view's own last 200 for the same Host and scheme (security
  headers, CSP, Permissions-Policy, Vary, Cache-Control), learned from its response as it
  goes out, with a fresh CSP nonce (the API's is random per response anyway), the ETag
  (liveblog/http/caching.py `changes_etag`, from the seq alone), nginx's expiry
  (`changes_kept_until`) and the length.
- What the slug names (the event's id and creation stamp) and the last seq PostgreSQL had
  are said by the view (`saw`, as for the posts list) and trusted for LEARNED_FOR seconds:
  after that, one request goes to Django and refreshes them. An event removed or renamed is
  so answered as before for at most a few seconds (LEARNED_FOR + REFRESHING_FOR), as a
  shared cache would.
- The body: `{"changes": [<frame>, …], "last_seq": n}` with the frames exactly as Redis
  keeps them, which are the change log's rows as they are now told (retold by the same
  transaction, SPEC §7). The view encodes its rows the same way (`changes_body`).

tests/api/test_fast_changes.py compares both paths' answers state by state.
"""

import asyncio
import contextlib
import re
import secrets
import time
from base64 import b64encode
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.utils.http import parse_etags

from liveblog import metrics
from liveblog.blog.models import MAX_BIGINT
from liveblog.http import caching
from liveblog.live import history

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Django's handler types its arguments more narrowly than the ASGI spec does.
ASGIApp = Callable[..., Awaitable[None]]

# Django's slug converter, so that a path Django would not route is not answered here.
_CHANGES_PATH = re.compile(r"/api/v1/events/(?P<slug>[-a-zA-Z0-9_]+)/changes/")
_SINCE = re.compile(rb"since=([0-9]{1,19})")
_NONCE = re.compile(rb"'nonce-[^']*'")

# How long what the view said of a slug (and its headers) is used before it is asked again,
# and how long longer while that one request is on its way: the other polls meanwhile are
# answered as before instead of all going to the view at once (through the view a process
# answers ~70 a second, so a herd of 32 connections would wait ~0.4 s behind each other).
LEARNED_FOR = 1.0
REFRESHING_FOR = 2.0

# What the view noted of each slug: (event id, creation stamp, last seq PostgreSQL had, until).
_events: dict[str, tuple[int, int, int, float]] = {}
# The headers of the view's last 200, by what they depend on in the request, with the time
# they were learned.
_headers: dict[tuple[bytes, ...], tuple[list[tuple[bytes, bytes]], float]] = {}

# The posts list's renderings, whole (status 200, headers, body), by slug, query and what
# the headers depend on: (event id, stamp, the last seq the view saw, when, headers, body).
# Any change a reader can see bumps last_seq (SPEC §3), so a rendering answers while Redis'
# last seq is the one it was made at; RENDERED_FOR bounds what a change that bumps no seq
# (none is known) could leave behind. Kept per process, the most recent RENDERINGS only:
# a query string of one's own (a cache-buster) only ever costs its own render.
Rendering = tuple[int, int, int, float, list[tuple[bytes, bytes]], bytes]
_rendered: "OrderedDict[tuple[Any, ...], Rendering]" = OrderedDict()
RENDERED_FOR = 5.0
RENDERINGS = 1000
# The renderings being made by the view now, each a future its waiters await.
_making: "dict[tuple[Any, ...], asyncio.Future[None]]" = {}
_POSTS_PATH = re.compile(r"/api/v1/events/(?P<slug>[-a-zA-Z0-9_]+)/posts/")

# What the view saw, handed back to the ASGI layer: a dict the view (in its thread, which
# runs in a copy of this context) fills in.
_seen: ContextVar[dict[str, int] | None] = ContextVar("liveblog_fast_seen", default=None)


def saw(event_id: int, stamp: int, last_seq: int) -> None:
    """Said by the views the fast path stands in front of (the posts list, the change log):
    the event state their answer was made from."""
    box = _seen.get()
    if box is not None:
        box.update(event_id=event_id, stamp=stamp, last_seq=last_seq)


# The slugs one request has been sent to the view for, to refresh them, and when.
_refreshing: dict[str, float] = {}

_VARIABLE = {b"content-length", b"etag", b"last-modified", b"x-accel-expires"}


def learn(slug: str, event_id: int, stamp: int, last_seq: int) -> None:
    """What the view said of an anonymous answer (a 200 or a 304): what the slug names and
    its last seq."""
    _events[slug] = (event_id, stamp, last_seq, time.monotonic() + LEARNED_FOR)
    _refreshing.pop(slug, None)


def forget() -> None:
    """Drop everything learned (tests; a process never needs it)."""
    _events.clear()
    _headers.clear()
    _refreshing.clear()
    _rendered.clear()


def _usable(slug: str, until: float, now: float) -> bool:
    """Whether what was learned of `slug` (valid until `until`) may answer now. Past its
    time, the first request goes to the view to refresh it, and the others are answered as
    before while that one is on its way, for REFRESHING_FOR seconds at most."""
    if now <= until:
        return True
    sent = _refreshing.get(slug)
    if sent is None or sent + REFRESHING_FOR < now:
        _refreshing[slug] = now
        return False
    return now <= until + REFRESHING_FOR


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _since(scope: Scope) -> int | None:
    """The query's `since` when the query is exactly that (or empty), else None."""
    query = scope.get("query_string", b"")
    if query == b"":
        return 0
    match = _SINCE.fullmatch(query)
    if match is None:
        return None
    since = int(match.group(1))
    return since if since <= MAX_BIGINT else None


def _anonymous(scope: Scope) -> bool:
    if _header(scope, b"authorization") is not None:
        return False
    cookie = _header(scope, b"cookie")
    return cookie is None or settings.SESSION_COOKIE_NAME.encode() + b"=" not in cookie


def _headers_key(scope: Scope) -> tuple[bytes, ...]:
    # What the headers the view sends depend on: the Host (CSP's connect-src) and whether the
    # request is secure (HSTS, ws:// or wss://), as the scheme or the proxy's header says.
    return (
        _header(scope, b"host") or b"",
        _header(scope, b"x-forwarded-proto") or b"",
        str(scope.get("scheme", "http")).encode(),
    )


def changes_body(frames: list[str], last_seq: int) -> bytes:
    """The /changes/ body around already-encoded frames (both paths use it)."""
    return ('{"changes": [' + ", ".join(frames) + f'], "last_seq": {last_seq}}}').encode()


def _fresh_nonce(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    nonce = b"'nonce-" + b64encode(secrets.token_bytes(16)) + b"'"
    return [(k, _NONCE.sub(nonce, v) if k == b"content-security-policy" else v) for k, v in headers]


def _not_modified(scope: Scope, etag: str) -> bool:
    """If-None-Match as Django's condition() reads it (weak comparison; `*` matches)."""
    header = _header(scope, b"if-none-match")
    if header is None:
        return False
    tags = parse_etags(header.decode("latin-1"))
    if tags == ["*"]:
        return True
    return any(t.removeprefix("W/") == etag.removeprefix("W/") for t in tags)


class FastReads:
    """ASGI middleware in front of Django's handler (liveblog/asgi.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        posts = _POSTS_PATH.fullmatch(scope["path"])
        if posts is not None and _anonymous(scope):
            await self._posts(scope, receive, send, posts.group("slug"))
            return
        match = _CHANGES_PATH.fullmatch(scope["path"])
        since = _since(scope) if match else None
        if match is None or since is None or not _anonymous(scope):
            await self.app(scope, receive, send)
            return
        if await self._answer(scope, send, match.group("slug"), since):
            metrics.API_FAST.labels("redis").inc()
            return
        metrics.API_FAST.labels("django").inc()
        slug = match.group("slug")
        box: dict[str, int] = {}
        status: list[int] = []
        token = _seen.set(box)
        try:
            await self.app(scope, receive, self._learning(scope, send, slug, status))
        finally:
            _seen.reset(token)
        if status and status[0] in (200, 304) and len(box) == 3:
            learn(slug, box["event_id"], box["stamp"], box["last_seq"])

    async def _answer(self, scope: Scope, send: Send, slug: str, since: int) -> bool:
        now = time.monotonic()
        known = _events.get(slug)
        learned = _headers.get(_headers_key(scope))
        if known is None or learned is None:
            return False
        if not _usable(slug, min(known[3], learned[1] + LEARNED_FOR), now):
            return False
        event_id, stamp, db_last, _ = known
        try:
            found = await history.changes_after(
                event_id, stamp, since, settings.LIVEBLOG_CATCHUP_LIMIT
            )
        except history.Unavailable:
            return False
        # Redis behind what PostgreSQL last said: a write to it failed, or is still on its way.
        if found is None or found[0] < db_last:
            return False
        last_seq, frames = found
        etag = caching.changes_etag(slug, since, event_id, stamp, last_seq)
        headers = _fresh_nonce(learned[0])
        headers.append((b"x-accel-expires", caching.changes_kept_until().encode()))
        if _not_modified(scope, etag):
            headers = [(k, v) for k, v in headers if k != b"content-type"]
            headers.append((b"etag", etag.encode()))
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return True
        body = changes_body(frames, last_seq)
        headers += [(b"etag", etag.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
        return True

    async def _posts(self, scope: Scope, receive: Receive, send: Send, slug: str) -> None:
        """The posts list: its last rendering while the event's seq has not moved, else the
        view, whose 200 is kept. One request at a time goes to the view for a rendering
        (the others wait for it, or answer the old one while its seq holds): a change, or
        a rendering's age, must not send every connection to the view at once."""
        key = (slug, bytes(scope.get("query_string", b"")), _headers_key(scope))
        if await self._kept(scope, send, key, refreshing=key in _making):
            return
        making = _making.get(key)
        if making is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(making), REFRESHING_FOR)
            if await self._kept(scope, send, key, refreshing=False):
                return
            await self._render(scope, receive, send, key)
            return
        made = _making[key] = asyncio.get_running_loop().create_future()
        try:
            await self._render(scope, receive, send, key)
        finally:
            del _making[key]
            made.set_result(None)

    async def _kept(self, scope: Scope, send: Send, key: tuple[Any, ...], refreshing: bool) -> bool:
        """Answer with the kept rendering if it holds: Redis' last seq is the one it was
        made at, and it is young enough (a little older while another request renders)."""
        kept = _rendered.get(key)
        if kept is None:
            return False
        event_id, stamp, seen_seq, made_at, headers, body = kept
        age = time.monotonic() - made_at
        if age > RENDERED_FOR + (REFRESHING_FOR if refreshing else 0.0):
            return False
        try:
            current = await history.last_seq(event_id, stamp)
        except history.Unavailable:
            return False
        if current != seen_seq:
            return False
        metrics.API_FAST.labels("rendered").inc()
        await self._send_kept(scope, send, headers, body)
        return True

    async def _render(
        self, scope: Scope, receive: Receive, send: Send, key: tuple[Any, ...]
    ) -> None:
        """The view's answer, kept when it is a 200 to a GET."""
        metrics.API_FAST.labels("django").inc()
        box: dict[str, int] = {}
        token = _seen.set(box)
        start: list[Message] = []
        chunks: list[bytes] = []

        async def keeping(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
            elif message["type"] == "http.response.body" and start:
                chunks.append(bytes(message.get("body", b"")))
            await send(message)

        try:
            await self.app(scope, receive, keeping)
        finally:
            _seen.reset(token)
        if start and start[0]["status"] == 404:  # the event is gone (or renamed)
            _rendered.pop(key, None)
        if not start or start[0]["status"] != 200 or len(box) != 3 or scope["method"] != "GET":
            return
        headers = [(bytes(k).lower(), bytes(v)) for k, v in start[0].get("headers", ())]
        entry = (box["event_id"], box["stamp"], box["last_seq"], time.monotonic())
        _rendered[key] = (*entry, headers, b"".join(chunks))
        _rendered.move_to_end(key)
        while len(_rendered) > RENDERINGS:
            _rendered.popitem(last=False)

    async def _send_kept(
        self, scope: Scope, send: Send, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        headers = _fresh_nonce(headers)
        etag = next((v.decode() for k, v in headers if k == b"etag"), None)
        if etag is not None and _not_modified(scope, etag):
            dropped = (b"content-type", b"content-length")
            headers = [(k, v) for k, v in headers if k not in dropped]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _learning(self, scope: Scope, send: Send, slug: str, status: list[int]) -> Send:
        """`send`, noting the view's status and the headers of its 200 on the way; a 404 (the
        event is gone, or renamed) forgets the slug at once."""
        key = _headers_key(scope)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            if message["type"] == "http.response.start" and message["status"] == 404:
                _events.pop(slug, None)
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
                kept = [(k, v) for k, v in headers if k not in _VARIABLE]
                _headers[key] = (kept, time.monotonic())
            await send(message)

        return sending
