"""The event page is rendered once per state and served from the cache until it changes."""

import pytest
from django.test import Client

from liveblog.blog import payloads, services
from liveblog.http import caching
from liveblog.reader import fragments
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


# --- entries: rendered once per version of the entry (liveblog/reader/fragments.py) ---------


@pytest.fixture
def renders(monkeypatch):
    """Which entries were rendered from the template (cache misses), in order."""
    rendered: list[int] = []
    original = fragments.post_fragment

    def counting(post, **options):
        rendered.append(post.pk)
        return original(post, **options)

    monkeypatch.setattr(fragments, "post_fragment", counting)
    return rendered


def test_a_new_state_of_the_page_renders_only_new_and_changed_entries(event, reporter, renders):
    posts = [
        services.post_publish(event=event, author=reporter, body=f"entry {i}")[0] for i in range(3)
    ]
    Client().get(f"/events/{event.slug}/")
    assert sorted(renders) == sorted(p.pk for p in posts)
    renders.clear()
    fresh, _ = services.post_publish(event=event, author=reporter, body="the fourth")
    services.post_update(actor=reporter, post=posts[0], changes={"body": "entry 0, corrected"})
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert sorted(renders) == sorted([fresh.pk, posts[0].pk])
    assert "entry 0, corrected" in html and ">entry 0<" not in html and "the fourth" in html


def test_the_page_s_entries_are_the_live_frames_html(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="same *everywhere*")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert payloads.post_fragment(post) in html


def test_an_author_s_new_name_reaches_the_cached_entries(event, reporter):
    services.post_publish(event=event, author=reporter, body="signed")
    Client().get(f"/events/{event.slug}/")
    reporter.first_name, reporter.last_name = "Ada", "Reporter"
    reporter.save()
    services.post_publish(event=event, author=reporter, body="another")  # a new page state
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert html.count('<span class="entry__author">Ada Reporter</span>') == 2


def test_entries_render_when_the_cache_is_down(event, reporter, monkeypatch):
    class Down:
        def get_many(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        set_many = get_many

    services.post_publish(event=event, author=reporter, body="still shown")
    monkeypatch.setattr(fragments, "caches", {"default": Down()})
    response = Client().get(f"/events/{event.slug}/")
    assert response.status_code == 200 and "still shown" in response.content.decode()


def test_parameters_the_page_does_not_read_make_no_cached_copy(event, monkeypatch):
    """Review finding: any unused query parameter (`?junk=<random>`) made a new rendering
    and a new Redis entry of ~the page's size, kept 300 s."""
    from django.core.cache import caches

    stored: list[str] = []
    real = caches["default"].set

    def record(key, *args, **kwargs):
        if key.startswith("page:"):
            stored.append(key)
        return real(key, *args, **kwargs)

    monkeypatch.setattr(caches["default"], "set", record)
    for n in range(5):
        assert Client().get(f"/events/{event.slug}/?junk={n}").status_code == 200
    assert stored == []
    assert Client().get(f"/events/{event.slug}/?order=oldest").status_code == 200
    assert len(stored) == 1
