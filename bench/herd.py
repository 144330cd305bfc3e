"""The herd (issue 13): a push notification sends thousands of newcomers to one event.

N readers are connected and idle on one event of one live process, with one change a second
published through another process (the production shape). Their delivery p99 is measured
first without the herd, then while M newcomers arrive within `spread` seconds: each GETs the
event page, reads its `data-seq` and connects with `?since=<that seq>`. Measured: handshakes
per second, when every newcomer is current (has every change up to the last one published),
the existing readers' p99 during the herd, SQL statements of the live process during the herd
(bench/asgi.py counting) and page requests that reached the origin.

As in production the pages come from a web process (the one the publishes go through) and
the sockets from the live process, so the live process's SQL count is the sockets' alone.
The pages are fetched straight from that web process, not through deploy/nginx.conf's page
cache (the bench does not start nginx yet): every page GET reaches the origin.
"""

import asyncio
import re
import threading
import time
from typing import Any

_SEQ = re.compile(rb'data-seq="(\d+)"')


async def fetch_seq(host: str, port: int, path: str) -> int | None:
    """GET `path` over a fresh connection and answer the page's data-seq (None on failure).
    Hand-written (a dozen lines) so that the swarm's event loop stays free of a client
    library's per-request overhead, like bench/wsclient.py."""
    for attempt in range(5):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
            )
            body = await asyncio.wait_for(reader.read(-1), 30)
            writer.close()
            match = _SEQ.search(body)
            if match and body.startswith(b"HTTP/1.1 200"):
                return int(match.group(1))
        except (TimeoutError, OSError):
            pass
        await asyncio.sleep(0.2 * (attempt + 1))
    return None


class SteadyPublisher:
    """One change every `interval` seconds on a thread, while the main thread measures."""

    def __init__(self, publisher: Any, interval: float = 1.0):
        self.publisher = publisher
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.count = 0

    def _run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            self.publisher.publish()
            self.count += 1
            self.stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> "SteadyPublisher":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def _p99(ctx: Any, workers: Any) -> tuple[float | None, int]:
    from bench.__main__ import percentile

    stats = workers.ask("stats")
    latencies = [x / 1e6 for s in stats for x in s["latencies"]]
    return percentile(latencies, 0.99), len(latencies)


def static_env(ctx: Any) -> dict[str, str]:
    """The servers' environment with collected static files: with DEBUG off the page names
    its assets through the manifest storage, which needs `collectstatic` (as in deploy)."""
    import subprocess
    import sys
    import tempfile

    from bench.servers import ROOT

    root = tempfile.mkdtemp(prefix="bench-static-")
    env = {**ctx.server_env, "STATIC_ROOT": root}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    return env


def herd(ctx: Any, spec: str, existing: int, newcomers: int, spread: float) -> dict[str, Any]:
    from bench import publish, servers

    assert ctx.workers is not None and ctx.data is not None
    workers = ctx.workers
    ctx.log(f"herd: {spec}, {existing} connected + {newcomers} newcomers in {spread:.0f} s")
    env = static_env(ctx)
    live = servers.start(spec, env)
    api = servers.start(spec, env)
    steady: SteadyPublisher | None = None
    try:
        slug = ctx.data.live_slug
        target = {"host": "127.0.0.1", "port": live.port, "path": f"/ws/events/{slug}/",
                  "deflate": live.deflate}  # fmt: skip
        publisher = publish.ApiPublisher(api.port, ctx.data.token, slug)
        # Its own connection: the steady publisher's is busy on its thread.
        watcher = publish.ApiPublisher(api.port, ctx.data.token, slug)
        publisher.publish()
        replies = workers.ask_split("connect", existing, {"target": target, "concurrency": 200})
        connected = sum(r["connected"] for r in replies)
        time.sleep(2)
        steady = SteadyPublisher(publisher).start()
        workers.ask("record")
        time.sleep(ctx.options.herd_window)
        before_p99, before_n = _p99(ctx, workers)

        workers.ask("record")
        queries_before, cpu_before = live.queries(), live.cpu_seconds()
        web_queries_before = api.queries()
        started = time.monotonic()
        page = f"/events/{slug}/"
        shares = [newcomers // len(workers.pipes)] * len(workers.pipes)
        shares[0] += newcomers - sum(shares)
        for pipe, share in zip(workers.pipes, shares, strict=True):
            pipe.send(("herd", {"target": target, "count": share, "spread": spread,
                                "page": page, "page_port": api.port}))  # fmt: skip
        for pipe in workers.pipes:
            pipe.recv()
        reports: list[dict[str, Any]] = []
        all_current_s = None
        deadline = started + spread + 120
        while time.monotonic() < deadline:
            target_seq = watcher.last_seq()
            reports = workers.ask("herd_report", {"target_seq": target_seq})
            current = sum(r["current"] for r in reports)
            if current + sum(r["failed"] for r in reports) >= newcomers and not any(
                r["arriving"] for r in reports
            ):
                all_current_s = time.monotonic() - started
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        during_p99, during_n = _p99(ctx, workers)
        steady.stop()
        steady = None
        time.sleep(0.5)
        queries_after, cpu = live.queries(), live.cpu_seconds() - cpu_before
        web_queries_after = api.queries()
        queries = None
        if queries_before is not None and queries_after is not None:
            queries = queries_after - queries_before
        web_queries = None
        if web_queries_before is not None and web_queries_after is not None:
            web_queries = web_queries_after - web_queries_before
        starts = [r["first_start_ns"] for r in reports if r["first_start_ns"]]
        hellos = [r["last_hello_ns"] for r in reports if r["last_hello_ns"]]
        greeted = sum(r["hellos"] for r in reports)
        hello_span = (max(hellos) - min(starts)) / 1e9 if hellos and starts else None
        row = {
            "server": spec,
            "existing": existing,
            "connected": connected,
            "newcomers": newcomers,
            "spread_s": spread,
            "greeted": greeted,
            "current": sum(r["current"] for r in reports),
            "failed": sum(r["failed"] for r in reports),
            "handshakes_per_s": greeted / hello_span if hello_span else None,
            "all_current_s": all_current_s,
            "waited_s": elapsed,
            "p99_before_ms": before_p99,
            "p99_during_ms": during_p99,
            "samples": f"{before_n} / {during_n}",
            "queries": queries,
            "queries_per_newcomer": queries / newcomers if queries is not None else None,
            "web_queries": web_queries,
            "origin_pages": newcomers,  # straight to the origin: no cache in between
            "cpu_s": cpu,
        }
        ctx.log(
            f"  {row['current']}/{newcomers} current after {all_current_s} s; p99 "
            f"{before_p99} → {during_p99} ms; {queries} SQL statements"
        )
        return row
    finally:
        if steady is not None:
            steady.stop()
        workers.ask("close_all")
        live.stop()
        api.stop()
