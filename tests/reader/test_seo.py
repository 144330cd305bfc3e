"""Search engines, feed readers and other sites: schema.org LiveBlogPosting (parsed by
extruct, a real structured-data extractor), the Atom feed (feedparser), the sitemap,
robots.txt and oEmbed."""

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import extruct
import feedparser
import pytest
from django.test import Client

from liveblog.blog.models import Event
from tests.factories import PostFactory, UserFactory

JSONLD = r'<script nonce="[^"]+" type="application/ld\+json">(.*?)</script>'
pytestmark = pytest.mark.django_db

BASE = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)

# schema.org properties by type (https://schema.org/LiveBlogPosting and its parents): a
# property outside these is a typo or an invention that validators flag.
THING = {"@context", "@type", "@id", "name", "url", "description", "mainEntityOfPage", "image"}
CREATIVE_WORK = THING | {
    "headline", "author", "publisher", "datePublished", "dateModified", "inLanguage",
    "isPartOf", "about", "keywords",
}  # fmt: skip
ARTICLE = CREATIVE_WORK | {"articleBody", "articleSection", "wordCount"}
LIVE_BLOG_POSTING = ARTICLE | {"coverageStartTime", "coverageEndTime", "liveBlogUpdate"}
ORGANIZATION = THING | {"logo"}
PERSON = THING


def iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no offset"
    return parsed


def check_posting(update: dict, page_url: str) -> int:
    assert update["@type"] == "BlogPosting"
    assert set(update) <= ARTICLE, set(update) - ARTICLE
    assert update["headline"] and len(update["headline"]) <= 110
    assert update["articleBody"].strip()
    assert "<" not in update["articleBody"] and "&amp;" not in update["articleBody"]
    assert iso(update["dateModified"]) >= iso(update["datePublished"]) - timedelta(days=3650)
    assert update["author"]["@type"] == "Person" and update["author"]["name"]
    assert set(update["author"]) <= PERSON
    match = re.fullmatch(re.escape(page_url) + r"#post-(\d+)", update["url"])
    assert match, update["url"]
    return int(match.group(1))


def check_live_blog_posting(data: dict, page_url: str, *, ended: bool) -> list[int]:
    assert data["@context"].rstrip("/") in ("https://schema.org", "http://schema.org")
    assert data["@type"] == "LiveBlogPosting"
    assert set(data) <= LIVE_BLOG_POSTING, set(data) - LIVE_BLOG_POSTING
    for name in ("headline", "description", "url", "datePublished", "dateModified"):
        assert data[name], name
    assert data["url"] == page_url and len(data["headline"]) <= 110
    publisher = data["publisher"]
    assert publisher["@type"] == "Organization" and publisher["name"]
    assert set(publisher) <= ORGANIZATION
    start = iso(data["coverageStartTime"])
    if ended:
        assert iso(data["coverageEndTime"]) >= start
    else:
        assert "coverageEndTime" not in data
    return [check_posting(update, page_url) for update in data["liveBlogUpdate"]]


@pytest.fixture
def big_event(event):
    event.starts_at = BASE
    event.save()
    authors = [UserFactory(first_name="Amina", last_name="Diallo"), UserFactory()]
    posts = [
        PostFactory(
            event=event,
            author=authors[i % 2],
            published_at=BASE + timedelta(minutes=i),
            headline="Q&A <live>" if i % 10 == 0 else "",
            body=f"Entry {i}: *emphasis*, a [link](https://example.org/{i}) & an ampersand.",
            is_key_event=i % 50 == 0,
        )
        for i in range(200)
    ]
    posts[150].is_pinned = True
    posts[150].save()
    return event, posts


def test_jsonld_of_a_200_entry_event_is_a_valid_live_blog_posting(big_event):
    event, posts = big_event
    url = f"http://testserver/events/{event.slug}/"
    html = Client().get(url).content.decode()
    [data] = extruct.extract(html, base_url=url, syntaxes=["json-ld"])["json-ld"]
    ids = check_live_blog_posting(data, url, ended=False)
    on_page = [int(i) for i in re.findall(r'<article[^>]* id="post-(\d+)"', html)]
    assert ids == on_page and len(ids) == 51  # the pinned entry and the first page
    assert len(set(ids)) == len(ids)
    assert data["liveBlogUpdate"][0]["url"].endswith(f"#post-{posts[150].pk}")
    q_and_a = next(u for u in data["liveBlogUpdate"] if u["headline"] == "Q&A <live>")
    assert "Q&A" in q_and_a["headline"]

    event.status = Event.Status.ENDED
    event.ends_at = BASE + timedelta(hours=5)
    event.save()
    html = Client().get(url).content.decode()
    [data] = extruct.extract(html, base_url=url, syntaxes=["json-ld"])["json-ld"]
    check_live_blog_posting(data, url, ended=True)
    assert data["coverageEndTime"] == event.ends_at.isoformat()


def test_jsonld_cannot_be_broken_out_of_by_entry_text(event):
    PostFactory(event=event, headline="</script><script>alert(1)</script>", body="x")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    script = re.search(JSONLD, html, re.S)
    assert "alert" in script.group(1) and "<" not in script.group(1)


def test_feed_parses_with_every_entry_of_a_200_entry_event(big_event):
    event, posts = big_event
    response = Client().get(f"/events/{event.slug}/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.title == event.title
    assert len(feed.entries) == 200
    expected = sorted(posts, key=lambda p: (p.published_at, p.pk), reverse=True)
    assert [e.link for e in feed.entries] == [
        f"http://testserver{p.get_absolute_url()}" for p in expected
    ]
    for entry, post in zip(feed.entries, expected, strict=True):
        assert entry.title and entry.id
        assert entry.content[0].type == "text/html"
        # The entry as the page shows it (blog/_content.html): these have no photo or mark.
        assert entry.content[0].value == f'<div class="entry__body">{post.body_html}</div>'
        assert entry.updated_parsed and entry.published_parsed
        assert entry.author
    assert feed.entries[-11].title == "Q&A <live>"  # entry 10, counted from the oldest
    assert not any(link.rel == "next" for link in feed.feed.links)


def test_feed_pages_through_every_entry_beyond_one_page(event):
    posts = [
        PostFactory(event=event, published_at=BASE + timedelta(seconds=i // 3)) for i in range(230)
    ]
    seen, url = [], f"/events/{event.slug}/feed/"
    while url:
        feed = feedparser.parse(Client().get(url).content)
        assert feed.bozo == 0
        seen += [e.link for e in feed.entries]
        url = next((link.href for link in feed.feed.links if link.rel == "next"), None)
    expected = sorted(posts, key=lambda p: (p.published_at, p.pk), reverse=True)
    assert seen == [f"http://testserver{p.get_absolute_url()}" for p in expected]


def test_feed_id_is_the_event_page_absolute_address(event):
    PostFactory(event=event, published_at=BASE)
    feed = feedparser.parse(Client().get(f"/events/{event.slug}/feed/").content)
    assert feed.feed.id == f"http://testserver/events/{event.slug}/"


def test_feed_title_of_an_entry_without_headline_is_time_and_first_words(event):
    PostFactory(event=event, headline="", body="Q&A: the **mayor** speaks", published_at=BASE)
    feed = feedparser.parse(Client().get(f"/events/{event.slug}/feed/").content)
    assert feed.entries[0].title == "9 a.m. — Q&A: the mayor speaks"


def test_sitemap_lists_every_event_and_entry_with_lastmod(big_event):
    event, posts = big_event
    ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    index = ElementTree.fromstring(Client().get("/sitemap.xml").content)  # noqa: S314 - our own output
    sections = [loc.text for loc in index.findall("sm:sitemap/sm:loc", ns)]
    assert sections == [
        "http://testserver/sitemap-events.xml",
        "http://testserver/sitemap-entries.xml",
    ]
    urls = {}
    for section in sections:
        tree = ElementTree.fromstring(Client().get(section).content)  # noqa: S314
        for node in tree.findall("sm:url", ns):
            urls[node.find("sm:loc", ns).text] = node.find("sm:lastmod", ns).text
    assert f"http://testserver/events/{event.slug}/" in urls
    for post in posts:
        assert f"http://testserver{post.get_absolute_url()}" in urls
    assert len(urls) == 201


def test_robots_txt_points_to_the_sitemap():
    text = Client().get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /editor/" in text


def test_oembed_returns_the_live_widget(event):
    page = f"http://testserver/events/{event.slug}/"
    response = Client().get("/oembed/", {"url": page, "format": "json", "maxwidth": "400"})
    assert response.status_code == 200
    data = response.json()
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert data["width"] == 400 and data["height"] == 800
    assert data["title"] == event.title
    assert f'<iframe src="http://testserver/events/{event.slug}/embed/"' in data["html"]
    assert 'width="400"' in data["html"]


def test_oembed_accepts_entry_addresses_and_refuses_others(event, reporter):
    post = PostFactory(event=event)
    url = f"http://testserver{post.get_absolute_url()}"
    assert Client().get("/oembed/", {"url": url}).status_code == 200
    assert (
        Client().get("/oembed/", {"url": "http://elsewhere.example/events/x/"}).status_code == 404
    )
    assert Client().get("/oembed/", {"url": "http://testserver/editor/"}).status_code == 404
    assert Client().get("/oembed/", {"url": "http://testserver/events/nope/"}).status_code == 404
    missing = Client().get("/oembed/")
    assert missing.status_code == 400 and "url is required" in missing.json()["detail"]
    assert Client().get("/oembed/", {"url": url, "maxwidth": "wide"}).status_code == 400
    assert Client().get("/oembed/", {"url": url, "format": "xml"}).status_code == 501
