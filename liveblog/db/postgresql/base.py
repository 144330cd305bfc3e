"""PostgreSQL through psycopg2, keeping the connections a process has finished with for its
next requests (ENGINE "liveblog.db.postgresql", which settings.py names for postgres:// URLs).

Why: under ASGI Django runs each request's sync code in a thread of its own, so persistent
connections (`CONN_MAX_AGE`, one per thread) pile up, and without them every request logs
in: 2.4-3.7 ms here straight to PostgreSQL (a backend process started per request), and
~4 ms of the process's CPU plus 0.4-5.4 ms of pgbouncer's single thread through pgbouncer
with SCRAM (bench/RESULTS.md). Django's pool (`OPTIONS["pool"]`) needs psycopg 3 and SPEC §2
names psycopg2; `psycopg2.pool` raises when its limit is reached instead of waiting, and
holds every connection it lent, so one never given back (a request cancelled mid-query)
would stay open for good. What is here keeps only *idle* connections:

- a request takes the most recently returned one, else connects as before;
- Django's close at the end of the request gives it back if it is clean (no transaction
  open, nothing broken), younger than `max_age`, and fewer than `idle` are kept; else it
  really closes;
- connections in use are not counted or held: as many as the server runs requests at once,
  exactly as without this. pgbouncer (deploy/) stays the pool of server connections.

Session state a request leaves on its connection (a `SET`, a cursor `WITH HOLD`, an
advisory lock) would reach the next one, as behind pgbouncer in session mode: the
application leaves none.

`DATABASE_POOL_IDLE=0` turns it off (a connection per request, as Django does).
"""

import os
import select
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import IsolationLevel
from psycopg2 import extensions

from liveblog import metrics


@dataclass
class _Kept:
    connection: Any
    born: float
    isolation_level: IsolationLevel
    pool: "_Idle"  # where it goes back: fixed when taken (Django edits NAME in place)


class _Idle:
    """The idle connections of one process to one database (same parameters)."""

    def __init__(self, size: int, max_age: float) -> None:
        self.size, self.max_age = size, max_age
        self.lock = threading.Lock()
        self.kept: list[_Kept] = []

    def take(self) -> _Kept | None:
        while True:
            with self.lock:
                if not self.kept:
                    return None
                kept = self.kept.pop()  # the warmest
            if time.monotonic() - kept.born < self.max_age and _quiet(kept.connection):
                return kept
            kept.connection.close()

    def give(self, kept: _Kept) -> bool:
        if time.monotonic() - kept.born >= self.max_age:
            return False
        with self.lock:
            if len(self.kept) >= self.size:
                return False
            self.kept.append(kept)
            return True

    def clear(self) -> None:
        with self.lock:
            kept, self.kept = self.kept, []
        for each in kept:
            each.connection.close()


def _quiet(connection: Any) -> bool:
    """An idle connection has nothing to read. If it does, the server said something on its
    own (a restart, pg_terminate_backend, pgbouncer closing it) and it is not reused. This
    costs no round trip, unlike Django's health check (`SELECT 1`)."""
    if connection.closed:
        return False
    # poll, not select: a live process holds thousands of sockets, and select() refuses a
    # descriptor above 1023. Any event (data, hang-up, error) means it is not quiet.
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return not poller.poll(0)


# (process, alias, connection parameters) -> its idle connections. The process is part of
# the key: a forked child must never use, or close, its parent's sockets.
_pools: dict[tuple[int, str, str], _Idle] = {}
_pools_lock = threading.Lock()


def _forget_after_fork() -> None:
    """In a forked child: the parent's idle connections are not ours to use or close (a
    close would end the parent's backend), and a lock held at the fork would never open."""
    global _pools, _pools_lock
    _pools, _pools_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


class DatabaseWrapper(base.DatabaseWrapper):
    _kept: _Kept | None = None

    def _idle(self) -> _Idle | None:
        size = int(self.settings_dict["OPTIONS"].get("idle", 0) or 0)
        if size <= 0 or self.alias == NO_DB_ALIAS:
            return None
        params = repr(sorted(self.get_connection_params().items()))
        key = (os.getpid(), self.alias, params)
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                max_age = float(self.settings_dict["OPTIONS"].get("idle_max_age", 300))
                pool = _pools[key] = _Idle(size, max_age)
        return pool

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("idle", None)  # ours, not libpq's
        params.pop("idle_max_age", None)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self._idle()
        kept = pool.take() if pool is not None else None
        if kept is not None:
            metrics.DB_CONNECTIONS.labels(source="kept").inc()
            self.isolation_level = kept.isolation_level
            self._kept = kept
            return kept.connection
        metrics.DB_CONNECTIONS.labels(source="opened").inc()
        connection = super().get_new_connection(conn_params)
        if pool is not None:
            self._kept = _Kept(connection, time.monotonic(), self.isolation_level, pool)
        return connection

    def _close(self) -> None:
        kept, self._kept = self._kept, None
        if (
            kept is not None
            and self.connection is kept.connection
            and not self.in_atomic_block
            and not self.connection.closed
            and self.connection.info.transaction_status == extensions.TRANSACTION_STATUS_IDLE
            and kept.pool.give(kept)
        ):
            return
        super()._close()  # type: ignore[misc]  # django-stubs lacks the private hook

    def close_pool(self) -> None:
        """Django calls this before it drops or clones a test database, and when the time
        zone setting changes."""
        super().close_pool()
        here = os.getpid()
        with _pools_lock:
            pools = [
                pool
                for (pid, alias, _), pool in _pools.items()
                if (pid, alias) == (here, self.alias)
            ]
        for pool in pools:
            pool.clear()
