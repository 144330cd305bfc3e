"""sitemap.xml: every event page and every entry's own page, with when each last changed."""

from datetime import datetime
from typing import Any

from django.contrib.sitemaps import Sitemap

from liveblog.blog.models import Event, Post
from liveblog.http import caching


class EventSitemap(Sitemap):
    def items(self) -> Any:
        return caching.with_last_change(Event.objects.order_by("id"))

    def lastmod(self, item: Event) -> datetime:
        return caching.changed_at(item)


class PostSitemap(Sitemap):
    def items(self) -> Any:
        posts = Post.objects.public().select_related("event").order_by("id")
        return posts.only("id", "updated_at", "event__slug")

    def lastmod(self, item: Post) -> datetime:
        return item.updated_at


SITEMAPS: dict[str, type[Sitemap]] = {"events": EventSitemap, "entries": PostSitemap}
