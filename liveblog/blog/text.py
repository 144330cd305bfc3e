"""Text as people paste it, made safe to store and to publish everywhere.

A paste from a word processor carries control characters: Word's line break is a vertical
tab (\\x0b), its page break a form feed (\\x0c), and stray C0/C1 controls come along. XML 1.0
(the Atom feed, the sitemap) cannot hold them, PostgreSQL cannot store NUL, and none of them
is anything a reader should receive. Tabs, newlines and carriage returns are kept.
"""

import re

# XML 1.0's forbidden characters (C0 but tab/LF/CR, U+FFFE, U+FFFF) and the invisible C1
# controls (DEL, U+0080-U+009F) that no newsroom means to publish.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_BREAK = re.compile("[\x0b\x0c]")  # Word's line and page breaks


def clean_text(value: str) -> str:
    """`value` without control characters; line and page breaks become newlines."""
    return _CONTROL.sub("", _BREAK.sub("\n", value))
