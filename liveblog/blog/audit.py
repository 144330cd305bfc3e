"""The audit log: who did what, when, from which address (models.AuditEntry).

The services call `record` for every write, inside their transaction, so an entry exists
exactly when the write it records committed. Security events that happen in Django and in
django-axes (logins, failures, lock-outs, logouts) come from their signals, connected in
BlogConfig.ready().

Services do not take a request: the address of the request being served is kept in a
context variable, set for the whole request by liveblog.middleware.AuditAddressMiddleware
(and reset after it). Outside a request (a management command, a test calling a service)
there is none, and the entry's address is empty.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import User as UserModel
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import HttpRequest

from liveblog.blog.models import AuditEntry, Event, Post
from liveblog.blog.permissions import User

Action = AuditEntry.Action

_address: ContextVar[str | None] = ContextVar("liveblog_audit_address", default=None)
_USERNAME_CHARS = AuditEntry._meta.get_field("username").max_length or 150


def _valid_address(value: Any) -> str | None:
    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    return str(value)


def request_address(request: HttpRequest | None) -> str | None:
    """The address the server resolved for the request (REMOTE_ADDR). A client's own
    X-Forwarded-For never counts here: the ASGI server sets REMOTE_ADDR from it only when
    the connection comes from the trusted proxy (FORWARDED_ALLOW_IPS)."""
    if request is None:
        return None
    return _valid_address(request.META.get("REMOTE_ADDR"))


@contextmanager
def address(value: str | None) -> Iterator[None]:
    """Entries recorded inside the block carry this address (one `request_address` gave)."""
    reset = _address.set(value)
    try:
        yield
    finally:
        _address.reset(reset)


def current_address() -> str | None:
    return _address.get()


def record(
    *,
    action: str,
    actor: User | None,
    event: Event | None = None,
    post: Post | None = None,
    detail: Mapping[str, Any] | None = None,
    username: str | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Write one entry: one INSERT, no other query (the actor, event and post are the
    objects in hand). Call it inside the transaction of the write it records.

    `username` defaults to the actor's; a failed login passes the name it tried.
    `address` defaults to the current request's (see `address()`).
    """
    person = actor if isinstance(actor, UserModel) else None
    name = username if username is not None else (person.get_username() if person else "")
    return AuditEntry.objects.create(
        action=action,
        actor=person,
        username=name[:_USERNAME_CHARS],
        event=event,
        post=post,
        address=_valid_address(address) if address else current_address(),
        detail=dict(detail or {}),
    )


# --- Django's and django-axes' signals (connected in BlogConfig.ready) --------------------


def on_logged_in(sender: Any, request: HttpRequest | None, user: UserModel, **kwargs: Any) -> None:
    record(action=Action.LOGIN_SUCCEEDED, actor=user, address=request_address(request))


def on_logged_out(
    sender: Any, request: HttpRequest | None, user: UserModel | None, **kwargs: Any
) -> None:
    record(action=Action.LOGOUT, actor=user, address=request_address(request))


def on_login_failed(
    sender: Any, credentials: Mapping[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in `credentials`; only the name is kept.
    tried = str(credentials.get("username") or "")
    record(action=Action.LOGIN_FAILED, actor=None, username=tried, address=request_address(request))


def on_locked_out(
    sender: Any,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    record(
        action=Action.LOGIN_LOCKED_OUT,
        actor=None,
        username=str(username or ""),
        address=ip_address or request_address(request),
    )
