"""A small closed-loop HTTP/1.1 load generator: C keep-alive connections, each sending the
next GET as soon as the previous response is read, for a fixed time. Prints JSON.

    python -m bench.httpload --port 8000 --path /api/v1/events/x/posts/ -c 16 -d 5
"""

import argparse
import asyncio
import json
import time


async def _one(port: int, request: bytes, stop: float, latencies: list[float], errors: list[str]):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = None
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length is not None:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(str(status))
    finally:
        writer.close()


async def run(port: int, path: str, connections: int, duration: float) -> dict[str, float]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    # A short warm-up so that the measured window has warm connections and caches.
    await asyncio.gather(
        *(_one(port, request, time.perf_counter() + 0.5, [], []) for _ in range(2))
    )
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    stop = start + duration
    await asyncio.gather(
        *(_one(port, request, stop, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000,
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=5.0)
    options = parser.parse_args()
    try:
        import uvloop

        result = uvloop.run(run(options.port, options.path, options.connections, options.duration))
    except ImportError:
        result = asyncio.run(run(options.port, options.path, options.connections, options.duration))
    print(json.dumps(result))
