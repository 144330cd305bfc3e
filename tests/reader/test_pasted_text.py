"""Text pasted from a word processor carries control characters (Word's line break is a
vertical tab, \\x0b). XML 1.0 cannot hold them: one such character in a body, a headline or
an event's summary made `/events/<slug>/feed/` answer 500 for everyone (issue 14,
reproduction 4). They are cleaned where text comes in (the services, whichever way it came:
the API, the editor, the admin), newlines and tabs kept, and every output stays whole."""

import json
import re

import extruct
import feedparser
import pytest
from django.test import Client

from liveblog.blog import services
from liveblog.blog.models import Change
from tests.factories import AdminFactory, EventFactory, MembershipFactory

# Every character XML 1.0 refuses, and a few it allows but no newsroom means to publish.
PASTED = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
PASTED += "\x85\x9f\ufffe\uffff"
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")

FIELDS = ["post.body", "post.headline", "event.title", "event.summary", "author.name"]


def _dirty(label: str) -> str:
    return f"{label} begins{PASTED}ends\tafter a tab\nand a newline"


@pytest.fixture
def pasted(db, request):
    """An event with one published entry, the field named by the test's parameter holding
    every control character, written through the services as the API and editor do."""
    field = request.param
    admin = AdminFactory()
    event = services.event_create(
        actor=admin,
        title=_dirty("Title") if field == "event.title" else "Budget day",
        summary=_dirty("Summary") if field == "event.summary" else "The chancellor speaks.",
        status="live",
    )
    author = MembershipFactory(event=event, role="reporter").user
    if field == "author.name":
        # Names are set in the admin, whose forms refuse NUL (Django's own validator).
        author.first_name = _dirty("Name").replace("\x00", "")
        author.save()
    post, _ = services.post_publish(
        event=event,
        author=author,
        body=_dirty("Body") if field == "post.body" else "Plain text.",
        headline=_dirty("Headline") if field == "post.headline" else "",
    )
    return field, event, post


def _outputs(event, post) -> dict[str, bytes]:
    client = Client()
    slug = event.slug
    paths = {
        "home": "/",
        "page": f"/events/{slug}/",
        "permalink": f"/events/{slug}/posts/{post.pk}/",
        "embed": f"/events/{slug}/embed/",
        "feed": f"/events/{slug}/feed/",
        "sitemap": "/sitemap-entries.xml",
        "api event": f"/api/v1/events/{slug}/",
        "api posts": f"/api/v1/events/{slug}/posts/",
        "api post": f"/api/v1/events/{slug}/posts/{post.pk}/",
        "api changes": f"/api/v1/events/{slug}/changes/?since=0",
    }
    found = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, f"{name} ({path}) answered {response.status_code}"
        found[name] = response.content
    return found


@pytest.mark.parametrize("pasted", FIELDS, indirect=True)
def test_pasted_control_characters_take_no_output_down(pasted):
    field, event, post = pasted
    outputs = _outputs(event, post)

    feed = feedparser.parse(outputs["feed"])
    assert not feed.bozo, f"the feed is not well-formed XML: {feed.bozo_exception}"
    assert len(feed.entries) == 1
    for name in ("page", "permalink"):
        html = outputs[name].decode()
        [data] = extruct.extract(html, base_url="http://testserver/", syntaxes=["json-ld"])[
            "json-ld"
        ]
        assert data["@type"] in {"LiveBlogPosting", "BlogPosting"}, name
    for name, content in outputs.items():
        text = content.decode()
        if name.startswith("api"):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        assert not UNSAFE.search(text), f"{name} still carries a control character ({field})"
    frames = [json.dumps(c.payload, ensure_ascii=False) for c in Change.objects.all()]
    assert not any(UNSAFE.search(frame) for frame in frames), "a live frame carries one"


@pytest.mark.parametrize("pasted", ["post.body", "post.headline", "event.summary"], indirect=True)
def test_cleaning_keeps_the_words_tabs_and_newlines(pasted):
    field, event, post = pasted
    event.refresh_from_db()
    post.refresh_from_db()
    value = {
        "post.body": post.body,
        "post.headline": post.headline,
        "event.summary": event.summary,
    }[field]
    # Word's line and page breaks (\x0b, \x0c) become newlines; the rest go.
    assert value.endswith("ends\tafter a tab\nand a newline")
    assert "begins\n\nends" in value
    assert not UNSAFE.search(value)


def test_the_api_and_the_editor_clean_what_they_are_given(db):
    event = EventFactory(status="live")
    reporter = MembershipFactory(event=event, role="reporter").user
    token = services.token_issue(user=reporter)
    response = Client().post(
        f"/api/v1/events/{event.slug}/posts/",
        data=json.dumps({"body": "From the API\x0bsecond line\x07", "headline": "A\x1bB"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.content
    assert (response.json()["body"], response.json()["headline"]) == (
        "From the API\nsecond line",
        "AB",
    )

    editor = Client()
    editor.force_login(reporter)
    editor.post(
        f"/editor/events/{event.slug}/",
        {"body": "From the editor\x0csecond page\x1f", "action": "publish"},
    )
    assert event.posts.filter(body="From the editor\nsecond page").exists()
    assert Client().get(f"/events/{event.slug}/feed/").status_code == 200
