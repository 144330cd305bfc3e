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

(f) `python -m bench.render [repeats]`: the CPU of rendering one body of the pathological
Markdown corpus against prose of the same length, before and after the renderer's work
budget (markdown_cost).
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


# --- (f) The cost of rendering one body: pathological Markdown against prose ----------------


def markdown_cost(repeats: int) -> list[dict[str, Any]]:
    """CPU (time.process_time) of markdown_to_html on each body of the test corpus
    (tests/blog/test_rendering.py), median of `repeats`, and its ratio to 50,000 characters
    of prose measured in the same run; "before" is the renderer without its work budget
    (the same MarkdownIt configuration and nh3 call, as at 2d635fe; without the image rule
    that came later, so the "images from elsewhere" row understates what it cost)."""
    import nh3
    from markdown_it import MarkdownIt

    from liveblog.blog import rendering
    from tests.blog.test_rendering import PATHOLOGICAL, PROSE

    unbounded = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
    unbounded.enable(["table", "strikethrough"])

    def before(source: str) -> str:
        return nh3.clean(
            unbounded.render(source),
            tags=rendering.ALLOWED_TAGS,
            attributes=rendering.ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )

    def cpu(render: Any, source: str, times: int) -> float:
        samples = []
        for _ in range(times):
            start = time.process_time()
            render(source)
            samples.append((time.process_time() - start) * 1000)
        return statistics.median(samples)

    prose_before = cpu(before, PROSE, repeats * 3)
    prose_after = cpu(rendering.markdown_to_html, PROSE, repeats * 3)
    rows = [{"body": "prose", "before_ms": prose_before, "after_ms": prose_after}]
    for name, source in PATHOLOGICAL.items():
        rows.append(
            {
                "body": name,
                "before_ms": cpu(before, source, repeats),
                "after_ms": cpu(rendering.markdown_to_html, source, repeats),
                "after_html_chars": len(rendering.markdown_to_html(source)),
            }
        )
    for row in rows:
        row["before_ratio"] = row["before_ms"] / prose_before
        row["after_ratio"] = row["after_ms"] / prose_after
        # Against the prose of the renderer without a budget: the budget's own cost counted.
        row["after_vs_before_prose"] = row["after_ms"] / prose_before
    return rows


def main() -> None:
    """`python -m bench.render [repeats]`: the table of (f), in Markdown."""
    import logging
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
    django.setup()
    logging.getLogger("liveblog.blog.rendering").setLevel(logging.ERROR)
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    head = "| body (50,000 chars) | before ms | x prose | after ms | x prose | x prose before |"
    print(head + " after HTML chars |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in markdown_cost(repeats):
        print(
            f"| {row['body']} | {row['before_ms']:.1f} | {row['before_ratio']:.1f} "
            f"| {row['after_ms']:.1f} | {row['after_ratio']:.1f} "
            f"| {row['after_vs_before_prose']:.1f} "
            f"| {row.get('after_html_chars', '')} |"
        )


if __name__ == "__main__":
    main()
