import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings

from liveblog.blog import services
from liveblog.blog.models import Change, Event, Membership, Post
from liveblog.http import ratelimit
from tests.api.helpers import Api


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Rate limits share Redis with other test runs; only their own tests turn them on."""
    settings.LIVEBLOG_RATE_LIMITS = False


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories hash a password per user; PBKDF2 would dominate these tests' run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rate_limits(settings, monkeypatch):
    """Rate limits on, 3 writes a minute, counted in a fresh namespace of the real cache.

    The clock stands still mid-window, so a test never straddles two windows.
    """
    mid_window = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: mid_window))
    settings.LIVEBLOG_RATE_LIMITS = True
    settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE = 3
    cache = dict(django_settings.CACHES["default"], KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    settings.CACHES = {"default": cache}
    return settings


@pytest.fixture
def anonymous():
    return Api()


@pytest.fixture
def api_for(db):
    """An Api authenticated with a fresh bearer token of the given user."""

    def make(user) -> Api:
        return Api(token=services.token_issue(user=user, name="tests"))

    return make


@pytest.fixture
def snapshot(db):
    """Row counts of everything a write could touch; equal before and after a refusal."""

    def take() -> dict[str, Any]:
        return {
            "events": list(Event.objects.values_list("slug", "title", "status", "last_seq")),
            "posts": list(
                Post.objects.values_list(
                    "id", "body", "headline", "status", "is_pinned", "deleted_at"
                )
            ),
            "changes": Change.objects.count(),
            "members": list(Membership.objects.values_list("event_id", "user_id", "role")),
        }

    return take
