"""Polling readers through the shipped nginx (issue 13): N readers whose proxy blocks
WebSockets, each polling `/api/v1/events/<slug>/changes/?since=<the last seq it has>` every
INTERVAL seconds (static/js/live.js's fallback), at random phases, while one change a second
is published. Prints what reached the origin (nginx's upstream log: a request answered from
its cache names no upstream), how late each reader had each change, and whether any reader
missed or applied one twice.

    DATABASE_URL=postgres://…/liveblog_bench REDIS_URL=redis://…/N \\
        python -m bench.pollers [--readers 10000] [--seconds 30] [--interval 5]

One `web` process (the production uvicorn command) behind deploy/nginx.conf as tests/deploy
runs it (Debian's nginx, a process of its own on a free port; `make deploy-tools`). The
readers are lean asyncio HTTP/1.1 clients in SWARM processes sharing keep-alive connections
to nginx, as the browsers behind one proxy would; the publisher is this process, through the
services (the change goes to PostgreSQL, Redis' recent history and Pub/Sub, as from the API).
Latency is the time a reader applied a change minus the T0 the entry's body carries (one
clock: everything runs on this machine).
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import fixtures, servers
from bench.swarm import raise_open_file_limit

SLUG = "bench-pollers"
T0 = re.compile(r"T0=(\d+)")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


async def _get(pool: "asyncio.Queue[Any]", port: int, path: str) -> tuple[int, bytes]:
    """One GET on a kept connection from the pool (a new one if it was closed)."""
    reader, writer = await pool.get()
    try:
        if writer is None or writer.is_closing():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        lines = head.lower().split(b"\r\n")
        sizes = [int(h.split(b":")[1]) for h in lines if h.startswith(b"content-length:")]
        length = sizes[0] if sizes else None
        if length is not None:
            body = await reader.readexactly(length)
        elif any(h.startswith(b"transfer-encoding:") and b"chunked" in h for h in lines):
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = b""
        if b"connection: close" in lines:
            writer.close()
            writer = None
        return status, body
    except (OSError, asyncio.IncompleteReadError):
        writer = None
        raise
    finally:
        await pool.put((reader, writer))


async def _swarm(port: int, readers: int, start_seq: int, interval: float, until: float,
                 connections: int, bucket: int) -> dict[str, Any]:  # fmt: skip
    pool: asyncio.Queue[Any] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    delays: list[float] = []
    stats: dict[str, Any] = {"requests": 0, "errors": 0, "gaps": 0, "final": []}

    async def poller() -> None:
        seq = start_seq
        await asyncio.sleep(random.uniform(0, interval))
        while time.time() < until:
            started = time.monotonic()
            try:
                since = seq - seq % bucket  # static/js/live.js: POLL_BUCKET
                path = f"/api/v1/events/{SLUG}/changes/?since={since}"
                status, body = await _get(pool, port, path)
                stats["requests"] += 1
                if status != 200:
                    stats["errors"] += 1
                    stats.setdefault("statuses", {}).setdefault(status, 0)
                    stats["statuses"][status] += 1
                else:
                    for change in json.loads(body)["changes"]:
                        if change["seq"] <= seq:
                            continue  # one it has (the bucket's start is at or below it)
                        if change["seq"] > seq + 1:
                            stats["gaps"] += 1  # never expected: the answer is contiguous
                            break
                        else:
                            seq = change["seq"]
                            found = T0.search((change.get("post") or {}).get("body") or "")
                            if found:
                                delays.append(time.time() - int(found.group(1)) / 1e9)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                stats["errors"] += 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        stats["final"].append(seq)

    await asyncio.gather(*(poller() for _ in range(readers)))
    stats["delays"] = delays
    return stats


def _origin_polls(port: int) -> float:
    """The change-log requests one process has answered, by either path (its counter
    liveblog_api_fast_total): nginx's log misses its background refreshes."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "liveblog_api_fast"
        for sample in family.samples
        if sample.name == "liveblog_api_fast_total"
    )


def _swarm_process(args: tuple[Any, ...], out: Any) -> None:
    raise_open_file_limit()
    out.put(asyncio.run(_swarm(*args)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pollers")
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="of publishing and polling")
    parser.add_argument("--interval", type=float, default=5.0, help="each reader's poll period")
    parser.add_argument("--swarm", type=int, default=2, help="reader processes")
    parser.add_argument("--connections", type=int, default=200, help="to nginx, per process")
    parser.add_argument("--bucket", type=int, default=8, help="live.js's POLL_BUCKET (1: exact)")
    options = parser.parse_args(argv)
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        print("nginx is missing: `make deploy-tools` installs Debian's nginx", file=sys.stderr)
        return 1
    env = fixtures.standalone_env()
    from liveblog.blog import services
    from tests.deploy.nginx import Nginx  # the shipped config as tests/deploy runs it

    bodies = [f"Earlier entry {n}." for n in range(20)]
    event, user = fixtures.fresh_event(SLUG, "Bench pollers", bodies)
    first_seq = event.last_seq  # the services move the object's seq on as they publish
    load = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench-pollers-"))
    folder.chmod(0o755)  # nginx's workers run as nobody when the bench runs as root
    web = servers.start("uvicorn-sansio", {**env, "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    nginx = Nginx(folder=folder, port=servers.free_port())
    try:
        nginx.start(web=[web], live=[web])
        start = time.time() + 2 + options.readers / 5000  # the swarm connects first
        until = start + options.seconds
        per = options.readers // options.swarm
        results: Any = multiprocessing.get_context("fork").Queue()
        args = (nginx.port, per, first_seq, options.interval, until, options.connections,
                options.bucket)  # fmt: skip
        swarm = [
            multiprocessing.get_context("fork").Process(target=_swarm_process, args=(args, results))
            for _ in range(options.swarm)
        ]
        for process in swarm:
            process.start()
        time.sleep(max(0.0, start - time.time()))
        logged_before = len(nginx.routed())
        origin_before = _origin_polls(web.port)
        published = 0
        while time.time() < until - options.interval - 1:  # every reader can have the last
            services.post_publish(event=event, author=user, body=f"Entry T0={time.time_ns()}")
            published += 1
            time.sleep(max(0.0, 1.0 - (time.time() % 1.0)))
        stats = [results.get(timeout=options.seconds + 60) for _ in swarm]
        for process in swarm:
            process.join(10)
        rows = nginx.routed()[logged_before:]
        origin = _origin_polls(web.port) - origin_before
    finally:
        nginx.stop()
        web.stop()
    polls = [row for row in rows if row[1].endswith("/changes/")]
    foreground = [row for row in polls if row[3]]
    delays = [d for s in stats for d in s["delays"]]
    final = [seq for s in stats for seq in s["final"]]
    from liveblog.blog.models import Event

    last = Event.objects.get(pk=event.pk).last_seq
    expected = published * len(final)
    print(f"Polling readers through nginx (load before: {', '.join(f'{x:.2f}' for x in load)})")
    print()
    print(
        "| readers | poll s | changes | polls | polls/s | origin requests | origin req/s "
        "| current at the end | delay p50 s | p99 s | max s | missed | gaps | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(final):,} | {options.interval:g} | {published} | {len(polls):,} "
        f"| {len(polls) / options.seconds:,.0f} | {origin:,.0f} "
        f"| {origin / options.seconds:.2f} | {sum(seq == last for seq in final):,} "
        f"| {percentile(delays, 0.5):.2f} | {percentile(delays, 0.99):.2f} "
        f"| {max(delays, default=float('nan')):.2f} | {expected - len(delays):,} "
        f"| {sum(s['gaps'] for s in stats):,} | {sum(s['errors'] for s in stats):,} |"
    )
    statuses: dict[int, int] = {}
    for s in stats:
        for status, n in s.get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + n
    if statuses:
        print(f"\nanswers other than 200: {statuses}")
    print(f"seq {first_seq} → {last}; readers' last seqs: {Counter(final).most_common(3)}")
    print(
        f"polls nginx sent upstream itself (not counting its background refreshes): "
        f"{len(foreground)}; statuses: {dict(Counter(row[2] for row in foreground))}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
