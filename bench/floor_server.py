"""The floor: the least a Python WebSocket broadcast server can do, with `websockets` alone.

Readers connect to any path and get a hello; a publisher connects to /publish and every text
message it sends is broadcast, encoded once, to every reader (`websockets.broadcast`). No
database, no channel layer, no per-reader Python code on the send path: what our server
costs above this is the price of Django, Channels and Redis.

    python -m bench.floor_server --port 8765 [--compression]
"""

import argparse
import asyncio
import json

from websockets.asyncio.server import ServerConnection, broadcast, serve

READERS: set[ServerConnection] = set()
SEQ = {"last": 0}


async def handler(connection: ServerConnection) -> None:
    if connection.request is not None and connection.request.path == "/publish":
        async for message in connection:
            SEQ["last"] += 1
            broadcast(READERS, message)
        return
    await connection.send(json.dumps({"type": "hello", "seq": SEQ["last"]}))
    READERS.add(connection)
    try:
        await connection.wait_closed()
    finally:
        READERS.discard(connection)


async def main(port: int, compression: bool) -> None:
    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression="deflate" if compression else None,
        backlog=4096,
        max_size=2**20,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--compression", action="store_true")
    options = parser.parse_args()
    try:
        import uvloop

        uvloop.run(main(options.port, options.compression))
    except ImportError:
        asyncio.run(main(options.port, options.compression))
