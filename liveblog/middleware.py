"""Middleware of our own that is not about the domain."""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase


class OneThreadHop:
    """Keeps the middleware above it synchronous, so that a request crosses from the event
    loop to a thread once, not twice per middleware.

    Under ASGI Django runs a middleware that can do both (every `MiddlewareMixin` one) in
    async mode whenever the handler below it is async, and such a middleware then calls its
    sync `process_request` and `process_response` through `sync_to_async`: with our eight,
    a request went loop → thread → loop 17 times. Our views are sync, so nothing gains from
    the async chain. Being sync-only and last in MIDDLEWARE, this middleware makes Django
    adapt once at the bottom (and once under `PushAfterResponseMiddleware`, which must stay
    async): measured on one uvicorn process, /api/schema/ p50 4.7-5.6 → 1.7-3.2 ms and an
    event GET 14.2-14.8 → 10.7-12.4 ms (bench/RESULTS.md). Async views still work: Django
    calls them through one `async_to_sync`.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)
