"""Start, watch and stop the servers under test: ours under daphne or uvicorn, and the floor.

Each spec names one server configuration. Every server listens on 127.0.0.1 only, on a free
port, with a large listen backlog so that thousands of readers connecting at once are not
refused by the kernel (daphne's default backlog is 50).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _uvicorn(ws: str, deflate: bool) -> list[str]:
    return [
        "-m", "uvicorn", "bench.asgi:application", "--host", "127.0.0.1", "--lifespan", "off",
        "--no-access-log", "--log-level", "warning", "--backlog", "4096",
        "--loop", "uvloop", "--http", "httptools", "--ws", ws,
        "--ws-per-message-deflate", "true" if deflate else "false",
    ]  # fmt: skip


_DAPHNE = [
    "-m", "daphne", "-e", "tcp:port={port}:interface=127.0.0.1:backlog=4096",
    "--access-log", os.devnull, "bench.asgi:application",
]  # fmt: skip

SPECS: dict[str, dict[str, Any]] = {
    "floor": {"kind": "floor", "argv": ["-m", "bench.floor_server"], "deflate": False},
    "floor+deflate": {
        "kind": "floor",
        "argv": ["-m", "bench.floor_server", "--compression"],
        "deflate": True,
    },
    "daphne": {"kind": "ours", "argv": _DAPHNE, "deflate": False},
    "uvicorn": {"kind": "ours", "argv": _uvicorn("websockets", False), "deflate": False},
    "uvicorn+deflate": {"kind": "ours", "argv": _uvicorn("websockets", True), "deflate": True},
    "uvicorn-sansio": {
        "kind": "ours",
        "argv": _uvicorn("websockets-sansio", False),
        "deflate": False,
    },
    "uvicorn-wsproto": {"kind": "ours", "argv": _uvicorn("wsproto", False), "deflate": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "liveblog.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LIVEBLOG_RATE_LIMITS": "off",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHANNEL_PREFIX": "liveblog-bench",
        "LOG_LEVEL": "WARNING",
        "METRICS_PUBLIC": "1",  # the bench reads each process's catch-up counters
    }


@dataclass
class Server:
    spec: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def kind(self) -> str:
        return str(SPECS[self.spec]["kind"])

    @property
    def deflate(self) -> bool:
        return bool(SPECS[self.spec]["deflate"])

    def processes(self) -> list[psutil.Process]:
        try:
            main = psutil.Process(self.process.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.processes())

    def rss(self) -> int:
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def queries(self) -> int | None:
        if self.kind != "ours":
            return None
        url = f"http://127.0.0.1:{self.port}/__bench__/queries"
        try:
            # A server deep in a reconnect storm may take a while to answer.
            with urllib.request.urlopen(url, timeout=120) as response:
                return int(json.loads(response.read())["queries"])
        except OSError:
            return None

    def catch_ups(self) -> dict[str, float]:
        """Reconnect replays this process served, by source (memory, Redis, log, reset),
        from its Prometheus counters."""
        if self.kind != "ours":
            return {}
        from prometheus_client.parser import text_string_to_metric_families

        url = f"http://127.0.0.1:{self.port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                text = response.read().decode()
        except OSError:
            return {}
        return {
            sample.labels["source"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "liveblog_catch_ups"
            for sample in family.samples
            if sample.name == "liveblog_catch_ups_total"
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text()[-2000:]
            raise RuntimeError(f"{server.spec} exited with {server.process.returncode}:\n{tail}")
        try:
            if server.kind == "ours":
                url = f"http://127.0.0.1:{server.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            else:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.spec} on port {server.port} not ready after {timeout} s")


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the bench dies, so no server outlives a crash."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start(spec: str, env: dict[str, str]) -> Server:
    port = free_port()
    argv = [a.format(port=port) for a in SPECS[spec]["argv"]]
    if "-m" in argv and argv[1] in ("uvicorn", "bench.floor_server"):
        argv += ["--port", str(port)]
    log = Path(tempfile.mkstemp(prefix=f"bench-{spec}-", suffix=".log")[1])
    process = subprocess.Popen(
        [sys.executable, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        preexec_fn=_die_with_parent,
    )
    server = Server(spec=spec, port=port, process=process, log=log)
    try:
        _ready(server, timeout=60)
    except BaseException:
        server.stop()
        raise
    return server


def redis_cpu_seconds() -> float:
    """CPU of the local redis-server (it is the fan-out hub between processes)."""
    return _cpu_seconds(
        proc for proc in psutil.process_iter(["name"]) if proc.info["name"] == "redis-server"
    )


def _cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User + system CPU of these processes (those that exit meanwhile count nothing)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total
