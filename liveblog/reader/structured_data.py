"""schema.org data for search engines: LiveBlogPosting on the event page, BlogPosting on an
entry's own page (https://schema.org/LiveBlogPosting).

liveBlogUpdate holds the entries the page shows (the pinned one and the first page):
structured data describes its page, and the page stays small at thousands of entries. Every
entry has its own page and sitemap entry besides.

An entry's photos are its `image` (ImageObject), and the picture a share of a page shows
(og:image, twitter:image: `share_image`) is a photo of that page's entries, or the site's
logo. Both come from the entries the page already holds (their images are prefetched), so
they cost no query, and they are part of the page's render cache by construction: the cache
key names the event's last_seq, which every change of an entry or its photos moves.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from liveblog.blog.models import Event, Image, Post
from liveblog.blog.payloads import author_payload, image_payload, media_url
from liveblog.http import caching
from liveblog.reader import summaries

HEADLINE_MAX = 110  # what search engines show of a headline
# The widest rendition a share card gets: Facebook and X show at most about 1,200 px, and
# their crawlers refuse files over 5-8 MB (a 2,400 px rendition may be one).
SHARE_IMAGE_MAX_WIDTH = 1600


def site_name(request: HttpRequest) -> str:
    """The name an admin gave the site (models.SiteSettings)."""
    return caching.brand_for(request).name


def script_json(data: dict[str, Any]) -> SafeString:
    """JSON for a <script type="application/ld+json"> block: nothing in it can close the tag."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above for a <script> data block


def _publisher(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "Organization",
        "name": site_name(request),
        "url": request.build_absolute_uri(reverse("reader:home")),
    }
    logo = _logo_share(request)
    if logo is not None:
        data["logo"] = {
            "@type": "ImageObject",
            "url": logo.url,
            "width": logo.width,
            "height": logo.height,
        }
    return data


@dataclass(frozen=True)
class ShareImage:
    """The picture of a page's og:image and twitter:image, with an absolute address."""

    url: str
    width: int
    height: int
    alt: str
    is_photo: bool


def _share_rendition(image: Image) -> dict[str, Any]:
    """The widest rendition no wider than SHARE_IMAGE_MAX_WIDTH (renditions are stored
    narrowest first), or the narrowest when every one is wider."""
    fitting = [r for r in image.renditions if r["width"] <= SHARE_IMAGE_MAX_WIDTH]
    return fitting[-1] if fitting else image.renditions[0]


def _photo_share(request: HttpRequest, image: Image) -> ShareImage:
    rendition = _share_rendition(image)
    return ShareImage(
        url=request.build_absolute_uri(media_url(rendition["name"])),
        width=rendition["width"],
        height=rendition["height"],
        alt=image_payload(image)["alt"],
        is_photo=True,
    )


def _logo_share(request: HttpRequest) -> ShareImage | None:
    brand = caching.brand_for(request)
    if not brand.has_logo:
        return None
    path = reverse("reader:logo", args=[brand.version, brand.logo_extension])
    return ShareImage(
        url=request.build_absolute_uri(path),
        width=brand.logo_width,
        height=brand.logo_height,
        alt=brand.name,
        is_photo=False,
    )


def lead_photo(posts: list[Post]) -> Image | None:
    """The first photo of the latest key event that has one, else of the latest entry that
    has one, among `posts` (those the page shows)."""
    with_photos = [post for post in posts if post.ordered_images]
    latest = sorted(with_photos, key=lambda p: (p.is_key_event, p.published_at, p.pk))
    return latest[-1].ordered_images[0] if latest else None


def event_share_image(request: HttpRequest, posts: list[Post]) -> ShareImage | None:
    photo = lead_photo(posts)
    return _photo_share(request, photo) if photo is not None else _logo_share(request)


def post_share_image(request: HttpRequest, post: Post) -> ShareImage | None:
    images = post.ordered_images
    return _photo_share(request, images[0]) if images else _logo_share(request)


def image_object(request: HttpRequest, image: Image) -> dict[str, Any]:
    """https://schema.org/ImageObject of a photo at its full size."""
    payload = image_payload(image)
    url = request.build_absolute_uri(payload["url"])
    data: dict[str, Any] = {
        "@type": "ImageObject",
        "url": url,
        "contentUrl": url,
        "width": payload["width"],
        "height": payload["height"],
    }
    for name, value in (
        ("caption", payload["caption"]),
        ("creditText", payload["credit"]),
        ("description", payload["alt"]),
    ):
        if value:
            data[name] = value
    return data


def _update(request: HttpRequest, post: Post, page_url: str) -> dict[str, Any]:
    body = summaries.text(post.body_html)
    data: dict[str, Any] = {
        "@type": "BlogPosting",
        "@id": f"{page_url}#post-{post.pk}",
        "url": f"{page_url}#post-{post.pk}",
        "headline": (post.headline or summaries.excerpt(post.body_html, 16))[:HEADLINE_MAX],
        "articleBody": body,
        "datePublished": post.published_at.isoformat(),
        "dateModified": post.updated_at.isoformat(),
        "author": {"@type": "Person", "name": author_payload(post.author)["display_name"]},
        "mainEntityOfPage": request.build_absolute_uri(post.get_absolute_url()),
    }
    images = post.ordered_images
    if images:
        data["image"] = [image_object(request, image) for image in images]
    return data


def live_blog_posting(
    request: HttpRequest, event: Event, posts: list[Post], modified: datetime
) -> dict[str, Any]:
    page_url = request.build_absolute_uri(event.get_absolute_url())
    publisher = _publisher(request)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": page_url,
        "url": page_url,
        "mainEntityOfPage": page_url,
        "headline": event.title[:HEADLINE_MAX],
        "description": event.summary or event.title,
        "inLanguage": get_language(),
        "datePublished": event.created_at.isoformat(),
        "dateModified": modified.isoformat(),
        "coverageStartTime": (event.starts_at or event.created_at).isoformat(),
        "publisher": publisher,
        "author": publisher,
        "liveBlogUpdate": [_update(request, post, page_url) for post in posts],
    }
    lead = lead_photo(posts)
    if lead is not None:
        data["image"] = image_object(request, lead)
    if event.status == Event.Status.ENDED:
        data["coverageEndTime"] = (event.ends_at or event.updated_at).isoformat()
    return data


def blog_posting(request: HttpRequest, post: Post) -> dict[str, Any]:
    event = post.event
    page_url = request.build_absolute_uri(event.get_absolute_url())
    own_url = request.build_absolute_uri(post.get_absolute_url())
    data = _update(request, post, page_url)
    data.update(
        {
            "@context": "https://schema.org",
            "@id": own_url,
            "url": own_url,
            "mainEntityOfPage": own_url,
            "inLanguage": get_language(),
            "publisher": _publisher(request),
            "isPartOf": {"@type": "LiveBlogPosting", "@id": page_url, "headline": event.title},
        }
    )
    return data
