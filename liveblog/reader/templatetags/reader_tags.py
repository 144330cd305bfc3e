"""Template filters of the reader pages."""

from datetime import datetime

from django import template
from django.utils import timezone

from liveblog.blog.models import Event
from liveblog.blog.rendering import local_format
from liveblog.reader import summaries

register = template.Library()


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
def excerpt(body_html: str, words: int = 12) -> str:
    return summaries.excerpt(body_html, words)
