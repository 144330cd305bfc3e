"""Markdown to safe HTML, and times in an event's zone.

markdown-it-py renders CommonMark; nh3 (ammonia) then removes anything not on the
allow-list, so script in a body can never reach a reader whatever the renderer lets through.
"""

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

import nh3
from django.utils import dateformat
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_markdown.enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}


def markdown_to_html(source: str) -> str:
    html = _markdown.render(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


def plain_text(html: str) -> str:
    if len(html) <= _PLAIN_MEMO_MAX:
        return _plain_text_memo(html)
    return _plain_text(html)


def _plain_text(html: str) -> str:
    return " ".join(nh3.clean(html, tags=set()).split())


# A page asks the same entries' text several times (JSON-LD, summaries, key events).
_PLAIN_MEMO_MAX = 4000
_plain_text_memo = functools.lru_cache(maxsize=4096)(_plain_text)


def local_time(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def local_format(value: datetime, tz: ZoneInfo, fmt: str) -> str:
    return dateformat.format(local_time(value, tz), fmt)


def clock(value: datetime, tz: ZoneInfo) -> str:
    """The time as a newsroom writes it: '10:30 a.m.', 'noon' (Django's `P` format)."""
    return local_format(value, tz, "P")
