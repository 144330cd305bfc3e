"""The API's one error shape (SPEC §6), and the mapping from domain exceptions to it.

Every refusal under /api/ answers `{"error": <code>, "detail": <sentence>, "fields": {...}}`,
whatever raised it: the parsers, the services (PermissionDenied, ValidationError, Conflict)
or Django itself (Http404, RequestDataTooBig).
"""

import logging
from collections.abc import Mapping

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults

from liveblog.blog.services import Conflict

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
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def invalid(fields: Fields, detail: str | None = None) -> ApiError:
    names = ", ".join(sorted(fields))
    return ApiError(400, "invalid", detail or f"Some fields are invalid: {names}.", fields=fields)


def error_response(error: ApiError) -> JsonResponse:
    body = {"error": error.code, "detail": error.detail, "fields": error.fields}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def not_authenticated(detail: str = "Log in or send Authorization: Bearer <token>.") -> ApiError:
    return ApiError(401, "not_authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


def _from_validation(exc: ValidationError, status: int, code: str) -> ApiError:
    if not hasattr(exc, "error_dict"):
        return ApiError(status, code, " ".join(exc.messages))
    fields = dict(exc.message_dict)
    general = fields.pop(NON_FIELD_ERRORS, [])
    if code == "conflict":
        detail = " ".join(general + [m for msgs in fields.values() for m in msgs])
        return ApiError(status, code, detail, fields=fields)
    error = invalid(fields, " ".join(general) or None)
    error.status = status
    return error


def as_api_error(exc: Exception, request: HttpRequest) -> ApiError:
    """The ApiError for any exception a view let through; unexpected ones become a logged 500."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Http404):
        return ApiError(404, "not_found", str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        if not request.user.is_authenticated:
            return not_authenticated()
        return ApiError(403, "permission_denied", str(exc) or "You may not do this.")
    if isinstance(exc, Conflict):
        return _from_validation(exc, 409, "conflict")
    if isinstance(exc, ValidationError):
        return _from_validation(exc, 400, "invalid")
    if isinstance(exc, RequestDataTooBig):
        return too_large()
    request_logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return ApiError(500, "server_error", "Something went wrong on our side; try again later.")


def too_large() -> ApiError:
    return ApiError(413, "too_large", "The request body is larger than 1 MiB.")


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
        error = ApiError(500, "server_error", "Something went wrong on our side; try later.")
        return error_response(error)
    return defaults.server_error(request)
