"""Many events (issue 13): E live events x 5 readers each on one live process.

One change a second, spread round-robin over the E events, published through another
process; for each E (10, 100, 1,000): delivery p50/p99, the live process's CPU %, and the SQL
statements per second it runs (bench/asgi.py counting), which should not grow with E: the
hub's watch reads every served event's last seq in one query a second.

Also measured, each E on a process of its own that no reader has joined yet: the *burst*,
5 readers of each of the E events connecting at once in a shuffled order (at most
BURST_IN_FLIGHT handshakes in flight), until every one has its hello: the first joins of
many events together, and the SQL statements they cost.

With BENCH_EVENTS_PYSPY=<directory> set, the live process is profiled with py-spy (the dev
extra) over the measured window of each E, as <directory>/events-<E>.txt (py-spy's raw
collapsed stacks: one line per stack, its sample count last); with BENCH_EVENTS_PYSPY_NATIVE=1
as well, with the native frames (uvloop's, the C parts of the WebSocket protocol).
"""

import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PREFIX = "bench-many-"
BURST_IN_FLIGHT = 200


def ensure_events(count: int) -> list[str]:
    """`count` live events named bench-many-0000..., created once and kept between runs."""
    from django.contrib.auth import get_user_model

    from liveblog.blog import services
    from liveblog.blog.models import Event

    user = get_user_model().objects.get(username="bench")
    slugs = [f"{PREFIX}{i:04d}" for i in range(count)]
    have = set(Event.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    for slug in slugs:
        if slug not in have:
            services.event_create(actor=user, title=slug, slug=slug, status=Event.Status.LIVE)
    return slugs


async def _burst(port: int, slugs: list[str], readers: int) -> tuple[int, float]:
    """Connect `readers` sockets to each slug at once; how many got a hello, in how long."""
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    paths = [f"/ws/events/{slug}/" for slug in slugs for _ in range(readers)]
    random.Random(13).shuffle(paths)
    gate = asyncio.Semaphore(BURST_IN_FLIGHT)
    sockets = []

    async def one(path: str) -> bool:
        async with gate:
            try:
                socket = await connect(
                    f"ws://127.0.0.1:{port}{path}",
                    origin=Origin(f"http://127.0.0.1:{port}"),
                    compression=None,
                    ping_interval=None,
                    open_timeout=60,
                )
                sockets.append(socket)
                await asyncio.wait_for(socket.recv(), 60)  # the hello
                return True
            except Exception:  # refused, timed out, closed: not connected
                return False

    started = time.monotonic()
    results = await asyncio.gather(*(one(path) for path in paths))
    seconds = time.monotonic() - started
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return sum(results), seconds


def burst(ctx: Any, spec: str, slugs: list[str], readers: int) -> dict[str, Any]:
    from bench import servers

    live = servers.start(spec, ctx.server_env)
    try:
        queries_before, cpu_before = live.queries(), live.cpu_seconds()
        connected, seconds = asyncio.run(_burst(live.port, slugs, readers))
        cpu = live.cpu_seconds() - cpu_before
        queries_after = live.queries()
    finally:
        live.stop()
    queries = None
    if queries_before is not None and queries_after is not None:
        queries = queries_after - queries_before
    return {"burst_connected": connected, "burst_s": seconds, "burst_queries": queries,
            "burst_cpu_s": cpu}  # fmt: skip


class Profile:
    """py-spy over one process while the measured window runs (BENCH_EVENTS_PYSPY)."""

    def __init__(self, pid: int, name: str, seconds: float) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        folder = os.environ.get("BENCH_EVENTS_PYSPY")
        if not folder:
            return
        self.base = Path(folder) / name
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self.pid, self.seconds = pid, seconds

    def __enter__(self) -> "Profile":
        if hasattr(self, "base"):
            spy = str(Path(sys.executable).parent / "py-spy")
            argv = [spy, "record", "--pid", str(self.pid), "--duration", str(int(self.seconds)),
                    "--format", "raw", "--output", f"{self.base}.txt"]  # fmt: skip
            if os.environ.get("BENCH_EVENTS_PYSPY_NATIVE"):
                argv.append("--native")
            self.process = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is None:
            return
        self.process.wait(timeout=self.seconds + 60)


def events(ctx: Any, spec: str, count: int, readers: int, seconds: float) -> dict[str, Any]:
    from bench import publish, servers
    from bench.__main__ import percentile

    assert ctx.workers is not None and ctx.data is not None
    workers = ctx.workers
    slugs = ensure_events(count)
    ctx.log(f"events: {spec}, {count} events x {readers} readers, {seconds:.0f} s")
    first = burst(ctx, spec, slugs, readers)
    ctx.log(
        f"  burst: {first['burst_connected']} readers in {first['burst_s']:.1f} s,"
        f" {first['burst_queries']} SQL, {first['burst_cpu_s']:.1f} s CPU"
    )
    live = servers.start(spec, ctx.server_env)
    api = servers.start(spec, ctx.server_env)
    try:
        connect_queries = live.queries()
        started = time.monotonic()
        connected = 0
        for number, slug in enumerate(slugs):
            target = {"host": "127.0.0.1", "port": live.port, "path": f"/ws/events/{slug}/",
                      "deflate": live.deflate}  # fmt: skip
            pipe = workers.pipes[number % len(workers.pipes)]
            pipe.send(("connect", {"target": target, "count": readers, "concurrency": readers}))
            connected += pipe.recv()["connected"]
        connect_s = time.monotonic() - started
        after_connect = live.queries()
        publisher = publish.ApiPublisher(api.port, ctx.data.token, slugs[0])
        publisher.publish()  # warms the API process up
        time.sleep(3)  # past the joins' queries and a first audience report
        workers.ask("record")
        queries_before, cpu_before = live.queries(), live.cpu_seconds()
        window_start = time.monotonic()
        posts = int(seconds)
        with Profile(live.process.pid, f"events-{count}", seconds):
            for number in range(posts):
                publisher.slug = slugs[number % count]
                publisher.publish()
                time.sleep(max(0.0, window_start + number + 1 - time.monotonic()))
        window = time.monotonic() - window_start
        queries_after, cpu = live.queries(), live.cpu_seconds() - cpu_before
        time.sleep(1)  # the last change's deliveries
        stats = workers.ask("stats")
        latencies = [x / 1e6 for s in stats for x in s["latencies"]]
        queries = None
        if queries_before is not None and queries_after is not None:
            queries = queries_after - queries_before
        row = {
            "server": spec,
            "events": count,
            "readers": readers,
            "connected": connected,
            "connect_s": connect_s,
            "connect_queries": (
                after_connect - connect_queries
                if after_connect is not None and connect_queries is not None
                else None
            ),
            **first,
            "posts": posts,
            "deliveries": len(latencies),
            "expected": posts * readers,
            "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
            "cpu_pct": 100 * cpu / window,
            "queries_per_s": queries / window if queries is not None else None,
            "window_s": window,
        }
        ctx.log(
            f"  p50 {row['p50_ms']} p99 {row['p99_ms']} ms; CPU {row['cpu_pct']:.1f} %;"
            f" {row['queries_per_s']} SQL/s"
        )
        return row
    finally:
        workers.ask("close_all")
        live.stop()
        api.stop()
