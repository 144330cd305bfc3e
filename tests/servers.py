"""Real ASGI server processes (uvicorn, as in production) for tests that cross process
boundaries or drive a browser.

They share the test database (committed data: use transactional tests) and Redis.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# The production server and flags (Dockerfile), so that tests exercise what runs in production.
UVICORN = [sys.executable, "-m", "uvicorn", "liveblog.asgi:application", "--host", "127.0.0.1",
           "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
           "--ws-per-message-deflate", "false", "--lifespan", "off", "--no-access-log",
           "--timeout-graceful-shutdown", "5"]  # fmt: skip
# The rest of docker-compose.yml's command, for processes behind a proxy (tests/deploy). The
# proxy uvicorn believes is FORWARDED_ALLOW_IPS (environment), never every client.
BEHIND_PROXY = ["--backlog", "4096", "--proxy-headers"]


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, and never one handed out before in this test process:
    the deploy tests choose nginx's port before its upstreams start, and an upstream given
    the same port would answer in nginx's place (its readiness check passing too)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or ""
    auth = f"{user}:{db['PASSWORD']}@" if db.get("PASSWORD") else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class Server:
    port: int
    env: dict[str, str]
    args: Sequence[str] = ()
    log: Path | None = None  # the process's output, appended; else discarded
    process: subprocess.Popen | None = None

    def start(self) -> None:
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [*UVICORN, *self.args, "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        finally:
            if self.log:
                output.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process as a deployment would (SIGTERM) and wait for it to exit."""
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
        _wait_healthy(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


# Generous: a server process starts in ~2 s, but on a loaded 2-core machine (CI beside other
# work: load average 9) one took over 30 s; waiting longer costs nothing when it is quick.
def _wait_healthy(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"server on {server.port} exited with {code}{_tail(server.log)}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {server.port} not healthy after {timeout} s{_tail(server.log)}")


def _tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.exists():
        return ""
    return "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def asgi_servers(
    count: int = 1, *, args: Sequence[str] = (), logs: Path | None = None, **extra_env: str
) -> Iterator[list[Server]]:
    """`count` processes; `args` are added to the uvicorn flags, each process's output goes
    to `logs`/<port>.log when `logs` is a folder."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL or "redis://127.0.0.1:6379/0",
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LIVEBLOG_RATE_LIMITS": "off",
        **extra_env,
    }
    servers: list[Server] = []
    try:
        for _ in range(count):
            port = free_port()
            log = logs / f"{port}.log" if logs else None
            server = Server(port=port, env=env, args=args, log=log)
            server.start()
            servers.append(server)
        for server in servers:
            _wait_healthy(server)
        yield servers
    finally:
        for server in servers:
            server.stop()
