import os

import pytest
from django.test import AsyncClient, Client

from liveblog.blog.models import Membership
from tests.factories import AdminFactory, EventFactory, MembershipFactory, UserFactory

pytest_plugins = ["tests.browser"]


def pytest_configure(config: pytest.Config) -> None:
    """Settings are loaded by now (pytest-django), but no layer is made yet."""
    from django.conf import settings

    # One Redis serves every test session on a machine (CI beside a developer's run), and
    # every xdist worker of one session: a prefix of this process's own keeps its live
    # groups, recent history and cache (rate limits, rendered pages: keyed by ids that
    # another worker's database reuses) apart from theirs, here and in the server processes
    # the tests start (they inherit the environment). A worker inherits its controller's
    # environment, so its own name is added to what it inherited.
    base = os.environ.get("CHANNEL_PREFIX") or f"liveblog-test-{os.getpid()}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    prefix = f"{base}-{worker}" if worker and not base.endswith(f"-{worker}") else base
    os.environ["CHANNEL_PREFIX"] = prefix
    settings.LIVEBLOG_HISTORY_PREFIX = prefix
    for layer in settings.CHANNEL_LAYERS.values():
        if "CONFIG" in layer:
            layer["CONFIG"]["prefix"] = prefix
    for cache in settings.CACHES.values():
        if "redis" in cache["BACKEND"].lower():
            cache["KEY_PREFIX"] = prefix


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, tests that share a node id run once for all of them, and the rest are
    dropped without a word (schemathesis' per-operation tests do this: the Makefile runs
    them in a process of their own). Refuse to start rather than run less than collected."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    seen: set[str] = set()
    shared = sorted({item.nodeid for item in items if item.nodeid in seen or seen.add(item.nodeid)})
    if shared:
        raise pytest.UsageError(
            "these tests share a node id and xdist would run only one of each; run them "
            "without -n (the Makefile's ONE_PROCESS): " + ", ".join(shared)
        )


@pytest.fixture
def event(db):
    return EventFactory()


@pytest.fixture
def admin(db):
    return AdminFactory(username="admin")


@pytest.fixture
def reporter(event):
    return MembershipFactory(event=event, role=Membership.Role.REPORTER).user


@pytest.fixture
def editor(event):
    return MembershipFactory(event=event, role=Membership.Role.EDITOR).user


@pytest.fixture
def outsider(db):
    return UserFactory()


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs ~0.3 s a user by design; tests create hundreds of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _forget_history_clients():
    """The recent history's asyncio Redis client belongs to one event loop, and every async
    test runs a loop of its own (a server runs one): drop those of finished tests, and let
    a test that points LIVEBLOG_HISTORY_URL elsewhere get a new one."""
    from liveblog.live import history

    history._loop_clients.clear()
    yield
    history._loop_clients.clear()


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Connections opened by worker threads (sync_to_async, thread pools) outlive their tests;
    end them so the test database can be dropped at the end of the session."""
    yield
    from django.db import connection

    testing = connection.settings_dict["NAME"].startswith("test_")
    if connection.vendor != "postgresql" or not testing:
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def _drop_recent_history():
    """The recent history this session kept in Redis (its prefix is its own)."""
    yield
    from django.conf import settings

    if not settings.LIVEBLOG_HISTORY_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    keys = list(client.scan_iter(f"{settings.LIVEBLOG_HISTORY_PREFIX}:history:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def live_event():
    """An event and an editor of it, committed (for tests that cross threads or loops)."""
    event = EventFactory()
    author = MembershipFactory(event=event, role="editor").user
    return event, author


@pytest.fixture
def sent(monkeypatch):
    """What the services pushed to the channel layer, in order."""
    from liveblog.live import publish

    messages: list[dict] = []

    async def record(group, message):
        messages.append(message)

    monkeypatch.setattr(publish, "_publish", record)
    return messages


@pytest.fixture(autouse=True)
def _api_responses_match_the_document(monkeypatch):
    """Every response under /api/ that a test receives is checked against /api/schema/."""
    from tests.api import openapi

    openapi.document()  # fetched here, outside any event loop, once a session
    monkeypatch.setattr(Client, "request", openapi.checking_request)
    monkeypatch.setattr(AsyncClient, "request", openapi.checking_async_request)


@pytest.fixture(autouse=True)
def media_storage(settings, tmp_path):
    """Uploads of each test go to a folder of its own (never the project's media/); the
    storage is made anew from STORAGES when the setting changes (Django's test signal)."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": "/media/"},
        },
    }
    return root
