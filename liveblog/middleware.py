"""Middleware of our own that is not about the domain."""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from liveblog.blog import audit


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
