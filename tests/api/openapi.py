"""Every API response the tests see is checked against the document at /api/schema/.

`check(response)` finds the operation the request was for and fails unless the document
describes the answer: its status among the operation's responses, its Content-Type and body
as documented (the body validated with jsonschema against the response schema, formats
included), its required headers present. An address or method no operation has (an unknown
route, a 405) must still answer the documented Error shape in JSON.

tests/conftest.py applies it to every response of Django's test clients under /api/, and
the tests that talk to server processes over HTTP call `check_urllib` on what they read.
"""

import json
import re
from collections.abc import Mapping
from functools import cache, partial
from typing import Any
from urllib.parse import urlsplit

from django.test import AsyncClient, Client
from jsonschema import Draft202012Validator, FormatChecker

DOCUMENT_URL = "/api/schema/"
_FORMATS = FormatChecker()


class Undocumented(AssertionError):
    pass


# The plain methods, even while conftest wraps them.
_UNCHECKED_REQUEST = Client.request
_UNCHECKED_ASYNC_REQUEST = AsyncClient.request


@cache
def document() -> dict[str, Any]:
    """The document as the API serves it (not as Python builds it)."""
    client = Client()
    client.request = partial(_UNCHECKED_REQUEST, client)  # type: ignore[method-assign]
    response = client.get(DOCUMENT_URL)
    assert response.status_code == 200, response.content
    return response.json()


@cache
def _routes() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    routes = []
    for template, item in document()["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(pattern + r"\Z"), item))
    return routes


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of one schema of the document (cached: the document never changes).
    Its `#/components/…` references resolve against the document itself."""
    if id(schema) not in _VALIDATORS:
        rooted = {"components": document()["components"], "$ref": "#/__schema__"}
        rooted["__schema__"] = schema
        _VALIDATORS[id(schema)] = Draft202012Validator(rooted, format_checker=_FORMATS)
    return _VALIDATORS[id(schema)]


def _validate_body(body: bytes, schema: dict[str, Any], where: str) -> None:
    try:
        data = json.loads(body)
    except ValueError:
        raise Undocumented(f"{where}: the body is not JSON: {body[:200]!r}") from None
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        messages = "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        raise Undocumented(f"{where}: the body does not match the document: {messages}")


def _operation(path: str, method: str) -> dict[str, Any] | None:
    for pattern, item in _routes():
        if pattern.match(path):
            return item.get(method)
    return None


_ERROR = {"$ref": "#/components/schemas/Error"}


def check(response: Any) -> None:
    """A response of Django's test Client or AsyncClient."""
    request = getattr(response, "wsgi_request", None) or response.asgi_request
    if not request.path.startswith("/api/"):
        return  # and a streamed answer (a /media/ file) keeps its stream for the test
    check_answer(
        request.method, request.path, response.status_code, response.headers, response.content
    )


def check_answer(
    method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
) -> None:
    """Any answer to `method path` (headers: a case-insensitive mapping), e.g. one that a
    test read over HTTP from a server process."""
    if not path.startswith("/api/"):
        return
    head = method.upper() == "HEAD"
    operation = _operation(path, "get" if head else method.lower())
    where = f"{method} {path} → {status}"
    if operation is None:
        # No operation: an unknown route or method, answered in the error shape.
        if status not in (404, 405):
            raise Undocumented(f"{where}: no operation in the document answers this")
        _check_json(headers, where)
        if not head:
            _validate_body(body, _ERROR, where)
        return
    documented = operation["responses"].get(str(status))
    if documented is None:
        raise Undocumented(f"{where}: the operation does not document this status")
    for name, header in documented.get("headers", {}).items():
        if header.get("required") and name not in headers:
            raise Undocumented(f"{where}: the required header {name} is missing")
    content = documented.get("content")
    if not content:
        if body and not head:
            raise Undocumented(f"{where}: documented without a body, but has one")
        return
    media_type = _check_json(headers, where)
    if head:
        return
    if media_type not in content:
        raise Undocumented(f"{where}: {media_type} is not documented")
    _validate_body(body, content[media_type]["schema"], where)


def _check_json(headers: Mapping[str, str], where: str) -> str:
    media_type = (headers.get("Content-Type") or "").split(";")[0].strip()
    if media_type != "application/json":
        raise Undocumented(f"{where}: answered {media_type or 'no Content-Type'}, not JSON")
    return media_type


def checking_request(client: Client, **request: Any) -> Any:
    """Client.request, with every /api/ answer checked against the document."""
    response = _UNCHECKED_REQUEST(client, **request)
    check(response)
    return response


async def checking_async_request(client: AsyncClient, **request: Any) -> Any:
    """AsyncClient.request, checked likewise."""
    response = await _UNCHECKED_ASYNC_REQUEST(client, **request)
    check(response)
    return response


def check_urllib(method: str, url: str, response: Any, body: bytes) -> None:
    """An answer read with urllib from a server process (an HTTPError is one too)."""
    status = getattr(response, "status", None) or response.code
    check_answer(method, urlsplit(url).path, status, response.headers, body)
