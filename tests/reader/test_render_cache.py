"""The event page is rendered once per state and served from the cache until it changes."""

import pytest
from django.test import Client

from liveblog.blog import services
from liveblog.reader import caching
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


def test_second_load_is_served_from_the_render_cache(event, reporter, django_assert_num_queries):
    for _ in range(30):
        PostFactory(event=event)
    first = Client().get(f"/events/{event.slug}/")
    with django_assert_num_queries(1):  # the event row, for the ETag and the cache key
        second = Client().get(f"/events/{event.slug}/")
    assert second.status_code == 200
    assert second.content == first.content


def test_a_change_is_never_served_stale(event, reporter):
    Client().get(f"/events/{event.slug}/")
    post, _ = services.post_publish(event=event, author=reporter, body="Fresh news")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert f'id="post-{post.pk}"' in html
    assert 'data-seq="1"' in html


def test_order_and_pages_are_cached_apart(event):
    for _ in range(3):
        PostFactory(event=event)
    newest = Client().get(f"/events/{event.slug}/").content
    oldest = Client().get(f"/events/{event.slug}/?order=oldest").content
    assert newest != oldest
    assert Client().get(f"/events/{event.slug}/?order=oldest").content == oldest


def test_page_renders_when_the_cache_is_down(event, monkeypatch):
    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        set = get

    monkeypatch.setattr(caching, "caches", {"default": Down()})
    response = Client().get(f"/events/{event.slug}/")
    assert response.status_code == 200
    assert event.title in response.content.decode()
