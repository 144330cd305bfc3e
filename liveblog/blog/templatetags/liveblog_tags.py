from datetime import datetime

from django import template

from liveblog.blog.models import Event
from liveblog.blog.rendering import clock

register = template.Library()


@register.filter
def event_clock(value: datetime | None, event: Event) -> str:
    """`{{ post.published_at|event_clock:event }}` → '10:30 a.m.' in the event's zone."""
    if value is None:
        return ""
    return clock(value, event.tz)


@register.filter
def event_local(value: datetime | None, event: Event) -> datetime | None:
    return value.astimezone(event.tz) if value else None


@register.filter
def sort_key(value: datetime) -> str:
    """A string that orders entries like the stream does: published_at then id."""
    return f"{value.timestamp():.6f}"


@register.filter
def display_name(user: object) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return full or getattr(user, "get_username", lambda: "")()
