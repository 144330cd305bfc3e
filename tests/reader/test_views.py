"""Reader pages (SPEC §5): server-rendered, in the event's zone and order, constant queries."""

import json
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from django.core.cache import cache
from django.test import Client

from liveblog.blog import selectors, services
from liveblog.blog.models import Event
from tests.factories import EventFactory, PostFactory

JSONLD = r'<script nonce="[^"]+" type="application/ld\+json">(.*?)</script>'
pytestmark = pytest.mark.django_db


def jsonld(html: str) -> dict:
    match = re.search(JSONLD, html, re.S)
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
    cache.clear()  # measure a real render, not the render cache
    selectors.site_brand()  # but the site's brand stays cached, as it is site-wide
    # event, pinned, first page and its entries' images (one prefetch), key events
    with django_assert_num_queries(5):
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


def test_event_header_shows_status_summary_start_and_zone(event):
    event.timezone = "Asia/Shanghai"
    event.starts_at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    event.save()
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert '<span class="status status--live">Live</span>' in html
    assert event.summary in html
    assert 'Started <time datetime="2026-11-26T09:00:00+08:00">Nov. 26, 2026, 9 a.m.</time>' in html
    assert "Times are in Asia/Shanghai (UTC+08:00)." in html
    assert "<title>Live: " in html

    event.status = Event.Status.SCHEDULED
    event.save()
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert "status--scheduled" in html and "Starts <time" in html

    event.status = Event.Status.ENDED
    event.ends_at = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    event.save()
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert "status--ended" in html
    assert 'Ended <time datetime="2026-11-26T12:00:00+08:00">' in html


def test_pinned_entry_is_on_top_once_and_key_events_link_to_entries(event, reporter):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    pinned = PostFactory(event=event, published_at=base, is_pinned=True, body="Pinned one")
    key = PostFactory(
        event=event, published_at=base + timedelta(minutes=1), is_key_event=True, headline="Goal"
    )
    plain = PostFactory(event=event, published_at=base + timedelta(minutes=2), body="Later")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    articles = re.findall(r'<article[^>]* id="post-(\d+)"', html)
    assert articles == [str(pinned.pk), str(plain.pk), str(key.pk)]
    assert re.search(r'<div class="live__pinned" data-pinned><article[^>]*entry--pinned', html)
    assert f'<a href="#post-{key.pk}">Goal</a>' in html
    assert "data-key-events-box hidden" not in html


def test_key_events_without_headline_show_first_words_of_the_text(event):
    PostFactory(event=event, is_key_event=True, headline="", body="Q&A with the **mayor** now")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert ">Q&amp;A with the mayor now</a>" in html


def test_every_entry_has_permalink_share_controls_and_zone_title(event, reporter):
    post, _ = services.post_publish(
        event=event,
        author=reporter,
        body="Opening",
        published_at=datetime(2026, 11, 26, 2, 30, tzinfo=UTC),
    )
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert f'href="/events/{event.slug}/posts/{post.pk}/"' in html
    assert 'title="Nov. 26, 2026, 10:30 a.m. (Asia/Shanghai)"' in html
    assert f'data-copy-link aria-describedby="post-{post.pk}-time">Copy link</button>' in html
    assert "data-share hidden" in html  # shown by the script where navigator.share exists


def test_bad_order_is_a_clear_400(event):
    response = Client().get(f"/events/{event.slug}/?order=sideways")
    assert response.status_code == 400
    assert "order must be “newest” or “oldest”" in response.content.decode()


def test_bad_cursor_on_fragment_and_feed_is_400(event):
    assert Client().get(f"/events/{event.slug}/entries/?after=nope").status_code == 400
    assert Client().get(f"/events/{event.slug}/feed/?after=nope").status_code == 400
    assert Client().get(f"/events/{event.slug}/embed/?after=nope").status_code == 400


def test_huge_or_unknown_post_id_is_404(event):
    assert Client().get(f"/events/{event.slug}/posts/99999999999999999999/").status_code == 404
    assert Client().get(f"/events/{event.slug}/posts/12345/").status_code == 404


def test_older_page_is_not_indexed_and_links_back_to_latest(event):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(55):
        PostFactory(event=event, published_at=base + timedelta(minutes=i))
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert 'name="robots"' not in html
    after = re.search(r"after=([^\"&]+)", html).group(1)
    older = Client().get(f"/events/{event.slug}/?order=newest&after={after}").content.decode()
    assert '<meta name="robots" content="noindex, follow">' in older
    assert 'href="?order=newest">Back to the latest entries</a>' in older


def test_event_page_has_sharing_meta_and_discovery_links(event, reporter):
    html = Client().get(f"/events/{event.slug}/").content.decode()
    url = f"http://testserver/events/{event.slug}/"
    assert f'<link rel="canonical" href="{url}">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert f'<meta property="og:title" content="{event.title}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:site_name" content="Live blog">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert f'<meta name="twitter:title" content="{event.title}">' in html
    feed = f'type="application/atom+xml" title="{event.title} (Atom feed)" href="/events/'
    assert feed in html
    oembed = re.search(r'type="application/json\+oembed" title="[^"]*" href="([^"]+)"', html)
    assert oembed and "url=http%3A%2F%2Ftestserver%2Fevents%2F" in oembed.group(1)


def test_permalink_page_meta_jsonld_and_way_back(event, reporter):
    post, _ = services.post_publish(
        event=event, author=reporter, headline="Goal & glory", body="A *moment* to share"
    )
    html = Client().get(f"/events/{event.slug}/posts/{post.pk}/").content.decode()
    url = f"http://testserver/events/{event.slug}/posts/{post.pk}/"
    assert f'<link rel="canonical" href="{url}">' in html
    assert '<meta property="og:title" content="Goal &amp; glory">' in html
    assert '<meta name="twitter:description" content="A moment to share">' in html
    assert "<h1 " in html and '<h2 class="entry__headline">Goal &amp; glory</h2>' in html
    assert f'href="/events/{event.slug}/#post-{post.pk}"' in html
    data = jsonld(html)
    assert data["@type"] == "BlogPosting" and data["headline"] == "Goal & glory"
    assert data["url"] == url
    assert data["isPartOf"]["@type"] == "LiveBlogPosting"


def test_reader_pages_do_not_touch_the_session(event, reporter, client_for):
    """A logged-in reporter gets the same page as anyone: nothing per-user for a CDN."""
    services.post_publish(event=event, author=reporter, body="Same for all")
    for client in (Client(), client_for(reporter)):
        for path in ("/", f"/events/{event.slug}/", f"/events/{event.slug}/embed/"):
            response = client.get(path)
            assert "Cookie" not in response.get("Vary", ""), path
            assert not response.cookies, path


def test_embed_page_is_a_landmarked_live_widget(event, reporter):
    services.post_publish(event=event, author=reporter, body="Embedded entry")
    html = Client().get(f"/events/{event.slug}/embed/").content.decode()
    assert '<meta name="robots" content="noindex">' in html
    assert "<main" in html and "data-live" in html and "Embedded entry" in html
    assert '<base target="_blank">' in html
    assert f'<link rel="canonical" href="http://testserver/events/{event.slug}/">' in html


def test_editor_has_the_embed_snippet(event, editor, client_for):
    html = client_for(editor).get(f"/editor/events/{event.slug}/").content.decode()
    assert 'id="embed-code"' in html
    assert f"&lt;iframe src=&quot;http://testserver/events/{event.slug}/embed/&quot;" in html
