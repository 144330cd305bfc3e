"""What the editor shows of scheduled entries: when each goes out, in the event's own zone,
and the composer's Scheduled panel (templates/editor/_scheduled.html)."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from liveblog.blog import permissions, selectors
from liveblog.blog.models import Event, Post
from liveblog.blog.rendering import clock, local_format
from liveblog.editor.forms import SHOWN_FORMAT


def scheduled_when(post: Post) -> str:
    """'4:30 p.m.' today (in the event's zone), 'Tue 2 Dec, 4:30 p.m.' another day."""
    tz = post.event.tz
    at = clock(post.published_at, tz)
    if timezone.localdate(post.published_at, tz) == timezone.localdate(timezone=tz):
        return at
    return f"{local_format(post.published_at, tz, 'D j M')}, {at}"


def scheduled_message(post: Post) -> str:
    return f"Scheduled for {scheduled_when(post)}."


def panel_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    """What templates/editor/_scheduled.html shows (the composer's context adds it)."""
    posts = selectors.scheduled_for_editor(event, request.user)
    now = timezone.now()
    tz = event.tz
    rows = [
        {
            "post": post,
            "when": scheduled_when(post),
            "time_value": timezone.localtime(post.published_at, tz).strftime(SHOWN_FORMAT),
            "held": event.status == Event.Status.ENDED,
            "overdue": post.published_at <= now,
        }
        for post in posts
    ]
    moderator = permissions.can_moderate(request.user, event)
    return {"event": event, "scheduled": rows, "moderator": moderator}
