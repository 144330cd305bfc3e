"""The frame around the API: django-ninja, with our body parser, error layer and OpenAPI.

ninja routes, validates input against liveblog/api/schemas.py and generates the document;
what it does not do our way is adjusted here, in one place: the JSON body (413 before
reading, malformed JSON), 405s in the error shape with `Allow`, HEAD answered as GET,
`Cache-Control: no-cache` on reads, and the document's security schemes, error
descriptions and response headers.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI
from ninja.parser import Parser

from liveblog.api import auth, errors

View = Callable[..., HttpResponseBase]

ERROR_DESCRIPTIONS = {
    400: "Bad input: malformed JSON, a wrong type, an unknown field, a bad cursor.",
    401: "Not logged in, or the token is not valid.",
    403: "Logged in but not allowed, or the CSRF check of a session request failed.",
    404: "No such event or entry (or a draft you may not see).",
    405: "This method is not allowed here; see Allow.",
    409: "Conflicts with existing state, e.g. a slug already in use.",
    413: f"The request body is over {errors.body_limit()}.",
    429: "Too many writes; see Retry-After.",
    500: "Something went wrong on our side.",
}
# Where an operation's reason differs from the common one: uploads have a limit of their own.
OPERATION_ERRORS = {
    "uploadImage": {
        400: "Bad input, naming the field: `file` is not a picture we accept, is damaged or "
        "truncated, a decompression bomb, or over the limits; `alt` is missing.",
        413: "The upload is over its own limit (LIVEBLOG_MAX_IMAGE_BYTES and the form around it).",
    },
    "listRevisions": {403: "Not an editor of this event: revisions are for its editors."},
    "restoreRevision": {
        403: "Not an editor of this event, or the CSRF check of a session request failed.",
        404: "No such event, entry or revision (a removed entry's revisions are not listed).",
    },
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    405: {"Allow": {"schema": {"type": "string"}, "required": True}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "required": True}},
}
# Operations whose answer has an API address of its own, given in Location.
LOCATED = {"createEvent", "createPost"}
LOCATION = {"Location": {"schema": {"type": "string", "format": "uri"}, "required": True}}
# Operations answering one post, whose ETag is its version (liveblog/api/versions.py); the
# 409 of a stale PATCH carries the current one's.
VERSIONED = {"getPost", "updatePost", "restoreRevision"}
ETAG = {
    "ETag": {
        "description": 'the post\'s `version`, e.g. "7": send it back in If-Match',
        "schema": {"type": "string"},
        "required": True,
    }
}


# The document itself (ninja serves it outside the operations, so it describes it here).
SCHEMA_PATH = {
    "get": {
        "operationId": "getSchema",
        "summary": "This document",
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 description of this API",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "405": {
                "description": ERROR_DESCRIPTIONS[405],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                "headers": ERROR_HEADERS[405],
            },
        },
    }
}


class JsonParser(Parser):
    """The body is read as JSON whatever its Content-Type says (`curl -d` sends form
    encoding by default): SPEC §6 answers anything that is not valid JSON with 400, not 415.
    Session-authenticated writes are still CSRF-checked, so this opens no cross-site path.

    A declared length over the limit was refused by Django before reading (RequestDataTooBig,
    answered 413); a body without a declared length is measured here.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        if len(request.body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise errors.too_large()
        try:
            return json.loads(request.body)
        except (ValueError, RecursionError):  # bad syntax, bad UTF-8, absurd nesting
            raise errors.malformed_json() from None


class LiveblogAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parser=JsonParser(), **kwargs)
        errors.install(self)
        self._documents: dict[Any, Any] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        """ninja's document, completed; built once (the routes never change at run time)."""
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        if key not in self._documents:
            document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
            document["components"]["securitySchemes"] = auth.SECURITY_SCHEMES
            for item in document["paths"].values():
                for operation in item.values():
                    _complete(operation)
            schema_path = self.get_root_path({}) + str(self.openapi_url).lstrip("/")
            document["paths"][schema_path] = SCHEMA_PATH
            self._documents[key] = document
        return self._documents[key]


def _complete(operation: dict[str, Any]) -> None:
    for code, response in operation["responses"].items():
        status = int(code)
        if status in ERROR_DESCRIPTIONS:
            own = OPERATION_ERRORS.get(operation["operationId"], {})
            response["description"] = own.get(status, ERROR_DESCRIPTIONS[status])
        if status in ERROR_HEADERS:
            response["headers"] = ERROR_HEADERS[status]
        if status in (200, 201) and operation["operationId"] in LOCATED:
            response["headers"] = LOCATION
        if status == 200 and operation["operationId"] in VERSIONED:
            response["headers"] = ETAG
        if status == 409 and operation["operationId"] in ("updatePost", "restoreRevision"):
            response["description"] = (
                "The entry was removed, or has moved on since the `version` (If-Match) "
                "given: the current post in `current`, its ETag in ETag; nothing changed."
            )
            response["headers"] = {"ETag": {**ETAG["ETag"], "required": False}}
        if status == 304:
            response["description"] = "Not modified since the ETag or date given"


# --- the views ninja builds, framed -----------------------------------------------------

READS = ("GET", "HEAD")


def frame(view: View, allow: tuple[str, ...] | None = None) -> View:
    """HEAD is answered as GET (the server drops the body); a method ninja has no operation
    for is a 405 in the error shape; reads are never cached unrevalidated."""

    @wraps(view)
    def framed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        method = request.method
        if allow is not None and method not in (*allow, "HEAD"):
            response: HttpResponseBase = _not_allowed(method, allow)
        else:
            if method == "HEAD":
                request.method = "GET"
            try:
                response = view(request, *args, **kwargs)
            finally:
                request.method = method
            if response.status_code == 405 and "Allow" in response:
                response = _not_allowed(method, response["Allow"].split(", "))
        if method in READS and "Cache-Control" not in response:
            # Drafts and tokens make answers per-caller; always revalidate (unless the view
            # knows better: the change log's anonymous answers, liveblog/http/caching.py).
            response["Cache-Control"] = "no-cache"
        return response

    return framed


def _not_allowed(method: str | None, allowed: Any) -> HttpResponse:
    methods = set(allowed) | ({"HEAD"} if "GET" in allowed else set())
    allow_header = ", ".join(sorted(methods))
    return errors.error_response(
        errors.ApiError(
            405,
            "method_not_allowed",
            f"{method} is not allowed here; use {allow_header}.",
            headers={"Allow": allow_header},
        )
    )


def urlpatterns(api: NinjaAPI) -> list[URLPattern | URLResolver]:
    """ninja's routes, framed, then a JSON 404 for any other address under /api/."""
    patterns: list[URLPattern | URLResolver] = []
    for pattern in api.urls[0]:
        assert isinstance(pattern, URLPattern)
        if pattern.name == "api-root":  # ninja's root answers a docs link; /api/ is a 404
            patterns.append(path("", errors.not_found, name="api-root"))
        elif pattern.name == "openapi-json":
            patterns.append(
                path(str(pattern.pattern), frame(pattern.callback, READS), name="schema")
            )
        else:
            patterns.append(path(str(pattern.pattern), frame(pattern.callback), name=pattern.name))
    # Last: any other address under /api/ answers a JSON 404, not the site's HTML page.
    # ([\s\S], not `.`: a path may hold a newline, %0A.)
    patterns.append(re_path(r"^(?P<path>[\s\S]*)\Z", errors.not_found, name="not-found"))
    return patterns
