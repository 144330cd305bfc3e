"""API reads under wrk (issue 13): `/changes/?since=<last>`, `/changes/?since=<last-20>` and
the posts list, each for ~10 s with 32 keep-alive connections against one process of the
production uvicorn command (bench/servers.py `uvicorn-sansio`), then the same against a
minimal ASGI app answering the same bytes under the same command (bench/api_floor.py, the
floor). Prints req/s, p50, p99, errors and the ratio to the floor, and optionally where the
server's time goes (py-spy, `--profile`).

    DATABASE_URL=postgres://…/liveblog_bench REDIS_URL=redis://…/N \\
        python -m bench.api_wrk [--seconds 10] [--connections 32] [--profile]

wrk (Debian's package, `make bench-tools`) is the load: written in C, its own cost stays far
below the server's, where a Python client would top out near the floor's rate and measure
itself. The load and the server share the machine's cores, as they do in every bench here;
the ratio to the floor, measured in the same run, is what compares across machines.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench import fixtures, servers

SLUG = "bench-poll"
POSTS = 40

# The floor: the same uvicorn command with the minimal app (servers.SPECS is the registry).
servers.SPECS.setdefault(
    "api-floor",
    {
        "kind": "floor",
        "argv": [
            a if a != "bench.asgi:application" else "bench.api_floor:application"
            for a in servers.SPECS["uvicorn-sansio"]["argv"]
        ],
        "deflate": False,
    },
)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(port: int, path: str, seconds: float, connections: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{path}"
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0),
    }


def _answer(port: int, path: str) -> tuple[int, list[tuple[str, str]], str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        headers = [
            (k, v) for k, v in response.headers.items() if k.lower() not in ("date", "server")
        ]
        return response.status, headers, response.read().decode()


def profile(pid: int, seconds: float, out: Path, rate: int = 100) -> list[tuple[str, float]]:
    """py-spy's samples of one process (all threads) for `seconds`, `rate` a second: the
    share of samples in which each of our own or the framework's functions is on the stack
    (inclusive)."""
    subprocess.run(
        [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--duration",
         str(int(seconds)), "--rate", str(rate), "--format", "raw", "--output", str(out),
         "--nonblocking"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    inclusive: Counter[str] = Counter()
    # The frames under which everything runs (the server's start, the thread pool) say
    # nothing of where a request's time goes.
    generic = re.compile(
        r"\((click|asyncio|concurrent|threading|runpy|uvicorn/(main|server|_compat|__main__))"
    )
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        seen = set()
        for frame in stack.split(";"):
            name = re.sub(r" \((.*?):\d+\)$", r" (\1)", frame)
            name = name.replace(str(servers.ROOT) + "/", "").split("site-packages/")[-1]
            if name not in seen and not generic.search(name) and not name.startswith("<module>"):
                seen.add(name)
                inclusive[name] += samples
    return [(name, 100 * n / total) for name, n in inclusive.most_common(40)] if total else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_wrk")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", action="store_true", help="py-spy the server per path")
    parser.add_argument("--label", default=None, help="a name for this run (e.g. the branch)")
    parser.add_argument("--save", default=None, help="write the raw results as JSON here")
    options = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: `make bench-tools` installs Debian's wrk", file=sys.stderr)
        return 1
    env = fixtures.standalone_env()
    # Fresh changes, so that Redis' recent history holds them.
    body = "Entry **{}** with [a link](https://example.com) and some words to carry."
    event, _user = fixtures.fresh_event(SLUG, "Bench poll", [body.format(n) for n in range(POSTS)])
    last = event.last_seq
    paths = {
        "changes ?since=last": f"/api/v1/events/{SLUG}/changes/?since={last}",
        "changes ?since=last-20": f"/api/v1/events/{SLUG}/changes/?since={last - 20}",
        "posts list (20)": f"/api/v1/events/{SLUG}/posts/",
    }
    results: list[dict[str, Any]] = []
    load = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    server = servers.start("uvicorn-sansio", env)
    try:
        answers = {}
        for name, path in paths.items():
            status, headers, body = _answer(server.port, path)
            assert status == 200, (path, status)
            answers[name] = (headers, body)
            _answer(server.port, path)  # the second of a path is its hot answer
            cpu = server.cpu_seconds()
            row = wrk(server.port, path, options.seconds, options.connections)
            row.update(endpoint=name, server="ours", cpu_s=server.cpu_seconds() - cpu)
            results.append(row)
            print(f"[api_wrk] ours  {name}: {row}", file=sys.stderr, flush=True)
            if options.profile:
                load_run = subprocess.Popen(
                    ["wrk", "-t2", f"-c{options.connections}", f"-d{options.seconds + 2:g}s",
                     f"http://127.0.0.1:{server.port}{path}"],
                    stdout=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1)
                row["profile"] = profile(
                    server.process.pid, options.seconds, folder / f"{len(results)}.txt"
                )
                load_run.wait()
    finally:
        server.stop()
    for name in paths:
        headers, body = answers[name]
        answer_file = folder / "answer.json"
        answer_file.write_text(json.dumps({"headers": headers, "body": body}))
        floor = servers.start("api-floor", {**env, "API_FLOOR_FILE": str(answer_file)})
        try:
            row = wrk(floor.port, paths[name], options.seconds, options.connections)
        finally:
            floor.stop()
        row.update(endpoint=name, server="floor")
        results.append(row)
        print(f"[api_wrk] floor {name}: {row}", file=sys.stderr, flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    report = {"label": options.label, "load_before": load, "results": results}
    if options.save:
        Path(options.save).write_text(json.dumps(report, indent=1))
    print(markdown(report))
    return 0


def markdown(report: dict[str, Any]) -> str:
    rows = report["results"]
    floors = {r["endpoint"]: r for r in rows if r["server"] == "floor"}
    load = ", ".join(f"{x:.2f}" for x in report["load_before"])
    lines = [
        f"API reads under wrk ({report['label'] or 'this checkout'}; load before: {load})",
        "",
        "| endpoint | server | req/s | p50 ms | p99 ms | errors | of the floor |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        floor = floors.get(r["endpoint"])
        ratio = f"{100 * r['rps'] / floor['rps']:.1f} %" if floor else ""
        lines.append(
            f"| {r['endpoint']} | {r['server']} | {r['rps']:.0f} | {r['p50_ms']:.2f} "
            f"| {r['p99_ms']:.2f} | {r['errors']} | {ratio} |"
        )
    for r in rows:
        if r.get("profile"):
            lines += ["", f"py-spy, {r['endpoint']} (share of samples with the frame on stack):"]
            lines += [f"- {share:5.1f} %  {name}" for name, share in r["profile"][:25]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
