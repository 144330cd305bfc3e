"""A lean WebSocket reader for the swarm: an asyncio.Protocol that parses frames itself.

The `websockets` client costs several times more CPU per received message than this, and on
2 cores the swarm competes with the server: the cheaper the readers, the more of what we
measure is the server's. It speaks just enough of RFC 6455 for a read-only reader: the
opening handshake (optionally offering permessage-deflate), text frames, fragmentation,
ping/pong and close. Client frames (pong, close) are masked as the RFC requires.
"""

import asyncio
import base64
import os
import re
import time
import zlib
from typing import Any

SEQ = re.compile(rb'"seq":(\d+)')
T0 = re.compile(rb"T0=(\d{19})")
_HELLO = b'{"type":"hello"'
_RESET = b'"type":"reset"'


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    if not n:
        return key
    repeated = (key * (n // 4 + 1))[:n]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return key + masked.to_bytes(n, "big")


def client_frame(opcode: int, payload: bytes = b"") -> bytes:
    """A masked, unfragmented control frame (payload ≤ 125 bytes)."""
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + _mask(payload)


class Reader(asyncio.Protocol):
    """One reader connection. The swarm owns the bookkeeping; this only parses."""

    def __init__(self, swarm: Any, index: int, path: str, host: str, origin: str, deflate: bool):
        self.swarm = swarm
        self.index = index
        self.path = path
        self.host = host
        self.origin = origin
        self.deflate = deflate
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.handshaken = False
        self.inflater: Any = None
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.hello_seq = -1
        self.closed = False

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: {self.origin}",
        ]
        if self.deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_result(False)
        self.swarm.on_closed(self)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        self.swarm.wire_bytes += len(data)
        buffer = self.buffer
        buffer += data
        if not self.handshaken and not self._handshake():
            return
        self._frames(now)

    # --- parsing -------------------------------------------------------------------------

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        if not head.startswith("HTTP/1.1 101"):
            if not self.opened.done():
                self.opened.set_result(False)
            assert self.transport is not None
            self.transport.abort()
            return False
        if "permessage-deflate" in head.lower():
            self.inflater = zlib.decompressobj(-15)
        self.handshaken = True
        if not self.opened.done():
            self.opened.set_result(True)
        return True

    def _frames(self, now: int) -> None:
        buffer = self.buffer
        while True:
            n = len(buffer)
            if n < 2:
                return
            b0, b1 = buffer[0], buffer[1]
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if n < 4:
                    return
                length = int.from_bytes(buffer[2:4], "big")
                pos = 4
            elif length == 127:
                if n < 10:
                    return
                length = int.from_bytes(buffer[2:10], "big")
                pos = 10
            if n < pos + length:
                return
            payload = bytes(buffer[pos : pos + length])
            del buffer[: pos + length]
            opcode = b0 & 0x0F
            if opcode in (1, 2):
                self.fragments = [payload]
                self.fragment_compressed = bool(b0 & 0x40)
            elif opcode == 0:
                self.fragments.append(payload)
            elif opcode == 9:
                assert self.transport is not None
                self.transport.write(client_frame(0xA, payload))
                continue
            elif opcode == 8:
                assert self.transport is not None
                if not self.transport.is_closing():
                    self.transport.write(client_frame(0x8, payload[:2]))
                    self.transport.close()
                return
            else:
                continue
            if b0 & 0x80:
                message = b"".join(self.fragments)
                self.fragments = []
                if self.fragment_compressed:
                    message = self.inflater.decompress(message + b"\x00\x00\xff\xff")
                self._message(now, message)

    def _message(self, now: int, message: bytes) -> None:
        found = SEQ.search(message)
        seq = int(found.group(1)) if found else -1
        if message.startswith(_HELLO):
            self.hello_seq = seq
            self.swarm.on_hello(self, seq)
        elif _RESET in message[:40]:
            self.swarm.on_reset(self)
        else:
            stamp = T0.search(message)
            self.swarm.on_change(self, seq, now, int(stamp.group(1)) if stamp else 0, len(message))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
