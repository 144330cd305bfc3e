"""Say clearly which service the test suite needs and cannot reach."""

import os
import sys

import psycopg2
import redis

problems = []
database_url = os.environ["DATABASE_URL"]
redis_url = os.environ["REDIS_URL"]
try:
    psycopg2.connect(database_url, connect_timeout=3).close()
except Exception as exc:
    problems.append(
        f"PostgreSQL is not answering at DATABASE_URL={database_url}: {exc}".strip()
        + "\n  Start it (Debian: pg_ctlcluster <version> main start) or set DATABASE_URL."
    )
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
except Exception as exc:
    problems.append(
        f"Redis is not answering at REDIS_URL={redis_url}: {exc}"
        + "\n  Start it (redis-server --daemonize yes) or set REDIS_URL."
    )
if problems:
    print("make test needs PostgreSQL and Redis:\n" + "\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"services: PostgreSQL and Redis answer ({database_url}, {redis_url})")
