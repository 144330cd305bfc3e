"""Atom feed of an event's published entries (Django's syndication framework)."""

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.utils.feedgenerator import Atom1Feed

from liveblog.blog import selectors
from liveblog.blog.models import Event, Post
from liveblog.blog.rendering import clock, plain_text

FEED_SIZE = 100


def entry_title(post: Post, event: Event) -> str:
    """The headline, or else the time and the first words (SPEC §5)."""
    if post.headline:
        return post.headline
    words = plain_text(post.body_html).split()
    first = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    return f"{clock(post.published_at, event.tz)} — {first}"


class EventFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str) -> Event:
        event = selectors.event_by_slug(slug)
        if event is None:
            raise Http404("No such event.")
        return event

    def title(self, obj: Event) -> str:
        return obj.title

    def subtitle(self, obj: Event) -> str:
        return obj.summary

    def link(self, obj: Event) -> str:
        return obj.get_absolute_url()

    def feed_guid(self, obj: Event) -> str:
        return obj.get_absolute_url()

    def items(self, obj: Event) -> list[Post]:
        return selectors.stream_page(obj, order=Event.Order.NEWEST, limit=FEED_SIZE).posts

    def item_title(self, item: Post) -> str:
        return entry_title(item, item.event)

    def item_description(self, item: Post) -> str:
        return item.body_html

    def item_link(self, item: Post) -> str:
        return item.get_absolute_url()

    def item_author_name(self, item: Post) -> str:
        return item.author.get_full_name() or item.author.get_username()

    def item_pubdate(self, item: Post) -> datetime:
        return item.published_at

    def item_updateddate(self, item: Post) -> datetime:
        return item.updated_at
