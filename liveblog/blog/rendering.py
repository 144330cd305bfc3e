"""Markdown to safe HTML, and times in an event's zone.

markdown-it-py renders CommonMark; nh3 (ammonia) then removes anything not on the
allow-list, so script in a body can never reach a reader whatever the renderer lets through.
An image from another site is rendered as a link to it: readers' browsers fetch nothing from
hosts the newsroom does not control (no tracking pixel), and the Content-Security-Policy's
`img-src` would refuse it anyway.
"""

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import nh3
from django.conf import settings
from django.utils import dateformat
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_markdown.enable(["table", "strikethrough"])


def _served_here(src: str) -> bool:
    """A path on this site, or an origin settings.LIVEBLOG_IMAGE_ORIGINS names (the same
    list the policy's img-src carries)."""
    parts = urlsplit(src)
    if not parts.scheme and not parts.netloc:
        return not src.startswith(("//", "/\\", "\\"))
    return f"{parts.scheme}://{parts.netloc}".lower() in settings.LIVEBLOG_IMAGE_ORIGINS


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if _served_here(src):
        return str(self.image(tokens, idx, options, env))
    text = self.renderInlineAsText(token.children or [], options, env) or src
    opened = sum(t.nesting for t in tokens[:idx] if t.type in ("link_open", "link_close"))
    if opened > 0:  # inside a link already: its text, since links do not nest
        return str(escapeHtml(text))
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{title_attr}>{escapeHtml(text)}</a>'


_markdown.add_render_rule("image", _image)

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
