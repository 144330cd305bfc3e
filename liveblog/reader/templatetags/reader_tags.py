"""Template filters of the reader pages."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from liveblog.blog.models import Event, Post
from liveblog.blog.rendering import local_format
from liveblog.reader import fragments, summaries

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


@register.simple_tag
def entries(posts: "Post | list[Post] | None") -> SafeString:
    """`{% entries page.posts %}`: the entries' HTML, each from the entry cache when it can."""
    if posts is None:
        return mark_safe("")
    listed = [posts] if isinstance(posts, Post) else list(posts)
    return mark_safe("\n".join(fragments.rendered(listed)))  # noqa: S308 - rendered templates
