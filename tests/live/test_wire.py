"""The reader consumer writes a frame straight to uvicorn's transport when uvicorn's own send
would write it at once (liveblog/live/consumer.py, _send_now). These tests drive the real
uvicorn websockets-sansio protocol (the production server's) over a transport that records
what is written: the bytes must be what uvicorn's send writes, and every case where its send
would wait, refuse or compress must still go through it."""

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from liveblog.live import consumer as consumers
from liveblog.live.consumer import EventConsumer

REQUEST = (
    b"GET /ws/events/x/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
)
DEFLATE = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _socket(deflate: bool = False):
    """A uvicorn protocol past its handshake, and a consumer writing to it as Channels'
    loop would have set it up (base_send is the server's send)."""
    accepted = asyncio.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set()
        while (await receive())["type"] != "websocket.disconnect":
            pass

    config = Config(app, ws="websockets-sansio", ws_per_message_deflate=deflate, lifespan="off")
    config.load()
    socket = WebSocketsSansIOProtocol(config, ServerState(), {})
    transport = Transport()
    socket.connection_made(transport)  # type: ignore[arg-type]
    socket.data_received(REQUEST + (DEFLATE if deflate else b"") + b"\r\n")
    await asyncio.wait_for(accepted.wait(), 5)
    transport.written.clear()
    reader = EventConsumer()
    reader.base_send = socket.send
    reader.ready = True
    return socket, transport, reader


async def _uvicorn_writes(text: str, deflate: bool = False) -> list[bytes]:
    socket, transport, _ = await _socket(deflate)
    await socket.send({"type": "websocket.send", "text": text})
    return transport.written


@pytest.mark.parametrize("size", [0, 10, 125, 126, 65535, 65536, 100_000])
async def test_a_frame_written_directly_is_what_uvicorn_s_send_writes(size):
    text = ("é€" * size)[:size] or ""
    socket, transport, reader = await _socket()
    assert consumers._writes_now(socket)
    reader.deliver(1, text)
    assert reader.writer is None
    assert transport.written == await _uvicorn_writes(text), (
        "UVICORN/WEBSOCKETS UPGRADE: the bytes liveblog.live.consumer._wire serialises are "
        "no longer those uvicorn's websockets-sansio send writes for the same text."
    )


async def test_every_reader_of_a_change_gets_the_same_bytes_serialised_once(monkeypatch):
    serialised = []
    original = Frame.serialize

    def counting(self, **kwargs):
        serialised.append(1)
        return original(self, **kwargs)

    monkeypatch.setattr(Frame, "serialize", counting)
    sockets = [await _socket() for _ in range(3)]
    frame = '{"type":"post.created","seq":7}'
    for _, _, reader in sockets:
        reader.deliver(7, frame)
    assert len(serialised) == 1
    assert len({transport.written[0] for _, transport, _ in sockets}) == 1


async def test_a_paused_transport_queues_frames_for_uvicorn_s_send_in_order():
    socket, transport, reader = await _socket()
    socket.pause_writing()
    for seq in (1, 2, 3):
        reader.deliver(seq, f"frame {seq}")
    assert transport.written == [] and reader.writer is not None
    socket.resume_writing()
    await asyncio.wait_for(reader.writer, 5)
    expected = [Frame(Opcode.TEXT, f"frame {s}".encode()).serialize(mask=False) for s in (1, 2, 3)]
    assert transport.written == expected
    reader.deliver(4, "frame 4")  # the writer is gone: straight to the transport again
    assert transport.written[-1] == Frame(Opcode.TEXT, b"frame 4").serialize(mask=False)


async def test_a_reader_that_never_drains_is_closed_as_too_slow(monkeypatch):
    monkeypatch.setattr(consumers, "OUTBOX_LIMIT", 3)
    socket, transport, reader = await _socket()
    socket.pause_writing()
    for seq in range(1, 7):
        reader.deliver(seq, f"frame {seq}")
    assert reader.closer is not None and not reader.ready
    socket.resume_writing()
    await asyncio.wait_for(reader.closer, 5)
    assert socket.close_sent
    close = transport.written[-1]  # a close frame (opcode 8) carrying CLOSE_TOO_SLOW
    assert close[0] & 0x0F == Opcode.CLOSE.value
    assert close[2:4] == consumers.CLOSE_TOO_SLOW.to_bytes(2, "big")


async def test_compressed_sockets_take_uvicorn_s_send():
    socket, transport, reader = await _socket(deflate=True)
    assert socket.conn.extensions and not consumers._writes_now(socket)
    text = "compressible " * 50
    reader.deliver(1, text)
    if reader.writer is not None:
        await reader.writer
    assert transport.written == await _uvicorn_writes(text, deflate=True)
    assert transport.written[0][0] & 0x40  # RSV1: compressed, as uvicorn writes it


async def test_nothing_is_written_directly_once_the_socket_is_closing():
    socket, transport, reader = await _socket()
    await socket.send({"type": "websocket.close", "code": 1000})
    assert not consumers._writes_now(socket)
    transport.written.clear()
    reader.deliver(1, "late")
    assert transport.written == []

    socket, transport, reader = await _socket()
    socket.connection_lost(None)
    assert not consumers._writes_now(socket)
    reader.deliver(1, "late")
    assert transport.written == []
