"""Markdown to safe HTML, and times in an event's zone.

markdown-it-py renders CommonMark; nh3 (ammonia) then removes anything not on the
allow-list, so script in a body can never reach a reader whatever the renderer lets through.
An image from another site is rendered as a link to it: readers' browsers fetch nothing from
hosts the newsroom does not control (no tracking pixel), and the Content-Security-Policy's
`img-src` would refuse it anyway.

A URL alone on its line becomes a card (liveblog/blog/embeds.py knows the providers) that
loads nothing from another site until the reader clicks it; a blockquote ending with
"— Speaker" is a quote with its speaker. See "Embeds and link cards" and "Quotes".

A render costs a bounded amount of work (issue 14, reproduction 7): see "The work budget".
"""

import functools
import html as html_lib
import logging
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import nh3
from django.conf import settings
from django.utils import dateformat
from django.utils.html import format_html
from markdown_it import MarkdownIt, helpers
from markdown_it.common.utils import escapeHtml
from markdown_it.ruler import Ruler
from markdown_it.token import Token

from liveblog.blog import embeds

logger = logging.getLogger(__name__)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": True})
_markdown.enable(["table", "strikethrough", "linkify"])
# Only addresses written with their scheme become links: "node.js" or "a@b.c" in prose stay text.
assert _markdown.linkify is not None, "linkify-it-py is a dependency (pyproject.toml)"
_markdown.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


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
    if _inside_link(tokens, idx, env):  # its text, since links do not nest
        return str(escapeHtml(text))
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{title_attr}>{escapeHtml(text)}</a>'


def _inside_link(tokens: Sequence[Token], idx: int, env: Any) -> bool:
    """The link depths of an inline's tokens are counted once per render (in its env): a
    count per image was quadratic, 0.24 s of 0.57 for 2,500 images (issue 14, repro. 7)."""
    depths = env.setdefault("link_depths", {})
    if id(tokens) not in depths:
        depth, before = 0, []
        for t in tokens:
            before.append(depth)
            if t.type in ("link_open", "link_close"):
                depth += t.nesting
        depths[id(tokens)] = before
    return bool(depths[id(tokens)][idx] > 0)


_markdown.add_render_rule("image", _image)


# --- Quotes with a speaker --------------------------------------------------------------
#
# A blockquote whose last line starts with "— " or "-- " is a quote and its speaker:
# <figure class="quote"><blockquote>…</blockquote><figcaption>speaker</figcaption></figure>.
# It runs after the inline parse (children exist) and before the typographer turns "--"
# into a dash. One pass over the tokens, then one rebuild: nested quotes stay linear.

_ATTRIBUTION = re.compile(r"(?:—|--) +")


def _attribution(inline: Token) -> list[Token] | None:
    """The last line's tokens, when that line is an attribution (its dash removed): they are
    cut from `inline`. None, and `inline` untouched, otherwise."""
    children = inline.children or []
    breaks = [i for i, t in enumerate(children) if t.type in ("softbreak", "hardbreak")]
    first = breaks[-1] + 1 if breaks else 0
    if first >= len(children) or children[first].type != "text":
        return None
    marker = _ATTRIBUTION.match(children[first].content)
    if marker is None:
        return None
    line = children[first:]
    line[0] = line[0].copy(content=line[0].content[marker.end() :])
    if not "".join(t.content for t in line).strip():
        return None
    inline.children = children[: breaks[-1]] if breaks else []
    return line


def _quote_attributions(state: Any) -> None:
    tokens: list[Token] = state.tokens
    captions: dict[int, tuple[int, Token]] = {}  # a blockquote's close → (its open, caption)
    opened: list[int] = []
    for i, token in enumerate(tokens):
        if token.type == "blockquote_open":
            opened.append(i)
        elif token.type == "blockquote_close" and opened:
            start = opened.pop()
            caption = _caption(tokens, start, i)
            if caption is not None:
                captions[i] = (start, caption)
    if captions:
        state.tokens = _with_captions(tokens, captions)


def _caption(tokens: list[Token], start: int, close: int) -> Token | None:
    """The figcaption's inline token of the blockquote tokens[start:close + 1], if any."""
    if close - start < 4 or tokens[close - 1].type != "paragraph_close":
        return None
    inline = tokens[close - 2]
    alone = not any(t.type in ("softbreak", "hardbreak") for t in inline.children or [])
    if alone and close - 3 == start + 1:  # nothing quoted but the attribution
        return None
    line = _attribution(inline)
    if line is None:
        return None
    caption = Token("inline", "", 0, children=line, level=tokens[start].level + 1)
    caption.content = "".join(t.content for t in line)
    return caption


def _with_captions(tokens: list[Token], captions: dict[int, tuple[int, Token]]) -> list[Token]:
    starts = {start for start, _ in captions.values()}
    emptied = {
        i for close in captions for i in range(close - 3, close) if not tokens[close - 2].children
    }
    rebuilt: list[Token] = []
    for i, token in enumerate(tokens):
        if i in starts:
            rebuilt.append(Token("figure_open", "figure", 1, attrs={"class": "quote"}))
        if i not in emptied:
            rebuilt.append(token)
        if i in captions:
            rebuilt.append(Token("figcaption_open", "figcaption", 1))
            rebuilt.append(captions[i][1])
            rebuilt.append(Token("figcaption_close", "figcaption", -1))
            rebuilt.append(Token("figure_close", "figure", -1))
    return rebuilt


_markdown.core.ruler.after("inline", "quote_attributions", _quote_attributions)


# --- Embeds and link cards --------------------------------------------------------------
#
# A top-level paragraph that is one bare URL (linkified or an <autolink>) becomes a card:
# a click-to-load embed for the providers of liveblog/blog/embeds.py, else a link card.
# A card is written from the registry's validated parts, every one escaped, and then goes
# through nh3 like the rest: its allow-list names exactly the card's tags, attributes and
# classes (ALLOWED_ATTRIBUTES, ALLOWED_CLASSES), so no body gets more than a card has.

# Recognising a URL and writing its card: 110-270 Python calls (a split, a query parse, a
# few patterns, format_html), where a step of prose is about 7 calls.
EMBED_STEPS = 40


def _bare_url(tokens: list[Token], i: int) -> str | None:
    if not (tokens[i].type == "paragraph_open" and tokens[i].level == 0):
        return None
    children = tokens[i + 1].children or []
    if len(children) != 3 or children[0].markup not in ("linkify", "autolink"):
        return None
    return str(children[0].attrGet("href") or "")


def _embed_cards(state: Any) -> None:
    tokens: list[Token] = state.tokens
    rebuilt: list[Token] = []
    i = 0
    while i < len(tokens):
        url = _bare_url(tokens, i) if i + 2 < len(tokens) else None
        card = _recognised(url) if url else None
        if card is None:
            rebuilt.append(tokens[i])
            i += 1
            continue
        rebuilt.append(Token("embed_card", "", 0, meta={"card": card}, map=tokens[i].map))
        i += 3
    state.tokens = rebuilt


def _recognised(url: str) -> embeds.Embed | embeds.LinkCard | None:
    _spend(EMBED_STEPS)
    return embeds.recognise(url, mastodon_instances=settings.LIVEBLOG_EMBED_MASTODON_INSTANCES)


_markdown.core.ruler.after("linkify", "embed_cards", _embed_cards)


def _render_card(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    card = tokens[idx].meta["card"]
    html = _embed_html(card) if isinstance(card, embeds.Embed) else _link_card_html(card)
    return html + "\n"


_markdown.add_render_rule("embed_card", _render_card)

LINK_REL = "noopener noreferrer nofollow"


def _embed_html(embed: embeds.Embed) -> str:
    provider = embed.provider
    return format_html(
        '<figure class="embed embed--{key}" data-embed="{frame}" data-embed-title="{title}"'
        ' data-embed-shape="{shape}"><div class="embed__placeholder" data-embed-placeholder>'
        '<button type="button" class="embed__load" data-embed-load hidden>'
        "Load the {noun} from {name}</button>"
        '<small class="embed__note">{privacy}</small></div>'
        '<figcaption class="embed__source"><span class="embed__provider">{name}</span> '
        '<a href="{url}">{url}</a></figcaption></figure>',
        key=provider.key,
        frame=embed.frame_url,
        title=embed.title,
        shape=embed.shape,
        noun=provider.noun,
        name=provider.name,
        privacy=provider.privacy,
        url=embed.url,
    )


def _link_card_html(card: embeds.LinkCard) -> str:
    kind = format_html('<span class="link-card__kind">{}</span> ', "PDF") if card.is_pdf else ""
    return format_html(
        '<p class="link-card{modifier}"><a class="link-card__link" href="{url}">'
        '{kind}<span class="link-card__host">{host}</span>'
        '<span class="link-card__path">{path}</span></a></p>',
        modifier=" link-card--pdf" if card.is_pdf else "",
        url=card.url,
        kind=kind,
        host=card.host,
        path=card.path,
    )


ALLOWED_TAGS = {
    "figure", "figcaption", "div", "button", "small", "span",  # quotes and cards only
    "p", "br", "hr", "strong", "em", "b", "i", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    # An embed's card, and nothing else has these (see Embeds and link cards).
    "figure": {"data-embed", "data-embed-title", "data-embed-shape"},
    "div": {"data-embed-placeholder"},
    "button": {"type", "data-embed-load", "hidden"},
}
# Classes are filtered value by value: a body's Markdown cannot produce one, and a card or a
# quote only these.
ALLOWED_CLASSES = {
    "figure": {"quote", "embed", "embed--mastodon", *(f"embed--{p.key}" for p in embeds.PROVIDERS)},
    "div": {"embed__placeholder"},
    "button": {"embed__load"},
    "small": {"embed__note"},
    "figcaption": {"embed__source"},
    "span": {"embed__provider", "link-card__kind", "link-card__host", "link-card__path"},
    "p": {"link-card", "link-card--pdf"},
    "a": {"link-card__link"},
}


def markdown_to_html(source: str) -> str:
    html = _render_within_budget(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
    ).strip()


# Where no script runs (a feed reader), a card's button could never load anything, and its
# note would speak of a button that is not there: the card is its provider and its link.
_CONTROLS = {"button", "small"}
_NO_CONTROL_ATTRIBUTES = {k: v for k, v in ALLOWED_ATTRIBUTES.items() if k not in _CONTROLS}
_NO_CONTROL_CLASSES = {k: v for k, v in ALLOWED_CLASSES.items() if k not in _CONTROLS}
# What blog/_content.html writes around a body (photos as figures, the Breaking and Updated
# marks): kept when the whole entry is cleaned again for a feed.
_ENTRY_TAGS = {"time"}
_ENTRY_ATTRIBUTES = {"img": {"srcset", "sizes", "width", "height"}, "time": {"datetime", "title"}}
_ENTRY_CLASSES = {
    "div": {"entry__body"},
    "figure": {"entry__image"},
    "span": {"entry__caption", "entry__credit"},
    "p": {"entry__breaking", "entry__updated"},
}


def _merged(*allowed: dict[str, set[str]]) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for one in allowed:
        for tag, names in one.items():
            merged[tag] = merged.get(tag, set()) | names
    return merged


def without_embed_controls(html: str, *, base: str | None = None) -> str:
    """`html` (a body, or a whole blog/_content.html) for a reader with no script. With
    `base` (an absolute URL), every relative address in it is resolved against it: nh3's
    url_relative (ammonia's rewrite_with_base) knows the URL attributes and resolves as a
    browser does. srcset is not one of them: blog/_images.html writes it absolute."""
    return nh3.clean(
        html,
        tags=(ALLOWED_TAGS - _CONTROLS) | _ENTRY_TAGS,
        clean_content_tags=_CONTROLS,
        attributes=_merged(_NO_CONTROL_ATTRIBUTES, _ENTRY_ATTRIBUTES),
        allowed_classes=_merged(_NO_CONTROL_CLASSES, _ENTRY_CLASSES),
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        url_relative=("rewrite_with_base", base) if base else None,
    )


# --- The work budget --------------------------------------------------------------------
#
# markdown-it-py is linear on every input we tried, but its constant depends on the input's
# shape: prose is consumed a run of text per step, while a body made only of markup
# characters ("![" * 25000, "*a" * 25000, 8,000 one-letter table rows) costs a Python rule
# call or a token or more per character: up to 35x the CPU of 50,000 characters of prose
# (bench/RESULTS.md, "Pathological Markdown"). So a render may take WORK_PER_CHAR steps per
# character of its source; a step is one call of any parser rule (block, inline,
# post-processing), half a token made, 16 characters scanned for a link destination (the one
# scan not made of rule calls) or of a link's URL written out, or 1/LINK_STEPS of a URL
# normalised. A body that runs out,
# or whose output would exceed MAX_OUTPUT_CHARS (a reference used 16,000 times expands to
# 16 MB), is shown as what it is: its text, escaped, in paragraphs. Counting steps rather
# than time keeps the outcome the same on every machine and on every re-render.

# Prose takes about 0.7 steps a character; the densest real entries we wrote (a list of
# 700 links, bold quotes with code and links, a 900-row results table) 1.2, 1.9 and 2.4.
WORK_PER_CHAR = 3
WORK_MIN = 2_000
DESTINATION_CHARS_PER_STEP = 16
TOKEN_STEPS = 2
MAX_TABLE_ROWS = 1_000
MAX_TABLE_CELLS = 8_000  # the 900-row, 5-column results table of the tests: 4,500
LINK_STEPS = 32  # normalising a URL (mdurl's parse and encode) costs as much as 32 steps
# Characters of text and attribute values the parsed entry holds, and of rendered markup.
MAX_OUTPUT_CHARS = 4 * settings.LIVEBLOG_MAX_BODY_CHARS
MAX_HTML_CHARS = 10 * settings.LIVEBLOG_MAX_BODY_CHARS


class _OverBudget(Exception):
    pass


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: float) -> None:
        self.left = left


# Set by markdown_to_html for one render (a contextvar keeps threads and tasks apart);
# unlimited outside it.
_budget: ContextVar[_Budget | None] = ContextVar("markdown_budget", default=None)


def _spend(units: float) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.left -= units
    if budget.left < 0:
        raise _OverBudget


def _counted(rule: Callable[..., Any]) -> Callable[..., Any]:
    """A call of the rule is a step, and each token it adds two (a token is made, then
    post-processed, rendered and sanitised: about twice a rule call's CPU). This runs once
    per step: it costs prose 30-40 % (bench/RESULTS.md)."""

    def counted(state: Any, *args: Any) -> Any:
        tokens = state.tokens  # the one list a parse appends to
        before = len(tokens)
        result = rule(state, *args)
        budget = _budget.get()
        if budget is not None:
            grown = len(tokens) - before
            left = budget.left - (1 + TOKEN_STEPS * grown if grown > 0 else 1)
            budget.left = left
            if left < 0:
                raise _OverBudget
        return result

    return counted


def _counted_link(normalize: Callable[[str], str]) -> Callable[[str], str]:
    def counted(url: str) -> str:
        _spend(LINK_STEPS)
        return normalize(url)

    return counted


_DESTINATION_END = re.compile(r"[\x00-\x20\x7f]")


def _counted_destination(string: str, pos: int, maximum: int) -> Any:
    """Charged, before it scans, for the run it may scan (up to the next space): so the
    search here, like the scan, reads at most DESTINATION_CHARS_PER_STEP per step."""
    end = _DESTINATION_END.search(string, pos, maximum)
    _spend(((end.start() if end else maximum) - pos) / DESTINATION_CHARS_PER_STEP)
    return helpers.parseLinkDestination(string, pos, maximum)


def _table_cells(state: Any, start: int, end: int) -> int:
    """An upper bound of the cells of a table starting at line `start`: its rows (to the
    next blank line) times the header row's columns. Cheap: a look at each line's ends."""
    src, begins, shifts, ends = state.src, state.bMarks, state.tShift, state.eMarks
    header = src[begins[start] + shifts[start] : ends[start]]
    rows = 0
    for line in range(start, end):
        if begins[line] + shifts[line] >= ends[line]:
            break
        rows += 1
    return rows * (header.count("|") + 1)


def _bounded_table(rule: Callable[..., Any]) -> Callable[..., Any]:
    """The table rule makes all of a table's tokens in one call, splitting each row a
    character at a time in one frame (no rule call to count): it may only see MAX_TABLE_ROWS
    rows of at most MAX_TABLE_CELLS cells, checked before it starts, and a larger table
    makes the entry text (review finding: 40 empty columns by 1,200 rows cost 19.7 times prose)."""

    def table(state: Any, start: int, end: int, silent: bool) -> Any:
        limit = start + 2 + MAX_TABLE_ROWS  # the header and delimiter rows, then the body
        if "|" in state.src[state.bMarks[start] : state.eMarks[start]] and (
            _table_cells(state, start, min(end, limit)) > MAX_TABLE_CELLS
        ):
            raise _OverBudget
        found = rule(state, start, min(end, limit), silent)
        if found and not silent and end > limit and state.line >= limit:
            raise _OverBudget
        return found

    return table


def _charged_for_targets(rule: Callable[[Any, bool], bool]) -> Callable[[Any, bool], bool]:
    """A link or an image also costs its URL and title, as DESTINATION_CHARS_PER_STEP: a
    reference's URL is parsed once but written out at every use of it."""

    def charged(state: Any, silent: bool) -> bool:
        before = len(state.tokens)
        found = rule(state, silent)
        if found and not silent:
            for token in state.tokens[before:]:
                if token.attrs:
                    chars = sum(len(str(value)) for value in token.attrs.values())
                    _spend(chars / DESTINATION_CHARS_PER_STEP)
        return found

    return charged


def _charged_for_text(rule: Callable[[Any], None]) -> Callable[[Any], None]:
    """linkify scans every inline's text with linkify-it's patterns in one call: it costs
    that text, as DESTINATION_CHARS_PER_STEP (each link it makes is charged when normalised)."""

    def charged(state: Any) -> None:
        chars = sum(len(t.content) for t in state.tokens if t.type == "inline")
        _spend(chars / DESTINATION_CHARS_PER_STEP)
        rule(state)

    return charged


def _count_work(md: MarkdownIt) -> None:
    """Every rule of every chain counts a step. Ruler.at is public; reading the current
    rules needs Ruler.__rules__ (no public getter for a rule's function): the corpus in
    tests/blog/test_rendering.py fails if an upgrade stops the counting."""
    table = md.block.ruler.__rules__[md.block.ruler.__find__("table")]
    md.block.ruler.at("table", _bounded_table(table.fn), {"alt": list(table.alt)})
    for name in ("link", "image"):
        rule = md.inline.ruler.__rules__[md.inline.ruler.__find__(name)]
        md.inline.ruler.at(name, _charged_for_targets(rule.fn), {"alt": list(rule.alt)})
    linkify = md.core.ruler.__rules__[md.core.ruler.__find__("linkify")]
    md.core.ruler.at("linkify", _charged_for_text(linkify.fn), {"alt": list(linkify.alt)})
    rulers: tuple[Ruler[Any], ...] = (
        md.core.ruler,
        md.block.ruler,
        md.inline.ruler,
        md.inline.ruler2,
    )
    for ruler in rulers:
        for rule in list(ruler.__rules__):
            ruler.at(rule.name, _counted(rule.fn), {"alt": list(rule.alt)})
    # md.helpers is the module; the rules look its functions up through it on each call.
    md.helpers = SimpleNamespace(  # type: ignore[assignment]
        parseLinkLabel=helpers.parseLinkLabel,
        parseLinkDestination=_counted_destination,
        parseLinkTitle=helpers.parseLinkTitle,
    )
    md.normalizeLink = _counted_link(md.normalizeLink)  # type: ignore[method-assign,assignment]
    md.normalizeLinkText = _counted_link(md.normalizeLinkText)  # type: ignore[method-assign,assignment]


_count_work(_markdown)


def _render_within_budget(source: str) -> str:
    reset = _budget.set(_Budget(WORK_MIN + WORK_PER_CHAR * len(source)))
    env: dict[str, Any] = {}
    try:
        tokens = _markdown.parse(source, env)
        if _output_chars(tokens) <= MAX_OUTPUT_CHARS:
            rendered = _markdown.renderer.render(tokens, _markdown.options, env)
            if len(rendered) <= MAX_HTML_CHARS:
                return rendered
        reason = "its output is too large"
    except _OverBudget:
        reason = "it needs too much work"
    finally:
        _budget.reset(reset)
    logger.warning("Markdown of %s characters shown as text: %s.", len(source), reason)
    return _as_text(source)


def _output_chars(tokens: Sequence[Token]) -> int:
    total = 0
    for token in tokens:
        for part in token.children if token.children is not None else (token,):
            total += len(part.content)
            if part.attrs:
                total += sum(len(str(value)) for value in part.attrs.values())
    return total


_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def _as_text(source: str) -> str:
    """The body as typed, in linear time: paragraphs at blank lines, line breaks kept."""
    paragraphs = (part.strip() for part in _BLANK_LINES.split(source))
    return "\n".join(
        "<p>" + html_lib.escape(part, quote=False).replace("\n", "<br>\n") + "</p>"
        for part in paragraphs
        if part
    )


# --- Plain text and times ---------------------------------------------------------------


def plain_text(html: str) -> str:
    if len(html) <= _PLAIN_MEMO_MAX:
        return _plain_text_memo(html)
    return _plain_text(html)


# An embed's button and privacy note are no words of the entry: its text is the provider
# and the link.
_NOT_TEXT = {"script", "style", "button", "small"}


def _plain_text(html: str) -> str:
    return " ".join(nh3.clean(html, tags=set(), clean_content_tags=_NOT_TEXT).split())


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
