from datetime import datetime

from django import template
from django.contrib.auth.models import AbstractBaseUser

from liveblog.blog.models import Event
from liveblog.blog.payloads import author_payload
from liveblog.blog.rendering import clock, local_format, local_time

register = template.Library()


@register.filter
def event_clock(value: datetime | None, event: Event) -> str:
    """`{{ post.published_at|event_clock:event }}` → '10:30 a.m.' in the event's zone."""
    if value is None:
        return ""
    return clock(value, event.tz)


@register.filter
def sort_key(value: datetime) -> str:
    """A string that orders entries like the stream does: published_at then id."""
    return f"{value.timestamp():.6f}"


@register.filter
def display_name(user: AbstractBaseUser) -> str:
    return author_payload(user)["display_name"]


@register.filter
def event_iso(value: datetime | None, event: Event) -> str:
    """ISO 8601 with the event zone's offset, for <time datetime>. (The `date` filter would
    convert back to the site zone first.)"""
    if value is None:
        return ""
    return local_time(value, event.tz).isoformat(timespec="seconds")


@register.filter
def event_date(value: datetime | None, event: Event) -> str:
    if value is None:
        return ""
    return local_format(value, event.tz, "N j, Y")
