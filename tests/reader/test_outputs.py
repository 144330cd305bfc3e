"""Issue 10, acceptance 3: one rendering path. Every entry type, published through the
services, is checked in all six outputs: the reader page, the live fragment (the change
log's message for it), the permalink, the embed page, the Atom feed and JSON-LD (extruct,
on the page and on the permalink), with og:image and twitter:image on the pages.

Each output is parsed (html5lib for HTML, ElementTree and feedparser for Atom, extruct for
JSON-LD) and the entry's own element is checked: its figures, srcsets, cards and marks.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import extruct
import feedparser
import html5lib
import pytest
from django.test import Client
from PIL import Image as Picture

from liveblog.blog import services
from liveblog.blog.models import Event, Image, Post
from liveblog.blog.templatetags.liveblog_tags import event_iso
from tests import pictures

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"
ATOM = "{http://www.w3.org/2005/Atom}"
YT = "dQw4w9WgXcQ"


def parse(html: str) -> ElementTree.Element:
    return html5lib.parse(html, namespaceHTMLElements=False)


def text(element: ElementTree.Element | None) -> str:
    assert element is not None
    return " ".join("".join(element.itertext()).split())


def classes(element: ElementTree.Element) -> set[str]:
    return set((element.get("class") or "").split())


def get(url: str) -> str:
    response = Client().get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# --- the outputs -----------------------------------------------------------------------


@dataclass
class Output:
    """An entry's element in one output. `feed`: the Atom <content>, where every address is
    absolute and nothing needs a script; elsewhere addresses are the site's own paths."""

    name: str
    root: ElementTree.Element
    feed: bool = False

    def url(self, path: str) -> str:
        return ORIGIN + path if self.feed else path


def article(html: str, post: Post) -> ElementTree.Element:
    found = parse(html).find(f".//article[@id='post-{post.pk}']")
    assert found is not None, f"entry {post.pk} is there"
    return found


def live_fragment(event: Event, post: Post) -> tuple[str, str]:
    """The change log's latest message for the entry: what a live reader receives."""
    changes = Client().get(f"/api/v1/events/{event.slug}/changes/", {"since": 0}).json()
    mine = [c for c in changes["changes"] if c.get("post", {}).get("id") == post.pk]
    assert mine, "the entry is in the change log"
    return mine[-1]["type"], mine[-1]["html"]


def feed_content(event: Event, post: Post) -> ElementTree.Element:
    raw = Client().get(f"/events/{event.slug}/feed/").content
    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    link = ORIGIN + post.get_absolute_url()
    entries = [
        e
        for e in ElementTree.fromstring(raw).iter(f"{ATOM}entry")  # noqa: S314 - our own output
        if any(a.get("href") == link for a in e.iter(f"{ATOM}link"))
    ]
    assert len(entries) == 1, "the entry is in the feed once"
    content = entries[0].find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    fragment = html5lib.parseFragment(content.text or "", namespaceHTMLElements=False)
    wrapper = ElementTree.Element("content")
    wrapper.extend(list(fragment))
    return wrapper


def every_output(event: Event, post: Post, live_type: str) -> tuple[list[Output], dict[str, str]]:
    page = get(event.get_absolute_url())
    permalink = get(post.get_absolute_url())
    kind, fragment = live_fragment(event, post)
    assert kind == live_type
    outputs = [
        Output("reader page", article(page, post)),
        Output("live fragment", article(fragment, post)),
        Output("permalink", article(permalink, post)),
        Output("embed page", article(get(f"/events/{event.slug}/embed/"), post)),
        Output("atom feed", feed_content(event, post), feed=True),
    ]
    return outputs, {"page": page, "permalink": permalink}


def check_common(post: Post, output: Output) -> None:
    root = output.root
    if output.feed:
        # No control that needs a script, and no address a feed reader would resolve
        # against the feed's own URL.
        assert root.findall(".//script") == [] and root.findall(".//button") == []
        for element in root.iter():
            for name in ("href", "src"):
                if element.get(name) is not None:
                    assert element.get(name).startswith(("http://", "https://", "mailto:"))
            for candidate in (element.get("srcset") or "").split(","):
                if candidate.strip():
                    assert candidate.strip().startswith(ORIGIN + "/media/"), candidate
    else:
        time = root.find(".//header/a/time")
        assert time is not None and time.get("datetime") == event_iso(post.published_at, post.event)
    assert root.find(".//div[@class='entry__body']") is not None


# --- JSON-LD and share images ----------------------------------------------------------


def jsonld(html: str, url: str) -> list[dict[str, Any]]:
    return extruct.extract(html, base_url=url, syntaxes=["json-ld"])["json-ld"]


def postings(event: Event, post: Post, pages: dict[str, str]) -> list[dict[str, Any]]:
    """The entry's BlogPosting in the event page's liveBlogUpdate and on its permalink."""
    page_url = ORIGIN + event.get_absolute_url()
    own_url = ORIGIN + post.get_absolute_url()
    live = [d for d in jsonld(pages["page"], page_url) if d["@type"] == "LiveBlogPosting"]
    assert len(live) == 1
    updates = [u for u in live[0]["liveBlogUpdate"] if u["url"] == f"{page_url}#post-{post.pk}"]
    own = [d for d in jsonld(pages["permalink"], own_url) if d.get("@id") == own_url]
    assert len(updates) == 1 and len(own) == 1
    for posting in (updates[0], own[0]):
        assert posting["@type"] == "BlogPosting"
    return [updates[0], own[0]]


def image_objects_expected(images: list[Image]) -> list[dict[str, Any]]:
    expected = []
    for image in images:
        url = f"{ORIGIN}/media/{image.renditions[-1]['name']}"
        item = {"@type": "ImageObject", "url": url, "contentUrl": url}
        item.update(width=image.width, height=image.height)
        for name, value in (
            ("caption", image.caption),
            ("creditText", image.credit),
            ("description", image.alt),
        ):
            if value:
                item[name] = value
        expected.append(item)
    return expected


def meta(html: str) -> dict[str, str]:
    found = {}
    for tag in parse(html).iter("meta"):
        name = tag.get("property") or tag.get("name")
        if name and (name.startswith(("og:image", "twitter:"))):
            found[name] = tag.get("content") or ""
    return found


def check_share_image(html: str, images: list[Image]) -> None:
    tags = meta(html)
    if not images:
        assert "og:image" not in tags and "twitter:image" not in tags
        assert tags["twitter:card"] == "summary"
        return
    first = images[0]
    shared = [r for r in first.renditions if r["width"] <= 1600][-1]
    assert tags["og:image"] == tags["twitter:image"] == f"{ORIGIN}/media/{shared['name']}"
    assert (tags["og:image:width"], tags["og:image:height"]) == (
        str(shared["width"]),
        str(shared["height"]),
    )
    assert tags["og:image:alt"] == tags["twitter:image:alt"] == first.alt
    assert tags["twitter:card"] == "summary_large_image"


# --- the entry types -------------------------------------------------------------------


def photo(event: Event, author, width: int = 2000, height: int = 1000, **fields) -> Image:
    data = pictures.photo(width, height)
    return services.image_upload(actor=author, event=event, file=io.BytesIO(data), **fields)


@dataclass
class Case:
    id: str
    publish: Callable[[Event, Any], Post]
    check: Callable[[Post, Output], None]
    words: str  # in the BlogPosting's articleBody
    live_type: str = "post.created"


def publish(event: Event, author, body: str, **options) -> Post:
    post, created = services.post_publish(event=event, author=author, body=body, **options)
    assert created
    return post


def check_text(post: Post, output: Output) -> None:
    body = output.root.find(".//div[@class='entry__body']")
    assert text(body.find(".//strong")) == "Doors open"
    assert text(body.find(".//em")) == "main hall"
    items = body.findall(".//ul/li")
    assert [text(li) for li in items] == ["Security checks", "The schedule"]
    link = items[1].find("a")
    assert link.get("href") == output.url(f"/events/{post.event.slug}/")


def check_quote(post: Post, output: Output) -> None:
    quote = output.root.find(".//div[@class='entry__body']/figure")
    assert quote is not None and classes(quote) == {"quote"}
    assert text(quote.find("blockquote/p")) == "We will open our doors wider."
    assert text(quote.find("figcaption")) == "Liu Yunshan"


def check_figures(post: Post, output: Output) -> None:
    figures = output.root.findall("./figure[@class='entry__image']")
    if output.feed:
        figures = output.root.findall(".//figure[@class='entry__image']")
    images = post.ordered_images
    assert len(figures) == len(images) >= 1
    for figure, image in zip(figures, images, strict=True):
        img = figure.find("img")
        srcset = [c.strip() for c in img.get("srcset").split(",")]
        assert srcset == [
            f"{output.url('/media/' + r['name'])} {r['width']}w" for r in image.renditions
        ]
        assert len(srcset) >= 3
        assert img.get("src") in {output.url("/media/" + r["name"]) for r in image.renditions}
        assert (img.get("width"), img.get("height")) == (str(image.width), str(image.height))
        assert img.get("alt") == image.alt
        caption = figure.find("figcaption")
        assert text(caption.find("span[@class='entry__caption']")) == image.caption
        assert text(caption.find("span[@class='entry__credit']")) == image.credit


def check_embed(provider: str, frame: str, url: str) -> Callable[[Post, Output], None]:
    def check(post: Post, output: Output) -> None:
        card = output.root.find(".//div[@class='entry__body']/figure")
        assert card is not None and classes(card) == {"embed", f"embed--{provider}"}
        assert card.get("data-embed") == frame
        link = card.find("figcaption[@class='embed__source']/a")
        assert link.get("href") == link.text == url
        button = card.find(".//button[@data-embed-load]")
        # Click to load where a script runs; the provider and its link in a feed reader.
        assert (button is None) == output.feed

    return check


def check_link_card(post: Post, output: Output) -> None:
    card = output.root.find(".//div[@class='entry__body']/p")
    assert card is not None and classes(card) == {"link-card"}
    link = card.find("a[@class='link-card__link']")
    assert link.get("href") == "https://www.example.org/news/2026/opening"
    assert text(link.find("span[@class='link-card__host']")) == "www.example.org"


def check_breaking(post: Post, output: Output) -> None:
    labels = output.root.findall(".//p[@class='entry__breaking']")
    assert [text(label) for label in labels] == ["Breaking"]
    if not output.feed:
        assert "entry--breaking" in classes(output.root)
    assert text(output.root.find(".//div[@class='entry__body']")) == "The minister resigns."


def check_corrected(post: Post, output: Output) -> None:
    body = text(output.root.find(".//div[@class='entry__body']"))
    assert body == "The minister speaks at 10:30." and "10:00" not in body
    mark = output.root.find(".//p[@class='entry__updated']")
    assert text(mark).startswith("Updated")
    assert mark.find("time").get("datetime") == event_iso(post.corrected_at, post.event)


def publish_photo(event: Event, author) -> Post:
    image = photo(event, author, alt="The stage", caption="The opening.", credit="Photo: A. Lee")
    return publish(event, author, "The hall fills up.", images=[image.pk])


def publish_photos(event: Event, author) -> Post:
    images = [
        photo(event, author, 1200, 800, alt=f"Seat row {n}", caption=f"Row {n}.", credit="AFP")
        for n in (1, 2, 3)
    ]
    return publish(event, author, "Three views of the hall.", images=[i.pk for i in images])


def publish_corrected(event: Event, author) -> Post:
    post = publish(event, author, "The minister speaks at 10:00.")
    return services.post_update(
        actor=author, post=post, changes={"body": "The minister speaks at 10:30."}
    )


CASES = [
    Case(
        "markdown-text",
        lambda event, author: publish(
            event,
            author,
            "**Doors open** at the *main hall*.\n\n- Security checks\n"
            f"- [The schedule](/events/{event.slug}/)",
        ),
        check_text,
        "Doors open at the main hall",
    ),
    Case(
        "quote-with-speaker",
        lambda event, author: publish(
            event, author, "> We will open our doors wider.\n> — Liu Yunshan"
        ),
        check_quote,
        "We will open our doors wider.",
    ),
    Case("photo-with-caption-and-credit", publish_photo, check_figures, "The hall fills up."),
    Case("several-photos", publish_photos, check_figures, "Three views of the hall."),
    Case(
        "youtube-embed",
        lambda event, author: publish(
            event, author, f"The speech:\n\nhttps://www.youtube.com/watch?v={YT}"
        ),
        check_embed(
            "youtube",
            f"https://www.youtube-nocookie.com/embed/{YT}",
            f"https://www.youtube.com/watch?v={YT}",
        ),
        "The speech",
    ),
    Case(
        "x-embed",
        lambda event, author: publish(event, author, "https://x.com/jack/status/20"),
        check_embed(
            "x",
            "https://platform.twitter.com/embed/Tweet.html?id=20&dnt=true",
            "https://x.com/jack/status/20",
        ),
        "x.com/jack/status/20",
    ),
    Case(
        "link-card",
        lambda event, author: publish(event, author, "https://www.example.org/news/2026/opening"),
        check_link_card,
        "example.org",
    ),
    Case(
        "breaking",
        lambda event, author: publish(event, author, "The minister resigns.", is_breaking=True),
        check_breaking,
        "The minister resigns.",
    ),
    Case(
        "corrected-with-updated-mark",
        publish_corrected,
        check_corrected,
        "The minister speaks at 10:30.",
        live_type="post.updated",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_an_entry_renders_the_same_in_every_output(case, event, reporter):
    post = case.publish(event, reporter)
    post.refresh_from_db()
    outputs, pages = every_output(event, post, case.live_type)

    for output in outputs:
        try:
            check_common(post, output)
            case.check(post, output)
        except AssertionError as exc:
            raise AssertionError(f"in the {output.name}: {exc}") from exc

    images = post.ordered_images
    for posting in postings(event, post, pages):
        assert case.words in posting["articleBody"]
        if images:
            assert posting["image"] == image_objects_expected(images)
        else:
            assert "image" not in posting
    check_share_image(pages["permalink"], images)
    check_share_image(pages["page"], images)


# --- what a share of the event page shows ----------------------------------------------


def test_the_event_page_shares_the_latest_key_events_photo_over_a_later_photo(event, editor):
    key = photo(event, editor, 1200, 600, alt="The podium")
    later = photo(event, editor, 1200, 600, alt="The crowd")
    publish(event, editor, "The speech begins.", images=[key.pk], is_key_event=True)
    publish(event, editor, "Applause.", images=[later.pk])
    page = get(event.get_absolute_url())

    check_share_image(page, [key])
    live = next(d for d in jsonld(page, ORIGIN) if d["@type"] == "LiveBlogPosting")
    assert live["image"] == image_objects_expected([key])[0]


def test_an_event_page_without_key_event_photos_shares_the_latest_photo(event, editor):
    earlier = photo(event, editor, 1200, 600, alt="The podium")
    latest = photo(event, editor, 1200, 600, alt="The crowd")
    publish(event, editor, "The speech begins.", images=[earlier.pk])
    publish(event, editor, "Applause.", images=[latest.pk])
    publish(event, editor, "A key event without a photo.", is_key_event=True)

    check_share_image(get(event.get_absolute_url()), [latest])


def test_an_event_page_without_photos_shares_the_site_logo_as_a_small_card(
    event, reporter, admin, django_capture_on_commit_callbacks
):
    logo = io.BytesIO()
    Picture.new("RGB", (240, 80), (179, 0, 27)).save(logo, "PNG")
    with django_capture_on_commit_callbacks(execute=True):
        brand = services.site_settings_update(actor=admin, name="Courier", logo=logo.getvalue())
    post = publish(event, reporter, "No photo here.")

    for html in (get(event.get_absolute_url()), get(post.get_absolute_url())):
        tags = meta(html)
        assert tags["og:image"] == f"{ORIGIN}/brand/logo/{brand.version}.png"
        assert (tags["og:image:width"], tags["og:image:height"]) == ("240", "80")
        assert tags["og:image:alt"] == "Courier"
        assert tags["twitter:card"] == "summary"  # a logo is not a large picture
        assert Client().get(tags["og:image"].removeprefix(ORIGIN)).status_code == 200
        data = jsonld(html, ORIGIN)[0]
        assert data["publisher"]["logo"]["url"] == tags["og:image"]


def test_a_cached_event_page_shares_a_new_photo_as_soon_as_it_is_published(event, reporter):
    publish(event, reporter, "Text first.")
    before = get(event.get_absolute_url())
    assert get(event.get_absolute_url()) == before  # kept by the render cache under its ETag
    assert "og:image" not in meta(before)

    image = photo(event, reporter, 1200, 600, alt="First photo")
    publish(event, reporter, "A photo.", images=[image.pk])

    check_share_image(get(event.get_absolute_url()), [image])


def test_a_decorative_photo_is_shared_without_alt_text(event, reporter):
    image = photo(event, reporter, 1200, 600, decorative=True)
    post = publish(event, reporter, "Ornament.", images=[image.pk])
    tags = meta(get(post.get_absolute_url()))
    assert tags["og:image"].startswith(f"{ORIGIN}/media/")
    assert "og:image:alt" not in tags and "twitter:image:alt" not in tags
    posting = postings(
        event,
        post,
        {"page": get(event.get_absolute_url()), "permalink": get(post.get_absolute_url())},
    )[1]
    assert "description" not in posting["image"][0]
