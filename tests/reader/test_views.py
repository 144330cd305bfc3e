"""Reader pages (SPEC §5): server-rendered, in the event's zone and order, constant queries."""

import json
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from django.test import Client

from liveblog.blog import services
from liveblog.blog.models import Event
from tests.factories import EventFactory, PostFactory

pytestmark = pytest.mark.django_db


def jsonld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "the page carries JSON-LD"
    return json.loads(match.group(1))


def test_event_page_shows_entries_in_event_timezone(event, reporter):
    event.timezone = "Asia/Shanghai"
    event.save()
    when = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    post, _ = services.post_publish(
        event=event, author=reporter, body="The conference officially opens", published_at=when
    )
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert f'id="post-{post.pk}"' in html
    assert '<time datetime="2026-11-26T10:30:00+08:00">10:30 a.m.</time>' in html
    assert "The conference officially opens" in html
    assert 'data-seq="1"' in html


def test_event_page_orders_and_overrides(event, reporter):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    old = PostFactory(event=event, published_at=base, body="older")
    new = PostFactory(event=event, published_at=base + timedelta(minutes=5), body="newer")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert html.index(f"post-{new.pk}") < html.index(f"post-{old.pk}")
    html = Client().get(f"/events/{event.slug}/?order=oldest").content.decode()
    assert html.index(f"post-{old.pk}") < html.index(f"post-{new.pk}")


def test_drafts_and_removed_entries_are_not_shown(event, reporter):
    draft, _ = services.post_publish(event=event, author=reporter, body="secret", status="draft")
    gone, _ = services.post_publish(event=event, author=reporter, body="gone soon")
    services.post_delete(actor=reporter, post=gone)
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert f"post-{draft.pk}" not in html and f"post-{gone.pk}" not in html
    assert Client().get(f"/events/{event.slug}/posts/{draft.pk}/").status_code == 404


def test_first_fifty_then_load_older_pages_without_gap_or_duplicate(event):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    posts = [PostFactory(event=event, published_at=base + timedelta(minutes=i)) for i in range(120)]
    client = Client()
    html = client.get(f"/events/{event.slug}/").content.decode()
    seen = [int(i) for i in re.findall(r'<article[^>]* id="post-(\d+)"', html)]
    assert len(seen) == 50
    while True:
        match = re.search(r'data-older href="\?order=newest&amp;after=([^"]+)"', html)
        if not match:
            break
        html = client.get(
            f"/events/{event.slug}/?order=newest&after={match.group(1)}"
        ).content.decode()
        seen += [int(i) for i in re.findall(r'<article[^>]* id="post-(\d+)"', html)]
    assert seen == [p.pk for p in reversed(posts)]


def test_load_older_fragment(event):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(60):
        PostFactory(event=event, published_at=base + timedelta(minutes=i))
    page = Client().get(f"/events/{event.slug}/").content.decode()
    after = re.search(r"after=([^\"&]+)", page).group(1)
    fragment = Client().get(f"/events/{event.slug}/entries/?after={after}").content.decode()
    assert len(re.findall(r"<article", fragment)) == 10
    assert 'data-next=""' in fragment


def test_bad_cursor_is_a_clear_400(event):
    response = Client().get(f"/events/{event.slug}/?after=garbage!!")
    assert response.status_code == 400


def test_event_page_queries_are_constant(event, django_assert_num_queries):
    for _ in range(80):
        PostFactory(event=event)
    client = Client()
    client.get(f"/events/{event.slug}/")
    # event, pinned, first page, key events
    with django_assert_num_queries(4):
        client.get(f"/events/{event.slug}/")


def test_unknown_event_is_404():
    assert Client().get("/events/nope/").status_code == 404


def test_jsonld_live_blog_posting(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="Opening", headline="Open")
    data = jsonld(Client().get(f"/events/{event.slug}/").content.decode())
    assert data["@type"] == "LiveBlogPosting"
    assert "coverageStartTime" in data and "coverageEndTime" not in data
    [update] = data["liveBlogUpdate"]
    assert update["@type"] == "BlogPosting" and update["headline"] == "Open"
    assert update["url"].endswith(f"#post-{post.pk}")
    event.status = Event.Status.ENDED
    event.save()
    assert "coverageEndTime" in jsonld(Client().get(f"/events/{event.slug}/").content.decode())


def test_permalink_page_has_its_own_meta(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="A *moment* to share")
    html = Client().get(f"/events/{event.slug}/posts/{post.pk}/").content.decode()
    assert f'id="post-{post.pk}"' in html
    assert '<meta name="description" content="A moment to share">' in html
    assert 'property="og:title"' in html


def test_atom_feed_lists_published_entries(event, reporter):
    services.post_publish(event=event, author=reporter, body="First words of it", headline="")
    services.post_publish(event=event, author=reporter, body="Body", headline="Big news")
    feed = feedparser.parse(Client().get(f"/events/{event.slug}/feed/").content)
    assert feed.bozo == 0
    titles = [e.title for e in feed.entries]
    assert titles[0] == "Big news"
    assert titles[1].endswith("— First words of it")


def test_embed_is_framable_and_event_page_is_not(event):
    embed = Client().get(f"/events/{event.slug}/embed/")
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    page = Client().get(f"/events/{event.slug}/")
    assert page["X-Frame-Options"] == "DENY"


def test_home_lists_live_upcoming_and_past():
    EventFactory(title="Now on", status="live")
    EventFactory(title="Soon", status="scheduled")
    EventFactory(title="Done", status="ended")
    html = Client().get("/").content.decode()
    assert html.index("Now on") < html.index("Soon") < html.index("Done")


def test_healthz_reports_database_and_channel_layer():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_healthz_is_503_when_the_channel_layer_is_down(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]
            },
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = Client().get("/healthz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "error"
