import gc
import os

from asgiref.sync import markcoroutinefunction
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
django_asgi_app = get_asgi_application()

from liveblog.api.fast import FastReads  # noqa: E402
from liveblog.live.routing import Sockets  # noqa: E402
from liveblog.live.stream import EventStream  # noqa: E402

# The hot anonymous polls of the change log are answered from Redis before Django.
_reads = FastReads(django_asgi_app)
_streams = EventStream()


async def http(scope, receive, send):  # an ASGI app
    """The live protocol's event streams (liveblog/live/stream.py), else the site. A prefix
    test, not Channels' URLRouter: every API poll passes here, and a resolver per request
    is what the fast path exists to avoid."""
    if scope["path"].startswith("/sse/"):
        await _streams(scope, receive, send)
    else:
        await _reads(scope, receive, send)


_sockets = Sockets()


def application(scope, receive, send):  # the ASGI application
    """Channels' ProtocolTypeRouter, as a function that hands back the awaitable of the app
    for the scope's type instead of awaiting it: no suspended coroutine of its own for each
    of a process's ten thousand readers (see liveblog/live/routing.py, Sockets). Marked as
    a coroutine function, which is how servers tell an ASGI 3 application."""
    if scope["type"] == "websocket":
        return _sockets(scope, receive, send)
    if scope["type"] == "http":
        return http(scope, receive, send)
    raise ValueError(f"No application configured for scope type {scope['type']!r}")


markcoroutinefunction(application)

# The garbage collector, tuned for a process holding thousands of sockets. Every collection
# of the oldest generation walks every tracked object: Django's own (loaded above, never
# garbage) and every reader's. With Python's thresholds (700, 10, 10) a storm of handshakes
# triggers such walks over and over: they were 30 % of a handshake's CPU. Frozen, the
# objects loaded so far are never walked again; with 50,000 allocations before a young
# collection (700 by default), 20 young ones before a middle one and 100 of those before an
# old one, walks are rare. 4,000 readers connecting at once to one uvicorn process (2 shared
# vCPUs, 2026-12-02): server CPU 475 / 477 / 500 / 498 µs a handshake with Python's
# settings, 318 / 330 / 350 / 347 with these; all greeted after 2.0-2.45 s, 1.4-1.5 s with
# these (the floor, websockets alone: 1.2-1.5 s, 270-350 µs a handshake). Rerun: bench/asgi.py
# restores Python's settings under BENCH_GC=python-default.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
