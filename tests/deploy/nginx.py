"""deploy/nginx.conf as a process of its own: the shipped file with a few explicit textual
substitutions (upstream addresses, the port, paths), run by Debian's nginx on 127.0.0.1.

tests/deploy runs the production topology behind it, and the benchmarks that go through
nginx (bench/pollers.py, bench/herd.py) start it the same way, so that both measure the file
that ships. This module imports neither Django nor pytest: the bench's orchestrator and the
tests' fixtures both use it. A substitution that finds nothing to replace fails, so that a
shipped file that changes shape breaks these users instead of silently running another one.
"""

import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent.parent
NGINX = "/usr/sbin/nginx"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


class Upstream(Protocol):
    """What nginx needs of an upstream process (tests.servers.Server, bench.servers.Server)."""

    @property
    def port(self) -> int: ...


def substitute(text: str, pattern: str, replacement: str, *, source: Path) -> str:
    """Replace the one line (or part of one) that `pattern` matches; fail if there is not
    exactly one, because then the shipped file no longer has the shape this code expects."""
    result, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(
            f"{source.relative_to(ROOT)}: expected one match of {pattern!r}, found {count}; "
            "the file changed shape, so update the substitutions of tests/deploy to match"
        )
    return result


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


@dataclass
class Nginx:
    folder: Path
    port: int
    process: subprocess.Popen | None = None
    # The upstream log then has the cache's background refreshes too (subrequests, which
    # nginx does not log by default): the bench counts every request that reached the origin.
    log_subrequests: bool = False

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

    def config(self, *, web: list[Upstream], live: list[Upstream]) -> str:
        def servers(pool: list[Upstream]) -> str:
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
             + f"    access_log {self.upstream_log} upstream;\n"
             + ("    log_subrequest on;\n" if self.log_subrequests else "")),
        ]:  # fmt: skip
            text = substitute(text, pattern, replacement, source=NGINX_CONF)
        return text

    def start(self, *, web: list[Upstream], live: list[Upstream]) -> None:
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
        (a WebSocket is logged when it closes; a request answered from the cache names no
        upstream)."""
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
