from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from liveblog.blog.rendering import ALLOWED_TAGS, clock, markdown_to_html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def parsed(html: str):
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_clock_uses_the_event_timezone_and_newsroom_style():
    moment = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    assert clock(moment, ZoneInfo("Asia/Shanghai")) == "10:30 a.m."
    assert clock(datetime(2026, 11, 26, 4, 0, tzinfo=UTC), ZoneInfo("Asia/Shanghai")) == "noon"


def test_markdown_renders_links_and_escapes_raw_html():
    html = markdown_to_html("[site](https://example.org) and <img src=x onerror=alert(1)>")
    assert 'href="https://example.org"' in html
    assert [tag for tag, _ in parsed(html)] == ["p", "a"]


@given(st.text(max_size=400))
def test_no_markdown_input_produces_unsafe_markup(source):
    for tag, attrs in parsed(markdown_to_html(source)):
        assert tag in ALLOWED_TAGS
        for name, value in attrs:
            assert not name.startswith("on")
            assert not (value or "").strip().lower().startswith(("javascript:", "data:"))
