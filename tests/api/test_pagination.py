from datetime import timedelta

import pytest
from django.utils import timezone

from liveblog.blog.selectors import Cursor
from tests.api.helpers import url
from tests.factories import PostFactory


@pytest.fixture
def posts_120(event, reporter):
    """120 published posts; groups of three share a published_at, so ids break ties."""
    start = timezone.now() - timedelta(hours=3)
    return [
        PostFactory(event=event, author=reporter, published_at=start + timedelta(minutes=n // 3))
        for n in range(120)
    ]


def _walk(client, first: str) -> tuple[list[int], int]:
    seen: list[int] = []
    pages, next_url = 0, first
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200
        seen += [p["id"] for p in response.json()["results"]]
        next_url, pages = response.json()["next"], pages + 1
    return seen, pages


def _newest_first(posts) -> list[int]:
    return [p.pk for p in sorted(posts, key=lambda p: (p.published_at, p.pk), reverse=True)]


def test_walking_120_posts_by_cursor_has_no_duplicate_nor_gap(event, posts_120, anonymous):
    seen, pages = _walk(anonymous, url(event.slug, "posts"))

    assert seen == _newest_first(posts_120)
    assert pages == 6  # 20 a page by default


def test_next_keeps_the_limit_and_is_absolute(event, posts_120, anonymous):
    body = anonymous.get(url(event.slug, "posts") + "?limit=50").json()

    assert len(body["results"]) == 50
    assert body["next"].startswith(f"http://testserver/api/v1/events/{event.slug}/posts/?")
    assert "limit=50" in body["next"]
    assert len(anonymous.get(body["next"]).json()["results"]) == 50


def test_posts_published_during_a_walk_do_not_shift_pages(event, reporter, posts_120, anonymous):
    first = anonymous.get(url(event.slug, "posts") + "?limit=7").json()
    for _ in range(5):
        PostFactory(event=event, author=reporter)  # newer than everything: before the cursor
    rest, _ = _walk(anonymous, first["next"])

    assert [p["id"] for p in first["results"]] + rest == _newest_first(posts_120)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", "9" * 30])
def test_limit_outside_1_to_100_is_a_400(event, anonymous, limit):
    response = anonymous.get(url(event.slug, "posts") + f"?limit={limit}")

    assert response.status_code == 400
    assert "limit" in response.json()["fields"]


def test_limit_of_100_is_allowed(event, posts_120, anonymous):
    assert len(anonymous.get(url(event.slug, "posts") + "?limit=100").json()["results"]) == 100


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "Zm9v",  # base64 of "foo"
        Cursor(published_at=timezone.now(), id=2**70).encode(),
        "MjAyNS0wNS0wMVQxMDozMDowMHw3",  # a naive time
    ],
    # Ids that do not change with the clock: every xdist worker must collect the same tests.
    ids=["garbage", "not-a-cursor", "id-over-bigint", "naive-time"],
)
def test_bad_cursor_is_a_400(event, anonymous, cursor):
    response = anonymous.get(url(event.slug, "posts") + f"?cursor={cursor}")

    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]


def test_bad_cursor_on_events_is_a_400(db, anonymous):
    response = anonymous.get(url() + "?cursor=nope")

    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]
