"""Prometheus metrics of this process (scrape each process: they are not aggregated here).
Served at /metrics by liveblog/ops.py; nothing here imports the rest of the project.

The live path is what matters under a breaking-news crowd: how many readers, how long a
change takes from commit to the readers' sockets, and every place where the fast path was
not enough (fills from the change log, too-slow readers, resubscriptions).
"""

from prometheus_client import Counter, Gauge, Histogram

READERS = Gauge("liveblog_readers", "Readers connected to this process", ["event"])
PUBLISH_TO_SEND = Histogram(
    "liveblog_publish_to_send_seconds",
    "From the change's commit to its fan-out to this process's readers",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FRAMES = Counter("liveblog_frames_sent_total", "Live frames handed to readers' sockets")
TOO_SLOW = Counter("liveblog_readers_too_slow_total", "Readers closed because they fell behind")
CATCH_UPS = Counter("liveblog_catch_ups_total", "Reconnect replays served", ["source"])
LOG_FILLS = Counter(
    "liveblog_log_fills_total", "Changes delivered from the change log because the layer lost them"
)
RESUBSCRIBES = Counter("liveblog_resubscribes_total", "Channel-layer subscriptions renewed")
HISTORY_FAILURES = Counter(
    "liveblog_history_failures_total", "Changes not kept in Redis' recent history (log serves)"
)
PUBLISH_FAILURES = Counter(
    "liveblog_publish_failures_total", "Changes committed but not pushed (readers converge later)"
)
DB_CONNECTIONS = Counter(
    "liveblog_db_connections_total",
    "Database connections requests got: kept from an earlier request, or opened (a login)",
    ["source"],
)
API_FAST = Counter(
    "liveblog_api_fast_total",
    "Anonymous /changes/ polls: answered from Redis before Django, or passed on to Django",
    ["path"],
)
