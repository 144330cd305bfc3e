"""The JSON API (SPEC §6). Each operation gets validated input from its schemas, calls one
service or selector, and answers.

Answers are built as dicts by blog.payloads (the shape the change log and the live socket
share) and returned as ready JsonResponses, so ninja does not re-validate them on every read;
the `response=` schemas document them, and the tests validate every response against the
document.
"""

from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from ninja import File, Form, Header
from ninja.files import UploadedFile

from liveblog.api import fast, pagination, schemas, versions
from liveblog.api.app import LiveblogAPI
from liveblog.api.auth import (
    READ_SECURITY,
    WRITE_SECURITY,
    current_user,
    reader,
    uploader,
    writer,
)
from liveblog.api.errors import invalid
from liveblog.api.schemas import (
    Changes,
    CursorParam,
    Error,
    EventCreate,
    EventList,
    EventOut,
    IdempotencyKey,
    ImageOut,
    ImageUpload,
    Limit,
    Member,
    MemberCreate,
    PostCreate,
    PostList,
    PostOut,
    Since,
)
from liveblog.blog import permissions, selectors, services
from liveblog.blog.models import MAX_BIGINT, Event, Post, Revision
from liveblog.blog.payloads import event_payload, image_payload, post_payload, revision_payload
from liveblog.http import caching
from liveblog.http.caching import conditional_event_list, conditional_event_resource
from liveblog.live.history import stamp_of
from liveblog.live.protocol import encode_frame

api = LiveblogAPI(
    title="Live blog API",
    version="1.0.0",
    description=(
        "Events and their entries. Writes need `Authorization: Bearer <token>` "
        "(`python manage.py issue_token <username>`) or a session with CSRF. "
        "Every error is `{error, detail, fields}`."
    ),
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url=None,  # no docs UI: it would load its scripts from a CDN
)

EVENTS = "/v1/events/"
EVENT = "/v1/events/{slug:slug}/"
POSTS = EVENT + "posts/"
POST = POSTS + "{int:post_id}/"


def _answers(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """Every status an operation can answer: its own, the given errors, and the ones any
    operation may (a wrong method, a failure on our side)."""
    return {**ok, **{code: Error for code in (*errors, 405, 500)}}


# A read may be refused for a bad token (401) or a bad query (400).
READ: dict[str, Any] = {"auth": reader, "openapi_extra": {"security": READ_SECURITY}}
# A write may be refused for any of these, before its own reasons.
WRITE: dict[str, Any] = {"auth": writer, "openapi_extra": {"security": WRITE_SECURITY}}
WRITE_ERRORS = (400, 401, 403, 404, 413, 429)


# --- lookups ----------------------------------------------------------------------------


def _event(request: HttpRequest, slug: str) -> Event:
    # The row the conditional (ETag) check read, so both see the same last_seq.
    event = caching.event_for(request, slug)
    if event is None:
        raise Http404(f"There is no event {slug!r}.")
    return event


def _post(event: Event, post_id: int, request: HttpRequest) -> Post:
    post = None
    if post_id <= MAX_BIGINT:
        post = selectors.post_for_user(event, post_id, request.user)
    if post is None:  # drafts one may not see are "not found", not "forbidden"
        raise Http404(f"There is no entry {post_id} in this event.")
    return post


def _created(request: HttpRequest, payload: dict[str, Any], url: str, status: int) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    response["Location"] = request.build_absolute_uri(url)
    return response


# --- events -----------------------------------------------------------------------------


@api.get(
    EVENTS,
    url_name="events",
    operation_id="listEvents",
    summary="Events, newest first",
    response=_answers({200: EventList, 304: None}, 400, 401),
    **READ,
)
@conditional_event_list
def events(
    request: HttpRequest,
    limit: Limit = pagination.DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> HttpResponse:
    rows, next_cursor = pagination.events_page(selectors.events_all(), after=cursor, limit=limit)
    return JsonResponse(
        {
            "results": [event_payload(e) for e in rows],
            "next": pagination.next_url(request, next_cursor),
        }
    )


@api.post(
    EVENTS,
    operation_id="createEvent",
    summary="Create an event (admins)",
    response=_answers({201: EventOut}, 400, 401, 403, 409, 413, 429),
    **WRITE,
)
def event_create(request: HttpRequest, data: EventCreate) -> HttpResponse:
    fields = data.model_dump(exclude_unset=True)
    if "timezone" in fields:
        fields["timezone_name"] = fields.pop("timezone")
    event = services.event_create(actor=current_user(request), **fields)
    url = reverse("api:event", kwargs={"slug": event.slug})
    return _created(request, event_payload(event), url, 201)


@api.get(
    EVENT,
    url_name="event",
    operation_id="getEvent",
    summary="One event",
    response=_answers({200: EventOut}, 401, 404),
    **READ,
)
def event(request: HttpRequest, slug: str) -> HttpResponse:
    return _versioned_event(_event(request, slug))


def _versioned_event(found: Event) -> JsonResponse:
    """The event, with its version as its ETag (for If-Match), as a post's."""
    response = JsonResponse(event_payload(found))
    response["ETag"] = versions.etag(found.version)
    return response


@api.patch(
    EVENT,
    operation_id="updateEvent",
    summary="Change an event (its editors)",
    description=(
        "Optimistic locking, as for entries: send the `version` your change is based on, in "
        'the body or as `If-Match: "<version>"` (the ETag of the event\'s GET). When the '
        "event has moved on since, the PATCH is refused with 409, the event as it is now in "
        "`current`, and nothing changes. A malformed If-Match, or one naming another version "
        "than the body, is a 400. Without either, the change applies to the current version. "
        "`ends_at` on an event that has not ended is its automatic end: it must be ahead."
    ),
    response=_answers({200: EventOut, 409: schemas.EventConflict}, *WRITE_ERRORS),
    **WRITE,
)
def event_update(
    request: HttpRequest,
    slug: str,
    data: schemas.EventUpdate,
    if_match: str | None = Header(None, alias=versions.IF_MATCH),
) -> HttpResponse:
    changes = data.model_dump(exclude_unset=True)
    based_on = changes.pop("version", None)
    found = services.event_update(
        actor=current_user(request),
        event=_event(request, slug),
        changes=changes,
        expected_version=versions.expected_version(if_match=if_match, body_version=based_on),
    )
    return _versioned_event(found)


@api.post(
    EVENT + "members/",
    url_name="members",
    operation_id="addMember",
    summary="Give a user a role in the event (its editors)",
    response=_answers({201: Member}, *WRITE_ERRORS),
    **WRITE,
)
def members(request: HttpRequest, slug: str, data: MemberCreate) -> HttpResponse:
    found, actor = _event(request, slug), current_user(request)
    # Checked before the username is looked up, so that non-editors cannot probe accounts.
    if not permissions.can_manage_event(actor, found):
        raise PermissionDenied("Only the event's editors can manage its members.")
    user = selectors.user_by_username(data.username)
    if user is None:
        raise invalid({"username": [f"There is no active user {data.username!r}."]})
    membership = services.membership_add(actor=actor, event=found, user=user, role=data.role)
    payload = {"username": user.get_username(), "role": membership.role, "event": found.slug}
    return JsonResponse(payload, status=201)


# --- posts ------------------------------------------------------------------------------


@api.get(
    POSTS,
    url_name="posts",
    operation_id="listPosts",
    summary="Published entries, newest first",
    response=_answers({200: PostList, 304: None}, 400, 401, 404),
    **READ,
)
@conditional_event_resource
def posts(
    request: HttpRequest,
    slug: str,
    limit: Limit = pagination.DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> HttpResponse:
    found = _event(request, slug)
    # The state this answer is made from: the fast path keeps the rendering while it holds.
    fast.saw(found.pk, stamp_of(found.created_at), found.last_seq)
    page = selectors.stream_page(found, order=Event.Order.NEWEST, after=cursor, limit=limit)
    return JsonResponse(
        {
            "results": [post_payload(p) for p in page.posts],
            "next": pagination.next_url(request, page.next_cursor),
        }
    )


@api.post(
    POSTS,
    operation_id="createPost",
    summary="Publish an entry (members)",
    description=(
        "A contributor's entry asking to be published (or giving no status) is created "
        f"`{Post.Status.SUBMITTED}`: it waits for an editor (…/submissions/), and readers "
        "see nothing of it. "
        f"Scheduling: a `{Post.Status.PUBLISHED}` entry whose `published_at` is more than "
        "two minutes ahead (a device's clock may run a little fast), or one asked for as "
        f"`{Post.Status.SCHEDULED}` with any time ahead, is stored as scheduled (201): it is "
        "in no public list and sends no change until `manage.py worker` publishes it at that "
        "time, when its `post.created` goes out. At most a year ahead."
    ),
    response=_answers({201: PostOut, 200: PostOut}, *WRITE_ERRORS, 409),
    **WRITE,
)
def post_create(
    request: HttpRequest,
    slug: str,
    data: PostCreate,
    idempotency_key: IdempotencyKey | None = Header(None, alias="Idempotency-Key"),  # noqa: B008
) -> HttpResponse:
    found, author = _event(request, slug), current_user(request)
    post, created = services.post_publish(
        event=found,
        author=author,
        idempotency_key=(idempotency_key or "").strip() or None,
        **data.model_dump(exclude_unset=True),
    )
    # A repeat must not hand someone else's draft (or a removed entry) to a key-guesser.
    if not created and not permissions.can_see_post(author, post):
        raise services.Conflict("This Idempotency-Key was already used for another entry.")
    url = reverse("api:post", kwargs={"slug": found.slug, "post_id": post.pk})
    return _created(request, post_payload(post), url, 201 if created else 200)


@api.get(
    POST,
    url_name="post",
    operation_id="getPost",
    summary="One entry",
    response=_answers({200: PostOut}, 401, 404),
    **READ,
)
def post(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    return _versioned(_post(_event(request, slug), post_id, request))


def _versioned(post: Post) -> JsonResponse:
    """The post, with its version as its ETag (for If-Match)."""
    response = JsonResponse(post_payload(post))
    response["ETag"] = versions.etag(post.version)
    return response


@api.patch(
    POST,
    operation_id="updatePost",
    summary="Change an entry (its author or an editor)",
    description=(
        "Optimistic locking: send the `version` your change is based on, in the body or as "
        '`If-Match: "<version>"` (the ETag of the post\'s GET; `W/"<version>"` is accepted '
        "too). When the post has moved on since, the PATCH is refused with 409, the post as "
        "it is now in `current`, and nothing changes. A malformed If-Match, or one naming "
        "another version than the body, is a 400. Without either, the change is applied to "
        "whatever version is current. An editor approves a submission by changing its "
        "`status` to published (a submission dated in the future is then scheduled); its "
        "author changing it keeps it submitted.\n\n"
        "A scheduled entry is rescheduled with a new `published_at` ahead, cancelled with "
        f'`{{"status": "{Post.Status.DRAFT}"}}` and published at once with '
        f'`{{"status": "{Post.Status.PUBLISHED}", "published_at": <now>}}`; a `published_at` '
        "in the past for a scheduled entry is a 400."
    ),
    response=_answers({200: PostOut, 409: schemas.PostConflict}, *WRITE_ERRORS),
    **WRITE,
)
def post_update(
    request: HttpRequest,
    slug: str,
    post_id: int,
    data: schemas.PostUpdate,
    if_match: str | None = Header(None, alias=versions.IF_MATCH),
) -> HttpResponse:
    changes = data.model_dump(exclude_unset=True)
    based_on = changes.pop("version", None)
    expected = versions.expected_version(if_match=if_match, body_version=based_on)
    found = services.post_update(
        actor=current_user(request),
        post=_post(_event(request, slug), post_id, request),
        changes=changes,
        expected_version=expected,
    )
    return _versioned(found)


@api.delete(
    POST,
    operation_id="deletePost",
    summary="Remove an entry (its author or an editor)",
    response=_answers({204: None}, 401, 403, 404, 429),
    **WRITE,
)
def post_delete(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    found = _post(_event(request, slug), post_id, request)
    services.post_delete(actor=current_user(request), post=found)
    return HttpResponse(status=204)


# --- submissions (the approval workflow, SPEC §4 and §6) ----------------------------------

# An editor approves a submission with the post's PATCH to the published status (SPEC §6);
# these send one back to its author or reject it. Refused with 409 `not_submitted` when the
# entry is no longer waiting (another editor decided first); nothing is changed then.


def _signed_in(request: HttpRequest) -> Any:
    """A read that needs a user (not a write: no write rate limit). None → 401."""
    user = reader(request)
    return user if user.is_authenticated else None


@api.get(
    EVENT + "submissions/",
    url_name="submissions",
    operation_id="listSubmissions",
    summary="Entries waiting for approval, oldest first (editors: all; members: their own)",
    response=_answers({200: PostList}, 400, 401, 403, 404),
    auth=_signed_in,
    openapi_extra={"security": WRITE_SECURITY},
)
def submissions(
    request: HttpRequest,
    slug: str,
    limit: Limit = pagination.DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> HttpResponse:
    found, user = _event(request, slug), current_user(request)
    if not permissions.can_write(user, found):
        raise PermissionDenied("Only the event's members can see its submissions.")
    page = selectors.submissions_page(found, user, after=cursor, limit=limit)
    return JsonResponse(
        {
            "results": [post_payload(p) for p in page.posts],
            "next": pagination.next_url(request, page.next_cursor),
        }
    )


@api.post(
    POST + "send-back/",
    url_name="post_send_back",
    operation_id="sendBackPost",
    summary="Send a submission back to its author as a draft, with a note (editors)",
    response=_answers({200: PostOut}, *WRITE_ERRORS, 409),
    **WRITE,
)
def post_send_back(
    request: HttpRequest, slug: str, post_id: int, data: schemas.SendBack
) -> HttpResponse:
    found = services.post_send_back(
        actor=current_user(request),
        post=_post(_event(request, slug), post_id, request),
        note=data.note,
    )
    return _versioned(found)


@api.post(
    POST + "reject/",
    url_name="post_reject",
    operation_id="rejectPost",
    summary="Reject a submission: it is removed; its author sees why (editors)",
    response=_answers({204: None}, *WRITE_ERRORS, 409),
    **WRITE,
)
def post_reject(
    request: HttpRequest, slug: str, post_id: int, data: schemas.Reject
) -> HttpResponse:
    services.post_reject(
        actor=current_user(request),
        post=_post(_event(request, slug), post_id, request),
        note=data.note,
    )
    return HttpResponse(status=204)


# --- revisions --------------------------------------------------------------------------

REVISIONS = POST + "revisions/"


def _post_for_editor(request: HttpRequest, slug: str, post_id: int) -> Post:
    """The entry, for its event's editors only: a refusal (401, 403) comes before the entry
    is looked up, so that nobody else can learn which ids exist."""
    found = _event(request, slug)
    if not permissions.can_moderate(request.user, found):
        raise PermissionDenied("Only the event's editors can see and restore revisions.")
    return _post(found, post_id, request)


@api.get(
    REVISIONS,
    url_name="revisions",
    operation_id="listRevisions",
    summary="An entry's revisions, newest first (the event's editors)",
    description=(
        "Every saved state of the entry: who saved it and when, its text, flags, status and "
        "photos (those deleted since are left out). A removed entry is a 404."
    ),
    response=_answers({200: schemas.RevisionList}, 400, 401, 403, 404),
    auth=reader,
    openapi_extra={"security": WRITE_SECURITY},
)
def revisions(
    request: HttpRequest,
    slug: str,
    post_id: int,
    limit: Limit = pagination.DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> HttpResponse:
    found = _post_for_editor(request, slug, post_id)
    rows, next_cursor = pagination.revisions_page(found, after=cursor, limit=limit)
    images = selectors.revision_images(found.event, rows)
    return JsonResponse(
        {
            "results": [revision_payload(row, images) for row in rows],
            "next": pagination.next_url(request, next_cursor),
        }
    )


@api.post(
    REVISIONS + "{int:number}/restore/",
    url_name="restore",
    operation_id="restoreRevision",
    summary="Restore an earlier revision of an entry (the event's editors)",
    description=(
        "Puts back the revision's headline, body, flags (key event, pinned, breaking) and "
        "those of its photos that still exist, as a new revision; the entry keeps its "
        "current status and time. Readers get it live as a correction (`post.updated`, "
        '"Updated …"). Optimistic locking as for PATCH: `{"version": n}` in the body or '
        '`If-Match: "<n>"`; when the post has moved on, 409 with the current post in '
        "`current`. A restore does not bring back a removed entry: that is a 404, as is a "
        "revision the entry does not have."
    ),
    response=_answers({200: PostOut, 409: schemas.PostConflict}, *WRITE_ERRORS),
    **WRITE,
)
def restore(
    request: HttpRequest,
    slug: str,
    post_id: int,
    number: int,
    data: schemas.Restore | None = None,
    if_match: str | None = Header(None, alias=versions.IF_MATCH),
) -> HttpResponse:
    found = _post_for_editor(request, slug, post_id)
    based_on = data.version if data is not None else None
    expected = versions.expected_version(if_match=if_match, body_version=based_on)
    try:
        restored = services.post_restore(
            actor=current_user(request), post=found, number=number, expected_version=expected
        )
    except Revision.DoesNotExist:
        raise Http404(f"Entry {post_id} has no revision {number}.") from None
    return _versioned(restored)


# --- images -----------------------------------------------------------------------------


@api.post(
    EVENT + "images/",
    url_name="images",
    operation_id="uploadImage",
    summary=(
        "Upload a photo (members): JPEG, PNG, GIF, WebP or AVIF, at most "
        f"{settings.LIVEBLOG_MAX_IMAGE_BYTES / 2**20:g} MiB and "
        f"{settings.LIVEBLOG_MAX_IMAGE_PIXELS / 1e6:g} megapixels"
    ),
    description=(
        "Multipart form. The photo is verified and re-encoded (metadata such as EXIF and GPS "
        "removed) and stored in several widths. `alt` is required unless `decorative` is true. "
        "A file that is not a picture, is damaged or truncated, is a decompression bomb or is "
        "over the limits is a 400 naming `file`; a request over the image limit is a 413 "
        "(this operation's own limit, not the 1 MiB of JSON bodies). Nothing is stored on a "
        "refusal."
    ),
    response=_answers({201: ImageOut}, *WRITE_ERRORS),
    auth=uploader,
    openapi_extra={"security": WRITE_SECURITY},
)
def image_upload(
    request: HttpRequest,
    slug: str,
    file: File[UploadedFile],
    data: Form[ImageUpload],
) -> HttpResponse:
    found = _event(request, slug)
    image = services.image_upload(
        actor=current_user(request), event=found, file=file, **data.model_dump()
    )
    return JsonResponse(image_payload(image), status=201)


# --- the change log ---------------------------------------------------------------------


def _teaching_fast_path(view: Any) -> Any:
    """Tell the fast path the event state of every answer, a 304 included (which the view's
    body never sees): what the slug names and its last seq, from the row the ETag was
    computed from (no query). It answers the hot polls before Django from then on
    (liveblog/api/fast.py), as it does the posts list, which says the same from its body."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = view(request, slug, **kwargs)
        found = caching.event_for(request, slug)
        if found is not None:
            fast.saw(found.pk, stamp_of(found.created_at), found.last_seq)
        return response

    return wrapper


@api.get(
    EVENT + "changes/",
    url_name="changes",
    operation_id="listChanges",
    summary=f"The change log after a seq, oldest first (at most {settings.LIVEBLOG_CATCHUP_LIMIT})",
    response=_answers({200: Changes, 304: None}, 400, 401, 404),
    **READ,
)
@_teaching_fast_path
@caching.conditional_changes
def changes(request: HttpRequest, slug: str, since: Since = 0) -> HttpResponse:
    found = _event(request, slug)
    rows = selectors.changes_since(found.pk, since, limit=settings.LIVEBLOG_CATCHUP_LIMIT)
    # A change may commit between reading the event and its changes: last_seq must never
    # be behind a change we return, or a client would think it saw the future.
    last_seq = max([found.last_seq] + [row["seq"] for row in rows[-1:]])
    # The frames encoded as every live path encodes them, the body as the fast path builds it.
    body = fast.changes_body([encode_frame(row) for row in rows], last_seq)
    return HttpResponse(body, content_type="application/json")
