"""Who is calling: a bearer token (scripts) or the session (the editor's own fetch calls).

`reader` and `writer` are the operations' ninja `auth`. ninja's views are csrf_exempt so
that token requests need no cookie; a session request that changes something is then
checked for CSRF here instead, exactly as Django would.
"""

from datetime import UTC
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from liveblog.api.errors import ApiError, not_authenticated, upload_limit, upload_too_large
from liveblog.blog import services
from liveblog.blog.models import ApiToken
from liveblog.blog.permissions import User
from liveblog.http import ratelimit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate(request: HttpRequest) -> None:
    """Set request.user from the bearer token, or keep the session user (CSRF-checked)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        request.user = _token(header).user
    elif request.method not in SAFE_METHODS and request.user.is_authenticated:
        _enforce_csrf(request)


def reader(request: HttpRequest) -> Any:
    """Anyone may read, but a token that is sent must be valid (401 otherwise)."""
    authenticate(request)
    return request.user  # AnonymousUser too: ninja only needs a true value


def writer(request: HttpRequest) -> Any:
    """A write needs a user and room in both rate limits. The address is counted before
    authentication, so floods of forged tokens are limited too. None → ninja's
    AuthenticationError → 401."""
    ratelimit.check_address(request)
    authenticate(request)
    if not request.user.is_authenticated:
        return None
    ratelimit.check_user(request)
    return request.user


def uploader(request: HttpRequest) -> Any:
    """`writer` for image uploads, whose body has a limit of its own (errors.upload_limit,
    not DATA_UPLOAD_MAX_MEMORY_SIZE, which Django applies to a form's other fields only): a
    declared length over it is refused before the body is read. ninja runs auth before it
    parses the form, so this is the first place an operation can look. As Django's own body
    limit, it answers before authentication."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Before `writer`: a session's CSRF check reads the form, and with it the whole body.
    if declared > upload_limit():
        raise upload_too_large()
    user = writer(request)
    if user is not None:
        ratelimit.check_uploads(request)
    return user


def current_user(request: HttpRequest) -> User:
    """The caller on an operation whose `writer` auth has already required a login."""
    assert request.user.is_authenticated
    return request.user


# How the OpenAPI document names the two ways in (see LiveblogAPI.get_openapi_schema).
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
}
WRITE_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
# Reads are open; a token or a session only shows the caller's drafts as well.
READ_SECURITY: list[dict[str, list[str]]] = [{}, *WRITE_SECURITY]


def _token(header: str) -> ApiToken:
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise not_authenticated("Send the token as Authorization: Bearer <token>.")
    token = (
        ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(key.strip())).first()
    )
    if token is None or not token.user.is_active:
        raise not_authenticated("This token is not valid.")
    if token.has_expired():
        services.token_refuse_expired(token=token)
        assert token.expires_at is not None
        when = token.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise not_authenticated(
            f"This token expired on {when}; create a new one (editor: API tokens)."
        )
    services.token_use(token=token)  # last_used_at and the audit log, once a minute
    return token


class _CsrfCheck(CsrfViewMiddleware):
    """Django's own CSRF check, answering the reason instead of a 403 page."""

    def _reject(self, request: HttpRequest, reason: str) -> str:
        return reason


def _unused_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def _enforce_csrf(request: HttpRequest) -> None:
    check = _CsrfCheck(_unused_view)
    check.process_request(request)
    reason = check.process_view(request, _unused_view, (), {})
    if reason:
        raise ApiError(403, "csrf_failed", f"CSRF check failed: {reason}")
