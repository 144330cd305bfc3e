"""The herd (issue 13): a push notification sends thousands of newcomers to one event.

N readers are connected and idle on one event of one live process, with one change a second
published through another process (the production shape). Their delivery p99 is measured
first without the herd, then while M newcomers arrive within `spread` seconds: each GETs the
event page, reads its `data-seq` and connects with `?since=<that seq>`. Measured: handshakes
per second, when every newcomer is current (has every change up to the last one published),
the existing readers' p99 during the herd, SQL statements of the live process during the herd
(bench/asgi.py counting) and page requests that reached the origin.

As in production, deploy/nginx.conf is in front (Debian's nginx, started as tests/deploy
starts it: tests/deploy/nginx.py): the pages come through its micro-cache from a web process
(the one the publishes go through), and the sockets, with `--herd-ws nginx` (the default),
through its /ws/ location from the live process; `--herd-ws direct` connects every socket to
the live process itself, to separate nginx's share. The live process's SQL count is the
sockets' alone. Page requests at the origin are those nginx's log names an upstream for,
its background refreshes included (`log_subrequest on` in the bench's copy of the config).
"""

import asyncio
import contextlib
import os
import re
import shutil
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


class Profile:
    """py-spy of one server process for `seconds`, 500 samples a second, on a thread while
    the bench goes on (bench/api_wrk.py's profile(): the share of samples with each frame on
    the stack)."""

    def __init__(self, server: Any, seconds: float, out: Any):
        from bench.api_wrk import profile

        self.out = out
        self.shares: list[tuple[str, float]] = []
        self.thread = threading.Thread(
            target=lambda: self.shares.extend(profile(server.process.pid, seconds, out, 500)),
            daemon=True,
        )
        self.thread.start()

    def result(self) -> list[tuple[str, float]]:
        self.thread.join(timeout=60)
        return self.shares


def _pids(processes: list[Any]) -> list[Any]:
    import psutil

    out = []
    for process in processes:
        with contextlib.suppress(psutil.Error, ValueError):
            out.append(psutil.Process(process.pid))
    return out


def _pin(processes: list[Any], cpus: set[int]) -> None:
    """Every thread of these processes onto `cpus` (sched_setaffinity is per thread)."""
    from pathlib import Path

    for process in processes:
        for task in Path(f"/proc/{process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)


def _tree(process: Any) -> list[Any]:
    import psutil

    try:
        main = psutil.Process(process.pid)
        return [main, *main.children(recursive=True)]
    except (psutil.Error, AttributeError):
        return []


def publish_to_send(port: int) -> dict[str, float]:
    """The live process's histogram of commit → fan-out done: cumulative count by bucket."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
        text = response.read().decode()
    return {
        sample.labels["le"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "liveblog_publish_to_send_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }


def _delta(start: dict[str, float], end: dict[str, float]) -> dict[str, int]:
    """Changes per bucket between two readings (not cumulative), empty buckets left out."""
    out, below = {}, 0.0
    for le in sorted(end, key=float):
        count = end[le] - start.get(le, 0.0)
        if count - below:
            out[le] = int(count - below)
        below = count
    return out


def origin_pages(nginx: Any, page: str) -> int:
    """Requests for `page` that nginx sent to an upstream (a cache hit names none)."""
    return sum(1 for _method, path, _status, ports in nginx.routed() if path == page and ports)


def herd(ctx: Any, spec: str, existing: int, newcomers: int, spread: float) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    import psutil

    from bench import publish, servers
    from bench.swarm import Workers
    from tests.deploy.nginx import Nginx  # the shipped config as tests/deploy runs it

    assert ctx.workers is not None and ctx.data is not None
    workers = ctx.workers
    via = ctx.options.herd_ws
    # The newcomers in swarm processes of their own (unless --herd-arrival-procs 0): their
    # page GETs and handshakes then do not hold up the loop that timestamps the existing
    # readers' deliveries, which would count the swarm's own work as the server's. Measured
    # at 5,000 + 5,000 through nginx, it made no difference (existing readers' p99 during
    # the herd 378 and 376 ms with their own processes, 371 and 338 ms without): the swarm
    # is not what delays those deliveries, but this keeps it so.
    procs = ctx.options.herd_arrival_procs
    arrivals = Workers(procs) if procs else workers
    ctx.log(
        f"herd: {spec}, {existing} connected + {newcomers} newcomers in {spread:.0f} s; "
        f"pages through nginx, sockets {'through nginx' if via == 'nginx' else 'direct'}"
    )
    env = static_env(ctx)
    live = servers.start(spec, env)
    api = servers.start(spec, {**env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    folder = Path(tempfile.mkdtemp(prefix="bench-herd-"))
    folder.chmod(0o755)  # nginx's workers run as nobody when the bench runs as root
    nginx = Nginx(folder=folder, port=servers.free_port(), log_subrequests=True)
    steady: SteadyPublisher | None = None
    pinned: list[Any] = []
    try:
        nginx.start(web=[api], live=[live])
        if ctx.options.herd_pin:
            # The live process on a core of its own, everything else of the bench's on the
            # other(s): what the existing readers' p99 then shows is the live process's
            # own work, not the swarm's and nginx's competing for its core. At 5,000 + 5,000
            # the p99 during the herd was the same pinned (331, 462 ms) as not (338 to 378):
            # what grows it is the live process's own loop.
            pinned = [*_tree(nginx.process), *api.processes(), *_pids(workers.processes),
                      *_pids(arrivals.processes if arrivals is not workers else []),
                      psutil.Process()]  # fmt: skip
            everything = os.sched_getaffinity(0)
            first = min(everything)
            _pin(live.processes(), {first})
            _pin(pinned, everything - {first})
        slug = ctx.data.live_slug
        socket_port = nginx.port if via == "nginx" else live.port
        target = {"host": "127.0.0.1", "port": socket_port, "path": f"/ws/events/{slug}/",
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
        sends_start = publish_to_send(live.port)
        profiles: dict[str, Any] = {}
        if ctx.options.herd_profile:
            profiles["before"] = Profile(live, ctx.options.herd_window - 1, folder / "before.txt")
        time.sleep(ctx.options.herd_window)
        before_p99, before_n = _p99(ctx, workers)
        sends_before = publish_to_send(live.port)

        workers.ask("record")
        queries_before, cpu_before = live.queries(), live.cpu_seconds()
        web_queries_before = api.queries()
        parts = {"web": api.processes, "nginx": lambda: _tree(nginx.process),
                 "readers' swarm": lambda: _pids(workers.processes),
                 "newcomers' swarm": lambda: _pids(arrivals.processes)}  # fmt: skip
        if arrivals is workers:
            del parts["newcomers' swarm"]
        parts_before = {name: servers._cpu_seconds(of()) for name, of in parts.items()}
        redis_before = servers.redis_cpu_seconds()
        page = f"/events/{slug}/"
        pages_before = origin_pages(nginx, page)
        if ctx.options.herd_profile:
            profiles["during"] = Profile(live, spread + 2, folder / "during.txt")
        started = time.monotonic()
        shares = [newcomers // len(arrivals.pipes)] * len(arrivals.pipes)
        shares[0] += newcomers - sum(shares)
        for pipe, share in zip(arrivals.pipes, shares, strict=True):
            pipe.send(("herd", {"target": target, "count": share, "spread": spread,
                                "page": page, "page_port": nginx.port}))  # fmt: skip
        for pipe in arrivals.pipes:
            pipe.recv()
        reports: list[dict[str, Any]] = []
        all_current_s = None
        deadline = started + spread + 120
        while time.monotonic() < deadline:
            target_seq = watcher.last_seq()
            reports = arrivals.ask("herd_report", {"target_seq": target_seq})
            current = sum(r["current"] for r in reports)
            if current + sum(r["failed"] for r in reports) >= newcomers and not any(
                r["arriving"] for r in reports
            ):
                all_current_s = time.monotonic() - started
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        during_p99, during_n = _p99(ctx, workers)
        sends_during = publish_to_send(live.port)
        steady.stop()
        steady = None
        time.sleep(0.5)
        queries_after, cpu = live.queries(), live.cpu_seconds() - cpu_before
        web_queries_after = api.queries()
        cpu_parts = {"live": cpu} | {
            name: servers._cpu_seconds(of()) - parts_before[name] for name, of in parts.items()
        }
        cpu_parts["redis (shared)"] = servers.redis_cpu_seconds() - redis_before
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
            "server": f"{spec}, sockets {'through nginx' if via == 'nginx' else 'direct'}",
            "sockets_via": via,
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
            "p99_ratio": during_p99 / before_p99 if before_p99 and during_p99 else None,
            "samples": f"{before_n} / {during_n}",
            "queries": queries,
            "queries_per_newcomer": queries / newcomers if queries is not None else None,
            "web_queries": web_queries,
            # Counted after the sockets closed, so that every page line is in nginx's log.
            "origin_pages": None,
            "cpu_s": cpu,
            "cpu_parts_s": cpu_parts,
            "arrival_procs": len(arrivals.pipes) if arrivals is not workers else 0,
            # The live process's own view: changes by how long from their commit its fan-out
            # to every reader took (liveblog_publish_to_send_seconds), before and during.
            "fanout_done_before": _delta(sends_start, sends_before),
            "fanout_done_during": _delta(sends_before, sends_during),
        }
        workers.ask("close_all")
        if arrivals is not workers:
            arrivals.ask("close_all")
        time.sleep(0.5)
        row["origin_pages"] = origin_pages(nginx, page) - pages_before
        for name, profile in profiles.items():
            row[f"profile_{name}"] = profile.result()
            ctx.log(f"  py-spy of the live process, {name} the herd (share of samples):")
            for frame, share in row[f"profile_{name}"][:30]:
                ctx.log(f"    {share:5.1f} %  {frame}")
            if ctx.options.herd_profile != "-":
                shutil.copy(profile.out, Path(ctx.options.herd_profile) / f"herd-{name}.txt")
        ctx.log(
            f"  {row['current']}/{newcomers} current after {all_current_s} s; greeted at "
            f"{row['handshakes_per_s']}/s; p99 {before_p99} → {during_p99} ms; {queries} SQL "
            f"statements; {row['origin_pages']} pages from the origin; CPU s over the "
            f"{elapsed:.1f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu_parts.items())
        )
        ctx.log(f"  commit → fan-out done, changes ≤ seconds, before: {row['fanout_done_before']}")
        ctx.log(f"  commit → fan-out done, changes ≤ seconds, during: {row['fanout_done_during']}")
        return row
    finally:
        if steady is not None:
            steady.stop()
        if pinned:
            _pin(pinned, everything)
        workers.ask("close_all")
        if arrivals is not workers:
            arrivals.close()
        nginx.stop()
        live.stop()
        api.stop()
        shutil.rmtree(folder, ignore_errors=True)
