"""Optimistic locking over HTTP (SPEC §6): a post's ETag is its version, and a PATCH names
the version it is based on in its body (`"version": n`) or in `If-Match`. An event's
settings are versioned the same way (its GET and PATCH carry its version as ETag).

The post GET had no ETag before versions, so the tag is the version alone, strong:
`"7"`. It names the version to send back, not a cache validator (a photo's caption
changed without a change of the entry keeps it); the API answers no 304 for a post.
"""

import re

from django.core.exceptions import ValidationError

IF_MATCH = "If-Match"

# One entity tag, strong or weak (W/"7" is accepted: some clients and proxies weaken tags).
_TAG = re.compile(r'(?:W/)?"([0-9]{1,10})"')
_MALFORMED = 'Send one ETag of what you change, e.g. If-Match: "7" (its `version`), or *.'


def etag(version: int) -> str:
    return f'"{version}"'


def _from_if_match(value: str) -> int | None:
    """The version an If-Match names; None for `*` (any current entry: no version check)."""
    value = value.strip()
    if value == "*":
        return None
    match = _TAG.fullmatch(value)
    if match is None or int(match[1]) < 1:
        raise ValidationError({IF_MATCH: [_MALFORMED]})
    return int(match[1])


def expected_version(*, if_match: str | None, body_version: int | None) -> int | None:
    """The version a PATCH is based on, from its body or its If-Match; a malformed If-Match,
    or one that names another version than the body, is bad input (400)."""
    header = _from_if_match(if_match) if if_match is not None else None
    if header is not None and body_version is not None and header != body_version:
        raise ValidationError(
            {IF_MATCH: [f"Names version {header}, the body's `version` {body_version}: send one."]}
        )
    return body_version if body_version is not None else header
