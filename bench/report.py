"""The Markdown tables `python -m bench` prints (and bench/RESULTS.md quotes)."""

from typing import Any


def _f(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _floor_for(rows: list[dict[str, Any]], n: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["server"] == "floor" and r["n"] == n), None)


def fanout_table(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        floor = _floor_for(rows, r["n"])
        p99_ratio = cpu_ratio = None
        if floor and r["server"] != "floor" and floor["p99_ms"] and r["p99_ms"]:
            p99_ratio = r["p99_ms"] / floor["p99_ms"]
        if floor and r["server"] != "floor" and floor["cpu_per_1k"] and r["cpu_per_1k"]:
            cpu_ratio = r["cpu_per_1k"] / floor["cpu_per_1k"]
        out.append(
            [
                r["server"],
                _f(r["n"]),
                f"{_f(r['connected'])} in {_f(r['connect_s'], 1)} s",
                _f(r["p50_ms"]),
                _f(r["p95_ms"]),
                _f(r["p99_ms"]),
                _f(r["max_ms"]),
                _f(r["missing"]),
                _f(r["cpu_per_1k"], 3),
                _f(r["kib_per_conn"], 1),
                f"{_f(r['frame_bytes'])} / {_f(r['wire_bytes_per_msg'])}",
                f"{_f(r['publish_p50_ms_10'], 1)} → {_f(r['publish_p50_ms_n'], 1)}",
                _f(p99_ratio, 1) if p99_ratio else "-",
                _f(cpu_ratio, 1) if cpu_ratio else "-",
            ]
        )
    header = [
        "server", "N", "connected", "p50 ms", "p95 ms", "p99 ms", "max ms", "missing",
        "server CPU s / 1k deliveries", "KiB / idle conn", "frame B / wire B",
        "publish p50 ms 10 → N",
        "p99 / floor", "CPU / floor",
    ]  # fmt: skip
    return _table(header, out)


def storm_table(rows: list[dict[str, Any]]) -> str:
    out = [
        [
            r["server"],
            _f(r["n"]),
            f"{_f(r['converged'])} / {_f(r['readers'])}",
            _f(r["converge_s"], 1),
            _f(r.get("all_hello_s"), 2),
            f"{_f(r['catch_up_p50_ms'])} / {_f(r['catch_up_p99_ms'])} / {_f(r['catch_up_max_ms'])}",
            _f(r["queries"]),
            _f(r["queries_per_reader"], 2),
            " / ".join(_f(r.get("replayed_from", {}).get(k)) for k in ("history", "redis", "log")),
            _f(r["resets"]),
            _f(r["repeats_or_reorders"]),
            _f(r["failed_reconnects"]),
            _f(r["cpu_s"], 1),
        ]
        for r in rows
    ]
    header = [
        "server", "N", "converged", "all converged after s", "all back (hello) after s",
        "reconnect → caught up ms p50 / p99 / max", "SQL statements",
        "per reader", "gaps replayed from memory / Redis / log", "resets",
        "repeats / reorders", "failed reconnects", "server CPU s",
    ]  # fmt: skip
    return _table(header, out)


def render_table(r: dict[str, Any]) -> str:
    if not r:
        return ""
    header = ["page", "entries shown", "first render ms", "uncached median ms",
              "cached median ms", "new state, entries cached, median ms",
              "304 revalidation median ms",
              "queries (uncached / cached)"]  # fmt: skip
    row = [
        r["url"],
        _f(r["entries_on_page"]),
        _f(r["first_ms"], 1),
        f"{_f(r['uncached_median_ms'], 1)} (p90 {_f(r['uncached_p90_ms'], 1)})",
        f"{_f(r['cached_median_ms'], 1)} (p90 {_f(r['cached_p90_ms'], 1)})",
        _f(r.get("new_state_median_ms"), 1),
        _f(r.get("revalidated_304_median_ms"), 1),
        f"{r['queries_uncached']} / {r['queries_cached']}",
    ]
    return _table(header, [row])


def api_table(rows: list[dict[str, Any]]) -> str:
    out = [
        [
            r["server"],
            r["endpoint"],
            _f(r["rps"]),
            _f(r["p50_ms"], 1),
            _f(r["p99_ms"], 1),
            _f(r["errors"]),
            _f(r["server_cpu_s"], 1),
        ]
        for r in rows
    ]
    return _table(
        ["server", "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "server CPU s"], out
    )


def herd_table(rows: list[dict[str, Any]]) -> str:
    out = [
        [
            r["server"],
            f"{_f(r['connected'])} / {_f(r['existing'])}",
            f"{_f(r['newcomers'])} in {_f(r['spread_s'])} s",
            _f(r["greeted"]),
            _f(r["handshakes_per_s"]),
            f"{_f(r['current'])} after {_f(r['all_current_s'], 1)} s",
            f"{_f(r['p99_before_ms'])} → {_f(r['p99_during_ms'])}",
            _f(r["queries"]),
            _f(r["queries_per_newcomer"], 3),
            _f(r["origin_pages"]),
            _f(r.get("web_queries")),
            _f(r["failed"]),
            _f(r["cpu_s"], 1),
        ]
        for r in rows
    ]
    header = [
        "server", "connected", "newcomers", "greeted", "handshakes / s (first page GET → last"
        " hello)", "newcomers current after (from the first page GET)",
        "existing readers' p99 ms before → during",
        "live process SQL statements during the herd", "per newcomer",
        "page GETs at the origin", "web process SQL (pages + publishes)", "failed",
        "server CPU s",
    ]  # fmt: skip
    return _table(header, out)


def events_table(rows: list[dict[str, Any]]) -> str:
    base = rows[0] if rows else None
    out = [
        [
            r["server"],
            _f(r["events"]),
            f"{_f(r['connected'])} in {_f(r['connect_s'], 1)} s",
            f"{_f(r['deliveries'])} / {_f(r['expected'])}",
            _f(r["p50_ms"], 1),
            _f(r["p99_ms"], 1),
            _f(r["p99_ms"] / base["p99_ms"], 2) if base and base["p99_ms"] and r["p99_ms"] else "-",
            _f(r["cpu_pct"], 1),
            _f(r["queries_per_s"], 2),
            _f(r.get("connect_queries")),
            f"{_f(r.get('burst_connected'))} in {_f(r.get('burst_s'), 1)} s"
            if "burst_s" in r
            else "-",
            _f(r.get("burst_queries")),
            _f(r.get("burst_cpu_s"), 1),
        ]
        for r in rows
    ]
    header = [
        "server", "live events", "readers connected", "deliveries", "p50 ms", "p99 ms",
        "p99 / first row", "live process CPU %", "SQL statements / s", "SQL to connect",
        "burst: all at once", "burst SQL", "burst CPU s",
    ]  # fmt: skip
    return _table(header, out)


def markdown(results: dict[str, Any]) -> str:
    parts = ["## Machine", ""]
    parts += [f"- {k}: {v}" for k, v in results.get("machine", {}).items()]
    if results["fanout"]:
        parts += ["", "## Fan-out (a, e)", "", fanout_table(results["fanout"])]
    if results["storm"]:
        parts += ["", "## Reconnect storm (b)", "", storm_table(results["storm"])]
    if results["render"]:
        parts += ["", "## Reader page, 2,000 entries (c)", "", render_table(results["render"])]
    if results["api"]:
        parts += ["", "## API (d)", "", api_table(results["api"])]
    if results.get("herd"):
        parts += ["", "## The herd (issue 13)", "", herd_table(results["herd"])]
    if results.get("events"):
        parts += ["", "## Many events x 5 readers (issue 13)", "", events_table(results["events"])]
    for failure in results.get("failures", []):
        parts += ["", f"FAILED: {failure}"]
    parts += ["", f"Total bench time: {results.get('seconds', 0):.0f} s"]
    return "\n".join(parts)
