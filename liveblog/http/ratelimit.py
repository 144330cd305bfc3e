"""Fixed-window limits on writes, per client address and per user, in Django's cache.

One limiter for every way in: the API's writes (liveblog/api/auth.py, answered in the API's
error shape) and the editor's forms and preview (liveblog/editor/views.py, a page or JSON).
The cache is Redis in production, so every ASGI process counts against the same window.
A limiter that cannot reach its cache lets the write through: SPEC §8 wants publishing to
keep working while Redis is down, and a flood is less harmful than a lost entry.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# A newsroom's reporters often share one public address, so an address may write for
# several users before it is held back.
ADDRESS_SHARE = 5


class RateLimited(Exception):
    """Over a limit: nothing may be written; the client may try again in retry_after s."""

    def __init__(self, limit: int, retry_after: int) -> None:
        wait = f"Try again in {retry_after} s."
        super().__init__(f"Too many writes: at most {limit} a minute. {wait}")
        self.limit, self.retry_after = limit, retry_after


def check_address(request: HttpRequest, *, counter: str = "") -> None:
    """The API counts this before authentication, so floods of forged tokens are limited too.
    `counter` names a window of its own (the editor's preview), under the same limits."""
    limit = settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE * ADDRESS_SHARE
    hit(f"{counter}addr", request.META.get("REMOTE_ADDR", "unknown"), limit)


def check_user(request: HttpRequest, *, counter: str = "") -> None:
    limit = settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE
    hit(f"{counter}user", str(request.user.pk), limit)


def check_uploads(request: HttpRequest) -> None:
    """Photo uploads, per user, in a window of their own (besides the writes' windows)."""
    hit("upload", str(request.user.pk), settings.LIVEBLOG_RATE_LIMIT_UPLOADS_PER_MINUTE)


def hit(scope: str, ident: str, limit: int) -> None:
    """Count one for `ident` in `scope`'s window; RateLimited once over `limit` a minute."""
    if not settings.LIVEBLOG_RATE_LIMITS:
        return
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    count = _count(f"ratelimit:{scope}:{ident}:{window}")
    if count > limit:
        raise RateLimited(limit, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now)))


def _count(key: str) -> int:
    """Add one to the window's counter; 0 when the cache does not answer."""
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS + 1)
        try:
            return cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS + 1)
            return 1
    except Exception:
        logger.warning("Rate limit cache unavailable; letting the write through.", exc_info=True)
        return 0
