"""Template filters of the reader pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from liveblog.blog.models import Post
from liveblog.blog.templatetags.liveblog_tags import event_day, event_day_label
from liveblog.reader import fragments, summaries

register = template.Library()


@register.filter
def excerpt(body_html: str, words: int = 12) -> str:
    return summaries.excerpt(body_html, words)


@register.simple_tag
def entries(posts: "Post | list[Post] | None", first_screen: bool = False) -> SafeString:
    """`{% entries page.posts %}`: the entries' HTML, each from the entry cache when it can;
    with `first_screen=True` (the pinned entry, on top), the first entries' photos load at
    once."""
    if posts is None:
        return mark_safe("")
    listed = [posts] if isinstance(posts, Post) else list(posts)
    eager = fragments.EAGER_ENTRIES if first_screen else 0
    html = fragments.rendered(listed, eager=eager)
    return mark_safe("\n".join(html))  # noqa: S308 - rendered templates


def date_line(post: Post) -> SafeString:
    day = event_day(post.published_at, post.event)
    return format_html(
        '<p class="date-line" data-day="{}"><time datetime="{}">{}</time></p>',
        day,
        day,
        event_day_label(post.published_at, post.event),
    )


@register.simple_tag
def stream_entries(posts: "list[Post]", first_screen: bool = False) -> SafeString:
    """`{% stream_entries page.posts %}`: the entries with a date line before the first
    entry of each day (in the event's zone, in stream order). live.js keeps them right as
    entries arrive, and for pages "load older" appends. With `first_screen=True` (the top of
    the page), the first entries' photos load at once."""
    listed = list(posts)
    html: list[str] = []
    previous = None
    eager = fragments.EAGER_ENTRIES if first_screen else 0
    rendered = fragments.rendered(listed, eager=eager)
    for post, fragment in zip(listed, rendered, strict=True):
        day = event_day(post.published_at, post.event)
        if day != previous:
            html.append(date_line(post))
            previous = day
        html.append(fragment)
    return mark_safe("\n".join(html))  # noqa: S308 - rendered templates and format_html
