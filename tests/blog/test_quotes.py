"""Quotes with a speaker (liveblog/blog/rendering.py): a blockquote whose last line starts
with "— " or "-- " is a figure with the quote and its speaker; any other blockquote, and
speech written as prose, stays what it was."""

import html5lib
import pytest

from liveblog.blog.rendering import markdown_to_html


def parsed(source: str):
    return html5lib.parseFragment(markdown_to_html(source), namespaceHTMLElements=False)


@pytest.mark.parametrize("dash", ["—", "--"])
def test_a_blockquote_ending_with_an_attribution_is_a_quote_with_its_speaker(dash):
    html = markdown_to_html(f"> We will open the economy wider.\n> {dash} President Xi Jinping")

    assert html == (
        '<figure class="quote"><blockquote>\n<p>We will open the economy wider.</p>\n'
        "</blockquote>\n<figcaption>President Xi Jinping</figcaption></figure>"
    )


def test_a_quote_of_several_paragraphs_keeps_them_all():
    root = parsed("> First point.\n>\n> Second point,\n> on two lines.\n>\n> — Liu Yunshan")

    (figure,) = root.findall("figure")
    paragraphs = ["".join(p.itertext()) for p in figure.findall("blockquote/p")]
    assert paragraphs == ["First point.", "Second point,\non two lines."]
    assert figure.find("figcaption").text == "Liu Yunshan"


def test_the_speaker_may_carry_markdown():
    root = parsed("> Open wider.\n> -- *Xi Jinping*, [opening speech](https://example.org/s)")

    caption = root.find("figure/figcaption")
    assert caption.find("em").text == "Xi Jinping"
    assert caption.find("a").get("href") == "https://example.org/s"


@pytest.mark.parametrize(
    "source",
    [
        "> We will open the economy wider.",
        "> — President Xi Jinping",
        "> —\n> nothing after the dash",
        "> Wider -- said the president.",
        "> Open wider.\n> —President Xi",
    ],
)
def test_a_blockquote_without_an_attribution_line_stays_a_blockquote(source):
    root = parsed(source)

    assert root.findall("figure") == []
    assert len(root.findall("blockquote")) == 1


def test_speech_written_as_prose_is_not_made_a_quote():
    root = parsed("Liu Yunshan: the reforms will go on.")

    assert root.findall(".//figure") == [] and root.findall(".//blockquote") == []
    assert root.find("p").text == "Liu Yunshan: the reforms will go on."


def test_a_quote_inside_a_quote_gets_its_own_speaker():
    root = parsed("> > Inner words.\n> > — Inner speaker\n>\n> Outer words.\n> — Outer speaker")

    outer = root.find("figure")
    assert outer.find("figcaption").text == "Outer speaker"
    assert outer.find("blockquote/figure/figcaption").text == "Inner speaker"


def test_a_quote_in_a_list_item_is_a_quote_too():
    root = parsed("- > Words.\n  > — Speaker")

    assert root.find("ul/li/figure/figcaption").text == "Speaker"
