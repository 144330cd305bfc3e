"""What the API accepts and answers (SPEC §6), as pydantic schemas.

ninja validates every request with these and generates the OpenAPI document at /api/schema/
from them: one description, so the document cannot drift from what is enforced. Types are
strict (a string is a string, `true` is not `"yes"`, unknown fields are refused). Choices and
limits are read from where they are defined — the models' TextChoices and field lengths, and
settings — never written here; what values mean beyond that (time zones, permissions, blank
bodies) is checked by the services, in one place for the API, the editor and the admin.
"""

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from annotated_types import Ge, Le
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.dateparse import parse_datetime
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonDict

from liveblog.api.pagination import MAX_LIMIT
from liveblog.blog import services
from liveblog.blog.models import (
    MAX_BIGINT,
    Change,
    Event,
    Image,
    Membership,
    Post,
    max_length,
)
from liveblog.blog.selectors import BadCursor, Cursor

# A time must stay representable (Python and PostgreSQL) after shifting to any time zone.
MIN_YEAR, MAX_YEAR = 1900, 9998


# --- field types ------------------------------------------------------------------------


def _unicode(value: str) -> str:
    # PostgreSQL cannot store NUL characters nor lone surrogates; refuse them as input
    # rather than fail in the database.
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Must be valid Unicode text.") from None
    return value


Text = Annotated[StrictStr, AfterValidator(_unicode)]


def _one_of(choices: type[models.TextChoices]) -> AfterValidator:
    values = frozenset(choices.values)
    message = f"Choose one of: {', '.join(choices.values)}."

    def check(value: str) -> str:
        if value not in values:
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _enum(choices: type[models.TextChoices]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(choices.values)})


EventStatus = Annotated[StrictStr, _one_of(Event.Status), _enum(Event.Status)]
EventOrder = Annotated[StrictStr, _one_of(Event.Order), _enum(Event.Order)]
PostStatus = Annotated[StrictStr, _one_of(Post.Status), _enum(Post.Status)]
Role = Annotated[StrictStr, _one_of(Membership.Role), _enum(Membership.Role)]
ChangeKind = Annotated[StrictStr, _one_of(Change.Kind), _enum(Change.Kind)]

_MOMENT = "Must be an ISO 8601 date and time with an offset, e.g. 2025-05-01T10:30:00+02:00."
_YEARS = f"Must be between the years {MIN_YEAR} and {MAX_YEAR}."


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(_unicode(value))
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(_MOMENT)
    try:
        # In UTC, as the database gives it back: a post's payload then reads the same
        # whether it comes from this response, the change log or a later GET.
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(_YEARS) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(_YEARS)
    return parsed


# null means "not set" (for a post: now), as when the field is left out.
Moment = Annotated[
    datetime | None,
    PlainValidator(_moment),
    WithJsonSchema({"type": ["string", "null"], "format": "date-time"}),
]
Time = Annotated[datetime, WithJsonSchema({"type": "string", "format": "date-time"})]
NullableTime = Annotated[
    datetime | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})
]


def _optional() -> Any:
    """A field one may leave out (it is then not passed on: the service's default holds);
    null is refused unless the type allows it."""
    return Field(default=None, json_schema_extra=_no_default)


def _no_default(schema: JsonDict) -> None:
    schema.pop("default", None)


# --- query string and headers -----------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,19}")


def _digits(value: Any) -> Any:
    """A query number is plain digits: no sign, no `1.0`, no `1_000`, no spaces."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("Must be a whole number.")
    return int(value) if isinstance(value, str) else value


def _cursor(value: Any) -> Cursor | None:
    if value in (None, ""):
        return None
    try:
        cursor = Cursor.decode(str(value))
        cursor.published_at.astimezone(UTC)
    except (BadCursor, OverflowError):
        cursor = None
    if cursor is None or not 0 <= cursor.id <= MAX_BIGINT:
        raise ValueError("This cursor is not valid; use the `next` link.")
    return cursor


# Bounds as annotated_types (ninja reads Field(ge=…) of a query parameter as extra keys).
Limit = Annotated[int, BeforeValidator(_digits), Ge(1), Le(MAX_LIMIT)]
Since = Annotated[int, BeforeValidator(_digits), Ge(0), Le(MAX_BIGINT)]
CursorParam = Annotated[
    Cursor | None,
    PlainValidator(_cursor),
    WithJsonSchema({"type": "string", "description": "opaque; take it from a list's `next`"}),
]
IDEMPOTENCY_KEY_MAX = max_length(Post, "idempotency_key")
IdempotencyKey = Annotated[
    StrictStr,
    Field(
        max_length=IDEMPOTENCY_KEY_MAX,
        description="a repeat with the same key on the same event returns the first post",
    ),
]


# --- request bodies ---------------------------------------------------------------------


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class Patch(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    @model_validator(mode="before")
    @classmethod
    def _something(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("Send at least one field.")
        return data


class EventCreate(Input):
    title: Annotated[Text, Field(max_length=max_length(Event, "title"))]
    slug: Annotated[Text, Field(max_length=max_length(Event, "slug"))] | None = _optional()
    summary: Annotated[Text, Field(max_length=max_length(Event, "summary"))] = _optional()
    key_points: Annotated[
        Text,
        Field(max_length=max_length(Event, "key_points"), description="Markdown: the summary box"),
    ] = _optional()
    timezone: Annotated[
        Text,
        Field(max_length=max_length(Event, "timezone"), description="IANA, e.g. Asia/Shanghai"),
    ] = _optional()
    order: EventOrder = _optional()
    status: EventStatus = _optional()
    starts_at: Moment = _optional()
    ends_at: Moment = _optional()


class MemberCreate(Input):
    username: Annotated[
        Text, Field(max_length=max_length(get_user_model(), get_user_model().USERNAME_FIELD))
    ]
    role: Role


class PostCreate(Input):
    body: Annotated[Text, Field(max_length=settings.LIVEBLOG_MAX_BODY_CHARS)]
    headline: Annotated[Text, Field(max_length=settings.LIVEBLOG_MAX_HEADLINE_CHARS)] = _optional()
    published_at: Moment = _optional()
    is_key_event: StrictBool = _optional()
    is_pinned: StrictBool = _optional()
    is_breaking: StrictBool = _optional()
    status: PostStatus = _optional()
    images: Annotated[
        list[Annotated[int, Ge(1), Le(MAX_BIGINT)]],
        Field(
            max_length=settings.LIVEBLOG_MAX_IMAGES_PER_POST,
            description="ids of this event's images, in the order shown",
        ),
    ] = _optional()


class SendBack(Input):
    """A submission returned to its author as a draft (services.post_send_back)."""

    note: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=services.REVIEW_NOTE_CHARS,
            description="what to change: shown to the entry's author beside their draft",
        ),
    ]


class Reject(Input):
    """A submission removed (services.post_reject); its author sees it rejected."""

    note: Annotated[
        Text,
        Field(
            max_length=services.REVIEW_NOTE_CHARS,
            description="why, for the entry's author (may be left out)",
        ),
    ] = ""


class ImageUpload(Input):
    """The form fields beside `file` (multipart: every value arrives as text)."""

    alt: Annotated[
        Text,
        Field(
            max_length=max_length(Image, "alt"),
            description="what the photo shows, for people who cannot see it",
        ),
    ] = ""
    caption: Annotated[Text, Field(max_length=max_length(Image, "caption"))] = ""
    credit: Annotated[Text, Field(max_length=max_length(Image, "credit"))] = ""
    decorative: Annotated[
        bool, Field(description="true: the photo adds nothing to the text (alt may be empty)")
    ] = False


def _patch_of(
    name: str, create: type[Input], fields: tuple[str, ...], base: type[Input] = Patch
) -> type[Input]:
    """A PATCH body: the creating schema's fields that the service lets change
    (services.EVENT_FIELDS / POST_FIELDS, their one definition), none required."""
    definitions: dict[str, Any] = {
        field: (Annotated[(info.annotation, *info.metadata)], _optional())
        for field in fields
        for info in [create.model_fields[field]]
    }
    return create_model(name, __base__=base, **definitions)


class EventVersionedPatch(Input):
    """An event's PATCH may name the version it is based on (optimistic locking, as a
    post's)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    version: Annotated[
        StrictInt,
        Ge(1),
        Field(
            description="the event's `version` this change is based on: when the event has "
            "moved on, the PATCH is refused with 409 and the current event (or send If-Match)"
        ),
    ] = _optional()

    @model_validator(mode="before")
    @classmethod
    def _a_change(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("Send at least one field.")
        if isinstance(data, dict) and set(data) == {"version"}:
            raise ValueError("Send at least one field to change beside `version`.")
        return data


class VersionedPatch(Patch):
    """A post's PATCH may name the version it is based on (optimistic locking, SPEC §6)."""

    version: Annotated[
        StrictInt,
        Ge(1),
        Field(
            description="the post's `version` this change is based on: when the post has "
            "moved on, the PATCH is refused with 409 and the current post (or send If-Match)"
        ),
    ] = _optional()

    @model_validator(mode="before")
    @classmethod
    def _a_change(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) == {"version"}:
            raise ValueError("Send at least one field to change beside `version`.")
        return data


class Restore(Input):
    """A restore may name the version of the entry it is based on, as a PATCH does."""

    version: Annotated[
        StrictInt,
        Ge(1),
        Field(
            description="the post's `version` the restore is based on: when the post has "
            "moved on, it is refused with 409 and the current post (or send If-Match)"
        ),
    ] = _optional()


if TYPE_CHECKING:  # built at run time; to mypy, a Patch
    EventUpdate = EventVersionedPatch
    PostUpdate = VersionedPatch
else:
    EventUpdate = _patch_of("EventUpdate", EventCreate, services.EVENT_FIELDS, EventVersionedPatch)
    PostUpdate = _patch_of("PostUpdate", PostCreate, services.POST_FIELDS, VersionedPatch)


# --- responses (documented; the views answer ready dicts from blog.payloads) ------------


class Output(Schema):
    model_config = ConfigDict(extra="forbid")


class EventOut(Output):
    slug: str
    title: str
    summary: str
    key_points: str = Field(description="Markdown source of the summary box")
    key_points_html: str = Field(description="rendered and sanitised")
    status: EventStatus
    timezone: str = Field(description="IANA time zone, e.g. Asia/Shanghai")
    order: EventOrder
    starts_at: NullableTime
    ends_at: NullableTime
    url: str = Field(description="the public page")
    last_seq: int = Field(ge=0)
    # _optional: frames of the change log written before events had versions lack it.
    version: int | None = Field(
        default=None,
        ge=1,
        description="moves on with every saved change of the event; send it back with a "
        'PATCH (or as If-Match: "<version>") to refuse a change based on an old one',
        json_schema_extra=_no_default,
    )


class Author(Output):
    username: str
    display_name: str


class Rendition(Output):
    width: int = Field(ge=1)
    url: str = Field(description="this application's own address of the file")


class ImageOut(Output):
    id: int
    url: str = Field(description="the widest rendition")
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    alt: str = Field(description="empty for a decorative image")
    caption: str
    credit: str
    renditions: list[Rendition] = Field(description="narrowest first")


class PostOut(Output):
    id: int
    event: str = Field(description="the event's slug")
    headline: str
    body: str = Field(description="Markdown source")
    body_html: str = Field(description="rendered and sanitised")
    author: Author
    published_at: Time
    updated_at: Time
    is_key_event: bool
    is_pinned: bool
    is_breaking: bool
    corrected_at: NullableTime = Field(description="when the published text was last corrected")
    status: PostStatus
    version: int = Field(
        ge=1,
        description="grows by one with every saved change; its ETag (optimistic locking)",
    )
    images: list[ImageOut]
    url: str = Field(description="the public page")


class RevisionOut(Output):
    """One saved state of an entry (SPEC §6 Revision), for its editors."""

    number: int = Field(ge=1, description="1 for the entry as first saved, one more per change")
    author: Author = Field(description="who saved this state")
    created_at: Time
    headline: str
    body: str = Field(description="Markdown source")
    is_key_event: bool
    is_pinned: bool
    is_breaking: bool
    status: PostStatus
    published_at: Time = Field(description="the entry's displayed time in this state")
    deleted: bool = Field(description="true for the state that removed the entry")
    note: str = Field(description='why, when said: "restored from revision 2", an unpin')
    images: list[ImageOut] = Field(description="its photos in order; those deleted since left out")


class RemovedPost(Output):
    id: int


class Member(Output):
    username: str
    role: Role
    event: str


class Page(Output):
    next: str | None = Field(description="the next page's absolute URL; null on the last")


class EventList(Page):
    results: list[EventOut]


class PostList(Page):
    results: list[PostOut]


class RevisionList(Page):
    results: list[RevisionOut] = Field(description="newest first")


class ChangeOut(Output):
    """The live message of SPEC §7; post.deleted carries only the post's id."""

    type: ChangeKind
    seq: int
    post: PostOut | RemovedPost = _optional()
    event: EventOut = _optional()
    html: str = _optional()


class Changes(Output):
    changes: list[ChangeOut]
    last_seq: int = Field(ge=0)


class Error(Output):
    error: str = Field(description="a stable code, e.g. invalid, not_found")
    detail: str = Field(description="a sentence for people")
    fields: dict[str, list[str]] = Field(description="what is wrong with each named field")


class EventConflict(Error):
    """A PATCH of an event refused as 409: it has moved on since the version named
    (`current` holds it as it is now, and nothing was changed)."""

    current: EventOut = _optional()


class PostConflict(Error):
    """A PATCH refused as 409: the entry was removed, or it has moved on since the version
    named (then `current` holds it as it is now, and nothing was changed)."""

    # On a version conflict: the post as it is now. (_optional: absent otherwise, never null.)
    current: PostOut = _optional()
