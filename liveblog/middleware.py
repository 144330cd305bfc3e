"""Middleware of our own that is not about the domain."""

import base64
import hashlib
import hmac
from collections.abc import Callable

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from liveblog.blog import audit
from liveblog.http import caching


class SyncChain:
    """Keeps the middleware above it synchronous, so that under ASGI they all run in the
    request's thread instead of each hopping from the event loop to a thread and back.

    Django runs a middleware that can do both (every `MiddlewareMixin` one) in async mode
    whenever the handler below it is async, and such a middleware then calls its sync
    `process_request` and `process_response` through `sync_to_async`. Our views are sync, so
    nothing gains from that. Being sync-only and last in MIDDLEWARE, this middleware makes
    Django adapt once at the bottom of the chain (and once under the async-only
    `PushAfterResponseMiddleware`): for `/api/schema/` 5 `sync_to_async` calls a request
    instead of 17. Measured on one uvicorn process: /api/schema/ p50 4.7-5.6 → 1.7-3.2 ms,
    an event GET 14.2-14.8 → 10.7-12.4 ms (bench/RESULTS.md). Async views still work: Django
    calls them through one `async_to_sync`.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)


class AuditAddressMiddleware:
    """Gives the audit log the address of the request being served (REMOTE_ADDR, as the
    ASGI server resolved it from the trusted proxy only), so services record it without
    taking a request (liveblog/blog/audit.py). Sync only, like SyncChain below it."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with audit.address(audit.request_address(request)):
            return self.get_response(request)


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's middleware (policy: settings.CONTENT_SECURITY_POLICY), with two things
    it cannot say from settings alone.

    The nonce of an event, entry or embed page is derived from the page's ETag (an HMAC
    under SECRET_KEY) instead of drawn at random. Those pages are kept by the render cache,
    nginx's micro-cache and CDNs, and revalidated with If-None-Match: a 304, or a cached body
    served with a newer response's headers, must name the nonce that the body carries, or
    its scripts stop running (browsers take the 304's Content-Security-Policy over the stored
    one). Every change a reader can see makes a new ETag and so a new nonce, and markup
    injected into a page changes what the nonce is derived from. Other pages draw a fresh
    random nonce per response.

    `connect-src` also names this site's WebSocket origin exactly (the Host that Django
    validated against ALLOWED_HOSTS): CSP Level 3 browsers let 'self' cover it, older
    Safari does not.
    """

    def _make_nonce(self, request: HttpRequest) -> str:
        if isinstance(getattr(request, "_csp_nonce", None), str):
            return request._csp_nonce  # type: ignore[attr-defined]
        tag = caching.page_tag(request)
        if tag is None:
            return super()._make_nonce(request)
        key = settings.SECRET_KEY.encode()
        digest = hmac.new(key, b"csp-nonce|" + tag.encode(), hashlib.sha256).digest()
        nonce = base64.b64encode(digest[:16]).decode("ascii")
        request._csp_nonce = nonce  # type: ignore[attr-defined]
        return nonce

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        # Named even where no template asked for it: a render-cache hit or a 304 renders
        # nothing, yet its body (cached here or by the browser) carries the nonce.
        self._make_nonce(request)
        response = super().process_response(request, response)
        if "Content-Security-Policy" in response:
            # The `report-to csp` endpoint (Reporting API); report-uri serves the others.
            response.headers.setdefault("Reporting-Endpoints", f'csp="{settings.CSP_REPORT_PATH}"')
        return response

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        socket = _websocket_origin(request)
        if socket:
            update["connect-src"] = [*update.get("connect-src", []), socket]
        parts.update = update
        if request.path_info.startswith("/admin/"):
            parts.replace = {**(parts.replace or {}), "script-src": settings.CSP_ADMIN_SCRIPT_SRC}
        return parts


def _websocket_origin(request: HttpRequest) -> str | None:
    try:
        host = request.get_host()
    except DisallowedHost:  # already answered 400 by CommonMiddleware
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"
