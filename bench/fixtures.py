"""The bench's own database and data: created, migrated and filled by the bench itself.

The bench never touches the development or test databases: it works on its own database
(`liveblog_bench` by default), which it creates when missing and migrates on every run.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench.servers import ROOT

LOREM = (
    "The delegations are taking their seats in the main hall while the interpreters test "
    "their booths. Organisers expect **more than 4,000** participants today, a record, and "
    "the security queue outside stretches past the [north entrance](https://example.org). "
    "Our reporter on the floor says the mood is upbeat despite the rain.\n\n"
    "- first speaker at 10:30\n- press conference at noon\n"
)
BIG_EVENT_POSTS = 2000


def bench_database_url(base_url: str, name: str = "liveblog_bench") -> str:
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def ensure_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    connection = psycopg2.connect(admin, connect_timeout=5)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def setup_django(env: dict[str, str]) -> None:
    """Configure this process like the servers (DEBUG off, the bench database)."""
    os.environ.update(env)
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")

    django.setup()
    from django.conf import settings

    # DEBUG=0 uses the manifest storage, which needs collectstatic; for in-process renders
    # the plain storage resolves the same URLs without it (a manifest lookup is a dict get).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def standalone_env() -> dict[str, str]:
    """For a bench module run on its own (bench/pollers.py, bench/api_wrk.py): the servers'
    environment from DATABASE_URL and REDIS_URL, with that database created, migrated and
    this process's Django set up on it. A DATABASE_URL naming the `test` database (the
    default) is replaced by the bench's own."""
    from bench import servers

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    database_url = bench_database_url(base) if base.endswith("/test") else base
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = servers.server_env(database_url, redis_url)
    ensure_database(database_url)
    migrate(env)
    setup_django(env)
    return env


def fresh_event(slug: str, title: str, bodies: list[str]) -> tuple[Any, Any]:
    """A live event made anew (the old one of that slug deleted) with these entries
    published through the services, so that Redis' recent history holds them; and its
    author, a superuser. Answers (the event as stored, the user)."""
    from django.contrib.auth import get_user_model

    from liveblog.blog import services
    from liveblog.blog.models import Event

    Event.objects.filter(slug=slug).delete()
    user = get_user_model().objects.filter(username="bench-poll").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-poll", password="bench-poll")
    event = services.event_create(actor=user, title=title, slug=slug, status="live")
    for body in bodies:
        services.post_publish(event=event, author=user, body=body)
    return Event.objects.get(pk=event.pk), user


@dataclass
class Data:
    token: str
    live_slug: str
    big_slug: str
    created_posts: int
    seconds: float


def make_data() -> Data:
    """A staff user with a token, a fresh live event for fan-out, and an event with 2,000
    published entries (kept between runs; made through the services, as the API would)."""
    from django.contrib.auth import get_user_model

    from liveblog.blog import services
    from liveblog.blog.models import Event, Post

    start = time.monotonic()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    token = services.token_issue(user=user, name="bench")
    Event.objects.filter(slug="bench-live").delete()
    live = services.event_create(
        actor=user, title="Bench live", slug="bench-live", status=Event.Status.LIVE
    )
    big = Event.objects.filter(slug="bench-2000").first()
    if big is None:
        big = services.event_create(
            actor=user, title="Bench 2000", slug="bench-2000", status=Event.Status.LIVE
        )
    have = Post.objects.public().filter(event=big).count()
    for i in range(have, BIG_EVENT_POSTS):
        services.post_publish(
            event=big,
            author=user,
            headline=f"Update {i}" if i % 3 == 0 else "",
            body=f"Entry {i}. {LOREM}",
            is_key_event=i % 40 == 0,
        )
    return Data(
        token=token,
        live_slug=live.slug,
        big_slug=big.slug,
        created_posts=BIG_EVENT_POSTS - have,
        seconds=time.monotonic() - start,
    )
