"""Upgrade guards. The reader consumer (liveblog/live/consumer.py) replaces three pieces of
Channels' own machinery, each for a figure measured in bench/ (the figures are next to the
code). These tests pin what the replacements copy or skip, so that a Channels upgrade that
changes it fails here, saying what changed and what to re-measure, instead of the consumer
quietly drifting from what Channels does. The push after the response
(liveblog/live/publish.py) rests on Django closing every response once it is sent: pinned
here too. So is what the consumer's direct write of a frame to uvicorn's transport mirrors
of uvicorn's websockets-sansio send (tests/live/test_wire.py checks the bytes it writes).
"""

import ast
import asyncio
import difflib
import importlib
import inspect
import textwrap

import channels
import pytest
from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import include, path

from liveblog.blog import services
from liveblog.live import publish as live_publish
from liveblog.live.consumer import EventConsumer

REMEASURE = (
    "Then re-measure the consumer against Channels' documented path: `python -m bench --only "
    "fanout --sizes 2000,5000 --storm-spread 0 --no-fresh-storm --extra '' --servers "
    "uvicorn-sansio:ours,uvicorn-sansio:documented,uvicorn-sansio:documented+own-loop,"
    "uvicorn-sansio:documented+no-db-hop,uvicorn-sansio:documented+stepped-send` "
    "(bench/consumers.py); keep an override only while it still pays, and update the figures "
    "cited in liveblog/live/consumer.py and this pin."
)

# What the consumer relies on, as in channels 4.3.2 (compared as code: docstrings, comments
# and formatting do not count).
CHANNELS = {
    "channels.consumer.AsyncConsumer.__call__": (
        "EventConsumer.__call__ copies it for a consumer without a channel layer, minus the "
        "receive task and asyncio.wait that await_many_dispatch costs every idle reader",
        """
        async def __call__(self, scope, receive, send):
            self.scope = scope
            self.channel_layer = get_channel_layer(self.channel_layer_alias)
            if self.channel_layer is not None:
                self.channel_name = await self.channel_layer.new_channel()
                self.channel_receive = functools.partial(
                    self.channel_layer.receive, self.channel_name
                )
            if self._sync:
                self.base_send = async_to_sync(send)
            else:
                self.base_send = send
            try:
                if self.channel_layer is not None:
                    await await_many_dispatch(
                        [receive, self.channel_receive], self.dispatch
                    )
                else:
                    await await_many_dispatch([receive], self.dispatch)
            except StopConsumer:
                pass
        """,
    ),
    "channels.utils.await_many_dispatch": (
        "the task per source and asyncio.wait per message that EventConsumer.__call__ avoids",
        """
        async def await_many_dispatch(consumer_callables, dispatch):
            tasks = [
                asyncio.ensure_future(consumer_callable())
                for consumer_callable in consumer_callables
            ]
            try:
                while True:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    for i, task in enumerate(tasks):
                        if task.done():
                            result = task.result()
                            await dispatch(result)
                            tasks[i] = asyncio.ensure_future(consumer_callables[i]())
            finally:
                for task in tasks:
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
        """,
    ),
    "channels.consumer.AsyncConsumer.dispatch": (
        "EventConsumer.dispatch copies it minus the hop to the sync thread "
        "(aclose_old_connections) before every handler",
        """
        async def dispatch(self, message):
            handler = getattr(self, get_handler_name(message), None)
            if handler:
                await aclose_old_connections()
                await handler(message)
            else:
                raise ValueError("No handler for message type %s" % message["type"])
        """,
    ),
    "channels.consumer.get_handler_name": (
        "EventConsumer.dispatch finds handlers with it",
        """
        def get_handler_name(message):
            if "type" not in message:
                raise ValueError("Incoming message has no 'type' attribute")
            handler_name = message["type"].replace(".", "_")
            if handler_name.startswith("_"):
                raise ValueError("Malformed type in message (leading underscore)")
            return handler_name
        """,
    ),
    "channels.generic.websocket.AsyncWebsocketConsumer.websocket_disconnect": (
        "EventConsumer.websocket_disconnect copies it minus the hop to the sync thread "
        "(the consumer joins no group: `groups` is empty)",
        """
        async def websocket_disconnect(self, message):
            try:
                for group in self.groups:
                    await self.channel_layer.group_discard(group, self.channel_name)
            except AttributeError:
                raise InvalidChannelLayerError(
                    "BACKEND is unconfigured or doesn't support groups"
                )
            await self.disconnect(message["code"])
            await aclose_old_connections()
            raise StopConsumer()
        """,
    ),
    "channels.generic.websocket.AsyncWebsocketConsumer.send": (
        "EventConsumer._send_now writes what this sends, straight to base_send",
        """
        async def send(self, text_data=None, bytes_data=None, close=False):
            if text_data is not None:
                await super().send({"type": "websocket.send", "text": text_data})
            elif bytes_data is not None:
                await super().send({"type": "websocket.send", "bytes": bytes_data})
            else:
                raise ValueError("You must pass one of bytes_data or text_data")
            if close:
                await self.close(close)
        """,
    ),
    "channels.consumer.AsyncConsumer.send": (
        "EventConsumer._send_now steps base_send(message) by hand instead of awaiting this",
        """
        async def send(self, message):
            await self.base_send(message)
        """,
    ),
}


# What the consumer's direct write mirrors, as in uvicorn 0.54.0 and websockets 15.0.1 (compared
# as code, like CHANNELS).
SERVER = {
    "uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol.send": (
        "EventConsumer._send_now writes a frame straight to the transport when this would "
        "write it at once (liveblog.live.consumer._writes_now names when)",
        """
        async def send(self, message: ASGISendEvent) -> None:
            await self.writable.wait()

            if self.disconnected:
                raise ClientDisconnected()

            if not self.handshake_complete and self.initial_response is None:
                if message["type"] == "websocket.accept":
                    self.logger.info(
                        '%s - "WebSocket %s" [accepted]',
                        get_client_addr(self.scope),
                        get_path_with_query_string(self.scope),
                    )
                    headers = [
                        (name.decode("latin-1").lower(), value.decode("latin-1"))
                        for name, value in (self.default_headers + list(message.get("headers", [])))
                    ]
                    accepted_subprotocol = message.get("subprotocol")
                    if accepted_subprotocol:
                        headers.append(("Sec-WebSocket-Protocol", accepted_subprotocol))
                    del self.response.headers["Date"]
                    self.response.headers.update(headers)

                    if not self.transport.is_closing():
                        self.handshake_complete = True
                        self.conn.send_response(self.response)
                        output = self.conn.data_to_send()
                        self.transport.write(b"".join(output))
                        self.start_keepalive()

                elif message["type"] == "websocket.close":
                    self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
                    self.logger.info(
                        '%s - "WebSocket %s" 403',
                        get_client_addr(self.scope),
                        get_path_with_query_string(self.scope),
                    )
                    response = self.conn.reject(HTTPStatus.FORBIDDEN, "")
                    self.conn.send_response(response)
                    output = self.conn.data_to_send()
                    self.close_sent = True
                    self.handshake_complete = True
                    self.transport.write(b"".join(output))
                    self.transport.close()
                elif (
                    message["type"] == "websocket.http.response.start"
                    and self.initial_response is None
                ):
                    if not (100 <= message["status"] < 600):
                        raise RuntimeError(
                            "Invalid HTTP status code '%d' in response." % message["status"]
                        )
                    self.logger.info(
                        '%s - "WebSocket %s" %d',
                        get_client_addr(self.scope),
                        get_path_with_query_string(self.scope),
                        message["status"],
                    )
                    headers = [
                        (name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in list(message.get("headers", []))
                    ]
                    self.initial_response = (message["status"], headers, b"")
                else:
                    raise RuntimeError(
                        "Expected ASGI message 'websocket.accept', 'websocket.close' "
                        f"or 'websocket.http.response.start' but got '{message['type']}'."
                    )

            elif not self.close_sent and self.initial_response is None:
                try:
                    if message["type"] == "websocket.send":
                        bytes_data = message.get("bytes")
                        text_data = message.get("text")
                        if bytes_data is not None:
                            self.conn.send_binary(bytes_data)
                        elif text_data is not None:
                            self.conn.send_text(text_data.encode())
                        output = self.conn.data_to_send()
                        self.transport.write(b"".join(output))

                    elif message["type"] == "websocket.close":
                        if not self.transport.is_closing():
                            code = message.get("code", 1000)
                            reason = message.get("reason", "") or ""
                            self.queue.put_nowait(
                                {"type": "websocket.disconnect", "code": code, "reason": reason}
                            )
                            self.conn.send_close(code, reason)
                            output = self.conn.data_to_send()
                            self.transport.write(b"".join(output))
                            self.close_sent = True
                            if self.read_paused:
                                self.read_paused = False
                                self.transport.resume_reading()
                            self.close_timer = self.loop.call_later(
                                self.close_timeout, self.transport.close
                            )
                    else:
                        raise RuntimeError(
                            "Expected ASGI message 'websocket.send' or 'websocket.close', "
                            f"but got '{message['type']}'."
                        )
                except InvalidState:
                    raise ClientDisconnected()
            elif self.initial_response is not None:
                if message["type"] == "websocket.http.response.body":
                    body = self.initial_response[2] + message["body"]
                    self.initial_response = self.initial_response[:2] + (body,)
                    if not message.get("more_body", False):
                        status_code = self.initial_response[0]
                        response_headers = Headers(self.initial_response[1])
                        response_headers.setdefault("Date", email.utils.formatdate(usegmt=True))
                        response_headers.setdefault("Connection", "close")
                        response_headers.setdefault("Content-Length", str(len(body)))
                        response_headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                        response = Response(
                            status_code, STATUS_PHRASES[status_code], response_headers, body
                        )
                        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
                        self.conn.send_response(response)
                        output = self.conn.data_to_send()
                        self.close_sent = True
                        self.transport.write(b"".join(output))
                        self.transport.close()
                else:  # pragma: no cover
                    raise RuntimeError(
                        "Expected ASGI message 'websocket.http.response.body' "
                        f"but got '{message['type']}'."
                    )

            else:
                raise RuntimeError(
                    f"Unexpected ASGI message '{message['type']}', "
                    "after sending 'websocket.close'."
                )
        """,
    ),
    "websockets.protocol.Protocol.send_text": (
        "what uvicorn's send calls; _writes_now checks what it checks (no fragmented message, "
        "the connection open)",
        """
        def send_text(self, data: bytes, fin: bool = True) -> None:
            if self.expect_continuation_frame:
                raise ProtocolError("expected a continuation frame")
            if self._state is not OPEN:
                raise InvalidState(f"connection is {self.state.name.lower()}")
            self.expect_continuation_frame = not fin
            self.send_frame(Frame(OP_TEXT, data, fin))
        """,
    ),
    "websockets.protocol.Protocol.send_frame": (
        "what send_text calls: one frame serialised with the connection's extensions (_wire "
        "serialises with none)",
        """
        def send_frame(self, frame: Frame) -> None:
            if self.debug:
                self.logger.debug("> %s", frame)
            self.writes.append(
                frame.serialize(
                    mask=self.side is CLIENT,
                    extensions=self.extensions,
                )
            )
        """,
    ),
}


def _code(source: str) -> str:
    """The code of a function's source, without its docstring, comments and layout."""
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _installed(dotted: str) -> object:
    """The object named `module.attribute...`, with the longest importable module prefix."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found
    raise ImportError(dotted)


@pytest.mark.parametrize("dotted", list(CHANNELS))
def test_what_the_consumer_copies_or_skips_of_channels_is_unchanged(dotted):
    why, pinned = CHANNELS[dotted]
    try:
        installed = _code(inspect.getsource(_installed(dotted)))  # type: ignore[arg-type]
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            f"CHANNELS UPGRADE: {dotted} is gone in channels {channels.__version__} ({exc}); "
            f"{why}. Rewrite that part of liveblog/live/consumer.py on what replaced it. "
            f"{REMEASURE}",
            pytrace=False,
        )
    expected = _code(pinned)
    if installed != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected.splitlines(),
                installed.splitlines(),
                "channels 4.3.2",
                "installed",
                lineterm="",
            )
        )
        pytest.fail(
            f"CHANNELS UPGRADE: {dotted} changed in channels {channels.__version__}; {why}. "
            f"Read the change against liveblog/live/consumer.py (does the override still do "
            f"what Channels does, minus what it was written to skip?). {REMEASURE}\n{diff}",
            pytrace=False,
        )


REMEASURE_WIRE = (
    "Then re-measure the direct write against uvicorn's send: bench/consumers.py's "
    "`ours` and `uvicorn-send` variants, `python -m bench --only fanout --sizes 2000,5000 "
    "--no-storm --extra '' --servers floor,uvicorn-sansio:ours,uvicorn-sansio:uvicorn-send`; "
    "keep it only while it still pays, and update the figures in "
    "liveblog/live/consumer.py (_send_now) and this pin."
)


@pytest.mark.parametrize("dotted", list(SERVER))
def test_what_the_consumer_s_direct_write_mirrors_of_uvicorn_is_unchanged(dotted):
    import uvicorn
    import websockets

    why, pinned = SERVER[dotted]
    versions = f"uvicorn {uvicorn.__version__}, websockets {websockets.__version__}"
    try:
        installed = _code(inspect.getsource(_installed(dotted)))  # type: ignore[arg-type]
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            f"SERVER UPGRADE: {dotted} is gone in {versions} ({exc}); {why}. Serve every "
            f"frame through the ASGI send again, or rewrite _writes_now on what replaced "
            f"it. {REMEASURE_WIRE}",
            pytrace=False,
        )
    expected = _code(pinned)
    if installed != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected.splitlines(),
                installed.splitlines(),
                "uvicorn 0.54.0 / websockets 15.0.1",
                "installed",
                lineterm="",
            )
        )
        pytest.fail(
            f"SERVER UPGRADE: {dotted} changed in {versions}; {why}. Read the change "
            f"against liveblog/live/consumer.py's _writes_now and _wire (would the server's "
            f"send still write exactly those bytes at once, in exactly those states?); "
            f"tests/live/test_wire.py checks the bytes. {REMEASURE_WIRE}\n{diff}",
            pytrace=False,
        )


def test_a_layer_alias_that_names_no_layer_gives_a_reader_no_channel():
    """Either loop, Channels' or ours, then leaves each reader without a channel-layer
    channel: the hub holds one subscription per event per process instead."""
    alias = EventConsumer.channel_layer_alias
    assert alias not in settings.CHANNEL_LAYERS
    assert get_channel_layer(alias) is None, (
        f"CHANNELS UPGRADE: get_channel_layer({alias!r}) no longer answers None for an alias "
        "that is not configured: EventConsumer's channel_layer_alias relies on it."
    )


def test_handler_names_are_found_as_before():
    assert get_handler_name({"type": "websocket.connect"}) == "websocket_connect"
    with pytest.raises(ValueError):
        get_handler_name({"type": "_private.message"})


class _Probe(EventConsumer):
    """Stops at the first message, remembering what the loop had set up by then."""

    async def websocket_connect(self, message):
        self.set_up = dict(vars(self))
        raise StopConsumer


async def _set_up_by(loop):
    messages = [{"type": "websocket.connect"}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(60)

    async def send(message):
        pass

    probe = _Probe()
    scope = {"type": "websocket", "path": "/"}
    await asyncio.wait_for(loop(probe, scope, receive, send), timeout=5)
    return probe.set_up, scope, send


async def test_the_consumer_s_loop_sets_up_what_channels_loop_sets_up():
    """What Channels' own loop sets on a consumer (for one with no channel layer) is what
    the other methods of Channels read: ours must set the same, no more and no less."""
    theirs, scope, send = await _set_up_by(AsyncConsumer.__call__)
    ours, _, _ = await _set_up_by(EventConsumer.__call__)
    assert sorted(ours) == sorted(theirs), (
        f"CHANNELS UPGRADE: Channels' AsyncConsumer.__call__ now sets {sorted(theirs)} on a "
        f"consumer, EventConsumer.__call__ sets {sorted(ours)}: make them agree. {REMEASURE}"
    )
    assert theirs["channel_layer"] is None and theirs["base_send"] is send
    assert theirs["scope"] is scope


async def test_channels_send_is_a_write_to_base_send():
    """_send_now writes straight to base_send: what Channels' send would have done."""
    written = []

    async def base_send(message):
        written.append(message)

    reader = EventConsumer()
    reader.base_send = base_send
    await reader.send(text_data="frame")
    assert written == [{"type": "websocket.send", "text": "frame"}], (
        "CHANNELS UPGRADE: AsyncWebsocketConsumer.send no longer just writes "
        f"{{'type': 'websocket.send', 'text': ...}} to base_send (it wrote {written}): "
        f"EventConsumer._send_now bypasses it. {REMEASURE}"
    )


# --- Django: every response is closed once it has been sent ---------------------------------


def _watched(response, log):
    """Hook the response the way PushAfterResponseMiddleware does, and log its close."""
    live_publish._after_close(response, lambda: log.append("closed"))
    return response


_log: list[str] = []
_publishing: dict[str, object] = {}


def _view(request):
    return _watched(HttpResponse(b"body"), _log)


def _publishing_view(request):
    services.post_publish(body="pushed after the response", **_publishing)  # type: ignore[arg-type]
    return HttpResponse(b"body", status=201)


urlpatterns = [
    path("guarded", _view),
    path("publishing", _publishing_view),
    path("", include("liveblog.urls")),  # the entry's fragment links to its pages
]


def _scope(path_: str) -> dict:
    return {
        "type": "http", "method": "GET", "path": path_, "query_string": b"",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }  # fmt: skip


def _receive():
    messages = [{"type": "http.request", "body": b""}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(60)

    return receive


async def test_django_s_asgi_handler_closes_a_response_after_sending_it(settings):
    """PushAfterResponseMiddleware pushes a request's changes when Django closes its
    response: that must come after the last of the body (publish p50 with 10,000 readers
    is 5-30 % slower when the fan-out starts before, bench/RESULTS.md)."""
    settings.ROOT_URLCONF = __name__
    _log.clear()

    async def send(message):
        if message["type"] == "http.response.body" and not message.get("more_body"):
            _log.append("body sent")

    await ASGIHandler()(_scope("/guarded"), _receive(), send)
    assert _log == ["body sent", "closed"], (
        f"DJANGO UPGRADE: Django's ASGIHandler no longer closes a response once it has sent "
        f"it (saw {_log}); PushAfterResponseMiddleware (liveblog/live/publish.py) releases a "
        "request's pushes when it does. Find the new end-of-response hook and re-measure "
        "publish p50 at 10 vs 10,000 readers (bench/RESULTS.md, 'Push after the response')."
    )


def test_django_s_wsgi_handler_hands_the_server_the_response_to_close(settings):
    """A WSGI server calls close() on what the application returned (PEP 3333)."""
    settings.ROOT_URLCONF = __name__
    _log.clear()
    environ = RequestFactory().get("/guarded").environ
    result = WSGIHandler()(environ, lambda status, headers: None)
    assert b"".join(result) == b"body" and _log == []
    result.close()  # what the WSGI server does once the body is out
    assert _log == ["closed"], (
        "DJANGO UPGRADE: closing what Django's WSGIHandler returns no longer closes the "
        "response; PushAfterResponseMiddleware (liveblog/live/publish.py) relies on it."
    )


@pytest.mark.django_db(transaction=True)
async def test_under_django_s_asgi_handler_a_request_s_pushes_leave_after_its_body(
    settings, event, reporter, sent
):
    """End to end, with the project's middleware: under an ASGI server the pushes are
    released when the request's task ends, which in Django's ASGIHandler is right after it
    sent the response (close() comes later, from a thread, and finds nothing left)."""
    settings.ROOT_URLCONF = __name__
    _publishing.update(event=event, author=reporter)
    pushed_before_body: list[int] = []

    async def send(message):
        if message["type"] == "http.response.start":
            await asyncio.sleep(0.1)  # a slow client: pushes released early would be out now
        if message["type"] == "http.response.body" and not message.get("more_body"):
            pushed_before_body.append(len(sent))

    await ASGIHandler()(_scope("/publishing"), _receive(), send)
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.02)
    when = "before" if pushed_before_body != [0] else "not after"
    assert pushed_before_body == [0] and len(sent) == 1, (
        f"DJANGO UPGRADE: a request's push left {when} its response body under Django's "
        "ASGIHandler: PushAfterResponseMiddleware (liveblog/live/publish.py) assumes the "
        "middleware runs in the task that sends the response, and that the response is "
        "closed after it. Re-read ASGIHandler.handle and re-measure publish p50 at 10 vs "
        "10,000 readers (bench/RESULTS.md, 'Push after the response')."
    )
