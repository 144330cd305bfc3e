"""Typed readers for configuration from the environment (12-factor).

Every reader fails loudly with ImproperlyConfigured naming the variable, so a typo in
a deployment stops start-up instead of silently running with a default.
"""

import os
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not valid: expected {expected}.")


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _bad(name, raw, "one of 1/0, true/false, yes/no, on/off")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, raw, "a whole number") from None
    if value < minimum:
        raise _bad(name, raw, f"a whole number of at least {minimum}")
    return value


def envfloat(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _bad(name, raw, "a number such as 0.5") from None
    if not value >= minimum or value == float("inf"):  # NaN and inf fail too
        raise _bad(name, raw, f"a number of at least {minimum}")
    return value


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw not in choices:
        raise _bad(name, raw, "one of " + ", ".join(choices))
    return raw


def envrequired(name: str, why: str) -> str:
    """A variable with no default: unset or empty fails start-up, saying what needs it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ImproperlyConfigured(f"{name} must be set {why}.")
    return raw


def envurl(name: str, default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if not raw.startswith(("http://", "https://")):
        raise _bad(name, raw, "an http:// or https:// URL")
    return raw


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envdatabase(name: str, default: str) -> dict[str, Any]:
    """Django's DATABASES entry for a database URL, as dj-database-url reads it.

    Under ASGI every request's sync code runs in a thread of its own, so persistent
    connections pile up (one per thread: 60-70 per process under 16 concurrent requests in
    bench/): connections are closed after each request unless DATABASE_CONN_MAX_AGE says
    otherwise (settings.py keeps PostgreSQL's idle ones instead)."""
    raw = os.environ.get(name) or default
    max_age = envint("DATABASE_CONN_MAX_AGE", 0)
    try:
        config = dj_database_url.parse(raw, conn_max_age=max_age, conn_health_checks=max_age > 0)
    except Exception as exc:
        expected = f"a database URL such as postgres://user@host:5432/db ({exc})"
        raise _bad(name, raw, expected) from None
    if not config.get("ENGINE") or not config.get("NAME"):
        raise _bad(name, raw, "a database URL such as postgres://user@host:5432/db")
    return dict(config)


def _redis_url(name: str, raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise _bad(name, raw, "a Redis URL such as redis://127.0.0.1:6379/0")
    return raw


def envredis(name: str) -> str | None:
    raw = os.environ.get(name)
    return _redis_url(name, raw) if raw else None


def envredislist(name: str, default: list[str]) -> list[str]:
    urls = envlist(name, default)
    if not urls:
        raise _bad(name, os.environ.get(name, ""), "one or more comma-separated Redis URLs")
    return [_redis_url(name, url) for url in urls]
