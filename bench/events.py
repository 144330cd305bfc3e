"""Many events (issue 13): E live events x 5 readers each on one live process.

One change a second, spread round-robin over the E events, published through another
process; for each E (10, 100, 1,000): delivery p50/p99, the live process's CPU %, and the SQL
statements per second it runs (bench/asgi.py counting), which should not grow with E: the
hub's watch reads every served event's last seq in one query a second.
"""

import time
from typing import Any

PREFIX = "bench-many-"


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


def events(ctx: Any, spec: str, count: int, readers: int, seconds: float) -> dict[str, Any]:
    from bench import publish, servers
    from bench.__main__ import percentile

    assert ctx.workers is not None and ctx.data is not None
    workers = ctx.workers
    slugs = ensure_events(count)
    ctx.log(f"events: {spec}, {count} events x {readers} readers, {seconds:.0f} s")
    live = servers.start(spec, ctx.server_env)
    api = servers.start(spec, ctx.server_env)
    try:
        started = time.monotonic()
        connected = 0
        for number, slug in enumerate(slugs):
            target = {"host": "127.0.0.1", "port": live.port, "path": f"/ws/events/{slug}/",
                      "deflate": live.deflate}  # fmt: skip
            pipe = workers.pipes[number % len(workers.pipes)]
            pipe.send(("connect", {"target": target, "count": readers, "concurrency": readers}))
            connected += pipe.recv()["connected"]
        connect_s = time.monotonic() - started
        publisher = publish.ApiPublisher(api.port, ctx.data.token, slugs[0])
        publisher.publish()  # warms the API process up
        time.sleep(3)  # past the joins' queries and a first audience report
        workers.ask("record")
        queries_before, cpu_before = live.queries(), live.cpu_seconds()
        window_start = time.monotonic()
        posts = int(seconds)
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
