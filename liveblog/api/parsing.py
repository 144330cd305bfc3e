"""Strict reading of request input: the JSON body, its fields and the query string.

Types are checked here (a string is a string, `true` is not `"yes"`); what the values mean
(lengths, choices, time zones, permissions) is checked by the services, in one place for
the API and the editor alike. Anything refused here never reaches a service.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from liveblog.api.errors import ApiError, invalid, too_large
from liveblog.blog import models
from liveblog.blog.selectors import BadCursor, Cursor

Parser = Callable[[Any], Any]
MAX_BIGINT = models.MAX_BIGINT
IDEMPOTENCY_KEY_MAX = 200
_DIGITS = re.compile(r"[0-9]{1,19}")
# A time must stay representable (Python and PostgreSQL) after shifting to any time zone.
MIN_YEAR, MAX_YEAR = 1900, 9998


# --- the body ---------------------------------------------------------------------------


def read_json(request: HttpRequest) -> Any:
    """The decoded JSON body; 413 before reading anything over the size limit.

    The body is read as JSON whatever its Content-Type says (`curl -d` sends form encoding
    by default): SPEC §6 answers anything that is not valid JSON with 400, not 415.
    Session-authenticated writes are still CSRF-checked, so this opens no cross-site path.
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    body = request.body  # raises RequestDataTooBig, answered as 413 by the endpoint
    if len(body) > limit:
        raise too_large()
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # bad syntax, bad UTF-8, absurd nesting
        raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None


@dataclass(frozen=True)
class Field:
    parse: Parser
    required: bool = False


def parse_fields(data: Any, spec: Mapping[str, Field]) -> dict[str, Any]:
    """The fields of a JSON object, each parsed; 400 naming every bad or unknown field."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "The body must be a JSON object.")
    errors = {name: ["Unknown field."] for name in data if name not in spec}
    values: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in data:
            if field.required:
                errors[name] = ["This field is required."]
            continue
        try:
            values[name] = field.parse(data[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise invalid(errors)
    if not values:
        raise ApiError(400, "invalid", "Send at least one field.")
    return values


# --- field types ------------------------------------------------------------------------


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    # PostgreSQL cannot store NUL characters nor lone surrogates; refuse them as input
    # rather than fail in the database.
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Must be valid Unicode text.") from None
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def moment(value: Any) -> datetime:
    message = "Must be an ISO 8601 date and time with an offset, e.g. 2025-05-01T10:30:00+02:00."
    try:
        parsed = parse_datetime(text(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(message)
    try:
        # In UTC, as the database gives it back: a post's payload then reads the same
        # whether it comes from this response, the change log or a later GET.
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"Must be between the years {MIN_YEAR} and {MAX_YEAR}.") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"Must be between the years {MIN_YEAR} and {MAX_YEAR}.")
    return parsed


def nullable(parse: Parser) -> Parser:
    return lambda value: None if value is None else parse(value)


# --- headers and the query string -------------------------------------------------------


def idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise invalid({"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX} characters."]})
    return key or None


def query_int(request: HttpRequest, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise invalid({name: [f"Must be a whole number from {low} to {high}."]})
    return int(raw)


def query_cursor(request: HttpRequest) -> Cursor | None:
    raw = request.GET.get("cursor", "")
    if not raw:
        return None
    try:
        cursor = Cursor.decode(raw)
        cursor.published_at.astimezone(UTC)
    except (BadCursor, OverflowError):
        raise invalid({"cursor": ["This cursor is not valid; use the `next` link."]}) from None
    if not 0 <= cursor.id <= MAX_BIGINT:
        raise invalid({"cursor": ["This cursor is not valid; use the `next` link."]})
    return cursor
