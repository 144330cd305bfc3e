"""The OpenAPI 3.1 description of the API, served at /api/schema/.

Written by hand next to the views it describes; tests/api/test_schema.py validates it and
checks that every route is in it.
"""

from typing import Any

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/{code}"} for code in codes}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(name)}}}


def _params(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
WRITE: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]

EVENT = {
    "type": "object",
    "required": ["slug", "title", "summary", "status", "timezone", "order"],
    "properties": {
        "slug": STRING,
        "title": STRING,
        "summary": STRING,
        "status": {"type": "string", "enum": ["scheduled", "live", "ended"]},
        "timezone": {"type": "string", "description": "IANA time zone, e.g. Asia/Shanghai"},
        "order": {"type": "string", "enum": ["newest", "oldest"]},
        "starts_at": NULLABLE_TIME,
        "ends_at": NULLABLE_TIME,
        "url": {"type": "string", "description": "the public page"},
        "last_seq": {"type": "integer", "minimum": 0},
    },
}

EVENT_FIELDS = {
    "title": {"type": "string", "maxLength": 300},
    "summary": {"type": "string", "maxLength": 2000},
    "timezone": STRING,
    "order": {"type": "string", "enum": ["newest", "oldest"]},
    "status": {"type": "string", "enum": ["scheduled", "live", "ended"]},
    "starts_at": NULLABLE_TIME,
    "ends_at": NULLABLE_TIME,
}

POST = {
    "type": "object",
    "required": ["id", "event", "body", "body_html", "author", "published_at", "status"],
    "properties": {
        "id": {"type": "integer"},
        "event": {"type": "string", "description": "the event's slug"},
        "headline": STRING,
        "body": {"type": "string", "description": "Markdown source"},
        "body_html": {"type": "string", "description": "rendered and sanitised"},
        "author": {
            "type": "object",
            "properties": {"username": STRING, "display_name": STRING},
        },
        "published_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "is_key_event": BOOLEAN,
        "is_pinned": BOOLEAN,
        "status": {"type": "string", "enum": ["draft", "published"]},
        "url": {"type": "string", "description": "the public page"},
    },
}

POST_FIELDS = {
    "body": {"type": "string", "maxLength": 50_000},
    "headline": {"type": "string", "maxLength": 300},
    "published_at": NULLABLE_TIME,
    "is_key_event": BOOLEAN,
    "is_pinned": BOOLEAN,
    "status": {"type": "string", "enum": ["draft", "published"]},
}

CHANGE = {
    "type": "object",
    "required": ["type", "seq"],
    "description": "The live message of SPEC §7; post.deleted carries only the post's id.",
    "properties": {
        "type": {
            "type": "string",
            "enum": ["post.created", "post.updated", "post.deleted", "event.updated"],
        },
        "seq": {"type": "integer"},
        "post": {"type": "object"},
        "event": _ref("Event"),
        "html": STRING,
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "detail", "fields"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid, not_found"},
        "detail": {"type": "string", "description": "a sentence for people"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": STRING},
        },
    },
}


def _list_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["results", "next"],
        "properties": {
            "results": {"type": "array", "items": _ref(name)},
            "next": {"type": ["string", "null"], "format": "uri"},
        },
    }


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


SCHEMAS = {
    "Error": ERROR,
    "Event": EVENT,
    "EventList": _list_of("Event"),
    "EventCreate": _object(
        {**EVENT_FIELDS, "slug": {"type": ["string", "null"], "pattern": "^[-a-zA-Z0-9_]+$"}},
        ["title"],
    ),
    "EventUpdate": _object(EVENT_FIELDS),
    "MemberCreate": _object(
        {"username": STRING, "role": {"type": "string", "enum": ["reporter", "editor"]}},
        ["username", "role"],
    ),
    "Member": _object({"username": STRING, "role": STRING, "event": STRING}),
    "Post": POST,
    "PostList": _list_of("Post"),
    "PostCreate": _object(POST_FIELDS, ["body"]),
    "PostUpdate": _object(POST_FIELDS),
    "Change": CHANGE,
    "Changes": {
        "type": "object",
        "required": ["changes", "last_seq"],
        "properties": {
            "changes": {"type": "array", "items": _ref("Change")},
            "last_seq": {"type": "integer"},
        },
    },
}

ERROR_RESPONSES = {
    "400": "Bad input: malformed JSON, a wrong type, an unknown field, a bad cursor.",
    "401": "Not logged in, or the token is not valid.",
    "403": "Logged in but not allowed, or the CSRF check of a session request failed.",
    "404": "No such event or entry (or a draft you may not see).",
    "409": "Conflicts with existing state, e.g. a slug already in use.",
    "413": "The request body is over 1 MiB.",
    "429": "Too many writes; see Retry-After.",
}

PARAMETERS = {
    "slug": {"name": "slug", "in": "path", "required": True, "schema": STRING},
    "post_id": {"name": "post_id", "in": "path", "required": True, "schema": {"type": "integer"}},
    "cursor": {
        "name": "cursor",
        "in": "query",
        "description": "opaque; take it from a list's `next`",
        "schema": STRING,
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "since": {
        "name": "since",
        "in": "query",
        "description": "the last seq the client has seen",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
    "Idempotency-Key": {
        "name": "Idempotency-Key",
        "in": "header",
        "description": "a repeat with the same key on the same event returns the first post",
        "schema": {"type": "string", "maxLength": 200},
    },
}

WRITE_ERRORS = ("400", "401", "403", "404", "413", "429")

PATHS = {
    "/api/v1/events/": {
        "get": {
            "summary": "Events, newest first",
            "operationId": "listEvents",
            "parameters": _params("cursor", "limit"),
            "responses": {"200": _json(_ref("EventList"), "A page of events"), **_errors("400")},
        },
        "post": {
            "summary": "Create an event (admins)",
            "operationId": "createEvent",
            "security": WRITE,
            "requestBody": _body("EventCreate"),
            "responses": {"201": _json(_ref("Event"), "Created"), **_errors(*WRITE_ERRORS, "409")},
        },
    },
    "/api/v1/events/{slug}/": {
        "parameters": _params("slug"),
        "get": {
            "summary": "One event",
            "operationId": "getEvent",
            "responses": {"200": _json(_ref("Event"), "The event"), **_errors("404")},
        },
        "patch": {
            "summary": "Change an event (its editors)",
            "operationId": "updateEvent",
            "security": WRITE,
            "requestBody": _body("EventUpdate"),
            "responses": {"200": _json(_ref("Event"), "Changed"), **_errors(*WRITE_ERRORS)},
        },
    },
    "/api/v1/events/{slug}/members/": {
        "parameters": _params("slug"),
        "post": {
            "summary": "Give a user a role in the event (its editors)",
            "operationId": "addMember",
            "security": WRITE,
            "requestBody": _body("MemberCreate"),
            "responses": {"201": _json(_ref("Member"), "Added"), **_errors(*WRITE_ERRORS)},
        },
    },
    "/api/v1/events/{slug}/posts/": {
        "parameters": _params("slug"),
        "get": {
            "summary": "Published entries, newest first",
            "operationId": "listPosts",
            "parameters": _params("cursor", "limit"),
            "responses": {
                "200": _json(_ref("PostList"), "A page of entries"),
                **_errors("400", "404"),
            },
        },
        "post": {
            "summary": "Publish an entry (members)",
            "operationId": "createPost",
            "security": WRITE,
            "parameters": _params("Idempotency-Key"),
            "requestBody": _body("PostCreate"),
            "responses": {
                "201": {
                    **_json(_ref("Post"), "Created"),
                    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
                },
                "200": _json(_ref("Post"), "Already created with this Idempotency-Key"),
                **_errors(*WRITE_ERRORS),
            },
        },
    },
    "/api/v1/events/{slug}/posts/{post_id}/": {
        "parameters": _params("slug", "post_id"),
        "get": {
            "summary": "One entry",
            "operationId": "getPost",
            "responses": {"200": _json(_ref("Post"), "The entry"), **_errors("404")},
        },
        "patch": {
            "summary": "Change an entry (its author or an editor)",
            "operationId": "updatePost",
            "security": WRITE,
            "requestBody": _body("PostUpdate"),
            "responses": {
                "200": _json(_ref("Post"), "Changed"),
                **_errors(*WRITE_ERRORS, "409"),
            },
        },
        "delete": {
            "summary": "Remove an entry (its author or an editor)",
            "operationId": "deletePost",
            "security": WRITE,
            "responses": {"204": {"description": "Removed"}, **_errors("401", "403", "404")},
        },
    },
    "/api/v1/events/{slug}/changes/": {
        "parameters": _params("slug"),
        "get": {
            "summary": "The change log after a seq, oldest first (at most 500)",
            "operationId": "listChanges",
            "parameters": _params("since"),
            "responses": {"200": _json(_ref("Changes"), "Changes"), **_errors("400", "404")},
        },
    },
    "/api/schema/": {
        "get": {
            "summary": "This document",
            "operationId": "getSchema",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {}}}},
        },
    },
}

SCHEMA: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Live blog API",
        "version": "1.0.0",
        "description": (
            "Events and their entries. Writes need `Authorization: Bearer <token>` "
            "(`python manage.py issue_token <username>`) or a session with CSRF. "
            "Every error is `{error, detail, fields}`."
        ),
    },
    "servers": [{"url": "/"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": {
            code: _json(_ref("Error"), description) for code, description in ERROR_RESPONSES.items()
        },
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        },
    },
}
