"""(c) The reader page of an event with 2,000 entries, rendered in-process with Django's test
client (server time: URL routing, middleware, queries, templates; no network, no server).

- first: the first render in this process (templates compiled, database connection opened);
- uncached: the median of repeated renders with every configured cache replaced by a dummy
  one, so nothing the application caches can help;
- cached: the median of repeated renders with the real caches, after one render to fill them;
- new state: the median of renders of a page state not yet cached whose entries are (what
  each change of a live event costs: the new entry is the only one rendered);
- revalidated: the median of conditional GETs (If-None-Match: the page's ETag) answered 304,
  which is what a browser or a CDN holding the page pays.
"""

import statistics
import time
from typing import Any


def _timed(client: Any, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed


def render_bench(slug: str, repeats: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    url = f"/events/{slug}/"
    first = _timed(client, url)
    response = client.get(url)
    entries = response.content.count(b'<article class="entry')
    dummy = {
        alias: {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
        for alias in settings.CACHES
    }
    with override_settings(CACHES=dummy):
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries_uncached = len(captured.captured_queries)  # the next request clears the log
        uncached = [_timed(client, url) for _ in range(repeats)]
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries_cached = len(captured.captured_queries)
    cached = [_timed(client, url) for _ in range(repeats)]
    # A new state of the page, as after each change of a live event: the page is not in
    # the cache (another query string is another key) but its entries are.
    new_state = [_timed(client, f"{url}?state={i}") for i in range(repeats)]
    # What a browser or the CDN does with the copy it holds: a conditional GET (304).
    etag = response.headers.get("ETag")
    revalidated: list[float] = []
    if etag:
        for _ in range(repeats):
            start = time.perf_counter()
            answer = client.get(url, HTTP_IF_NONE_MATCH=etag)
            revalidated.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 304:
                revalidated = []
                break
    return {
        "url": url,
        "entries_on_page": entries,
        "bytes": len(response.content),
        "first_ms": first,
        "uncached_median_ms": statistics.median(uncached),
        "uncached_p90_ms": sorted(uncached)[int(0.9 * len(uncached))],
        "cached_median_ms": statistics.median(cached),
        "cached_p90_ms": sorted(cached)[int(0.9 * len(cached))],
        "new_state_median_ms": statistics.median(new_state),
        "revalidated_304_median_ms": statistics.median(revalidated) if revalidated else None,
        "queries_uncached": queries_uncached,
        "queries_cached": queries_cached,
        "repeats": repeats,
    }
