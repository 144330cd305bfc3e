"""Operations: what a load balancer and a monitoring system ask of each process.

`/healthz` says whether this process can reach PostgreSQL and the channel layer (SPEC §5);
`/metrics` serves this process's Prometheus metrics (liveblog/metrics.py defines them);
`/csp-report` takes the browsers' Content-Security-Policy violation reports.
"""

import asyncio
import hmac
import json
import logging
import re
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from liveblog.http import ratelimit

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


csp_logger = logging.getLogger("liveblog.csp")

CSP_REPORT_MAX_BYTES = 16 * 1024
CSP_REPORTS_PER_REQUEST = 20  # the Reporting API batches; more than this is not a browser
_CSP_FIELD_CHARS = 300
# What is logged of a report, by its name in report-uri's format (application/csp-report)
# and in the Reporting API's (application/reports+json, a list of `csp-violation` reports).
_CSP_FIELDS = {
    "document": ("document-uri", "documentURL"),
    "directive": ("effective-directive", "effectiveDirective"),
    "blocked": ("blocked-uri", "blockedURL"),
    "disposition": ("disposition", "disposition"),
    "source": ("source-file", "sourceFile"),
    "line": ("line-number", "lineNumber"),
    "column": ("column-number", "columnNumber"),
    "sample": ("script-sample", "sample"),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@csrf_exempt  # browsers send reports without a token, and nothing is written but a log line
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Logs each violation as a warning of `liveblog.csp` and answers 204. Anyone can post
    here, so the body is bounded, each address is limited, and nothing in it is trusted."""
    retry_after = _csp_rate_limited(request.META.get("REMOTE_ADDR", "unknown"))
    if retry_after:
        response = HttpResponse("too many reports\n", status=429)
        response["Retry-After"] = str(retry_after)
        return response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return HttpResponse("bad Content-Length\n", status=400)
    if length > CSP_REPORT_MAX_BYTES:
        return HttpResponse("report too large\n", status=413)
    body = request.read(CSP_REPORT_MAX_BYTES + 1)
    if len(body) > CSP_REPORT_MAX_BYTES:
        return HttpResponse("report too large\n", status=413)
    if request.content_type not in (
        "application/csp-report",
        "application/reports+json",
        "application/json",
    ):
        return HttpResponse("expected application/csp-report or application/reports+json\n",
                            status=415)  # fmt: skip
    try:
        reports = _csp_violations(json.loads(body))
    except (ValueError, TypeError, AttributeError, RecursionError):
        return HttpResponse("not a CSP report\n", status=400)
    for report in reports[:CSP_REPORTS_PER_REQUEST]:
        fields = _csp_fields(report)
        csp_logger.warning(
            "csp violation: %s blocked %s on %s",
            fields["directive"],
            fields["blocked"],
            fields["document"],
            extra={"csp": fields, "client": request.META.get("REMOTE_ADDR", "")},
        )
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


def _csp_violations(data: Any) -> list[tuple[int, dict[str, Any]]]:
    """Each report's body, with the index of its field names in _CSP_FIELDS."""
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        return [(0, data["csp-report"])]
    if isinstance(data, list):
        return [
            (1, item["body"])
            for item in data
            if isinstance(item, dict)
            and item.get("type") == "csp-violation"
            and isinstance(item.get("body"), dict)
        ]
    raise ValueError("neither a csp-report object nor a list of reports")


def _csp_fields(report: tuple[int, dict[str, Any]]) -> dict[str, str]:
    style, body = report
    fields = {}
    for name, keys in _CSP_FIELDS.items():
        value = body.get(keys[style], "")
        text = value if isinstance(value, str) else json.dumps(value)
        fields[name] = _CONTROL.sub("?", text)[:_CSP_FIELD_CHARS]
    return fields


def _csp_rate_limited(address: str) -> int:
    """Seconds until this address may report again, or 0 (the one fixed-window limiter; a
    cache that does not answer lets the report through: it only costs a log line)."""
    try:
        ratelimit.hit("csp-report", address, settings.CSP_REPORTS_PER_MINUTE)
    except ratelimit.RateLimited as exc:
        return exc.retry_after
    return 0
