"""Readers are told when the live coverage has ended: the reader page, a permalink and the
embed carry the banner (shown once ended, hidden before), and the JSON-LD its end time."""

import json

import lxml.html
import pytest
from django.urls import reverse

from liveblog.blog import services

pytestmark = pytest.mark.django_db

BANNER = "This live coverage has ended."


def banner(client, url):
    page = lxml.html.fromstring(client.get(url).content)
    [found] = page.xpath("//*[@data-ended-banner]")
    return found


@pytest.fixture
def pages(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="An entry.")
    return [
        reverse("reader:event", args=[event.slug]),
        reverse("reader:post", args=[event.slug, post.pk]),
        reverse("reader:embed", args=[event.slug]),
    ]


def test_the_banner_is_hidden_while_the_event_is_live(client, pages):
    for url in pages:
        found = banner(client, url)
        assert found.get("hidden") is not None, url


def test_the_banner_shows_once_the_event_has_ended(client, event, editor, pages):
    services.event_end(actor=editor, event=event)

    for url in pages:
        found = banner(client, url)
        assert found.get("hidden") is None, url
        assert found.text_content().strip() == BANNER


def test_the_event_updated_frame_says_ended_for_the_live_script(
    event, editor, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.event_end(actor=editor, event=event)

    [frame] = [json.loads(m["frame"]) for m in sent]
    assert (frame["type"], frame["event"]["status"]) == ("event.updated", "ended")


def test_json_ld_carries_the_coverage_end_once_ended(client, event, editor):
    ended = services.event_end(actor=editor, event=event)

    page = lxml.html.fromstring(client.get(reverse("reader:event", args=[event.slug])).content)
    [script] = page.xpath("//script[@type='application/ld+json']")
    data = json.loads(script.text)
    assert data["coverageEndTime"] == ended.ends_at.isoformat()
