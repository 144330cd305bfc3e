"""Embeds (liveblog/blog/embeds.py, rendered by liveblog/blog/rendering.py): a URL alone on
its line is recognised by its pattern, with nothing fetched, and becomes a click-to-load
card or a link card; everything else stays a link."""

import html5lib
import pytest
from django.test import override_settings

from liveblog.blog import embeds, rendering, services
from liveblog.blog.rendering import markdown_to_html, plain_text
from tests.factories import MembershipFactory

YT = "dQw4w9WgXcQ"
NOCOOKIE = f"https://www.youtube-nocookie.com/embed/{YT}"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
SPOTIFY_ID = "4cOdK2wGLETKBW3PvgPWqT"

FRAMES = {
    f"https://www.youtube.com/watch?v={YT}": NOCOOKIE,
    f"https://youtube.com/watch?feature=share&v={YT}": NOCOOKIE,
    f"https://m.youtube.com/watch?v={YT}&t=1m30s": f"{NOCOOKIE}?start=90",
    f"https://youtu.be/{YT}?t=42": f"{NOCOOKIE}?start=42",
    f"https://www.youtube.com/watch?v={YT}&t=1h2m3s": f"{NOCOOKIE}?start=3723",
    f"https://www.youtube.com/shorts/{YT}": NOCOOKIE,
    f"https://www.youtube.com/embed/{YT}?start=7": f"{NOCOOKIE}?start=7",
    f"https://www.youtube.com/live/{YT}": NOCOOKIE,
    "https://vimeo.com/76979871": "https://player.vimeo.com/video/76979871?dnt=1",
    "https://vimeo.com/76979871/0a1b2c3d4e": "https://player.vimeo.com/video/76979871?h=0a1b2c3d4e&dnt=1",
    "https://player.vimeo.com/video/76979871": "https://player.vimeo.com/video/76979871?dnt=1",
    "https://x.com/jack/status/20": "https://platform.twitter.com/embed/Tweet.html?id=20&dnt=true",
    "https://twitter.com/NASA/status/1234567890123456789/": (
        "https://platform.twitter.com/embed/Tweet.html?id=1234567890123456789&dnt=true"
    ),
    "https://www.instagram.com/p/CxYz123AbC/": "https://www.instagram.com/p/CxYz123AbC/embed",
    "https://instagram.com/reel/CxYz123AbC": "https://www.instagram.com/reel/CxYz123AbC/embed",
    f"https://bsky.app/profile/{DID}/post/3k44deefqdk2g": (
        f"https://embed.bsky.app/embed/{DID}/app.bsky.feed.post/3k44deefqdk2g"
    ),
    "https://bsky.app/profile/reuters.com/post/3k44deefqdk2g": (
        "https://embed.bsky.app/embed/reuters.com/app.bsky.feed.post/3k44deefqdk2g"
    ),
    "https://mastodon.social/@Gargron/109302431458532137": (
        "https://mastodon.social/@Gargron/109302431458532137/embed"
    ),
    "https://www.tiktok.com/@scout2015/video/6718335390845095173": (
        "https://www.tiktok.com/embed/v2/6718335390845095173"
    ),
    "https://www.facebook.com/nasa/posts/1234567890": (
        "https://www.facebook.com/plugins/post.php?href="
        "https%3A%2F%2Fwww.facebook.com%2Fnasa%2Fposts%2F1234567890%2F&show_text=true"
    ),
    "https://soundcloud.com/forss/flickermood": (
        "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Fforss%2Fflickermood"
    ),
    "https://soundcloud.com/forss/sets/soulhack": (
        "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Fforss%2Fsets%2Fsoulhack"
    ),
    f"https://open.spotify.com/track/{SPOTIFY_ID}": f"https://open.spotify.com/embed/track/{SPOTIFY_ID}",
    f"https://open.spotify.com/intl-de/album/{SPOTIFY_ID}": (
        f"https://open.spotify.com/embed/album/{SPOTIFY_ID}"
    ),
    f"https://open.spotify.com/playlist/{SPOTIFY_ID}?si=abc": (
        f"https://open.spotify.com/embed/playlist/{SPOTIFY_ID}"
    ),
    f"https://open.spotify.com/episode/{SPOTIFY_ID}": (
        f"https://open.spotify.com/embed/episode/{SPOTIFY_ID}"
    ),
    f"https://open.spotify.com/show/{SPOTIFY_ID}": f"https://open.spotify.com/embed/show/{SPOTIFY_ID}",
}

NOT_EMBEDS = [
    f"https://youtube.com.evil.example/watch?v={YT}",
    f"https://evil.example/youtube.com/watch?v={YT}",
    f"https://evil.example/?u=https://youtu.be/{YT}",
    f"https://www.youtube.com@evil.example/watch?v={YT}",
    f"https://www.youtube.com:8443/watch?v={YT}",
    "https://www.youtube.com/watch?v=short",
    f"https://www.youtube.com/watch?v={YT}x",
    "https://youtu.be/watch",
    "https://vimeo.com/channels/staffpicks",
    "https://vimeo.com/76979871/NOTHEX",
    "https://x.com/jack",
    "https://x.com/jack/status/20abc",
    "https://x.com/a_name_far_too_long_for_x/status/20",
    "https://notx.com/jack/status/20",
    "https://www.instagram.com/natgeo/",
    "https://www.instagram.com/p/ab/",
    "https://bsky.app/profile/reuters.com",
    "https://bsky.app/profile/reuters.com/post/NOT-A-TID",
    "https://mastodon.example/@someone/109302431458532137",
    "https://mastodon.social/@Gargron",
    "https://www.tiktok.com/@scout2015",
    "https://www.facebook.com/nasa",
    "https://soundcloud.com/forss",
    "https://open.spotify.com/artist/4cOdK2wGLETKBW3PvgPWqT",
    "https://open.spotify.com/track/short",
]


def fragment(source: str):
    return html5lib.parseFragment(markdown_to_html(source), namespaceHTMLElements=False)


def card_of(source: str):
    (figure,) = fragment(source).findall(".//figure")
    return figure


@pytest.mark.parametrize("url", FRAMES)
def test_each_providers_url_forms_give_its_documented_frame(url):
    found = embeds.recognise(url, mastodon_instances=["mastodon.social"])

    assert isinstance(found, embeds.Embed)
    assert found.frame_url == FRAMES[url]


@pytest.mark.parametrize("url", FRAMES)
def test_a_url_alone_on_its_line_renders_a_click_to_load_card(url):
    figure = card_of(f"Watch this:\n\n{url}\n\nMore soon.")
    provider = embeds.recognise(url, mastodon_instances=["mastodon.social"]).provider

    assert figure.get("class") == f"embed embed--{provider.key}"
    assert figure.get("data-embed") == FRAMES[url]
    button = figure.find(".//button[@data-embed-load]")
    assert button.get("type") == "button" and button.get("hidden") is not None
    assert button.text == f"Load the {provider.noun} from {provider.name}"
    assert "IP address" in figure.find(".//small").text
    (link,) = figure.findall(".//a")
    assert link.get("href") == url and link.text == url


@pytest.mark.parametrize("url", FRAMES)
def test_every_frame_comes_from_an_origin_the_policy_lists(url):
    found = embeds.recognise(url, mastodon_instances=["mastodon.social"])
    origins = embeds.frame_origins(["mastodon.social"])

    assert any(found.frame_url.startswith(origin + "/") for origin in origins)


def test_the_policy_lists_exactly_the_registrys_origins_and_the_mastodon_instances():
    origins = embeds.frame_origins(["mastodon.social", "journa.host"])

    assert origins == [
        "https://www.youtube-nocookie.com", "https://player.vimeo.com",
        "https://platform.twitter.com", "https://www.instagram.com", "https://embed.bsky.app",
        "https://www.tiktok.com", "https://www.facebook.com", "https://w.soundcloud.com",
        "https://open.spotify.com", "https://mastodon.social", "https://journa.host",
    ]  # fmt: skip


def test_an_autolink_alone_on_its_line_is_a_card_too():
    assert card_of(f"<https://youtu.be/{YT}>").get("data-embed") == NOCOOKIE


@pytest.mark.parametrize("url", NOT_EMBEDS)
def test_lookalike_hosts_bad_ids_and_other_pages_are_link_cards(url):
    html = markdown_to_html(url)
    root = html5lib.parseFragment(html, namespaceHTMLElements=False)

    assert root.findall(".//figure") == [] and "data-embed" not in html
    (card,) = root.findall(".//p")
    assert card.get("class") == "link-card"
    assert card.find("a").get("href") == url


@override_settings(LIVEBLOG_EMBED_MASTODON_INSTANCES=["journa.host"])
def test_mastodon_statuses_embed_only_from_the_instances_named_in_settings():
    status = "/@reporter/109302431458532137"

    assert card_of(f"https://journa.host{status}").get("data-embed") == (
        f"https://journa.host{status}/embed"
    )
    assert "data-embed" not in markdown_to_html(f"https://mastodon.social{status}")


@pytest.mark.parametrize(
    "source",
    [
        f"Watch https://youtu.be/{YT} now",
        f"- https://youtu.be/{YT}",
        f"> https://youtu.be/{YT}",
        f"[https://youtu.be/{YT}](https://youtu.be/{YT})",
        f"**https://youtu.be/{YT}**",
    ],
)
def test_a_url_not_alone_on_its_line_stays_a_link(source):
    root = fragment(source)

    assert root.findall(".//figure") == []
    assert [a.get("href") for a in root.findall(".//a")] == [f"https://youtu.be/{YT}"]
    assert root.find(".//a").get("class") is None


def test_a_pdf_is_a_link_card_marked_pdf_with_no_frame():
    html = markdown_to_html("https://example.org/reports/budget-2026.PDF")
    (card,) = html5lib.parseFragment(html, namespaceHTMLElements=False).findall(".//p")

    assert card.get("class") == "link-card link-card--pdf"
    assert card.find(".//span[@class='link-card__kind']").text == "PDF"
    assert "data-embed" not in html and "iframe" not in html


def test_an_article_link_card_shows_its_host_and_path():
    html = markdown_to_html("https://news.example.org/2026/12/01/budget-day?ref=home")
    (card,) = html5lib.parseFragment(html, namespaceHTMLElements=False).findall(".//p")

    assert card.find(".//span[@class='link-card__host']").text == "news.example.org"
    assert card.find(".//span[@class='link-card__path']").text == "/2026/12/01/budget-day"
    assert card.find("a").get("href") == "https://news.example.org/2026/12/01/budget-day?ref=home"


def test_bare_urls_in_prose_become_links_but_names_without_a_scheme_stay_text():
    root = fragment("Details at https://example.org/a?b=1&c=2, not node.js or a@b.example.")

    assert [a.get("href") for a in root.findall(".//a")] == ["https://example.org/a?b=1&c=2"]


EVIL = "\"><script>alert(1)</script><x y='"


def test_every_part_of_an_embed_card_is_escaped():
    """Every part a card shows, as if a provider's entry of the registry let anything by."""
    provider = embeds.Provider(
        "youtube", "Tube" + EVIL, "video" + EVIL, (), "16x9", "shares" + EVIL, lambda p: None
    )
    card = rendering._embed_html(
        embeds.Embed(provider, "https://e.example/" + EVIL, "https://f.example/" + EVIL, EVIL)
    )
    root = html5lib.parseFragment(card, namespaceHTMLElements=False)

    assert root.findall(".//script") == [] and root.findall(".//x") == []
    figure = root.find("figure")
    assert set(figure.attrib) == {"class", "data-embed", "data-embed-title", "data-embed-shape"}
    assert figure.get("data-embed") == "https://f.example/" + EVIL
    assert figure.find(".//a").get("href") == "https://e.example/" + EVIL
    assert figure.find(".//small").text == "shares" + EVIL


def test_every_part_of_a_link_card_is_escaped():
    card = rendering._link_card_html(
        embeds.LinkCard(
            url="https://e.example/" + EVIL, host="h" + EVIL, path="/" + EVIL, is_pdf=True
        )
    )
    root = html5lib.parseFragment(card, namespaceHTMLElements=False)

    assert root.findall(".//script") == [] and root.findall(".//x") == []
    assert root.find(".//span[@class='link-card__host']").text == "h" + EVIL
    assert root.find(".//a").get("href") == "https://e.example/" + EVIL


@pytest.mark.parametrize(
    "url",
    [
        'https://example.org/"onmouseover="alert(1)',
        "https://example.org/<img src=x onerror=alert(1)>",
        "https://example.org/%22%3E%3Cscript%3E",
        "https://a.example/' onfocus='alert(1)",
        'https://x.com/jack/status/20" data-embed="https://evil.example',
    ],
)
def test_a_crafted_url_cannot_add_attributes_or_script(url):
    html = markdown_to_html(url)
    root = html5lib.parseFragment(html, namespaceHTMLElements=False)

    for element in root.iter():
        assert element.tag not in ("script", "img", "iframe")
        assert not any(name.startswith("on") for name in element.attrib)
        assert "evil.example" not in element.get("data-embed", "")


def test_a_card_body_loads_nothing_from_a_provider_before_the_click():
    html = markdown_to_html(f"https://youtu.be/{YT}")

    assert "<img" not in html and "<iframe" not in html and "<script" not in html
    assert "src=" not in html and "preconnect" not in html


def test_an_entrys_text_is_the_provider_and_the_link_not_the_button():
    html = markdown_to_html(f"https://youtu.be/{YT}")

    assert plain_text(html) == f"YouTube https://youtu.be/{YT}"


def test_where_no_script_runs_a_card_is_its_provider_and_link():
    html = rendering.without_embed_controls(markdown_to_html(f"Watch\n\nhttps://youtu.be/{YT}"))
    root = html5lib.parseFragment(html, namespaceHTMLElements=False)

    assert root.findall(".//button") == [] and root.findall(".//small") == []
    assert root.find(".//figcaption/a").get("href") == f"https://youtu.be/{YT}"
    assert root.find("p").text == "Watch"


@pytest.mark.django_db
def test_the_atom_feed_carries_a_card_without_its_button(client):
    member = MembershipFactory()
    event = member.event
    services.post_publish(event=event, author=member.user, body=f"https://youtu.be/{YT}")

    feed = client.get(f"/events/{event.slug}/feed/").content.decode()

    assert "youtu.be/" + YT in feed and "embed__source" in feed
    assert "data-embed-load" not in feed and "IP address" not in feed
