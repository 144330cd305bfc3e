"""Readers on Server-Sent Events (issue 13): what the event stream (liveblog/live/stream.py)
costs a live process and how late its readers have each change, for the readers whose proxy
refuses WebSocket upgrades (the alternative for them is polling: bench/pollers.py).

    DATABASE_URL=postgres://…/liveblog_bench REDIS_URL=redis://…/N \\
        python -m bench.streams [--readers 2000] [--seconds 20]

One `live` process (the production uvicorn command); N readers in SWARM processes, each a
lean asyncio protocol reading `GET /sse/events/<slug>/?since=<seq>` (no client library, as
bench/wsclient.py for sockets); one change a second published from this process through
the services (PostgreSQL, Redis' recent history and Pub/Sub, as from the API). Latency is
the time a reader had a change minus the T0 its body carries (one clock). Also: the server's
memory per idle reader (RSS after all said hello and idled 2 s, minus before) and its CPU
per 1,000 deliveries while publishing.
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import sys
import time
from typing import Any

from bench import fixtures, servers
from bench.swarm import raise_open_file_limit

SLUG = "bench-streams"
SEQ = re.compile(rb'"seq":(\d+)')
T0 = re.compile(rb"T0=(\d{19})")
HELLO = b'data: {"type":"hello"'


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


class StreamReader(asyncio.Protocol):
    """One reader: a GET, then messages split on blank lines."""

    def __init__(self, stats: dict[str, Any], path: str, greeted: Any) -> None:
        self.stats, self.path, self.greeted = stats, path, greeted
        self.buffer = b""
        self.head = True
        self.seq = -1

    def connection_made(self, transport: Any) -> None:
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )
        transport.write(request.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats["lost"] += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.head:
            if b"\r\n\r\n" not in self.buffer:
                return
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            if not head.startswith(b"HTTP/1.1 200"):
                self.stats["refused"] += 1
            self.head = False
        # The body is chunked (no length): chunk sizes sit on lines of their own, which the
        # message parser below skips, since a message is only what has `data:`.
        while b"\n\n" in self.buffer:
            message, self.buffer = self.buffer.split(b"\n\n", 1)
            self._message(message)

    def _message(self, message: bytes) -> None:
        start = message.find(b"data: ")
        if start < 0:
            return
        data = message[start:]
        if data.startswith(HELLO):
            self.seq = int(SEQ.search(data).group(1))  # type: ignore[union-attr]
            with self.greeted.get_lock():
                self.greeted.value += 1
            return
        found = SEQ.search(data)
        if found is None:
            return
        seq = int(found.group(1))
        if seq <= self.seq:
            self.stats["repeats"] += 1
            return
        if seq != self.seq + 1:
            self.stats["gaps"] += 1
        self.seq = seq
        stamp = T0.search(data)
        if stamp:
            self.stats["delays"].append(time.time() - int(stamp.group(1)) / 1e9)


async def _swarm(port: int, readers: int, since: int, stop: Any, greeted: Any) -> dict:
    stats: dict[str, Any] = {"lost": 0, "refused": 0, "repeats": 0, "gaps": 0, "delays": []}
    loop = asyncio.get_running_loop()
    path = f"/sse/events/{SLUG}/?since={since}"
    protocols = []
    for _ in range(readers):
        _, protocol = await loop.create_connection(
            lambda: StreamReader(stats, path, greeted), "127.0.0.1", port
        )
        protocols.append(protocol)
    while not stop.is_set():
        await asyncio.sleep(0.1)
    stats["final"] = [p.seq for p in protocols]
    return stats


def _swarm_process(args: tuple[Any, ...], out: Any) -> None:
    raise_open_file_limit()
    out.put(asyncio.run(_swarm(*args)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams")
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0, help="of publishing")
    parser.add_argument("--swarm", type=int, default=2, help="reader processes")
    options = parser.parse_args(argv)
    env = fixtures.standalone_env()
    from liveblog.blog import services
    from liveblog.blog.models import Event

    event, user = fixtures.fresh_event(SLUG, "Bench streams", [])
    load = os.getloadavg()
    live = servers.start("uvicorn-sansio", env)
    context = multiprocessing.get_context("fork")
    greeted = context.Value("i", 0)
    stop = context.Event()
    try:
        services.post_publish(event=event, author=user, body="warm-up")  # the hub is up
        first_seq = event.last_seq
        rss_before = live.rss()
        per = options.readers // options.swarm
        results: Any = context.Queue()
        swarm = [
            context.Process(
                target=_swarm_process, args=((live.port, per, first_seq, stop, greeted), results)
            )
            for _ in range(options.swarm)
        ]
        started = time.monotonic()
        for process in swarm:
            process.start()
        while greeted.value < per * options.swarm and time.monotonic() - started < 60:
            time.sleep(0.05)
        connect_s = time.monotonic() - started
        time.sleep(2)
        per_reader_kib = (live.rss() - rss_before) / 1024 / max(1, greeted.value)
        cpu_before = live.cpu_seconds()
        published = 0
        window = time.monotonic()
        while time.monotonic() - window < options.seconds:
            services.post_publish(event=event, author=user, body=f"Entry T0={time.time_ns()}")
            published += 1
            time.sleep(max(0.0, 1.0 - (time.time() % 1.0)))
        time.sleep(2)  # the last change's deliveries
        cpu = live.cpu_seconds() - cpu_before
        stop.set()
        stats = [results.get(timeout=60) for _ in swarm]
        for process in swarm:
            process.join(10)
    finally:
        live.stop()
    delays = [d for s in stats for d in s["delays"]]
    final = [seq for s in stats for seq in s["final"]]
    last = Event.objects.get(pk=event.pk).last_seq
    expected = published * len(final)
    print(f"Readers on Server-Sent Events (load before: {', '.join(f'{x:.2f}' for x in load)})")
    print()
    print(
        "| readers | said hello | in s | changes | deliveries | p50 ms | p99 ms | max ms "
        "| missed | repeats | gaps | KiB / idle reader | server CPU s / 1k deliveries |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(final):,} | {greeted.value:,} | {connect_s:.1f} | {published} | {len(delays):,} "
        f"| {percentile(delays, 0.5) * 1000:.0f} | {percentile(delays, 0.99) * 1000:.0f} "
        f"| {max(delays, default=float('nan')) * 1000:.0f} | {expected - len(delays):,} "
        f"| {sum(s['repeats'] for s in stats):,} | {sum(s['gaps'] for s in stats):,} "
        f"| {per_reader_kib:.1f} | {cpu / max(1, len(delays)) * 1000:.3f} |"
    )
    lost = sum(s["lost"] for s in stats)
    refused = sum(s["refused"] for s in stats)
    print(f"\nseq {first_seq} → {last}; current at the end: {sum(s == last for s in final):,}; ")
    print(f"connections lost: {lost}; refused: {refused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
