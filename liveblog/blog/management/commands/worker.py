"""`python manage.py worker`: the background work of SPEC §2 — scheduled entries published at
their time, live events ended at their end time. A long-running process; run any number of
them beside the web processes (`make run` starts one, docker-compose.yml runs a service).

Why a loop of its own rather than django-tasks (its database backend, django-tasks-db, and
its `db_worker`): that engine runs tasks someone enqueued, each once, after `run_after`. A
scheduled entry is not such a task. An editor reschedules it, cancels it, publishes it now,
an event ends and holds it: with a task per entry, every one of those would have to find and
replace a queued task in step with the entry, and the task would still have to re-read the
entry when it ran, because the entry (its status and published_at) is the truth. An automatic
end is a time on the event, not something anyone enqueues, and django-tasks has no periodic
tasks to look for it. So the rows are the queue: each tick takes the due entries and events
with SELECT … FOR UPDATE SKIP LOCKED (services.post_publish_due, services.event_end_due),
which is what the tasks engine does with its own table. Any number of workers then share the
work, none does a job twice, and a worker that was down does what fell due while it was
down when it comes back. Nothing runs in the web processes (no cron in every process).

On the embedded default (SQLite, no DATABASE_URL) SKIP LOCKED does not exist and
select_for_update is a no-op: SQLite lets one writer at a time, and the publish itself is a
conditional UPDATE of a still-scheduled row, so two workers still publish an entry once
(the later one finds it published, or waits for the database lock and retries next tick).
With the in-memory channel layer the worker's pushes do not reach the server's readers
directly: the server's live hub finds the change in the log within a couple of its ticks.

It never dies of the database or Redis being away: a failed tick is logged and retried,
less often while it keeps failing. SIGTERM or SIGINT stops it between ticks.
"""

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.utils import timezone

from liveblog.blog import services

logger = logging.getLogger("liveblog.worker")

# The longest a failing worker waits before it tries again.
MAX_BACKOFF = 5.0


class Command(BaseCommand):
    help = "Publish scheduled entries and end events at their end time (runs until stopped)."
    # The web processes and `migrate` run the system checks; a worker restarted after a
    # crash should be back at work at once (the checks cost seconds on a loaded machine).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between looks for due work (default: LIVEBLOG_WORKER_INTERVAL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] or settings.LIVEBLOG_WORKER_INTERVAL
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            logger.info("worker: %s received, stopping", signal.Signals(signum).name)
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("worker: started, looking for due work every %s s", interval)
        failures = 0
        while not stopping.is_set():
            try:
                wait = tick(interval)
            except Exception:
                failures += 1
                wait = min(interval * 2**failures, MAX_BACKOFF)
                logger.warning("worker: tick failed; again in %.1f s", wait, exc_info=True)
                # A broken connection is not reused: the next tick opens a new one.
                connections.close_all()
            else:
                if failures:
                    logger.info("worker: working again after %s failed ticks", failures)
                failures = 0
            stopping.wait(wait)
        connections.close_all()
        logger.info("worker: stopped")


def tick(interval: float) -> float:
    """Do what is due now; the seconds to wait before the next look."""
    for post in services.post_publish_due():
        late = (timezone.now() - post.published_at).total_seconds()
        logger.info(
            "worker: published entry %s of event %s, scheduled for %s (%.2f s after it)",
            post.pk,
            post.event_id,
            post.published_at.isoformat(),
            late,
        )
    for event in services.event_end_due():
        logger.info("worker: ended event %s at its end time %s", event.pk, event.ends_at)
    return _until_next(services.next_due(), interval, now=timezone.now())


def _until_next(due: datetime | None, interval: float, *, now: datetime) -> float:
    """The interval, or less when something falls due sooner: a worker configured to look
    rarely still publishes on time."""
    if due is None:
        return interval
    return max(0.0, min(interval, (due - now) / timedelta(seconds=1)))
