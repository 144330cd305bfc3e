"""Every API response the tests see is checked against the document at /api/schema/.

`check(response)` finds the operation the request was for and fails unless the document
describes the answer: its status among the operation's responses, its Content-Type and body
as documented (the body validated with jsonschema against the response schema, formats
included), its required headers present. An address or method no operation has (an unknown
route, a 405) must still answer the documented Error shape in JSON.

tests/conftest.py applies it to every response of Django's test Client under /api/.
"""

import json
import re
from functools import cache, partial
from typing import Any

from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker

DOCUMENT_URL = "/api/schema/"
_FORMATS = FormatChecker()


class Undocumented(AssertionError):
    pass


_UNCHECKED_REQUEST = Client.request  # the plain method, even while conftest wraps it


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


def _validate_body(response: Any, schema: dict[str, Any], where: str) -> None:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise Undocumented(f"{where}: the body is not JSON: {response.content[:200]!r}") from None
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.path))
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
    request = response.wsgi_request
    path, method = request.path, request.method.lower()
    if not path.startswith("/api/"):
        return
    head = method == "head"
    operation = _operation(path, "get" if head else method)
    where = f"{request.method} {path} → {response.status_code}"
    if operation is None:
        # No operation: an unknown route or method, answered in the error shape.
        if response.status_code not in (404, 405):
            raise Undocumented(f"{where}: no operation in the document answers this")
        _check_json(response, where)
        if not head:
            _validate_body(response, _ERROR, where)
        return
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        raise Undocumented(f"{where}: the operation does not document this status")
    for name, header in documented.get("headers", {}).items():
        if header.get("required") and name not in response:
            raise Undocumented(f"{where}: the required header {name} is missing")
    content = documented.get("content")
    if not content:
        if response.content and not head:
            raise Undocumented(f"{where}: documented without a body, but has one")
        return
    media_type = _check_json(response, where)
    if head:
        return
    if media_type not in content:
        raise Undocumented(f"{where}: {media_type} is not documented")
    _validate_body(response, content[media_type]["schema"], where)


def _check_json(response: Any, where: str) -> str:
    media_type = response.get("Content-Type", "").split(";")[0].strip()
    if media_type != "application/json":
        raise Undocumented(f"{where}: answered {media_type or 'no Content-Type'}, not JSON")
    return media_type


def checking_request(client: Client, **request: Any) -> Any:
    """Client.request, with every /api/ answer checked against the document."""
    response = _UNCHECKED_REQUEST(client, **request)
    check(response)
    return response
