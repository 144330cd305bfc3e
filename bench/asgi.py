"""liveblog.asgi:application with an SQL statement counter, for the bench's servers only.

Every statement any Django database connection of this process executes is counted (an
execute wrapper installed on each new connection); GET /__bench__/queries answers the count.
That is how the reconnect storm knows how many PostgreSQL queries it cost. Everything else
goes to the real application untouched.
"""

import json
import os
import threading
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.db.backends.signals import connection_created

from liveblog.asgi import application as liveblog_application
from liveblog.asgi import django_asgi_app

if os.environ.get("BENCH_CONSUMER"):
    # A variant of the reader consumer (bench/consumers.py), routed where the real one is.
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.urls import path

    from bench.consumers import VARIANTS

    _consumer = VARIANTS[os.environ["BENCH_CONSUMER"]]
    liveblog_application = ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                URLRouter([path("ws/events/<slug:slug>/", _consumer.as_asgi())])
            ),
        }
    )

_lock = threading.Lock()
_count = [0]


def _counting(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    with _lock:
        _count[0] += 1
    return execute(sql, params, many, context)


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _counting not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counting)


connection_created.connect(_install)


async def _queries(send: Any) -> None:
    body = json.dumps({"queries": _count[0]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def application(scope: dict[str, Any], receive: Any, send: Any) -> Any:
    """The application's own awaitable, not one more coroutine around it: a reader measured
    here holds what it holds in production (liveblog/asgi.py)."""
    if scope["type"] == "http" and scope["path"] == "/__bench__/queries":
        return _queries(send)
    return liveblog_application(scope, receive, send)


markcoroutinefunction(application)


if os.environ.get("BENCH_GC") == "python-default":
    # The collector as Python sets it, to measure what liveblog/asgi.py's settings save.
    import gc

    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
