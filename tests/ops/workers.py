"""Real `manage.py worker` processes for tests that cross process boundaries: they share the
test database (committed data: use transactional tests) and Redis, as tests/servers.py's
ASGI processes do."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from tests.servers import ROOT, database_url

# Looks often, so that a wrong lock would show up as a double publish within the test.
INTERVAL = "0.2"
# What docker-compose.yml's `worker` service runs (tests/deploy/test_compose.py checks it).
COMMAND = [sys.executable, "manage.py", "worker"]
STARTED = "worker: started"


def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Until check() holds; an AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        time.sleep(0.05)


@dataclass
class Worker:
    log: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None

    def start(self) -> None:
        before = self.output().count(STARTED)  # a restarted worker appends to its log
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                COMMAND,
                cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(
            lambda: self.output().count(STARTED) > before or self.died(), what="a worker start"
        )
        assert not self.died(), self.output()[-3000:]

    def died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up, as a crash or an OOM kill."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> int:
        """SIGTERM, as a deployment stops it; its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self.process = None
        return code


@contextmanager
def workers(count: int, logs: Path, **extra_env: str) -> Iterator[list[Worker]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL or "redis://127.0.0.1:6379/0",
        "DEBUG": "1",
        "LIVEBLOG_WORKER_INTERVAL": INTERVAL,
        **extra_env,
    }
    started = [Worker(log=logs / f"worker-{n}.log", env=env) for n in range(count)]
    try:
        for worker in started:
            worker.start()
        yield started
    finally:
        for worker in started:
            if worker.process is not None:
                worker.stop()
