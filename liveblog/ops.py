"""Operations: what a load balancer and a monitoring system ask of each process.

`/healthz` says whether this process can reach PostgreSQL and the channel layer (SPEC §5);
`/metrics` serves this process's Prometheus metrics (liveblog/metrics.py defines them).
"""

import asyncio
import hmac
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def healthz(request: HttpRequest) -> HttpResponse:
    checks: dict[str, str] = {}
    try:
        ok = await asyncio.wait_for(sync_to_async(_database_ok)(), timeout=3)
        checks["database"] = "ok" if ok else "error"
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "error"
    try:
        layer = get_channel_layer()
        assert layer is not None
        await asyncio.wait_for(layer.group_send("healthz", {"type": "healthz.ping"}), timeout=3)
        checks["channel_layer"] = "ok"
    except Exception as exc:
        logger.warning("healthz: channel layer check failed: %s", exc)
        checks["channel_layer"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", **checks}
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("metrics need the METRICS_TOKEN bearer token\n", status=401)
    elif not settings.METRICS_PUBLIC:
        return HttpResponse(
            "metrics are closed: set METRICS_TOKEN (scrapers send it as a bearer token), or"
            " METRICS_PUBLIC=1 where only an internal network reaches /metrics\n",
            status=403,
        )
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
