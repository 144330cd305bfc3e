"""An event with 2,000 entries: the page stays small and cheap, and "load older" reaches
every entry once, even while entries are published and corrected during the walk."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests.factories import MembershipFactory, PostFactory

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
ENTRIES = 2000
ARTICLE = re.compile(r'<article[^>]* id="post-(\d+)"')


@pytest.fixture
def big_event(event):
    """2,000 published entries (four per second of published_at, so ties are broken by id),
    one of them pinned and every 100th a key event."""
    author = MembershipFactory(event=event, role=Membership.Role.EDITOR).user
    posts = [
        PostFactory.build(
            event=event,
            author=author,
            published_at=BASE + timedelta(seconds=i // 4),
            is_key_event=i % 100 == 0,
            headline="A headline for this entry" if i % 3 == 0 else "",
        )
        for i in range(ENTRIES)
    ]
    posts = Post.objects.bulk_create(posts)
    Post.objects.filter(pk=posts[1500].pk).update(is_pinned=True)
    return event, author, [p.pk for p in posts]


def newest_first(ids: list[int]) -> list[int]:
    return list(reversed(ids))  # created in (published_at, id) order


def test_first_fifty_in_constant_queries_and_under_150_kb(big_event, django_assert_num_queries):
    event, _, ids = big_event
    client = Client()
    # the event (with its latest change), the pinned entry and its images, the first page and
    # its entries' images (one prefetch each), the key events
    with django_assert_num_queries(6):
        response = client.get(f"/events/{event.slug}/")
    html = response.content
    assert len(html) < 150 * 1024, f"{len(html) / 1024:.0f} KiB"
    shown = [int(i) for i in ARTICLE.findall(html.decode())]
    assert shown[0] == ids[1500]
    assert shown[1:] == [i for i in newest_first(ids) if i != ids[1500]][:50]
    print(f"\n2,000-entry event page: {len(html) / 1024:.1f} KiB, 4 queries")


def walk(client: Client, slug: str, order: str, during=None) -> tuple[list[int], int]:
    """Follow "load older" (the fragment the script fetches) to the end, as the page does."""
    html = client.get(f"/events/{slug}/?order={order}").content.decode()
    seen = [int(i) for i in ARTICLE.findall(html)]
    cursor = re.search(r"data-older href=\"\?order=\w+&amp;after=([^\"]+)\"", html).group(1)
    pages = 0
    while cursor:
        pages += 1
        if during:
            during(pages)
        fragment = client.get(f"/events/{slug}/entries/?order={order}&after={cursor}")
        assert fragment.status_code == 200
        text = fragment.content.decode()
        seen += [int(i) for i in ARTICLE.findall(text)]
        cursor = re.search(r'data-next="([^"]*)"', text).group(1)
    return seen, pages


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_load_older_reaches_all_2000_without_duplicate_or_gap(big_event, order):
    event, _, ids = big_event
    seen, pages = walk(Client(), event.slug, order)
    expected = newest_first(ids) if order == "newest" else ids
    pinned = ids[1500]
    assert seen[0] == pinned and seen[1:] == [i for i in expected if i != pinned]
    assert pages == 39  # 1,999 unpinned entries: the first page and 39 older ones


def test_load_older_is_stable_while_entries_arrive_and_old_ones_are_edited(big_event):
    event, author, ids = big_event
    arrived = []

    def newsroom_at_work(page: int) -> None:
        post, _ = services.post_publish(event=event, author=author, body=f"Breaking {page}")
        arrived.append(post.pk)
        # An old entry further down, not yet loaded, is corrected.
        old = Post.objects.get(pk=ids[ENTRIES - 60 - page * 45])
        services.post_update(actor=author, post=old, changes={"body": f"Corrected {page}"})

    seen, _ = walk(Client(), event.slug, "newest", during=newsroom_at_work)
    pinned = ids[1500]
    assert seen[0] == pinned
    assert seen[1:] == [i for i in newest_first(ids) if i != pinned]
    assert not set(arrived) & set(seen)  # newer ones arrive live at the top, not in old pages


def test_each_older_page_costs_two_queries(big_event, django_assert_num_queries):
    event, _, _ = big_event
    client = Client()
    html = client.get(f"/events/{event.slug}/").content.decode()
    cursor = re.search(r"after=([^\"&]+)", html).group(1)
    with django_assert_num_queries(3):  # the event, the page, the page's images
        client.get(f"/events/{event.slug}/entries/?after={cursor}")
