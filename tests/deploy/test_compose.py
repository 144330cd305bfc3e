"""docker-compose.yml against what tests/deploy runs (there is no Docker engine on the
development machine, so the topology is run from the same files by the conftest): the same
server command, the same environment, the same config files, services that exist."""

from pathlib import Path

import yaml

from tests.deploy.conftest import PGBOUNCER_INI, POOL_SIZE
from tests.deploy.nginx import NGINX_CONF
from tests.servers import BEHIND_PROXY, UVICORN

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _options(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """A command's leading words, and its options with their values (None: a switch)."""
    first = next(i for i, arg in enumerate(argv) if arg.startswith("--"))
    options: dict[str, str | None] = {}
    for i in range(first, len(argv)):
        if argv[i].startswith("--"):
            value = argv[i + 1] if i + 1 < len(argv) else None
            options[argv[i]] = None if value is None or value.startswith("--") else value
    return argv[:first], options


def test_both_pools_run_the_command_the_deploy_tests_run():
    words, local = _options([*UVICORN[2:], *BEHIND_PROXY])  # after `python -m`
    local.pop("--host")
    for name in ("web", "live"):
        command_words, options = _options(SERVICES[name]["command"])
        assert command_words == words
        # In a container it listens on every interface of its own network namespace.
        assert options.pop("--host") == "0.0.0.0" and options.pop("--port") == "8000"  # noqa: S104
        assert options == local


def test_the_pools_have_the_deploy_tests_size_by_default():
    for name, variable in (("web", "WEB_REPLICAS"), ("live", "LIVE_REPLICAS")):
        assert SERVICES[name]["deploy"]["replicas"] == f"${{{variable}:-{POOL_SIZE}}}"


def test_the_environment_names_what_the_deploy_tests_set():
    web_env = SERVICES["web"]["environment"]
    assert SERVICES["live"]["environment"] == web_env
    # The deploy tests add the rate-limit switch (on, the default) and a static root.
    assert set(web_env) == {
        "DEBUG", "SECRET_KEY", "DATABASE_URL", "DATABASE_POOLED", "REDIS_URL",
        "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_SSL_REDIRECT", "METRICS_TOKEN",
        "FORWARDED_ALLOW_IPS", "MEDIA_ROOT",
    }  # fmt: skip
    assert web_env["DEBUG"] == "0" and web_env["DATABASE_POOLED"] == "1"
    assert (
        web_env["DATABASE_URL"].startswith("postgres://")
        and "@pgbouncer:6432/" in (web_env["DATABASE_URL"])
    )


def test_the_proxies_mount_the_tested_config_files():
    mounts = {
        target: ROOT / source.removeprefix("./")
        for service in ("nginx", "pgbouncer")
        for source, target, *_ in (v.split(":") for v in SERVICES[service]["volumes"])
        if source.startswith("./")
    }
    assert mounts["/etc/nginx/nginx.conf"] == NGINX_CONF
    assert mounts["/etc/pgbouncer/pgbouncer.ini"] == PGBOUNCER_INI
    assert all(path.exists() for path in mounts.values())


def test_nginx_and_pgbouncer_point_at_services_that_exist():
    nginx = NGINX_CONF.read_text()
    assert "server live:8000" in nginx and "server web:8000" in nginx
    assert "host=db port=5432" in PGBOUNCER_INI.read_text()
    assert {"web", "live", "worker", "db", "pgbouncer", "redis", "migrate", "nginx"} <= set(
        SERVICES
    )


def test_services_start_only_after_what_they_need_is_healthy():
    for name, needs in {
        "web": {"migrate", "pgbouncer", "redis"},
        "live": {"migrate", "pgbouncer", "redis"},
        "worker": {"migrate", "pgbouncer", "redis"},
        "nginx": {"web", "live"},
        "pgbouncer": {"db"},
        "migrate": {"db"},
    }.items():
        assert set(SERVICES[name]["depends_on"]) == needs
    for name in ("db", "pgbouncer", "redis", "web", "live", "nginx"):
        assert SERVICES[name]["healthcheck"]["test"], name


def test_the_processes_believe_only_nginx_forwarded_for():
    """uvicorn takes X-Forwarded-For only from FORWARDED_ALLOW_IPS: nginx's fixed address."""
    for name in ("web", "live"):
        assert "--forwarded-allow-ips" not in SERVICES[name]["command"]
    nginx_address = SERVICES["nginx"]["networks"]["default"]["ipv4_address"]
    trusted = SERVICES["web"]["environment"]["FORWARDED_ALLOW_IPS"]
    assert trusted == f"${{FORWARDED_ALLOW_IPS:-{nginx_address}}}"


def test_every_web_replica_and_nginx_share_the_media_volume():
    media_root = SERVICES["web"]["environment"]["MEDIA_ROOT"]
    assert "media" in COMPOSE["volumes"]
    for name in ("web", "live"):
        assert f"media:{media_root}" in SERVICES[name]["volumes"]
    assert f"media:{media_root}:ro" in SERVICES["nginx"]["volumes"]
    # nginx serves /media/ from the same place (root + the URI's /media/).
    assert "root /srv;" in NGINX_CONF.read_text() and media_root == "/srv/media"


def test_the_worker_runs_the_command_the_deploy_tests_run_with_the_web_environment():
    """tests/deploy starts `manage.py worker` (tests/ops/workers.py) with x-web-env, as here."""
    from tests.ops import workers

    worker = SERVICES["worker"]
    assert worker["command"] == ["python", "manage.py", "worker"]
    assert workers.COMMAND[1:] == worker["command"][1:]
    assert worker["environment"] == SERVICES["web"]["environment"]
    assert worker["build"] == SERVICES["web"]["build"] and worker["restart"] == "unless-stopped"
    assert "ports" not in worker, "the worker serves nothing"
