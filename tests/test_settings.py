"""Configuration comes from the environment; a bad value stops start-up naming the variable."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("REDIS_URL", "localhost:6379"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
        ("DATABASE_POOL_IDLE", "a few"),
        ("DATABASE_POOL_MAX_AGE", "-1"),
        ("LIVEBLOG_EMBED_MASTODON_INSTANCES", "mastodon.social,https://evil.example/*"),
        ("MEDIA_STORAGE", "ftp"),
        ("LIVEBLOG_MAX_IMAGE_BYTES", "20MB"),
        ("LIVEBLOG_WORKER_INTERVAL", "half a second"),
        ("LIVEBLOG_WORKER_INTERVAL", "0"),
        ("LIVEBLOG_WORKER_INTERVAL", "nan"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    env = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), name: value}
    result = manage("check", **env)
    assert result.returncode != 0
    assert f"{name}=" in result.stderr


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout


def test_production_requires_a_secret_key():
    result = manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def settings_print(expression: str, **env: str) -> str:
    """What `print(<expression>)` shows with `s` the settings of a process started with this
    environment (no DATABASE_URL or REDIS_URL unless given)."""
    code = f"import django;django.setup();from django.conf import settings as s;print({expression})"
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "liveblog.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_embedded_default_uses_sqlite_and_in_memory_layer():
    shown = settings_print(
        "s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND']"
    )
    assert shown.split() == ["django.db.backends.sqlite3", "channels.layers.InMemoryChannelLayer"]


def test_channel_layer_can_shard_over_several_redis_servers():
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(' '.join(h['address'] for h in s.CHANNEL_LAYERS['default']['CONFIG']['hosts']))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}},
        "DJANGO_SETTINGS_MODULE": "liveblog.settings",
        "DEBUG": "1",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CHANNEL_REDIS_URLS": "redis://127.0.0.2:6379/0, redis://127.0.0.3:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["redis://127.0.0.2:6379/0", "redis://127.0.0.3:6379/0"]
    bad = manage("check", **{**env, "CHANNEL_REDIS_URLS": "127.0.0.2:6379"})
    assert bad.returncode != 0 and "CHANNEL_REDIS_URLS=" in bad.stderr


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50)}


@pytest.mark.parametrize("redirect", ["1", "0"])
def test_production_cookies_are_secure_whether_or_not_django_redirects(redirect):
    """Behind a TLS proxy that redirects itself (SECURE_SSL_REDIRECT=0), the session and CSRF
    cookies must still never travel over plain HTTP (issue 14, reproduction 5)."""
    shown = settings_print(
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE",
        **PRODUCTION,
        SECURE_SSL_REDIRECT=redirect,
    )
    assert shown.split() == ["True", "True"]


def test_cookies_go_over_plain_http_only_when_their_own_variables_say_so():
    shown = settings_print(
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE",
        **PRODUCTION,
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    assert shown.split() == ["False", "False"]


@pytest.mark.parametrize("redirect", ["1", "0"])
def test_no_system_check_is_ever_silenced(redirect):
    """`check --deploy` is clean because the settings are, not because warnings are hidden."""
    shown = settings_print("s.SILENCED_SYSTEM_CHECKS", **PRODUCTION, SECURE_SSL_REDIRECT=redirect)
    assert shown == "[]"
    result = manage("check", "--deploy", **PRODUCTION, SECURE_SSL_REDIRECT=redirect)
    assert "(0 silenced)" in result.stdout + result.stderr, result.stdout + result.stderr


def test_metrics_are_open_only_in_development_unless_said_so():
    assert settings_print("s.METRICS_PUBLIC") == "True"  # DEBUG=1: make run
    assert settings_print("s.METRICS_PUBLIC", **PRODUCTION) == "False"
    assert settings_print("s.METRICS_PUBLIC", **PRODUCTION, METRICS_PUBLIC="1") == "True"


def test_the_mastodon_instances_named_are_the_policys_only_mastodon_frames():
    shown = settings_print(
        "' '.join(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['frame-src'])",
        LIVEBLOG_EMBED_MASTODON_INSTANCES="journa.host",
    )
    assert shown.split()[-1] == "https://journa.host"
    assert "https://mastodon.social" not in shown.split()


def test_s3_media_without_a_bucket_names_the_variable():
    env = {"DEBUG": "1", "MEDIA_STORAGE": "s3", "AWS_ACCESS_KEY_ID": "k"}
    env["AWS_SECRET_ACCESS_KEY"] = "s"
    result = manage("check", **env)
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME must be set when MEDIA_STORAGE=s3" in result.stderr


def test_s3_media_with_a_bad_endpoint_names_the_variable():
    env = {"DEBUG": "1", "MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b"}
    env |= {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    result = manage("check", AWS_S3_ENDPOINT_URL="localhost:9000", **env)
    assert result.returncode != 0 and "AWS_S3_ENDPOINT_URL" in result.stderr


def test_every_variable_the_settings_read_is_in_the_readme():
    settings_source = (ROOT / "liveblog" / "settings.py").read_text()
    read = set(re.findall(r'\benv\w*\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    readme = (ROOT / "README.md").read_text()
    assert len(read) > 20  # the pattern still finds the helpers' calls
    assert sorted(name for name in read if f"`{name}`" not in readme) == []
