"""The API's one error shape (SPEC §6), and the one layer that maps exceptions to it.

Every refusal under /api/ answers `{"error": <code>, "detail": <sentence>, "fields": {...}}`,
whatever raised it: the schemas (ninja's ValidationError), authentication and the rate
limits, the services
(PermissionDenied, ValidationError, Conflict) or Django itself (Http404, RequestDataTooBig).
`install` registers one handler per kind on the NinjaAPI; the few answers given outside an
operation (unknown routes, 405s, CSRF failures, handler500) use `error_response` too.
"""

import logging
from collections.abc import Mapping
from typing import Any

import ninja
from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, HttpError

from liveblog.api import versions
from liveblog.blog.payloads import event_payload, post_payload
from liveblog.blog.services import Conflict, StaleEventVersion, StaleVersion
from liveblog.http.ratelimit import RateLimited

# Django's own logger for unhandled errors, so its error reporting (mail_admins, Sentry's
# logging integration) still sees the exceptions this module turns into JSON.
request_logger = logging.getLogger("django.request")

Fields = Mapping[str, list[str]]


class ApiError(Exception):
    """A refusal the API answers directly, with its status and error code."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        fields: Fields | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})
        # Members of the body beside the three, for the refusals SPEC §6 gives more (the
        # current post of a version conflict).
        self.extra = dict(extra or {})


def invalid(fields: Fields, detail: str | None = None) -> ApiError:
    names = ", ".join(sorted(fields))
    return ApiError(400, "invalid", detail or f"Some fields are invalid: {names}.", fields=fields)


def not_authenticated(detail: str = "Log in or send Authorization: Bearer <token>.") -> ApiError:
    return ApiError(401, "not_authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


def body_limit() -> str:
    """The request body limit as people read it (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    return f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20:g} MiB"


def too_large() -> ApiError:
    return ApiError(413, "too_large", f"The request body is larger than {body_limit()}.")


# Room for the form's other fields and the multipart boundaries around an image upload.
UPLOAD_OVERHEAD = 64 * 1024


def upload_limit() -> int:
    """The largest image upload request (the file at settings.LIVEBLOG_MAX_IMAGE_BYTES)."""
    return settings.LIVEBLOG_MAX_IMAGE_BYTES + UPLOAD_OVERHEAD


def upload_too_large() -> ApiError:
    limit = settings.LIVEBLOG_MAX_IMAGE_BYTES / 2**20
    return ApiError(413, "too_large", f"An image upload may be at most {limit:g} MiB.")


def malformed_json() -> ApiError:
    return ApiError(400, "malformed_json", "The body is not valid JSON.")


def rate_limited(exc: RateLimited) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)}
    return ApiError(429, "rate_limited", str(exc), headers=headers)


def server_failure() -> ApiError:
    return ApiError(500, "server_error", "Something went wrong on our side; try again later.")


def stale_version(exc: StaleVersion) -> ApiError:
    """SPEC §6: the post has moved on since the version the PATCH named; the post as it is
    now in `current`, and its ETag, to base the next attempt on."""
    current = exc.current
    return ApiError(
        409,
        "conflict",
        " ".join(exc.messages),
        headers={"ETag": versions.etag(current.version)},
        extra={"current": post_payload(current)},
    )


def stale_event_version(exc: StaleEventVersion) -> ApiError:
    """As stale_version, for an event's settings: the event as it is now in `current`."""
    current = exc.current
    return ApiError(
        409,
        "conflict",
        " ".join(exc.messages),
        headers={"ETag": versions.etag(current.version)},
        extra={"current": event_payload(current)},
    )


def error_response(error: ApiError) -> JsonResponse:
    body = {"error": error.code, "detail": error.detail, "fields": error.fields, **error.extra}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


# --- from exceptions --------------------------------------------------------------------


def _from_django_validation(exc: ValidationError, status: int, code: str) -> ApiError:
    if not hasattr(exc, "error_dict"):
        return ApiError(status, code, " ".join(exc.messages))
    fields = dict(exc.message_dict)
    general = fields.pop(NON_FIELD_ERRORS, [])
    if status == 409:
        detail = " ".join(general + [m for msgs in fields.values() for m in msgs])
        return ApiError(status, code, detail, fields=fields)
    error = invalid(fields, " ".join(general) or None)
    error.status = status
    return error


# Sentences for pydantic's error types; the schemas' own validators raise ValueError with a
# sentence already (pydantic prefixes it with "Value error, ").
_MESSAGES = {
    "extra_forbidden": "Unknown field.",
    "missing": "This field is required.",
    "string_type": "Must be a string.",
    "bool_type": "Must be true or false.",
    "int_type": "Must be a whole number.",
    "string_too_long": "At most {max_length:,} characters.",
    "string_too_short": "Must not be empty.",
    "greater_than_equal": "Must be at least {ge}.",
    "less_than_equal": "Must be at most {le:,}.",
}


def _message(error: Mapping[str, Any]) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"]).removeprefix("Value error, ")
    return template.format(**error.get("ctx", {}))


def _field_of(loc: tuple[Any, ...]) -> str | None:
    """`("body", "data", "title")` → "title"; `("query", "limit")` → "limit"; the body as a
    whole (`("body", "data")`) → None."""
    rest = loc[2:] if loc[:1] == ("body",) else loc[1:]
    return str(rest[0]) if rest else None


def _from_schema_validation(exc: ninja.errors.ValidationError) -> ApiError:
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    for error in exc.errors:
        loc = tuple(error["loc"])
        if loc == ("body", "data") and error["type"] == "missing":
            return malformed_json()  # an empty body: not JSON at all
        name = _field_of(loc)
        if name is None:
            general.append(_general_message(error))
        elif name not in fields:  # a union reports once per branch: the first says it
            fields[name] = [_message(error)]
    if not fields:
        return ApiError(400, "invalid", " ".join(dict.fromkeys(general)))
    return invalid(fields)


def _general_message(error: Mapping[str, Any]) -> str:
    if error["type"] in ("model_attributes_type", "model_type", "dict_type"):
        return "The body must be a JSON object."
    return _message(error)


# ninja's own HttpErrors (AuthorizationError, Throttled, …) by status, should one be raised.
_HTTP_ERROR_CODES = {
    403: "permission_denied",
    404: "not_found",
    413: "too_large",
    429: "rate_limited",
}


def as_api_error(exc: Exception, request: HttpRequest) -> ApiError:
    """The ApiError for any exception; unexpected ones become a logged 500."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RateLimited):
        return rate_limited(exc)
    if isinstance(exc, ninja.errors.ValidationError):
        return _from_schema_validation(exc)
    if isinstance(exc, AuthenticationError):
        return not_authenticated()
    if isinstance(exc, HttpError):
        # ninja answers a body it could not parse with HttpError(400) raised from the
        # parser's exception: our parser's own answer (413, malformed JSON) is the cause.
        if isinstance(exc.__cause__, ApiError):
            return exc.__cause__
        if exc.status_code == 400:
            return malformed_json()
        code = _HTTP_ERROR_CODES.get(exc.status_code, "error")
        return ApiError(exc.status_code, code, str(exc))
    if isinstance(exc, Http404):
        return ApiError(404, "not_found", str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        if not request.user.is_authenticated:
            return not_authenticated()
        return ApiError(403, "permission_denied", str(exc) or "You may not do this.")
    if isinstance(exc, StaleVersion):
        return stale_version(exc)
    if isinstance(exc, StaleEventVersion):
        return stale_event_version(exc)
    if isinstance(exc, Conflict):
        return _from_django_validation(exc, 409, exc.error_code)
    if isinstance(exc, ValidationError):
        return _from_django_validation(exc, 400, "invalid")
    if isinstance(exc, RequestDataTooBig):
        return too_large()
    request_logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return server_failure()


HANDLED = (
    ApiError,
    RateLimited,
    ninja.errors.ValidationError,
    HttpError,  # AuthenticationError is one
    Http404,
    PermissionDenied,
    ValidationError,  # Conflict is one
    RequestDataTooBig,
    Exception,  # the logged 500
)


def install(api: ninja.NinjaAPI) -> None:
    """The API's one exception layer: every exception an operation (or its authentication)
    raises is answered in the error shape by as_api_error."""

    def handle(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(as_api_error(exc, request))

    for kind in HANDLED:
        api.add_exception_handler(kind, handle)


# --- answers outside an operation -------------------------------------------------------


@csrf_exempt  # a POST to an unknown address is a 404, not a CSRF page
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any /api/ address no route matched: JSON too, with a hint for a missing slash."""
    detail = f"There is no API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail += f" Did you mean {request.path}/ ?"
    return error_response(ApiError(404, "not_found", detail))


def server_error(request: HttpRequest) -> HttpResponse:
    """A handler500 for the root URLconf: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(server_failure())
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A handler400 for the root URLconf (a Host we do not serve, another suspicious
    request): JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(ApiError(400, "bad_request", "This request cannot be served."))
    return defaults.bad_request(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(ApiError(403, "csrf_failed", f"CSRF check failed: {reason}"))
    return csrf.csrf_failure(request, reason)
