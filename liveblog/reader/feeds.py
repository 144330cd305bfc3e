"""Atom feed of an event's published entries (Django's syndication framework).

Newest first, the entries' HTML in <content>, their edit time in <updated>. A feed reader
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
class FeedPage:
    event: Event
    posts: list[Post]
    next_url: str | None


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
        return FeedPage(event=event, posts=page.posts, next_url=next_url)

    def title(self, obj: FeedPage) -> str:
        return obj.event.title

    def subtitle(self, obj: FeedPage) -> str:
        return obj.event.summary

    def link(self, obj: FeedPage) -> str:
        return obj.event.get_absolute_url()

    def feed_guid(self, obj: FeedPage) -> str:
        return obj.event.get_absolute_url()

    def feed_extra_kwargs(self, obj: FeedPage) -> dict[str, Any]:
        return {"next_url": obj.next_url}

    def items(self, obj: FeedPage) -> list[Post]:
        return obj.posts

    def item_title(self, item: Post) -> str:
        return summaries.entry_title(item, item.event)

    def item_description(self, item: Post) -> str:
        return escape(summaries.excerpt(item.body_html, 40))  # a summary of type html

    def item_extra_kwargs(self, item: Post) -> dict[str, Any]:
        return {"content_html": rendering.without_embed_controls(item.body_html)}

    def item_link(self, item: Post) -> str:
        return item.get_absolute_url()

    def item_author_name(self, item: Post) -> str:
        return author_payload(item.author)["display_name"]

    def item_pubdate(self, item: Post) -> datetime:
        return item.published_at

    def item_updateddate(self, item: Post) -> datetime:
        return item.updated_at
