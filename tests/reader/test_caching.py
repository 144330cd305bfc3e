"""HTTP caching: a CDN may keep the public pages and API lists, and readers still get fresh
content. The ETag follows the event's last_seq, so any change a reader can see changes it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils.http import http_date

from liveblog.blog import services
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

PAGES = ["/events/{slug}/", "/events/{slug}/embed/", "/events/{slug}/feed/"]


@pytest.fixture
def published(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="First")
    return post


def validators(path: str) -> tuple[str, str]:
    response = Client().get(path)
    assert response.status_code == 200, path
    return response["ETag"], response["Last-Modified"]


@pytest.mark.parametrize("page", PAGES)
def test_public_pages_are_shareable_by_a_cdn_and_revalidated_by_browsers(event, published, page):
    response = Client().get(page.format(slug=event.slug))
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"public", "max-age=0", "s-maxage=10"} <= cache_control
    assert response["ETag"].startswith('W/"')
    assert response["Last-Modified"]


def test_unchanged_page_is_a_304_by_etag_and_by_date(event, published):
    path = f"/events/{event.slug}/"
    etag, modified = validators(path)
    assert Client().get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert Client().get(path, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert Client().head(path, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_etag_changes_with_every_change_readers_see(event, reporter, editor, published):
    path = f"/events/{event.slug}/"
    seen = {validators(path)[0]}
    other, _ = services.post_publish(event=event, author=reporter, body="Second")
    seen.add(validators(path)[0])
    services.post_update(actor=reporter, post=other, changes={"body": "Second, corrected"})
    seen.add(validators(path)[0])
    services.post_delete(actor=reporter, post=other)
    seen.add(validators(path)[0])
    event.refresh_from_db()
    services.event_update(actor=editor, event=event, changes={"status": "ended"})
    etag = validators(path)[0]
    seen.add(etag)
    assert len(seen) == 5
    assert Client().get(path, HTTP_IF_NONE_MATCH=next(iter(seen - {etag}))).status_code == 200


def test_last_modified_is_the_latest_change(event, reporter, published):
    later = datetime.now(UTC) + timedelta(seconds=5)
    services.post_publish(event=event, author=reporter, body="Second")
    response = Client().get(f"/events/{event.slug}/", HTTP_IF_MODIFIED_SINCE=http_date(0))
    assert response.status_code == 200
    modified = datetime.strptime(response["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT")
    assert modified.replace(tzinfo=UTC) <= later


def test_each_order_and_page_has_its_own_etag(event, published):
    newest, _ = validators(f"/events/{event.slug}/?order=newest")
    oldest, _ = validators(f"/events/{event.slug}/?order=oldest")
    assert newest != oldest


def test_permalink_page_etag_follows_its_event(event, reporter, published):
    path = f"/events/{event.slug}/posts/{published.pk}/"
    etag, _ = validators(path)
    services.post_update(actor=reporter, post=published, changes={"body": "First, corrected"})
    response = Client().get(path, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and "First, corrected" in response.content.decode()


def test_pages_are_gzipped_for_clients_that_accept_it(event, published):
    response = Client().get(f"/events/{event.slug}/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]


def test_missing_event_is_a_404_without_validators():
    response = Client().get("/events/nope/")
    assert response.status_code == 404 and "ETag" not in response


# --- the API's lists ---------------------------------------------------------------------


def test_api_posts_list_is_conditional_and_changes_with_last_seq(event, reporter, published):
    path = f"/api/v1/events/{event.slug}/posts/"
    response = Client().get(path)
    etag = response["ETag"]
    assert response["Last-Modified"] and response["Cache-Control"] == "no-cache"
    assert Client().get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.post_publish(event=event, author=reporter, body="Second")
    fresh = Client().get(path, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and len(fresh.json()["results"]) == 2
    assert fresh["ETag"] != etag


def test_api_changes_list_is_conditional(event, reporter, published):
    path = f"/api/v1/events/{event.slug}/changes/?since=0"
    etag = Client().get(path)["ETag"]
    assert Client().get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.post_publish(event=event, author=reporter, body="Second")
    assert Client().get(path, HTTP_IF_NONE_MATCH=etag).json()["last_seq"] == 2


def test_api_events_list_etag_moves_with_any_events_last_seq(event, reporter, published):
    path = "/api/v1/events/"
    etag = Client().get(path)["ETag"]
    assert Client().get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.post_publish(event=event, author=reporter, body="Second")
    second = Client().get(path, HTTP_IF_NONE_MATCH=etag)
    assert second.status_code == 200
    EventFactory()
    assert Client().get(path, HTTP_IF_NONE_MATCH=second["ETag"]).status_code == 200


def test_writes_are_not_conditional(event, reporter):
    """A POST never answers 304, whatever validators it carries."""
    from liveblog.blog.models import ApiToken

    _, key = ApiToken.issue(user=reporter)
    response = Client().post(
        f"/api/v1/events/{event.slug}/posts/",
        data={"body": "Posted"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IF_NONE_MATCH="*",
    )
    assert response.status_code == 201


def test_a_new_secret_key_makes_new_etags_so_no_cached_page_keeps_an_old_nonce(
    event, published, settings
):
    """The CSP nonce of a cached page is an HMAC of its ETag under SECRET_KEY: were the ETag
    (and so the render cache's key) the same under a new key, a page rendered before the
    rotation would be served with a policy naming another nonce, and none of its scripts
    would run (found by the issue 10 audit, between two runs with different keys)."""
    from liveblog.http import caching

    path = f"/events/{event.slug}/"
    before, _ = validators(path)
    old_nonce = Client().get(path).content.decode().split('nonce="')[1].split('"')[0]

    settings.SECRET_KEY = "a-rotated-key-" + "x" * 50
    caching.release.cache_clear()
    try:
        response = Client().get(path)
        after = response["ETag"]
        body = response.content.decode()
    finally:
        caching.release.cache_clear()

    assert after != before
    new_nonce = body.split('nonce="')[1].split('"')[0]
    assert new_nonce != old_nonce
    assert f"'nonce-{new_nonce}'" in response["Content-Security-Policy"]
