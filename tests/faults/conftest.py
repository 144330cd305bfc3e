"""Fault injection: real PostgreSQL, a private Redis the tests kill and restart, and real
server processes (uvicorn, as in production) the tests start and stop."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis

from liveblog.blog.models import ApiToken, Membership
from tests.factories import EventFactory, UserFactory
from tests.servers import free_port


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, so killing it disturbs nobody else."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the fault tests"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Newsroom:
    event: object
    editor: object
    token: str


@pytest.fixture
def newsroom(transactional_db) -> Newsroom:
    event = EventFactory(slug="storm", title="Storm coverage")
    editor = UserFactory(username="ed")
    Membership.objects.create(event=event, user=editor, role=Membership.Role.EDITOR)
    _token, key = ApiToken.issue(user=editor)
    return Newsroom(event=event, editor=editor, token=key)
