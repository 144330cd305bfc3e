"""Atom feed of an event's published entries (Django's syndication framework).

Newest first, the entries' HTML in <content>, their edit time in <updated>. The <content> is
the entry as readers see it on the page (blog/_content.html: body, cards, quotes, photos,
the Breaking and Updated marks), with every address absolute and no control that needs a
script. A feed reader
polling every few minutes during breaking news still sees every entry: a page holds
FEED_SIZE entries, and older ones are a `rel="next"` page away (RFC 5005 paged feeds),
by the same keyset cursor as the reader page.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.xmlutils import SimplerXMLGenerator

from liveblog.blog import rendering, selectors
from liveblog.blog.models import Event, Post
from liveblog.blog.payloads import author_payload
from liveblog.http import caching
from liveblog.reader import summaries

FEED_SIZE = 200


class PagedAtomFeed(Atom1Feed):
    """Atom with the entry's HTML as <content> and a link to the next (older) page."""

    def add_root_elements(self, handler: SimplerXMLGenerator) -> None:
        super().add_root_elements(handler)
        if self.feed.get("next_url"):
            handler.addQuickElement("link", "", {"rel": "next", "href": self.feed["next_url"]})

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("content_html"):
            handler.addQuickElement("content", item["content_html"], {"type": "html"})


@dataclass
class FeedEntry:
    post: Post
    content_html: str


@dataclass
class FeedPage:
    event: Event
    entries: list[FeedEntry]
    next_url: str | None
    home: str  # the event page's absolute address: the feed's atom:id, which must be an IRI


def entry_content(request: HttpRequest, post: Post, event: Event) -> str:
    """The entry's <content>: relative addresses resolved against the event's page, where
    the entry is read (a feed reader resolves against the feed, or shows them broken)."""
    origin = f"{request.scheme}://{request.get_host()}"
    html = render_to_string(
        "blog/_content.html", {"post": post, "event": event, "feed": True, "origin": origin}
    )
    base = request.build_absolute_uri(event.get_absolute_url())
    return rendering.without_embed_controls(html, base=base).strip()


class EventFeed(Feed):
    feed_type = PagedAtomFeed

    def get_object(self, request: HttpRequest, slug: str) -> FeedPage:
        event = caching.event_for(request, slug)
        if event is None:
            raise Http404(_("There is no such event."))
        after = None
        if request.GET.get("after"):
            try:
                after = selectors.Cursor.decode(request.GET["after"])
            except selectors.BadCursor:
                raise BadRequest(_("“after” is not a position in this feed.")) from None
        page = selectors.stream_page(event, order=Event.Order.NEWEST, after=after, limit=FEED_SIZE)
        next_url = None
        if page.next_cursor is not None:
            query = urlencode({"after": page.next_cursor.encode()})
            next_url = request.build_absolute_uri(f"{reverse('reader:feed', args=[slug])}?{query}")
        entries = [FeedEntry(post, entry_content(request, post, event)) for post in page.posts]
        home = request.build_absolute_uri(event.get_absolute_url())
        return FeedPage(event=event, entries=entries, next_url=next_url, home=home)

    def title(self, obj: FeedPage) -> str:
        return obj.event.title

    def subtitle(self, obj: FeedPage) -> str:
        return obj.event.summary

    def link(self, obj: FeedPage) -> str:
        return obj.event.get_absolute_url()

    def feed_guid(self, obj: FeedPage) -> str:
        # Django makes the links absolute but not the guid (RFC 4287 §4.2.6: an IRI).
        return obj.home

    def feed_extra_kwargs(self, obj: FeedPage) -> dict[str, Any]:
        return {"next_url": obj.next_url}

    def items(self, obj: FeedPage) -> list[FeedEntry]:
        return obj.entries

    def item_title(self, item: FeedEntry) -> str:
        return summaries.entry_title(item.post, item.post.event)

    def item_description(self, item: FeedEntry) -> str:
        return escape(summaries.excerpt(item.post.body_html, 40))  # a summary of type html

    def item_extra_kwargs(self, item: FeedEntry) -> dict[str, Any]:
        return {"content_html": item.content_html}

    def item_link(self, item: FeedEntry) -> str:
        return item.post.get_absolute_url()

    def item_author_name(self, item: FeedEntry) -> str:
        return author_payload(item.post.author)["display_name"]

    def item_pubdate(self, item: FeedEntry) -> datetime:
        return item.post.published_at

    def item_updateddate(self, item: FeedEntry) -> datetime:
        return item.post.updated_at
