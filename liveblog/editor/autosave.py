"""The autosave endpoint of the composer and the edit form (static/js/autosave.js).

`/editor/events/<slug>/autosave/` is the composer's draft, `?post=<id>` the edit form's of
that entry. GET answers the writer's draft as JSON (204: none), PUT or POST replaces it
with `{"headline", "body", "fields"}`, DELETE throws it away. Session and CSRF as every
editor write (Django's middleware checks the X-CSRFToken header of PUT, POST and DELETE).
A draft is its writer's alone: nobody else's request, and no reader path, ever sees it.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from liveblog.blog import selectors, services
from liveblog.blog.models import Event, Post, PostDraft
from liveblog.editor.views import (
    _event_to_write,
    _invalid,
    _post_to_edit,
    _refusal_json,
    refusals_as_403,
)
from liveblog.http import ratelimit

View = Callable[..., HttpResponse]

# The largest body a valid draft can be: its texts at the most JSON can spend on a
# character (\uXXXX), its fields, and room for the keys. Anything larger is refused unread.
DRAFT_REQUEST_MAX_BYTES = (
    6 * (settings.LIVEBLOG_MAX_BODY_CHARS + settings.LIVEBLOG_MAX_HEADLINE_CHARS)
    + settings.LIVEBLOG_MAX_DRAFT_FIELDS_BYTES
    + 1024
)


def autosaves_limited(view: View) -> View:
    """Saves and discards count in a window of their own ("autosave"), under the same limits
    as the editor's writes: typing can never use up the writes a reporter needs to publish."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            try:
                ratelimit.check_address(request, counter="autosave")
                ratelimit.check_user(request, counter="autosave")
            except ratelimit.RateLimited as exc:
                response = _refusal_json(request, exc)
                response["Retry-After"] = str(exc.retry_after)
                return response
        return view(request, *args, **kwargs)

    return wrapper


def _post_of(request: HttpRequest, event: Event) -> Post | None:
    """The entry whose edit form this is (`?post=<id>`), one the writer may edit; None for
    the composer."""
    value = request.GET.get("post")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):  # isdigit() alone takes "²"
        raise Http404("No such entry.")
    return _post_to_edit(request, event, int(value))


def _draft_json(draft: PostDraft, status: int = 200) -> JsonResponse:
    body = {
        "post": draft.post_id,
        "headline": draft.headline,
        "body": draft.body,
        "fields": draft.fields,
        "updated_at": draft.updated_at.isoformat(),
    }
    return JsonResponse(body, status=status)


def _typed(request: HttpRequest) -> dict[str, Any] | HttpResponse:
    """The draft sent, or the answer refusing it (413 too large, 400 not a draft)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > DRAFT_REQUEST_MAX_BYTES or len(request.body) > DRAFT_REQUEST_MAX_BYTES:
        detail = f"A draft takes at most {DRAFT_REQUEST_MAX_BYTES:,} bytes."
        return JsonResponse({"error": "too_large", "detail": detail}, status=413)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _invalid({"body": ["Send the draft as a JSON object."]})
    if not isinstance(data, dict):
        return _invalid({"body": ["Send the draft as a JSON object."]})
    wrong = [name for name in ("headline", "body") if not isinstance(data.get(name, ""), str)]
    if wrong:
        return _invalid({name: ["Must be text."] for name in wrong})
    return {
        "headline": data.get("headline", ""),
        "body": data.get("body", ""),
        "fields": data.get("fields", {}),
    }


@login_required
@autosaves_limited
@refusals_as_403
@never_cache
@require_http_methods(["GET", "HEAD", "PUT", "POST", "DELETE"])
def autosave(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _post_of(request, event)
    if request.method in ("GET", "HEAD"):
        draft = selectors.draft_for(request.user, event, post)
        return _draft_json(draft) if draft is not None else HttpResponse(status=204)
    if request.method == "DELETE":
        services.draft_discard(user=request.user, event=event, post=post)
        return HttpResponse(status=204)
    typed = _typed(request)
    if isinstance(typed, HttpResponse):
        return typed
    try:
        draft = services.draft_save(user=request.user, event=event, post=post, **typed)
    except services.Conflict as exc:
        return JsonResponse({"error": exc.error_code, "detail": " ".join(exc.messages)}, status=409)
    except ValidationError as exc:
        return _invalid(exc.message_dict)
    return _draft_json(draft)
