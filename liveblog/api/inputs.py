"""What each write endpoint accepts (SPEC §6): field names, types and which are required.

Names match the services' keyword arguments, so parsed input is passed on as it is
(except `timezone`, which event_create calls `timezone_name`).
"""

from liveblog.api.parsing import Field, boolean, moment, nullable, text

EVENT_CREATE = {
    "title": Field(text, required=True),
    "slug": Field(nullable(text)),
    "summary": Field(text),
    "timezone": Field(text),
    "order": Field(text),
    "status": Field(text),
    "starts_at": Field(nullable(moment)),
    "ends_at": Field(nullable(moment)),
}

# Everything but the slug can change; nothing is required in a PATCH.
EVENT_UPDATE = {name: Field(f.parse) for name, f in EVENT_CREATE.items() if name != "slug"}

MEMBER_ADD = {
    "username": Field(text, required=True),
    "role": Field(text, required=True),
}

POST_CREATE = {
    "body": Field(text, required=True),
    "headline": Field(text),
    # null means "now", as when the field is left out.
    "published_at": Field(nullable(moment)),
    "is_key_event": Field(boolean),
    "is_pinned": Field(boolean),
    "status": Field(text),
}

POST_UPDATE = {name: Field(field.parse) for name, field in POST_CREATE.items()}
