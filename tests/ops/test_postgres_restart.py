"""Issue 11, acceptance 3: PostgreSQL restarted while a reporter publishes and a reader
watches. The test runs a PostgreSQL cluster of its own (initdb and pg_ctl, in a folder and on
a port of its own), the production server (uvicorn, tests/servers.py) on it with the real
Redis, a reader's live socket and a reporter's Chromium on the composer. With PostgreSQL
stopped, Publish says the entry is kept and will be sent; the reader stays connected; once
PostgreSQL is back the entry is published by itself, once, without a reload, and the
reader gets it once."""

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from websockets.sync.client import connect

from tests.e2e.test_live_loop import PASSWORD, log_in
from tests.servers import ROOT, asgi_servers, free_port

# initdb, migrate and a server of its own take a while on a loaded machine.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
UNREACHABLE = "Not sent: the server cannot be reached. Your entry is kept and will be sent"
# Generous: a loaded CI machine, and the composer's retries back off up to 15 s.
PATIENCE_S = 90


@dataclass
class Cluster:
    """A PostgreSQL of the test's own: stopping it disturbs nobody else."""

    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/liveblog"

    def _run(self, binary: str, *args: str) -> None:
        # PostgreSQL refuses to run as root: the cluster then belongs to nobody.
        user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        command = [*user, str(Path(BINARIES[-1]) / binary), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "nobody")
        data = str(self.folder / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        self.start()
        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                 dbname="postgres")  # fmt: skip
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE liveblog")
        admin.close()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"),
                  "-w", "-t", "60", "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def query(self, sql: str) -> list[tuple]:
        with psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                              dbname="liveblog") as db, db.cursor() as cursor:  # fmt: skip
            cursor.execute(sql)
            return cursor.fetchall()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINARIES:
        message = "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are missing"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="liveblog-pg-"))
    cluster = Cluster(folder)
    try:
        cluster.init()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


NEWSROOM = f"""
from liveblog.blog.models import Membership
from tests.factories import EventFactory, UserFactory
event = EventFactory(slug="storm", title="Storm coverage")
reporter = UserFactory(username="rita", password={PASSWORD!r})
Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
"""


def manage(cluster: Cluster, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": cluster.url, "DEBUG": "1"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip


class Reader(threading.Thread):
    """A reader's live socket: every frame it is sent, kept as it came (duplicates too);
    reconnecting with `since`, as static/js/live.js does, if the connection drops."""

    def __init__(self, url: str, origin: str) -> None:
        super().__init__(daemon=True)
        self.url, self.origin = url, origin
        self.frames: list[dict] = []
        self.connections = 0
        self.seq = 0
        self.connected = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with connect(f"{self.url}?since={self.seq}", origin=self.origin,
                             open_timeout=5) as socket:  # fmt: skip
                    self.connections += 1
                    while not self.stopping.is_set():
                        try:
                            frame = json.loads(socket.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        if frame["type"] == "hello":
                            self.seq = max(self.seq, frame["seq"])
                            self.connected.set()
                            continue
                        self.frames.append(frame)
                        self.seq = max(self.seq, frame.get("seq", 0))
            except Exception:  # dropped: as a browser, try again
                self.connected.clear()
                self.stopping.wait(0.5)

    def created(self) -> list[dict]:
        return [frame for frame in self.frames if frame["type"] == "post.created"]


def token_of(multipart: str) -> str:
    """The `token` field of a multipart form body (the composer's idempotency key)."""
    _, _, rest = multipart.partition('name="token"\r\n\r\n')
    return rest.partition("\r\n")[0]


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until(check, what: str, page=None, timeout: float = PATIENCE_S) -> None:
    """Poll `check`; with a `page`, through Playwright's own wait, so that its events (the
    requests the page sends) are still dispatched to this thread meanwhile."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"still not {what} after {timeout} s"
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


def test_an_entry_published_while_postgresql_is_down_goes_out_once_when_it_is_back(
    cluster, browser, screenshot
):
    manage(cluster, "migrate", "--noinput")
    manage(cluster, "shell", "-c", NEWSROOM)
    with asgi_servers(1, DATABASE_URL=cluster.url) as (server,):
        reader = Reader(f"{server.ws}/ws/events/storm/", server.url)
        reader.start()
        assert reader.connected.wait(PATIENCE_S)
        page = browser.new_context().new_page()
        log_in(page, server.url, "rita")
        page.goto(f"{server.url}/editor/events/storm/")
        page.wait_for_selector("[data-live][data-connected=true]")
        page.evaluate("window.__sameDocument = true")
        sent: list[str] = []  # the composer's tries at publishing, as they left the page
        page.on(
            "request",
            lambda r: sent.append(r.post_data or "") if r.method == "POST" and r.url.endswith(
                "/editor/events/storm/") else None,
        )  # fmt: skip
        body = page.get_by_role("textbox", name="Entry")
        body.fill("The river has burst its banks at the bridge.")

        cluster.stop()
        assert health(server.url) == 503
        page.get_by_role("button", name="Publish").click()

        status = page.locator("[data-form-status]")
        status.filter(has_text=UNREACHABLE).wait_for(timeout=PATIENCE_S * 1000)
        assert body.input_value() == "The river has burst its banks at the bridge."
        kept = page.evaluate(
            "Object.keys(localStorage).filter(k => k.startsWith('liveblog:outbox:'))"
        )
        assert len(kept) == 1
        screenshot(page, "outage-publish-kept")
        # Tried again by itself (backoff) while PostgreSQL is away.
        wait_until(lambda: len(sent) >= 2, "tried again", page)
        assert health(server.url) == 503

        cluster.start()

        status.filter(has_text="Published.").wait_for(timeout=PATIENCE_S * 1000)
        wait_until(lambda: len(reader.created()) >= 1, "at the reader")
        page.locator("[data-stream] article.entry", has_text="burst its banks").wait_for()
        assert body.input_value() == ""
        assert page.evaluate("window.__sameDocument") is True
        assert (
            page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('liveblog:outbox:'))")
            == []
        )
        assert cluster.query("SELECT count(*) FROM blog_post") == [(1,)]
        assert health(server.url) == 200
        assert len(sent) >= 3
        assert len({token_of(data) for data in sent}) == 1  # every try, the same entry
        [frame] = reader.created()
        assert "burst its banks" in frame["html"]
        assert reader.connected.is_set()
        screenshot(page, "outage-published-after")
        reader.stopping.set()
        reader.join(timeout=10)
        page.context.close()
