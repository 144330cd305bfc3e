"""The process keeps the PostgreSQL connections requests have finished with
(liveblog/db/postgresql), so a request does not log in again, and never hands on one that
is in a transaction, broken, too old, or beyond the number it may keep."""

import os
import threading
import time
import uuid

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from liveblog.db.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database():
    """A wrapper of our own (a connection as a request's thread has it), with its own pool."""
    made = []

    def make(**options):
        settings = {**connection.settings_dict}
        settings["OPTIONS"] = {**settings["OPTIONS"], "idle": 2, "idle_max_age": 300, **options}
        wrapper = DatabaseWrapper(settings, alias=f"pool-{uuid.uuid4().hex[:8]}")
        made.append(wrapper)
        return wrapper

    yield make
    for wrapper in made:
        wrapper.close()
        wrapper.close_pool()


def backend(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def alive(pids) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        return {row[0] for row in cursor.fetchall()}


def served(make, times):
    """Backends that successive requests (each with its own thread's wrapper) were given."""
    pids = []
    for _ in range(times):
        wrapper = make()
        pids.append(backend(wrapper))
        wrapper.close()  # what Django does at the end of every request
    return pids


def _same(database, **options):
    """Wrappers as each request's thread gets them, sharing one pool; and the first."""
    first = database(**options)
    return lambda: DatabaseWrapper(first.settings_dict, alias=first.alias), first


def connections(source: str) -> float:
    return REGISTRY.get_sample_value("liveblog_db_connections_total", {"source": source}) or 0.0


def test_requests_one_after_another_use_one_backend(database):
    make, _ = _same(database)
    opened, kept = connections("opened"), connections("kept")
    pids = served(make, 5)
    assert len(set(pids)) == 1
    assert (connections("opened"), connections("kept")) == (opened + 1, kept + 4)  # /metrics


def test_turned_off_every_request_logs_in(database):
    make, _ = _same(database, idle=0)
    assert len(set(served(make, 3))) == 3


def test_a_connection_too_old_is_not_kept(database):
    make, _ = _same(database, idle_max_age=0)
    assert len(set(served(make, 3))) == 3


def test_a_connection_closed_inside_a_transaction_is_not_handed_on(database):
    make, _ = _same(database)
    wrapper = make()
    pid = backend(wrapper)
    wrapper.set_autocommit(False)
    with wrapper.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE leftover (x int)")  # a transaction left open
    wrapper.close()
    assert backend(make()) != pid


def test_a_connection_closed_inside_an_atomic_block_is_not_handed_on(database):
    """Django keeps such a connection on its wrapper (closed_in_transaction) until the block
    ends: no other request may get it, even before the block's first query."""
    make, _ = _same(database)
    wrapper = make()
    pid = backend(wrapper)
    wrapper.set_autocommit(False)
    wrapper.in_atomic_block = True  # as transaction.atomic() leaves it, no query yet
    wrapper.close()
    assert wrapper.closed_in_transaction and wrapper.connection is not None
    assert backend(make()) != pid
    wrapper.connection.close()


def test_a_connection_the_server_ended_is_not_handed_on(database):
    make, _ = _same(database)
    wrapper = make()
    pid = backend(wrapper)
    wrapper.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    for _ in range(100):  # the server's notice reaches the idle socket
        if not alive([pid]):
            break
        time.sleep(0.02)
    fresh = make()
    assert backend(fresh) != pid  # and no error: the request never saw the dead one


def test_no_more_than_idle_are_kept_and_the_rest_close(database):
    make, _ = _same(database, idle=2)
    wrappers = [make() for _ in range(4)]
    pids = [backend(w) for w in wrappers]  # four requests at once
    for w in wrappers:
        w.close()
    for _ in range(100):  # a closed backend leaves pg_stat_activity a moment later
        still_open = alive(pids)
        if len(still_open) <= 2:
            break
        time.sleep(0.02)
    assert len(still_open) == 2
    again = [make(), make()]  # two requests at once get the two kept
    assert {backend(w) for w in again} == still_open
    for w in again:
        w.close()


def test_threads_share_the_idle_connections_safely(database):
    make, _ = _same(database, idle=3)
    pids, errors = [], []

    def request():
        try:
            for _ in range(20):
                wrapper = make()
                pids.append(backend(wrapper))
                wrapper.close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(pids) == 120
    assert len(set(pids)) <= 6  # never more backends than requests at once


def test_close_pool_closes_the_idle_ones(database):
    make, first = _same(database)
    pid = served(make, 1)[0]
    first.close_pool()
    assert served(make, 1)[0] != pid


def test_a_connection_above_descriptor_1023_is_kept(database):
    """A live process holds thousands of readers' sockets: its database connections get
    high descriptors (select() cannot watch those)."""
    make, _ = _same(database)
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        wrapper = make()
        pid = backend(wrapper)
        assert wrapper.connection.fileno() > 1023
        wrapper.close()
        assert served(make, 1) == [pid]
    finally:
        for fd in filler:
            os.close(fd)


def test_a_connection_goes_back_to_the_database_it_came_from(database):
    """Django edits a database's NAME in place (creating and dropping test databases) while
    other threads may hold connections to the old one."""
    make, first = _same(database)
    wrapper = make()
    pid = backend(wrapper)
    name = first.settings_dict["NAME"]
    first.settings_dict["NAME"] = "postgres"  # shared by every thread's wrapper, as Django's
    try:
        wrapper.close()
        other = make()
        with other.cursor() as cursor:
            cursor.execute("SELECT current_database(), pg_backend_pid()")
            assert cursor.fetchone() != ("postgres", pid)
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
        other.close()
    finally:
        first.settings_dict["NAME"] = name
    assert served(make, 1) == [pid]


def test_a_forked_child_does_not_touch_its_parent_s_connections(database):
    make, first = _same(database)
    pid = served(make, 1)[0]
    child = os.fork()
    if child == 0:  # the child: nothing kept from the parent, and clearing closes nothing
        try:
            first.close_pool()
            os._exit(0 if make()._idle().take() is None else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert served(make, 1) == [pid]  # still alive and still ours
