"""The live protocol's WebSocket addresses (SPEC §7; the editor page's desk), and what
guards every socket."""

from collections import Counter
from typing import Any

from channels.auth import AuthMiddlewareStack
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


class SocketsPerAddress:
    """At most LIVEBLOG_SOCKETS_PER_ADDRESS open sockets from one client address in this
    process (the address the server resolved: only the trusted proxy's X-Forwarded-For
    counts), so one machine cannot hold a process's descriptors and memory. Generous by
    default, since a mobile carrier's or a newsroom's NAT puts many readers behind one
    address; off with the other limits (LIVEBLOG_RATE_LIMITS=off, load tests)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not settings.LIVEBLOG_RATE_LIMITS:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        if self.open[address] >= settings.LIVEBLOG_SOCKETS_PER_ADDRESS:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": CLOSE_TOO_MANY})
            return
        self.open[address] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]
