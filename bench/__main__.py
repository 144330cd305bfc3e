"""`python -m bench [--quick]`: the live blog's benchmarks, printed as Markdown tables.

(a) fan-out to N readers of one event, (b) reconnect storm, (c) reader page render, (d) API
throughput, (e) the same fan-out against the pure-`websockets` floor server, with ratios;
and issue 13's herd (newcomers arriving on top of connected readers, bench/herd.py), many
live events on one process (bench/events.py), the API's hot reads under wrk (bench/api_wrk.py),
polling readers through nginx (bench/pollers.py) and readers on Server-Sent Events
(bench/streams.py).
Everything runs on 127.0.0.1, is bounded in count and time, and starts and stops its own
servers. See bench/RESULTS.md for what each column means and the figures measured here.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import fixtures, publish, servers
from bench.swarm import Workers, raise_open_file_limit


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class Context:
    def __init__(self, options: argparse.Namespace):
        self.options = options
        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
        self.database_url = options.database_url or fixtures.bench_database_url(base)
        self.redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.env = servers.server_env(self.database_url, self.redis_url)
        # The servers may reach the same database another way, e.g. through pgbouncer as
        # in production (deploy/pgbouncer/); the bench itself migrates and seeds directly.
        self.server_env = dict(self.env)
        if options.servers_database_url:
            self.server_env.update(DATABASE_URL=options.servers_database_url, DATABASE_POOLED="1")
        self.data: fixtures.Data | None = None
        self.sample_payload: dict[str, Any] = {}
        self.workers: Workers | None = None
        self.results: dict[str, Any] = {
            "fanout": [], "storm": [], "render": {}, "api": [], "herd": [], "events": []
        }  # fmt: skip

    def log(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- (a), (b), (e): fan-out and the reconnect storm ------------------------------------------


def _wait_deliveries(ctx: Context, expected: int, timeout: float) -> int:
    assert ctx.workers is not None
    deadline = time.monotonic() + timeout
    got = 0
    while time.monotonic() < deadline:
        got = sum(r["deliveries"] for r in ctx.workers.ask("progress"))
        if got >= expected:
            return got
        time.sleep(0.1)
    return got


def _publisher(ctx: Context, server: servers.Server) -> publish.Publisher:
    assert ctx.data is not None
    if server.kind == "ours":
        return publish.ApiPublisher(server.port, ctx.data.token, ctx.data.live_slug)
    return publish.FloorPublisher(server.port, ctx.sample_payload)


def _cpu(server: servers.Server | None) -> float:
    return server.cpu_seconds() if server is not None else 0.0


def fanout(ctx: Context, spec: str, n: int, storm: bool) -> None:
    assert ctx.workers is not None and ctx.data is not None
    options = ctx.options
    ctx.log(f"fan-out: {spec} with {n} readers")
    server = servers.start(spec, ctx.server_env)
    # The production shape (deploy/nginx.conf): reporters' API calls go to other processes
    # than the readers' sockets, and reach them through Redis. --publish-via same puts both
    # on one process, whose event loop then answers the publish after its own fan-out.
    api_server = None
    if server.kind == "ours" and options.publish_via == "separate":
        api_server = servers.start(spec, ctx.server_env)
    workers = ctx.workers
    try:
        path = f"/ws/events/{ctx.data.live_slug}/" if server.kind == "ours" else "/"
        target = {"host": "127.0.0.1", "port": server.port, "path": path, "deflate": server.deflate}
        publisher = _publisher(ctx, api_server or server)

        # Warm-up, and the publish cost with 10 readers (the baseline of "publishing costs the
        # same with 10 readers or 10,000").
        workers.ask_split("connect", 10, {"target": target, "concurrency": 10})
        for _ in range(2):  # a fresh process's first requests compile templates, connect...
            publisher.publish()
        time.sleep(0.3)
        workers.ask("record")
        small = []
        for _ in range(options.baseline_posts):
            small.append(publisher.publish())
            time.sleep(0.1)
        _wait_deliveries(ctx, 10 * options.baseline_posts, timeout=10)
        workers.ask("close_all")
        time.sleep(1.0)

        rss_before = server.rss()
        started = time.monotonic()
        replies = workers.ask_split("connect", n, {"target": target, "concurrency": 200})
        connect_seconds = time.monotonic() - started
        connected = sum(r["connected"] for r in replies)
        time.sleep(2 + n / 5000)
        rss_after = server.rss()

        workers.ask("record")
        cpu_before, redis_before = server.cpu_seconds(), servers.redis_cpu_seconds()
        api_cpu_before = _cpu(api_server)
        interval = options.interval if options.interval else 0.3 + n * 0.00025
        publish_ms = []
        window_start = time.monotonic()
        for _ in range(options.posts):
            publish_ms.append(publisher.publish())
            time.sleep(interval)
        expected = connected * options.posts
        _wait_deliveries(ctx, expected, timeout=15 + n * 0.002)
        cpu = server.cpu_seconds() - cpu_before
        redis_cpu = servers.redis_cpu_seconds() - redis_before
        api_cpu = _cpu(api_server) - api_cpu_before
        window = time.monotonic() - window_start
        stats = workers.ask("stats")

        latencies = [x / 1e6 for s in stats for x in s["latencies"]]
        delivered = sum(sum(s["counts"].values()) for s in stats)
        messages = sum(s["messages"] for s in stats)
        row: dict[str, Any] = {
            "server": spec,
            "n": n,
            "connected": connected,
            "connect_s": connect_seconds,
            "posts": options.posts,
            "interval_s": interval,
            "deliveries": delivered,
            "missing": expected - delivered + (n - connected) * options.posts,
            "repeats_or_reorders": sum(s["duplicates"] + s["out_of_order"] for s in stats),
            "closed_during_run": sum(s["closed"] for s in stats),
            "p50_ms": percentile(latencies, 0.50),
            "p95_ms": percentile(latencies, 0.95),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies) if latencies else None,
            "cpu_s": cpu,
            "window_s": window,
            "cpu_per_1k": cpu / (delivered / 1000) if delivered else None,
            "redis_cpu_s": redis_cpu,
            "publish_via": options.publish_via if server.kind == "ours" else "-",
            "api_cpu_s": api_cpu,
            "kib_per_conn": (rss_after - rss_before) / max(1, connected) / 1024,
            "rss_mib": rss_after / 2**20,
            "wire_bytes_per_msg": sum(s["wire_bytes"] for s in stats) / max(1, messages),
            "frame_bytes": sum(s["message_bytes"] for s in stats) / max(1, messages),
            "publish_p50_ms_10": statistics.median(small) if small else None,
            "publish_p50_ms_n": statistics.median(publish_ms) if publish_ms else None,
        }
        ctx.results["fanout"].append(row)
        ctx.log(
            f"  {connected}/{n} connected in {connect_seconds:.1f}s; p50 {row['p50_ms']:.0f} ms"
            f" p99 {row['p99_ms']:.0f} ms; missing {row['missing']};"
            f" CPU/1k {row['cpu_per_1k']:.3f}s; {row['kib_per_conn']:.1f} KiB/conn"
            if latencies and row["cpu_per_1k"] is not None
            else f"  {connected}/{n} connected; no deliveries recorded"
        )
        if storm and server.kind == "ours":
            ctx.results["storm"].append(_storm(ctx, server, publisher, target, n))
        if storm and server.kind == "ours" and not options.no_fresh_storm:
            # The same readers move to a process that has just started (a deploy, a crash,
            # a scale-out), after a 2 s outage in which the entries are published: it has
            # no memory of them, so the gaps are replayed from Redis' recent history (once,
            # then from its memory), not from PostgreSQL.
            fresh = servers.start(spec, ctx.server_env)
            try:
                moved = {**target, "port": fresh.port}
                row = _storm(ctx, fresh, publisher, moved, n, outage=2.0)
                ctx.results["storm"].append({**row, "server": f"{spec} → a new process"})
            finally:
                fresh.stop()
    finally:
        workers.ask("close_all")
        server.stop()
        if api_server is not None:
            api_server.stop()


def _storm(
    ctx: Context,
    server: servers.Server,
    publisher: publish.Publisher,
    target: dict[str, Any],
    n: int,
    outage: float = 0.0,
) -> dict[str, Any]:
    """All readers drop at once and come back with ?since= within `spread` seconds (after
    an `outage`), while a few entries are published: converged = every reader has every seq
    up to the last one."""
    assert ctx.workers is not None
    workers = ctx.workers
    spread = ctx.options.storm_spread
    queries_before = server.queries()
    sources_before = server.catch_ups()
    cpu_before = server.cpu_seconds()
    workers.ask("storm", {"target": target, "spread": spread, "outage": outage})
    started = time.monotonic()
    for _ in range(ctx.options.storm_posts):
        time.sleep(min(0.5, outage / (ctx.options.storm_posts + 1)) if outage else 0.5)
        publisher.publish()
    final_seq = publisher.last_seq()
    deadline = started + spread + 60
    reports: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        reports = workers.ask("storm_report", {"target_seq": final_seq})
        done = sum(r["converged"] for r in reports)
        readers = sum(r["readers"] for r in reports)
        reconnecting = any(r["reconnecting"] for r in reports)
        if readers and done >= readers and not reconnecting:
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # let the last consumers' disconnect/connect queries land in the count
    queries_after = server.queries()
    sources_after = server.catch_ups()
    queries = None
    if queries_before is not None and queries_after is not None:
        queries = queries_after - queries_before
    readers = sum(r["readers"] for r in reports)
    catch_up = [x / 1e6 for r in reports for x in r["catch_up_ns"]]
    last = [r["last_converged_ns"] for r in reports if r["last_converged_ns"] is not None]
    hellos = [r["last_hello_ns"] for r in reports if r["last_hello_ns"] is not None]
    row = {
        "server": server.spec,
        "n": n,
        "readers": readers,
        "converged": sum(r["converged"] for r in reports),
        "failed_reconnects": sum(r["failed"] for r in reports),
        "converge_s": max(last) / 1e9 if last else None,
        # Every reader back and greeted (its hello frame): with --storm-spread 0 this is
        # how fast one process takes N readers reconnecting at once.
        "hellos": sum(r["hellos"] for r in reports),
        "all_hello_s": max(hellos) / 1e9 if hellos else None,
        "waited_s": elapsed,
        "catch_up_p50_ms": percentile(catch_up, 0.5),
        "catch_up_p99_ms": percentile(catch_up, 0.99),
        "catch_up_max_ms": max(catch_up) if catch_up else None,
        "caught_up_readers": len(catch_up),
        "queries": queries,
        "queries_per_reader": queries / readers if readers and queries is not None else None,
        "storm_posts": ctx.options.storm_posts,
        "replayed_from": {
            source: sources_after.get(source, 0) - sources_before.get(source, 0)
            for source in ("history", "redis", "log")
        },
        "resets": sum(r["resets"] for r in reports),
        "repeats_or_reorders": sum(r["duplicates"] + r["out_of_order"] for r in reports),
        "cpu_s": server.cpu_seconds() - cpu_before,
    }
    ctx.log(
        f"  storm: {row['converged']}/{readers} converged in {row['converge_s']} s;"
        f" {queries} SQL statements ({row['queries_per_reader']} per reader)"
    )
    return row


# --- (c) the reader page ----------------------------------------------------------------------


def render(ctx: Context) -> None:
    from bench.render import render_bench

    assert ctx.data is not None
    ctx.log("render: reader page of an event with 2,000 entries")
    ctx.results["render"] = render_bench(ctx.data.big_slug, repeats=ctx.options.render_repeats)


# --- (d) the API ------------------------------------------------------------------------------


def api(ctx: Context, spec: str) -> None:
    assert ctx.data is not None
    from liveblog.blog.models import Event

    last = Event.objects.get(slug=ctx.data.big_slug).last_seq
    slug = ctx.data.big_slug
    paths = {
        "posts list (20)": f"/api/v1/events/{slug}/posts/",
        "changes (20 missed)": f"/api/v1/events/{slug}/changes/?since={last - 20}",
    }
    server = servers.start(spec, ctx.server_env)
    try:
        for name, path in paths.items():
            ctx.log(f"api: {spec} {name}")
            cpu_before = server.cpu_seconds()
            out = subprocess.run(
                [sys.executable, "-m", "bench.httpload", "--port", str(server.port),
                 "--path", path, "-c", str(ctx.options.api_connections),
                 "-d", str(ctx.options.api_seconds)],
                capture_output=True, text=True, check=True, cwd=servers.ROOT,
            )  # fmt: skip
            result = json.loads(out.stdout)
            result.update(
                server=spec, endpoint=name, server_cpu_s=server.cpu_seconds() - cpu_before
            )
            ctx.results["api"].append(result)
    finally:
        server.stop()


# --- the report -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import channels
    import channels_redis
    import daphne
    import django
    import psutil
    import uvicorn
    import websockets

    def cmd(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    cpu = "?"
    with open("/proc/cpuinfo") as info:
        lines = info.read().splitlines()
    for line in lines:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": f"{os.cpu_count()} x {cpu}",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": (
            f"Django {django.__version__}, channels {channels.__version__}, channels-redis "
            f"{channels_redis.__version__}, daphne {daphne.__version__}, uvicorn "
            f"{uvicorn.__version__}, websockets {websockets.__version__}"
        ),
        "redis": cmd("redis-server", "--version").split(" v=")[-1].split(" ")[0],
        "postgresql": cmd("psql", "--version"),
    }


def _save(ctx: Context) -> None:
    if ctx.options.save:
        with open(ctx.options.save, "w") as out:
            json.dump(ctx.results, out, indent=1, default=str)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="N=1k only, and smaller herds, events, pollers and streams",
    )
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--servers", type=lambda s: s.split(","),
                        help="fan-out servers, see bench/servers.py SPECS")  # fmt: skip
    parser.add_argument("--extra", type=lambda s: [x for x in s.split(",") if x], default=None,
                        help="servers run at the smallest size only")  # fmt: skip
    parser.add_argument("--api-servers", type=lambda s: s.split(","), default=None)
    parser.add_argument("--only", type=lambda s: set(s.split(",")), default=None,
                        help="fanout,render,api,herd,events,wrk,pollers,streams")  # fmt: skip
    parser.add_argument("--posts", type=int, default=None)
    parser.add_argument("--interval", type=float, default=None)
    parser.add_argument("--baseline-posts", type=int, default=20)
    parser.add_argument("--storm-spread", type=float, default=10.0)
    parser.add_argument("--storm-posts", type=int, default=3)
    parser.add_argument("--no-storm", action="store_true")
    parser.add_argument("--no-fresh-storm", action="store_true",
                        help="skip the storm onto a newly started process")  # fmt: skip
    parser.add_argument("--publish-via", choices=["separate", "same"], default="separate",
                        help="API publishes through another server process (default) or "
                        "the readers' own")  # fmt: skip
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--render-repeats", type=int, default=30)
    parser.add_argument("--api-seconds", type=float, default=None)
    parser.add_argument("--api-connections", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--servers-database-url", default=None,
                        help="the bench database as the servers reach it, e.g. through a "
                        "pgbouncer in transaction mode (sets DATABASE_POOLED=1)")  # fmt: skip
    # --- issue 13: the herd and many events (bench/herd.py, bench/events.py) ---
    parser.add_argument("--herd", type=lambda s: [int(x) for x in s.split("+")], default=None,
                        help="connected+newcomers, e.g. 5000+5000")  # fmt: skip
    parser.add_argument("--herd-spread", type=float, default=5.0)
    parser.add_argument("--herd-window", type=float, default=10.0,
                        help="seconds of steady publishing measured before the herd")  # fmt: skip
    parser.add_argument("--herd-ws", choices=["nginx", "direct"], default="nginx",
                        help="the herd's sockets through deploy/nginx.conf's /ws/ (as in "
                        "production) or straight to the live process; pages always go "
                        "through nginx's cache")  # fmt: skip
    parser.add_argument("--herd-arrival-procs", type=int, default=2,
                        help="swarm processes of the newcomers' own (0: the connected "
                        "readers' processes take them too)")  # fmt: skip
    parser.add_argument("--herd-pin", action="store_true",
                        help="the live process on one core, the rest of the bench (swarm, "
                        "nginx, web process) on the other(s)")  # fmt: skip
    parser.add_argument("--herd-profile", default=None, metavar="FOLDER",
                        help="py-spy the live process before and during the herd; the raw "
                        "profiles go to FOLDER ('-': the summary only)")  # fmt: skip
    parser.add_argument("--events", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="numbers of live events, e.g. 10,100,1000")  # fmt: skip
    parser.add_argument("--events-seconds", type=float, default=None)
    parser.add_argument("--crowd-server", default="uvicorn-sansio")
    parser.add_argument("--save", default=None, help="write the raw results as JSON here")
    options = parser.parse_args(argv)
    quick = options.quick
    options.sizes = options.sizes or ([1000] if quick else [1000, 5000, 10000])
    # uvicorn-sansio is the production choice; uvicorn (its legacy `websockets` protocol,
    # what `--ws auto` picks today) and daphne are what it was chosen against.
    options.servers = options.servers or (
        ["floor", "daphne", "uvicorn-sansio"]
        if quick
        else ["floor", "daphne", "uvicorn", "uvicorn-sansio"]
    )
    if options.extra is None:
        options.extra = (
            ["uvicorn", "uvicorn+deflate"] if quick else ["uvicorn+deflate", "floor+deflate"]
        )
    options.api_servers = options.api_servers or ["daphne", "uvicorn-sansio"]
    options.posts = options.posts or (12 if quick else 20)
    options.api_seconds = options.api_seconds or (2.0 if quick else 5.0)
    options.only = options.only or {
        "fanout",
        "render",
        "api",
        "herd",
        "events",
        "wrk",
        "pollers",
        "streams",
    }
    options.herd = options.herd or ([1000, 1000] if quick else [5000, 5000])
    options.events = options.events or ([10, 100] if quick else [10, 100, 1000])
    options.events_seconds = options.events_seconds or (10.0 if quick else 20.0)
    if quick:
        options.render_repeats = min(options.render_repeats, 15)

    limit = raise_open_file_limit()
    ctx = Context(options)
    ctx.log(f"open-file limit {limit}; bench database {ctx.database_url}")
    began = time.monotonic()
    fixtures.ensure_database(ctx.database_url)
    fixtures.migrate(ctx.env)
    fixtures.setup_django(ctx.env)
    ctx.data = fixtures.make_data()
    ctx.sample_payload = publish.sample_payload(ctx.data.big_slug)
    ctx.log(f"data ready in {ctx.data.seconds:.1f}s ({ctx.data.created_posts} entries created)")
    ctx.results["machine"] = machine()
    try:
        if "fanout" in options.only:
            ctx.workers = Workers(options.client_procs)
            runs = [
                (spec, n, not options.no_storm) for n in options.sizes for spec in options.servers
            ]
            runs += [(spec, min(options.sizes), False) for spec in options.extra]
            for spec, n, storm in runs:
                try:
                    fanout(ctx, spec, n, storm=storm)
                except Exception as exc:  # one failed configuration must not lose the others
                    ctx.log(f"  {spec} at {n} failed: {exc!r}")
                    ctx.results.setdefault("failures", []).append(f"{spec} N={n}: {exc!r}")
                _save(ctx)
        # --- issue 13: the herd and many events, each on its own fresh processes ---
        if {"herd", "events"} & options.only and ctx.workers is None:
            ctx.workers = Workers(options.client_procs)
        if "herd" in options.only:
            from bench.herd import herd

            existing, newcomers = options.herd
            ctx.results["herd"].append(
                herd(ctx, options.crowd_server, existing, newcomers, options.herd_spread)
            )
            _save(ctx)
        if "events" in options.only:
            from bench.events import events

            for count in options.events:
                ctx.results["events"].append(
                    events(ctx, options.crowd_server, count, 5, options.events_seconds)
                )
                _save(ctx)
        if "render" in options.only:
            render(ctx)
        if "api" in options.only:
            for spec in options.api_servers:
                api(ctx, spec)
        # --- issue 13: API reads under wrk against the same-bytes floor (bench/api_wrk.py) ---
        # Needs Debian's wrk (`make bench` installs it: bench-tools); `python -m
        # bench.api_wrk` itself has more options.
        if "wrk" in options.only:
            from bench import api_wrk

            api_wrk.main(["--seconds", "3" if quick else "10", "--connections", "32"])
        # Polling readers through the shipped nginx (bench/pollers.py; Debian's nginx, which
        # `make bench` installs: deploy-tools); `python -m bench.pollers` for its options.
        if "pollers" in options.only:
            from bench import pollers

            readers = ["--readers", "1000", "--seconds", "15"] if quick else []
            pollers.main(readers)
        # Readers on Server-Sent Events (bench/streams.py), for the readers pollers are not.
        if "streams" in options.only:
            from bench import streams

            streams.main(["--readers", "500", "--seconds", "8"] if quick else [])
        # --- end of issue 13's block ---
    finally:
        if ctx.workers is not None:
            ctx.workers.close()
    ctx.results["seconds"] = time.monotonic() - began
    ctx.results["options"] = {k: v for k, v in vars(options).items() if k != "only"}
    from bench.report import markdown

    print(markdown(ctx.results))
    _save(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
