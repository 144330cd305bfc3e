"""schema.org data for search engines: LiveBlogPosting on the event page, BlogPosting on an
entry's own page (https://schema.org/LiveBlogPosting).

liveBlogUpdate holds the entries the page shows (the pinned one and the first page):
structured data describes its page, and the page stays small at thousands of entries. Every
entry has its own page and sitemap entry besides.
"""

import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from liveblog.blog import selectors
from liveblog.blog.models import Event, Post
from liveblog.blog.payloads import author_payload
from liveblog.reader import summaries

HEADLINE_MAX = 110  # what search engines show of a headline


def site_name() -> str:
    """The name an admin gave the site (models.SiteSettings)."""
    return selectors.site_brand().name


def script_json(data: dict[str, Any]) -> SafeString:
    """JSON for a <script type="application/ld+json"> block: nothing in it can close the tag."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above for a <script> data block


def _publisher(request: HttpRequest) -> dict[str, Any]:
    return {
        "@type": "Organization",
        "name": site_name(),
        "url": request.build_absolute_uri(reverse("reader:home")),
    }


def _update(request: HttpRequest, post: Post, page_url: str) -> dict[str, Any]:
    body = summaries.text(post.body_html)
    return {
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
