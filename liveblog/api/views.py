"""The JSON API (SPEC §6). Each view parses its input, calls one service or selector, renders.

Plain Django views rather than DRF: the contract (error shape, Bearer auth, 413,
Idempotency-Key, keyset cursors) is our own, and a framework would mostly be overridden.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from liveblog.api import inputs, pagination, parsing
from liveblog.api.auth import current_user
from liveblog.api.endpoint import endpoint
from liveblog.api.errors import invalid
from liveblog.api.schema import SCHEMA
from liveblog.blog import permissions, selectors, services
from liveblog.blog.models import Event, Post
from liveblog.blog.payloads import event_payload, post_payload
from liveblog.blog.permissions import User
from liveblog.http import caching
from liveblog.http.caching import conditional_event_list, conditional_event_resource

# --- lookups ----------------------------------------------------------------------------


def _event(request: HttpRequest, slug: str) -> Event:
    # The row the conditional (ETag) check read, so both see the same last_seq.
    event = caching.event_for(request, slug)
    if event is None:
        raise Http404(f"There is no event {slug!r}.")
    return event


def _post(event: Event, post_id: int, request: HttpRequest) -> Post:
    post = None
    if post_id <= parsing.MAX_BIGINT:
        post = selectors.post_for_user(event, post_id, request.user)
    if post is None:  # drafts one may not see are "not found", not "forbidden"
        raise Http404(f"There is no entry {post_id} in this event.")
    return post


def _limit(request: HttpRequest) -> int:
    return parsing.query_int(
        request, "limit", default=pagination.DEFAULT_LIMIT, low=1, high=pagination.MAX_LIMIT
    )


def _created(request: HttpRequest, payload: dict[str, Any], url: str, status: int) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    response["Location"] = request.build_absolute_uri(url)
    return response


# --- events -----------------------------------------------------------------------------


@endpoint("GET", "POST")
@conditional_event_list
def events(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _event_create(request)
    after, limit = parsing.query_cursor(request), _limit(request)
    rows, cursor = pagination.events_page(selectors.events_all(), after=after, limit=limit)
    return JsonResponse(
        {
            "results": [event_payload(e) for e in rows],
            "next": pagination.next_url(request, cursor),
        }
    )


def _event_create(request: HttpRequest) -> HttpResponse:
    data = parsing.parse_fields(parsing.read_json(request), inputs.EVENT_CREATE)
    if "timezone" in data:
        data["timezone_name"] = data.pop("timezone")
    event = services.event_create(actor=current_user(request), **data)
    url = reverse("api:event", kwargs={"slug": event.slug})
    return _created(request, event_payload(event), url, 201)


@endpoint("GET", "PATCH")
def event(request: HttpRequest, slug: str) -> HttpResponse:
    found = _event(request, slug)
    if request.method == "PATCH":
        changes = parsing.parse_fields(parsing.read_json(request), inputs.EVENT_UPDATE)
        found = services.event_update(actor=current_user(request), event=found, changes=changes)
    return JsonResponse(event_payload(found))


@endpoint("POST")
def members(request: HttpRequest, slug: str) -> HttpResponse:
    found = _event(request, slug)
    actor = current_user(request)
    data = parsing.parse_fields(parsing.read_json(request), inputs.MEMBER_ADD)
    # Checked before the username is looked up, so that non-editors cannot probe accounts.
    if not permissions.can_manage_event(actor, found):
        raise PermissionDenied("Only the event's editors can manage its members.")
    user = _user_named(data["username"])
    membership = services.membership_add(actor=actor, event=found, user=user, role=data["role"])
    payload = {"username": user.get_username(), "role": membership.role, "event": found.slug}
    return JsonResponse(payload, status=201)


def _user_named(username: str) -> User:
    model = get_user_model()
    user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
    if user is None:
        raise invalid({"username": [f"There is no user {username!r}."]})
    return user


# --- posts ------------------------------------------------------------------------------


@endpoint("GET", "POST")
@conditional_event_resource
def posts(request: HttpRequest, slug: str) -> HttpResponse:
    found = _event(request, slug)
    if request.method == "POST":
        return _post_create(request, found)
    after, limit = parsing.query_cursor(request), _limit(request)
    page = selectors.stream_page(found, order=Event.Order.NEWEST, after=after, limit=limit)
    return JsonResponse(
        {
            "results": [post_payload(p) for p in page.posts],
            "next": pagination.next_url(request, page.next_cursor),
        }
    )


def _post_create(request: HttpRequest, event: Event) -> HttpResponse:
    key = parsing.idempotency_key(request)
    data = parsing.parse_fields(parsing.read_json(request), inputs.POST_CREATE)
    author = current_user(request)
    post, created = services.post_publish(event=event, author=author, idempotency_key=key, **data)
    # A repeat must not hand someone else's draft (or a removed entry) to a key-guesser.
    if not created and not permissions.can_see_post(author, post):
        raise services.Conflict("This Idempotency-Key was already used for another entry.")
    url = reverse("api:post", kwargs={"slug": event.slug, "post_id": post.pk})
    return _created(request, post_payload(post), url, 201 if created else 200)


@endpoint("GET", "PATCH", "DELETE")
def post(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    found = _post(_event(request, slug), post_id, request)
    if request.method == "DELETE":
        services.post_delete(actor=current_user(request), post=found)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        changes = parsing.parse_fields(parsing.read_json(request), inputs.POST_UPDATE)
        found = services.post_update(actor=current_user(request), post=found, changes=changes)
    return JsonResponse(post_payload(found))


# --- the change log and the schema ------------------------------------------------------


@endpoint("GET")
@conditional_event_resource
def changes(request: HttpRequest, slug: str) -> HttpResponse:
    found = _event(request, slug)
    since = parsing.query_int(request, "since", default=0, low=0, high=parsing.MAX_BIGINT)
    rows = selectors.changes_since(found.pk, since, limit=settings.LIVEBLOG_CATCHUP_LIMIT)
    # A change may commit between reading the event and its changes: last_seq must never
    # be behind a change we return, or a client would think it saw the future.
    last_seq = max([found.last_seq] + [row["seq"] for row in rows[-1:]])
    return JsonResponse({"changes": rows, "last_seq": last_seq})


@endpoint("GET")
def schema(request: HttpRequest) -> HttpResponse:
    return JsonResponse(SCHEMA)
