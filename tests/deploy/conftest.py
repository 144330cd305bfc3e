"""The production topology of docker-compose.yml, run from its committed config files with
real processes: Debian's nginx (deploy/nginx.conf) in front of a `web` and a `live` pool of
uvicorn processes, a `manage.py worker`, Debian's pgbouncer (deploy/pgbouncer/pgbouncer.ini)
in transaction mode in front of the test database, and Redis.

The configs are the shipped files with a few explicit textual substitutions (addresses,
ports, paths); a substitution that finds nothing to replace fails, so that these tests break
when a shipped file changes shape instead of silently testing something else.
"""

import getpass
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from liveblog.blog.models import ApiToken, Membership
from tests.factories import EventFactory, UserFactory
from tests.ops.workers import Worker
from tests.servers import BEHIND_PROXY, ROOT, Server, asgi_servers, free_port

NGINX = "/usr/sbin/nginx"
PGBOUNCER = "/usr/sbin/pgbouncer"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
PGBOUNCER_INI = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
POOL_SIZE = 2  # processes per pool, as docker-compose.yml's WEB_REPLICAS / LIVE_REPLICAS


def substitute(text: str, pattern: str, replacement: str, *, source: Path) -> str:
    """Replace the one line (or part of one) that `pattern` matches; fail if there is not
    exactly one, because then the shipped file no longer has the shape this test expects."""
    result, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(
            f"{source.relative_to(ROOT)}: expected one match of {pattern!r}, found {count}; "
            "the file changed shape, so update tests/deploy/conftest.py to match"
        )
    return result


def require(binary: str) -> None:
    if not os.access(binary, os.X_OK):
        message = f"{binary} is missing: `make deploy-tools` installs Debian's nginx and pgbouncer"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{_read(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"{process.args[0]} not listening on {port} after {timeout} s:\n{_read(log)}"
    )


def _read(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
class Nginx:
    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def upstream_log(self) -> Path:
        return self.folder / "upstream.log"

    @property
    def media_root(self) -> Path:
        """The media volume: the web processes write to it, nginx reads it."""
        return self.folder / "srv" / "media"

    def config(self, *, web: list[Server], live: list[Server]) -> str:
        def servers(pool: list[Server]) -> str:
            return "\n".join(rf"\1server 127.0.0.1:{s.port}\2;" for s in pool)

        text = NGINX_CONF.read_text()
        for pattern, replacement in [
            (r"^(\s*)server live:8000\b([^;]*);", servers(live)),
            (r"^(\s*)server web:8000\b([^;]*);", servers(web)),
            (r"\blisten 80\b", f"listen 127.0.0.1:{self.port}"),
            (r"/var/log/nginx/access\.log", str(self.folder / "access.log")),
            (r"/var/cache/nginx/pages", str(self.folder / "cache" / "pages")),
            (r"/var/cache/nginx/api\b", str(self.folder / "cache" / "api")),
            (r"root /srv;", f"root {self.media_root.parent};"),
            # Additions, not changes: Debian's nginx keeps its temporary files in /var/lib/nginx;
            # and a log of which upstream answered each request, for the tests to read.
            (r"^http \{$", "http {\n    # tests/deploy: temporary files and an upstream log\n"
             + "".join(f"    {kind}_temp_path {self.folder / 'tmp' / kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
             + "    log_format upstream '$request_method $uri $status $upstream_addr';\n"
             + f"    access_log {self.upstream_log} upstream;\n"),
        ]:  # fmt: skip
            text = substitute(text, pattern, replacement, source=NGINX_CONF)
        return text

    def start(self, *, web: list[Server], live: list[Server]) -> None:
        conf = self.folder / "nginx.conf"
        conf.write_text(self.config(web=web, live=live))
        for folder in ("tmp", "cache"):  # nginx makes the last level only
            (self.folder / folder).mkdir(exist_ok=True)
        log = self.folder / "error.log"
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.folder), "-c", str(conf), "-e", str(log),
             "-g", f"daemon off; pid {self.folder / 'nginx.pid'};"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)  # SIGTERM: nginx's fast shutdown
            self.process = None

    def routed(self) -> list[tuple[str, str, str, list[int]]]:
        """(method, path, status, upstream ports tried) of each request nginx has logged
        (a WebSocket is logged when it closes)."""
        rows = []
        for line in self.upstream_log.read_text().splitlines():
            method, path, status, upstream = line.split(" ", 3)
            ports = [int(port) for port in re.findall(r":(\d+)", upstream)]
            rows.append((method, path, status, ports))
        return rows

    def routed_for(self, path: str, timeout: float = 10.0) -> list[tuple[str, str, str, list[int]]]:
        """routed()'s rows of `path`, once nginx has logged one: it writes the line as the
        request ends, so a client can read the answer before the line is there."""
        deadline = time.monotonic() + timeout
        while True:
            rows = [row for row in self.routed() if row[1] == path]
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


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
