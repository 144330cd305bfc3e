"""What "no content runs as script" means, checked on HTML as a browser parses it (html5lib
implements the WHATWG parsing algorithm, foreign content and all), not on strings.

`offences` lists everything in a document or fragment that could run script or change what
the page is; each finding is a sentence naming the element, for the test's message.
"""

import functools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

import html5lib

VECTORS_FILE = Path(__file__).with_name("xss_vectors.txt")

# Attributes whose value a browser follows as a URL (or, srcdoc, loads as a document).
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "srcdoc", "data", "poster",
    "background", "cite", "ping", "lowsrc", "dynsrc", "codebase", "srcset", "to", "from",
    "values", "longdesc", "manifest",
}  # fmt: skip
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
# Elements no content may bring: a page may have its own (counted against a clean page).
PAGE_LEVEL_TAGS = (
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "style",
    "link", "svg", "math", "meta-http-equiv", "template", "noscript",
)  # fmt: skip
# The URL parser's normalisation (https://url.spec.whatwg.org/#concept-basic-url-parser):
# leading and trailing C0 controls and spaces go, ASCII tab and newline go everywhere.
_EDGES = re.compile(r"^[\x00-\x20]+|[\x00-\x20]+$")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")


@dataclass(frozen=True)
class Vector:
    family: str
    text: str
    number: int = field(compare=False)

    @property
    def id(self) -> str:
        return f"{self.number:03d}-{self.family.replace(' ', '-')}"


def load_vectors() -> list[Vector]:
    vectors, family = [], ""
    for line in VECTORS_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            family = line[3:].strip()
        elif line.strip() and not line.startswith("# "):
            text = line.encode("latin-1", "backslashreplace").decode("unicode_escape")
            vectors.append(Vector(family, text, len(vectors) + 1))
    return vectors


def url_scheme(value: str) -> str:
    """The value as the URL parser sees it, lower-cased, for a scheme check."""
    return _TAB_NEWLINE.sub("", _EDGES.sub("", value)).lower()


def local(name: str) -> str:
    """`{namespace}tag` (html5lib's foreign elements) without its namespace."""
    return name.rsplit("}", 1)[-1].lower()


def attribute_name(name: str) -> str:
    if name.startswith("{http://www.w3.org/1999/xlink}"):
        return "xlink:" + local(name)
    return local(name)


def parse_document(html: str) -> Element:
    return html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)


def parse_fragment(html: str) -> Element:
    """A fragment as the live client inserts it: into a <div> of the page."""
    return html5lib.parseFragment(
        html, container="div", treebuilder="etree", namespaceHTMLElements=False
    )


def text_of(element: Element) -> str:
    return "".join(element.itertext())


def kind(element: Element) -> str:
    tag = local(str(element.tag))
    if tag == "meta" and any(local(n) == "http-equiv" for n in element.attrib):
        return "meta-http-equiv"
    return tag


def _own_script(element: Element) -> bool:
    """The page's own scripts: its module from /static/, its JSON-LD data block."""
    attrs = {local(n): v for n, v in element.attrib.items()}
    if attrs.get("type") == "application/ld+json":
        return set(attrs) <= {"type", "nonce"}
    return attrs.get("src", "").startswith("/static/") and not text_of(element).strip()


def offences(root: Element, *, page: bool = False) -> list[str]:
    """Everything under `root` that could run script. On a `page`, its own scripts are
    allowed; page-level tags are left to `page_level_counts` (a page has its own)."""
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # a comment
        tag = kind(element)
        if tag == "script" and not (page and _own_script(element)):
            found.append(f"a <script> {dict(element.attrib)!r}: {text_of(element)[:80]!r}")
        if not page and tag in PAGE_LEVEL_TAGS:
            found.append(f"a <{tag}> {dict(element.attrib)!r}")
        for raw_name, value in element.attrib.items():
            name = attribute_name(raw_name)
            if name.startswith("on"):
                found.append(f"<{tag} {name}={value!r}>: an event handler")
            elif name in URL_ATTRIBUTES and url_scheme(value).startswith(DANGEROUS_SCHEMES):
                found.append(f"<{tag} {name}={value!r}>: a script or data URL")
            elif name == "style" and ("url(" in value.lower() or "expression(" in value.lower()):
                found.append(f"<{tag} style={value!r}>: a style that loads")
    return found


def page_level_counts(root: Element) -> Counter[str]:
    return Counter(kind(e) for e in root.iter() if isinstance(e.tag, str))


@functools.lru_cache(maxsize=64)
def clean_page_level_counts(clean_html: str) -> Counter[str]:
    """The page-level tags of a page showing harmless content (asked for every vector)."""
    return page_level_counts(parse_document(clean_html))


def extra_page_level_tags(root: Element, clean_html: str) -> list[str]:
    """Page-level tags beyond those of the same page showing harmless content."""
    counts, allowed = page_level_counts(root), clean_page_level_counts(clean_html)
    return [
        f"{counts[tag] - allowed[tag]} <{tag}> more than the clean page"
        for tag in PAGE_LEVEL_TAGS
        if counts[tag] > allowed[tag]
    ]


# The page's own JSON-LD opening tag, with the CSP nonce the page gives every script.
_LD_OPEN = re.compile(
    r'<script (?:nonce="[A-Za-z0-9+/=_-]+" )?type="application/ld\+json">', re.IGNORECASE
)
_SCRIPT_END = re.compile(r"</script", re.IGNORECASE)


def json_ld_blocks(html: str, root: Element) -> tuple[list[object], list[str]]:
    """The page's JSON-LD, parsed, and what is wrong with its blocks. The raw text between
    the opening tag and the first `</script` must be the whole element as parsed (not closed
    early), hold no `<!--` or `<script` (which move the tokenizer into the escaped states, where
    `</script>` no longer ends it), and be JSON."""
    problems: list[str] = []
    raw_blocks = []
    for match in _LD_OPEN.finditer(html):
        end = _SCRIPT_END.search(html, match.end())
        raw_blocks.append(html[match.end() : end.start() if end else len(html)])
    parsed = [
        text_of(e) for e in root.iter("script") if e.attrib.get("type") == "application/ld+json"
    ]
    if len(parsed) != len(raw_blocks):
        problems.append(f"{len(raw_blocks)} JSON-LD openings but {len(parsed)} elements parsed")
    data = []
    for raw, text in zip(raw_blocks, parsed, strict=False):
        if raw != text:
            problems.append(f"JSON-LD closed early: {raw[:120]!r} parsed as {text[:120]!r}")
        for marker in ("<!--", "<script", "</script", "<"):
            if marker in raw.lower():
                problems.append(f"JSON-LD holds {marker!r}")
        try:
            data.append(json.loads(text))
        except ValueError as exc:
            problems.append(f"JSON-LD is not JSON: {exc}")
    return data, problems
