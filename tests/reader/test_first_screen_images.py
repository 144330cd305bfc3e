"""The photos of the first screen load at once, the first of each of those entries at high
priority (it may be the page's largest paint); every other photo loads lazily (issue 10: no
wasted bytes, no lazy largest paint)."""

import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.payloads import post_fragment
from liveblog.reader.fragments import EAGER_ENTRIES
from tests import pictures

pytestmark = pytest.mark.django_db


def photo_entry(reporter, event, n: int, **fields):
    image = services.image_upload(
        actor=reporter, event=event, file=io.BytesIO(pictures.photo(800, 400)), alt=f"photo {n}"
    )
    post, _ = services.post_publish(
        event=event,
        author=reporter,
        body=f"Entry {n}",
        images=[image.pk],
        published_at=timezone.now() - timedelta(minutes=10 - n),
        **fields,
    )
    return post


def img_tags(html: str) -> dict[str, str]:
    """Each <img> by its alt text."""
    return {re.search(r'alt="([^"]*)"', tag)[1]: tag for tag in re.findall(r"<img [^>]*>", html)}


def test_the_first_entries_photos_load_at_once_and_the_rest_lazily(reporter, event):
    for n in range(5):
        photo_entry(reporter, event, n)  # entry 4 is the newest, on top
    tags = img_tags(Client().get(f"/events/{event.slug}/").content.decode())
    first_screen = {f"photo {4 - n}" for n in range(EAGER_ENTRIES)}
    assert EAGER_ENTRIES == 2 and len(tags) == 5
    for alt, tag in tags.items():
        if alt in first_screen:
            assert 'fetchpriority="high"' in tag and "loading=" not in tag, tag
        else:
            assert 'loading="lazy"' in tag and "fetchpriority" not in tag, tag


def test_the_pinned_entry_and_the_oldest_first_page_load_their_top_photos_at_once(
    reporter, editor, event
):
    photo_entry(editor, event, 0, is_pinned=True)  # only an editor pins
    for n in range(1, 4):
        photo_entry(reporter, event, n)
    tags = img_tags(Client().get(f"/events/{event.slug}/?order=oldest").content.decode())
    eager = {alt for alt, tag in tags.items() if 'fetchpriority="high"' in tag}
    # The pinned entry on top, then the stream's first two (oldest first: 1 and 2).
    assert eager == {"photo 0", "photo 1", "photo 2"}
    assert 'loading="lazy"' in tags["photo 3"]


def test_older_pages_and_live_frames_load_photos_lazily(reporter, event):
    posts = [photo_entry(reporter, event, n) for n in range(3)]
    assert 'loading="lazy"' in post_fragment(posts[0])  # what a live frame carries
    # "Load older" without a cursor: the same entries, appended below the first screen.
    older = Client().get(f"/events/{event.slug}/entries/")
    tags = img_tags(older.content.decode())
    assert len(tags) == 3 and all('loading="lazy"' in tag for tag in tags.values())


def test_the_permalink_loads_its_photo_at_once(reporter, event):
    post = photo_entry(reporter, event, 0)
    tags = img_tags(Client().get(post.get_absolute_url()).content.decode())
    assert 'fetchpriority="high"' in tags["photo 0"] and "loading=" not in tags["photo 0"]


def test_the_cached_lazy_and_eager_renderings_are_kept_apart(reporter, event):
    for n in range(3):
        photo_entry(reporter, event, n)
    Client().get(f"/events/{event.slug}/")  # fills the entry cache, top entries eager
    html = Client().get(f"/events/{event.slug}/?order=oldest").content.decode()
    tags = img_tags(html)  # now entry 0 is on top: eager; entry 2, last, lazy
    assert 'fetchpriority="high"' in tags["photo 0"]
    assert 'loading="lazy"' in tags["photo 2"]
