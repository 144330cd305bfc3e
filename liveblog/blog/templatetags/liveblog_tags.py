"""Template filters of the domain's own templates (templates/blog/: an entry, the event's
header), which the pages, the editor and the live frames all render."""

from datetime import datetime

from django import template
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

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


@register.filter
def zone_label(event: Event) -> str:
    """'Asia/Shanghai (UTC+08:00)': the zone the page's times are in, with its offset now."""
    offset = timezone.now().astimezone(event.tz).strftime("%z")
    place = event.timezone.replace("_", " ")
    return f"{place} (UTC{offset[:3]}:{offset[3:]})"


@register.filter
def event_datetime(value: datetime | None, event: Event) -> str:
    """The full date and time in the event's zone, for a `title`: 'Nov. 26, 2026, 10:30 a.m.'."""
    if value is None:
        return ""
    return local_format(value, event.tz, "N j, Y, P")


@register.filter
def event_day(value: datetime | None, event: Event) -> str:
    """The day in the event's zone, '2026-12-01': the key of a date line."""
    if value is None:
        return ""
    return local_time(value, event.tz).date().isoformat()


@register.filter
def event_day_label(value: datetime | None, event: Event) -> str:
    """'Tuesday 1 December' in the event's zone: a date line's text (live.js builds the same
    words for a day it has no line for)."""
    if value is None:
        return ""
    return local_format(value, event.tz, "l j F")


@register.filter
def event_full_date(value: datetime | None, event: Event) -> str:
    """'Tuesday 1 December 2026' in the event's zone: a permalink's date."""
    if value is None:
        return ""
    return local_format(value, event.tz, "l j F Y")
