"""The production topology of docker-compose.yml, run from its committed config files with
real processes: Debian's nginx (deploy/nginx.conf) in front of a `web` and a `live` pool of
uvicorn processes, a `manage.py worker`, Debian's pgbouncer (deploy/pgbouncer/pgbouncer.ini)
in transaction mode in front of the test database, and Redis.

The configs are the shipped files with a few explicit textual substitutions (addresses,
ports, paths); a substitution that finds nothing to replace fails, so that these tests break
when a shipped file changes shape instead of silently testing something else. nginx's part
is tests/deploy/nginx.py, which the benchmarks through nginx (bench/) use too.
"""

import getpass
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from liveblog.blog.models import ApiToken, Membership
from tests.deploy.nginx import NGINX, Nginx, stop, substitute, wait_for_port
from tests.factories import EventFactory, UserFactory
from tests.ops.workers import Worker
from tests.servers import BEHIND_PROXY, ROOT, Server, asgi_servers, free_port

PGBOUNCER = "/usr/sbin/pgbouncer"
PGBOUNCER_INI = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
POOL_SIZE = 2  # processes per pool, as docker-compose.yml's WEB_REPLICAS / LIVE_REPLICAS


def require(binary: str) -> None:
    if not os.access(binary, os.X_OK):
        message = f"{binary} is missing: `make deploy-tools` installs Debian's nginx and pgbouncer"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _as_nobody_if_root(folder: Path) -> list[str]:
    """pgbouncer refuses to run as root; it then runs as nobody, in a folder of its own."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, "nobody")
    return ["-u", "nobody"]


@dataclass
class Pgbouncer:
    folder: Path
    port: int
    user: str
    password: str
    process: subprocess.Popen | None = None

    @property
    def database_url(self) -> str:
        """What the ASGI processes use: the pgbouncer database name, as docker-compose.yml."""
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"postgres://{auth}@127.0.0.1:{self.port}/liveblog"

    def config(self) -> str:
        db = connection.settings_dict  # the database pytest created: test_<name>
        host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
        text = PGBOUNCER_INI.read_text()
        for pattern, replacement in [
            (r"^liveblog = host=db port=5432 dbname=liveblog$",
             f"liveblog = host={host} port={port} dbname={db['NAME']}"),
            (r"^listen_addr = 0\.0\.0\.0$", "listen_addr = 127.0.0.1"),
            (r"^listen_port = 6432$", f"listen_port = {self.port}"),
            (r"^auth_file = /etc/pgbouncer/userlist\.txt$",
             f"auth_file = {self.folder / 'userlist.txt'}"),
            (r"^\[pgbouncer\]$",
             f"[pgbouncer]\n; tests/deploy: its own files\n"
             f"logfile = {self.folder / 'pgbouncer.log'}\n"
             f"pidfile = {self.folder / 'pgbouncer.pid'}\nunix_socket_dir = {self.folder}"),
        ]:  # fmt: skip
            text = substitute(text, pattern, replacement, source=PGBOUNCER_INI)
        return text

    def start(self) -> None:
        # SCRAM between the application and pgbouncer as shipped; pgbouncer logs in to
        # PostgreSQL with the same password (ignored by a trust setup, needed by others).
        (self.folder / "userlist.txt").write_text(f'"{self.user}" "{self.password}"\n')
        (self.folder / "pgbouncer.ini").write_text(self.config())
        user = _as_nobody_if_root(self.folder)
        log = self.folder / "pgbouncer.log"
        self.process = subprocess.Popen(
            [PGBOUNCER, *user, str(self.folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@dataclass
class Topology:
    nginx: Nginx
    web: list[Server]
    live: list[Server]
    pgbouncer: Pgbouncer
    worker: Worker  # docker-compose.yml's `worker` service: the same environment


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """collectstatic as the Dockerfile runs it: DEBUG=0 serves hashed files (whitenoise)."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "collectstatic-only", "STATIC_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    return root


@pytest.fixture(scope="session")
def deploy_tools() -> None:
    require(NGINX)
    require(PGBOUNCER)


@pytest.fixture(scope="module")
def topology(deploy_tools, django_db_setup, static_root) -> Iterator[Topology]:
    # Not pytest's tmp_path: its parents are private to the user, and nginx's workers and
    # pgbouncer run as nobody when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="liveblog-deploy-"))
    folder.chmod(0o755)
    try:
        with ExitStack() as stack:
            db = connection.settings_dict
            pgbouncer = Pgbouncer(
                folder=folder / "pgbouncer",
                port=free_port(),
                user=db.get("USER") or getpass.getuser(),
                password=db.get("PASSWORD") or secrets.token_urlsafe(16),
            )
            pgbouncer.folder.mkdir()
            pgbouncer.start()
            stack.callback(pgbouncer.stop)
            nginx = Nginx(folder=folder / "nginx", port=free_port())
            nginx.folder.mkdir()
            nginx.folder.chmod(0o755)
            # docker-compose.yml's x-web-env, with local addresses.
            env = {
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "DATABASE_URL": pgbouncer.database_url,
                "DATABASE_POOLED": "1",
                "REDIS_URL": settings.REDIS_URL or "redis://127.0.0.1:6379/0",
                "ALLOWED_HOSTS": "localhost,127.0.0.1",
                "CSRF_TRUSTED_ORIGINS": nginx.url,
                "SECURE_SSL_REDIRECT": "0",
                "METRICS_TOKEN": secrets.token_urlsafe(32),
                "FORWARDED_ALLOW_IPS": "127.0.0.1",  # nginx's address as the upstreams see it
                "LIVEBLOG_RATE_LIMITS": "on",
                "STATIC_ROOT": str(static_root),
                "MEDIA_ROOT": str(nginx.media_root),
            }
            nginx.media_root.mkdir(parents=True)
            nginx.media_root.parent.chmod(0o755)
            logs = folder / "asgi"
            logs.mkdir()
            servers = stack.enter_context(
                asgi_servers(2 * POOL_SIZE, args=BEHIND_PROXY, logs=logs, **env)
            )
            web, live = servers[:POOL_SIZE], servers[POOL_SIZE:]
            nginx.start(web=web, live=live)
            stack.callback(nginx.stop)
            worker = Worker(log=logs / "worker.log", env={**os.environ, **env})
            worker.start()
            stack.callback(lambda: worker.process and worker.stop())
            yield Topology(nginx=nginx, web=web, live=live, pgbouncer=pgbouncer, worker=worker)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Newsroom:
    event: object
    token: str


@pytest.fixture
def newsroom(transactional_db) -> Newsroom:
    """Committed data (transactional test), so that the server processes see it. A new slug
    for each test: the processes outlive the test's data, and a live process remembers
    which event a slug named for a while."""
    event = EventFactory()
    editor = UserFactory(username="deploy-editor")
    Membership.objects.create(event=event, user=editor, role=Membership.Role.EDITOR)
    _token, key = ApiToken.issue(user=editor)
    return Newsroom(event=event, token=key)
