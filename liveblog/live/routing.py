"""The live protocol's WebSocket addresses (SPEC §7; the editor page's desk), and what
guards every socket."""

import re
from collections import Counter
from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.conf import settings
from django.urls import path, re_path

from liveblog.live.consumer import CLOSE_NOT_FOUND, EventConsumer
from liveblog.live.desk_consumer import DeskConsumer

# Close codes are not seen by a client refused before the handshake completes (it gets a
# 403); they name the reason in the server's own tests and logs.
CLOSE_TOO_MANY = 4429


async def not_found(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Any other socket address: refused, as an unknown event is, without a traceback."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})


websocket_urlpatterns = [
    path("ws/events/<slug:slug>/", EventConsumer.as_asgi()),
    # The editor page's socket reads the session (only it: readers' sockets stay as cheap).
    path("ws/editor/events/<slug:slug>/", AuthMiddlewareStack(DeskConsumer.as_asgi())),
    re_path(r"^(?s:.*)$", not_found),  # type: ignore[arg-type]  # an ASGI app, as Channels routes
]


class OpenPerAddress:
    """Open live connections per client address in this process, against
    LIVEBLOG_SOCKETS_PER_ADDRESS (no limit with LIVEBLOG_RATE_LIMITS off). Methods, not a
    context manager: a `with` would hold a generator object for every idle reader."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()

    def full(self, address: str) -> bool:
        limit = settings.LIVEBLOG_SOCKETS_PER_ADDRESS
        return bool(settings.LIVEBLOG_RATE_LIMITS) and self.open[address] >= limit

    def add(self, address: str) -> None:
        self.open[address] += 1

    def remove(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


# The readers' address, as its route above matches it (Django's slug converter).
READER_PATH = re.compile(r"ws/events/(?P<slug>[-a-zA-Z0-9_]+)/")


class Sockets:
    """Every WebSocket of the site in one layer: Channels' origin check (its own
    `valid_origin`: the AllowedHostsOriginValidator's rules), at most
    LIVEBLOG_SOCKETS_PER_ADDRESS open sockets from one client address in this process, then a
    reader's socket straight to its consumer and every other one through URLRouter and the
    routes above.

    The limit: the address is the one the server resolved (only the trusted proxy's
    X-Forwarded-For counts), so one machine cannot hold a process's descriptors and memory.
    Generous by default, since a mobile carrier's or a newsroom's NAT puts many readers
    behind one address; off with the other limits (LIVEBLOG_RATE_LIMITS=off, load tests).

    Why one layer, not the documented stack (ProtocolTypeRouter, AllowedHostsOriginValidator,
    a limiting wrapper, URLRouter, the consumer's as_asgi): an idle reader is mostly what its
    connection holds while it waits, and each wrapper holds a suspended coroutine (~400 bytes,
    tracemalloc) and URLRouter a copy of the scope with its `url_route` (~900); a process
    holds ten thousand readers. Here a reader's socket waits in this layer and its consumer
    only, and `url_route` is set on the server's own scope (nothing reads it after this),
    as URLRouter would have set it for the consumer. Idle readers of one uvicorn process
    (2 shared vCPUs, 2026-12-02, `python -m bench --only fanout --sizes 1000,2000,5000,10000
    --servers floor,uvicorn-sansio --extra '' --no-storm`): 17.6 / 17.9 / 21.0 / 21.6 KiB
    each with the stack; 16.1 / 17.2 / 19.6 / 20.3 with this layer and a limiting wrapper
    still under it; 15.3 / 16.3 / 19.0 / 19.6 with the limit in this layer and no coroutine
    of the application's own (liveblog/asgi.py), nor of the bench's wrapper, which held one
    in the earlier figures too (the floor: 13.1-14.3). The desk's socket,
    one per editor, takes the documented path after the two checks."""

    def __init__(self) -> None:
        self.origins = AllowedHostsOriginValidator(None)
        self.router = URLRouter(websocket_urlpatterns)
        self.open = OpenPerAddress()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        origin = None
        for name, value in scope.get("headers", ()):
            if name == b"origin":
                try:  # latin-1 decodes any bytes; a malformed URL ("http://[x") is refused
                    origin = urlparse(value.decode("latin1"))
                except ValueError:
                    origin = None
        if not self.origins.valid_origin(origin):
            await WebsocketDenier()(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        if self.open.full(address):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": CLOSE_TOO_MANY})
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        reader = READER_PATH.fullmatch(path.lstrip("/"))
        self.open.add(address)
        try:
            if reader is None:
                await self.router(scope, receive, send)
            else:
                scope["url_route"] = {"args": (), "kwargs": {"slug": reader.group("slug")}}
                await EventConsumer()(scope, receive, send)
        finally:
            self.open.remove(address)
