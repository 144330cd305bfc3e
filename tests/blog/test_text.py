"""clean_text: what every free-text field goes through on its way in."""

import re

from hypothesis import given
from hypothesis import strategies as st

from liveblog.blog.text import clean_text

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@given(st.text())
def test_cleaned_text_is_always_valid_xml_text_and_stays_clean(value):
    cleaned = clean_text(value)
    assert not XML_FORBIDDEN.search(cleaned)
    assert clean_text(cleaned) == cleaned


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]) | st.sampled_from("\t\n\r"))
)
def test_text_without_controls_is_kept_as_it_is(value):
    if "\ufffe" in value or "\uffff" in value:
        return
    assert clean_text(value) == value


def test_word_line_and_page_breaks_become_newlines():
    assert clean_text("one\x0btwo\x0cthree\x07") == "one\ntwo\nthree"
