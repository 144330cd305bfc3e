"""Properties of the renderer and sanitiser (liveblog.blog.rendering.markdown_to_html), for
any text and for text built from the corpus' dangerous fragments, judged on the HTML as a
browser parses it (html5lib)."""

import nh3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveblog.blog import rendering
from liveblog.blog.rendering import ALLOWED_TAGS, markdown_to_html
from tests.security.html_checks import load_vectors, local, offences, parse_fragment

# Pieces of markup, URLs and Markdown that vectors are made of, besides whole vectors.
_PIECES = {
    "<", ">", '"', "'", "`", "&", "&#", "&#x", ";", "=", "/", "\\", " ", "\t", "\n",
    "\n\n", "\r", "\x0b", "\x01", "\x7f", "\u2028", "\u2029", "\u200b", "\ufeff",
    "javascript:", "JaVaScRiPt:", "vbscript:", "data:text/html,", "jav&#x09;ascript:",
    "&#106;", "&colon;", "alert(1)", "<!--", "-->", "]]>", "<![CDATA[", "</script>",
    "<script>", "<svg>", "<math>", "<mglyph>", "<style>", "</style>", "<noscript>",
    "<img src=x onerror=alert(1)>", " onerror=", " href=", "[", "]", "(", ")", "![",
    "](", "]: ", "[1]: ", "[1]", "*", "**", "_", "~~", "|", "---", "> ", "- ", "1. ",
    "```", "    ", "https://example.org/", "mailto:", "//", "#", "?", "%0a", "%3C",
    "https://youtu.be/dQw4w9WgXcQ", "https://x.com/a/status/1", ".pdf", "\n> — ", "\n> -- ",
}  # fmt: skip
FRAGMENTS = sorted({v.text for v in load_vectors()} | _PIECES)
dangerous_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=12
).map("".join)
any_text = st.one_of(st.text(max_size=300), dangerous_text)

PROPERTIES = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sanitise(html: str) -> str:
    """markdown_to_html's nh3 settings (tied to them by the test below)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=rendering.ALLOWED_ATTRIBUTES,
        allowed_classes=rendering.ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


def tree(html: str) -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    """What a browser builds: each element's name, attributes and own text."""
    return [
        (local(str(e.tag)), tuple(sorted(e.attrib.items())), e.text or "")
        for e in parse_fragment(html).iter()
        if isinstance(e.tag, str)
    ]


def serialise(html: str) -> str:
    import html5lib

    walker = html5lib.getTreeWalker("etree")
    serializer = html5lib.serializer.HTMLSerializer(omit_optional_tags=False)
    return serializer.render(walker(parse_fragment(html)))


@given(any_text)
@settings(max_examples=50, deadline=None)
def test_the_sanitiser_here_is_the_renderers(source):
    assert markdown_to_html(source) == sanitise(rendering._markdown.render(source))


@given(any_text)
@PROPERTIES
def test_rendered_text_never_carries_script(source):
    html = markdown_to_html(source)
    root = parse_fragment(html)
    assert not offences(root)
    assert {local(str(e.tag)) for e in root.iter() if isinstance(e.tag, str)} <= {
        "document_fragment",  # html5lib's root of a fragment
        *ALLOWED_TAGS,
    }


@given(any_text)
@PROPERTIES
def test_rendering_is_deterministic(source):
    assert markdown_to_html(source) == markdown_to_html(source)


@given(any_text)
@PROPERTIES
def test_the_output_is_a_fixed_point_of_the_sanitiser_and_of_the_browser(source):
    """No mutation XSS: what a browser builds from the output, serialised and sanitised
    again, is what it built the first time (nothing grows or changes meaning)."""
    html = markdown_to_html(source)
    assert sanitise(html) == html
    again = sanitise(serialise(html))
    assert tree(again) == tree(html)
    assert not offences(parse_fragment(serialise(html)))


@given(any_text)
@PROPERTIES
def test_the_output_typed_again_as_a_body_is_still_inert(source):
    """A reporter pasting rendered HTML (or its text) back into an entry."""
    html = markdown_to_html(source)
    for again in (markdown_to_html(html), markdown_to_html(rendering.plain_text(html))):
        assert not offences(parse_fragment(again))
        assert markdown_to_html(again) == markdown_to_html(again)
