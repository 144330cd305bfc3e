"""Entries as plain text: for titles, descriptions, feeds and structured data."""

import html

from django.utils.text import Truncator
from django.utils.translation import gettext as _

from liveblog.blog.models import Event, Post
from liveblog.blog.rendering import clock, plain_text


def text(body_html: str) -> str:
    """The entry's words, unescaped: `plain_text` keeps HTML entities (`&amp;`), which are
    right inside HTML but wrong in JSON-LD, feed titles and attributes escaped again."""
    return html.unescape(plain_text(body_html))


def excerpt(body_html: str, words: int = 30) -> str:
    return Truncator(text(body_html)).words(words, truncate="…")


def entry_title(post: Post, event: Event) -> str:
    """The headline, or else the time and the first words (SPEC §5)."""
    if post.headline:
        return post.headline
    return _("%(time)s — %(words)s") % {
        "time": clock(post.published_at, event.tz),
        "words": excerpt(post.body_html, 12),
    }
