"""The composer's Scheduled panel (issue 11): the event's scheduled entries (editors: all;
reporters: their own), each with Reschedule, Publish now and Cancel. Plain forms that post
and redirect, so the panel works without JavaScript; static/js/scheduling.js redraws it
when the desk says something changed, and asks `schedule_check` how the composer's primary
button should read for the time typed. The services decide and check permissions again."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from liveblog.blog import services
from liveblog.blog.models import Event, Post
from liveblog.editor.forms import EventTimeField, ScheduleForm
from liveblog.editor.scheduled import panel_context, scheduled_message
from liveblog.editor.views import (
    _event_to_write,
    _post_to_edit,
    refusals_as_403,
    writes_limited,
)


@login_required
@refusals_as_403
@never_cache
@require_http_methods(["GET", "HEAD"])
def scheduled(request: HttpRequest, slug: str) -> HttpResponse:
    """The panel's list alone, for the script to redraw it in place."""
    event = _event_to_write(request, slug)
    return render(request, "editor/_scheduled_list.html", panel_context(request, event))


def _panel_url(event: Event) -> str:
    return reverse("editor:compose", args=[event.slug]) + "#scheduled-title"


@login_required
@writes_limited
@refusals_as_403
@require_POST
def scheduled_change(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _post_to_edit(request, event, post_id)
    form = ScheduleForm(request.POST, event=event)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect(_panel_url(event))
    data = form.cleaned_data
    try:
        changed = _apply(request, post, data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _done_message(data["action"], changed))
    return redirect(_panel_url(event))


def _apply(request: HttpRequest, post: Post, data: dict[str, Any]) -> Post:
    actor, version = request.user, data.get("version")
    if data["action"] == "reschedule":
        return services.post_reschedule(
            actor=actor, post=post, published_at=data["published_at"], expected_version=version
        )
    if data["action"] == "publish":
        return services.post_publish_now(actor=actor, post=post, expected_version=version)
    return services.post_unschedule(actor=actor, post=post, expected_version=version)


def _done_message(action: str, post: Post) -> str:
    if action == "reschedule":
        return f"Rescheduled: {scheduled_message(post)}"
    if action == "publish":
        return "Published."
    return "Schedule cancelled: the entry is a draft again."


@login_required
@refusals_as_403
@never_cache
@require_GET
def schedule_check(request: HttpRequest, slug: str) -> JsonResponse:
    """How the composer's primary button reads for the time typed: the time read exactly as
    the form reads it (EventTimeField), so the label and what publishing does agree."""
    event = _event_to_write(request, slug)
    field = EventTimeField(tz=event.tz, required=False)
    try:
        when = field.clean(request.GET.get("published_at", ""))
    except ValidationError as exc:
        return JsonResponse(
            {"schedule": False, "label": "Publish", "error": " ".join(exc.messages)}
        )
    if when is None or when <= timezone.now():
        return JsonResponse({"schedule": False, "label": "Publish"})
    post = Post(event=event, published_at=when)
    return JsonResponse({"schedule": True, "label": "Schedule", "message": scheduled_message(post)})
