"""The API's read path, in-process: N sequential GETs each of an event, its posts list (20 of
40 entries) and `/changes/?since=30`, through Django's test Client (the whole middleware
chain, no network). Prints the wall-clock median and p90 per path, and this process's mean
CPU time per request.

    DATABASE_URL=postgres://… DEBUG=0 SECRET_KEY=… ALLOWED_HOSTS=testserver \\
        SECURE_SSL_REDIRECT=0 python bench/api_reads.py LABEL

Run it from the checkout to measure (PYTHONPATH=. so that checkout's `liveblog` is used);
it migrates the database given and creates its event once.
"""

import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402 - after django.setup()
from django.core.management import call_command  # noqa: E402 - after django.setup()
from django.test import Client  # noqa: E402 - after django.setup()
from django.test.utils import setup_test_environment  # noqa: E402 - after django.setup()

from liveblog.blog import services  # noqa: E402 - after django.setup()
from liveblog.blog.models import Event  # noqa: E402 - after django.setup()

PATHS = {
    "event": "/api/v1/events/bench/",
    "posts": "/api/v1/events/bench/posts/",
    "changes": "/api/v1/events/bench/changes/?since=30",
}


def _event() -> None:
    if Event.objects.filter(slug="bench").exists():
        return
    admin = get_user_model().objects.create_superuser("bench-admin", password="bench")
    event = services.event_create(actor=admin, title="Bench", slug="bench")
    for n in range(40):
        body = f"Entry **{n}** with [a link](https://example.com)."
        services.post_publish(event=event, author=admin, body=body)


def main(label: str, n: int) -> None:
    setup_test_environment()
    call_command("migrate", verbosity=0)
    _event()
    client = Client()
    for name, path in PATHS.items():
        for _ in range(50):  # warm up
            assert client.get(path).status_code == 200
        times, cpu = [], []
        for _ in range(n):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert response.status_code == 200
        median = statistics.median(times) * 1000
        p90 = statistics.quantiles(times, n=10)[8] * 1000
        # This process's CPU per request (PostgreSQL's time excluded): what the framework
        # costs, less disturbed by other load on the machine than the wall clock.
        cpu_mean = statistics.fmean(cpu) * 1000
        print(
            f"{label:8} {name:8} median {median:.3f} ms  p90 {p90:.3f} ms"
            f"  cpu {cpu_mean:.3f} ms  n {n}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "run", int(os.environ.get("N", "2000")))
