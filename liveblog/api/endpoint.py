"""The frame around every API view: methods, authentication, rate limits, errors.

A view decorated with @endpoint only parses, calls a service or selector and renders;
whatever it raises is answered in the API's error shape (errors.as_api_error).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from liveblog.api import auth, ratelimit
from liveblog.api.errors import ApiError, as_api_error, error_response

View = Callable[..., HttpResponse]


def endpoint(*methods: str) -> Callable[[View], View]:
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
    allow_header = ", ".join(sorted(allowed))

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise ApiError(
                        405,
                        "method_not_allowed",
                        f"{request.method} is not allowed here; use {allow_header}.",
                        headers={"Allow": allow_header},
                    )
                _admit(request)
                response = view(request, *args, **kwargs)
            except Exception as exc:
                response = error_response(as_api_error(exc, request))
            if request.method in ("GET", "HEAD"):
                # Drafts and tokens make answers per-caller; always revalidate.
                response["Cache-Control"] = "no-cache"
            return response

        # Token requests carry no cookie to forge; session writes are CSRF-checked in auth.
        return csrf_exempt(wrapper)

    return decorate


def _admit(request: HttpRequest) -> None:
    """Authenticate; a write also needs a user and room in both rate limits."""
    writing = request.method not in auth.SAFE_METHODS
    if writing:
        ratelimit.check_address(request)
    auth.authenticate(request)
    if writing:
        auth.require_login(request)
        ratelimit.check_user(request)
