import json

import pytest
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import Change, Post
from tests.api.helpers import url
from tests.factories import EventFactory, MembershipFactory, PostFactory


@pytest.fixture
def published(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="Doors *open*.")
    return post


@pytest.fixture
def colleague(event):
    """Another reporter of the same event."""
    return MembershipFactory(event=event).user


# --- publishing -------------------------------------------------------------------------


def test_reporter_publishes_a_post_with_location(event, reporter, api_for):
    response = api_for(reporter).post(
        url(event.slug, "posts"),
        {"body": "The conference *opens*.", "headline": "Opening", "is_key_event": False},
    )

    assert response.status_code == 201
    body = response.json()
    post = Post.objects.get()
    assert body["id"] == post.pk
    assert body["event"] == event.slug
    assert body["headline"] == "Opening"
    assert "<em>opens</em>" in body["body_html"]
    assert body["author"]["username"] == reporter.username
    assert body["status"] == "published"
    assert body["url"] == f"/events/{event.slug}/posts/{post.pk}/"
    assert set(body) == {
        "id", "event", "headline", "body", "body_html", "author", "published_at",
        "updated_at", "is_key_event", "is_pinned", "is_breaking", "corrected_at", "status",
        "version", "images", "url",
    }  # fmt: skip
    assert response["Location"] == f"http://testserver{url(event.slug, 'posts', post.pk)}"
    assert Change.objects.filter(event=event, kind="post.created").count() == 1


def test_published_at_keeps_the_given_offset_instant(event, reporter, api_for):
    response = api_for(reporter).post(
        url(event.slug, "posts"),
        {"body": "Backdated.", "published_at": "2025-05-01T10:30:00+08:00"},
    )

    assert response.status_code == 201
    assert response.json()["published_at"] == "2025-05-01T02:30:00+00:00"


def test_draft_is_created_without_a_change_for_readers(event, reporter, api_for):
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "WIP", "status": "draft"})

    assert response.status_code == 201
    assert response.json()["status"] == "draft"
    assert Change.objects.count() == 0


def test_same_idempotency_key_returns_the_first_post_and_creates_nothing(event, reporter, api_for):
    api = api_for(reporter)
    first = api.post(url(event.slug, "posts"), {"body": "Once."}, **{"Idempotency-Key": "k-1"})
    again = api.post(url(event.slug, "posts"), {"body": "Twice?"}, **{"Idempotency-Key": "k-1"})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["body"] == "Once."
    assert Post.objects.count() == 1
    assert Change.objects.count() == 1


def test_idempotency_key_is_scoped_to_the_event(event, admin, api_for):
    other = EventFactory()
    api = api_for(admin)
    a = api.post(url(event.slug, "posts"), {"body": "A"}, **{"Idempotency-Key": "same"})
    b = api.post(url(other.slug, "posts"), {"body": "B"}, **{"Idempotency-Key": "same"})

    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


def test_idempotency_key_over_200_characters_is_refused(event, reporter, api_for, snapshot):
    before = snapshot()
    response = api_for(reporter).post(
        url(event.slug, "posts"), {"body": "x"}, **{"Idempotency-Key": "k" * 201}
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert snapshot() == before


# --- refused publishing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"body": "x", "is_pinned": "yes"}, "is_pinned"),
        ({"body": "x", "is_key_event": 1}, "is_key_event"),
        ({"body": 42}, "body"),
        ({"body": ["a"]}, "body"),
        ({"body": None}, "body"),
        ({}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 50_001}, "body"),
        ({"body": "x", "headline": "h" * 301}, "headline"),
        ({"body": "x", "headline": None}, "headline"),
        ({"body": "x", "published_at": "2025-05-01T10:30:00"}, "published_at"),
        ({"body": "x", "published_at": "yesterday"}, "published_at"),
        ({"body": "x", "published_at": "0001-01-01T00:00:00+05:00"}, "published_at"),
        ({"body": "x", "status": "secret"}, "status"),
        ({"body": "x", "author": "someone-else"}, "author"),
        ({"body": "nul \x00 byte"}, "body"),
        ({"body": "lone \ud800 surrogate"}, "body"),
    ],
)
def test_invalid_post_is_refused_naming_the_field(event, reporter, api_for, snapshot, data, field):
    before = snapshot()
    response = api_for(reporter).post(url(event.slug, "posts"), data)

    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "invalid"
    assert field in error["fields"]
    assert isinstance(error["detail"], str) and error["detail"]
    assert snapshot() == before


def test_body_of_exactly_50000_characters_is_accepted(event, reporter, api_for):
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "x" * 50_000})

    assert response.status_code == 201


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe\xfa", b"[" * 100_000])
def test_malformed_json_is_a_400(event, reporter, api_for, snapshot, raw):
    api = api_for(reporter)
    before = snapshot()
    response = api.client.post(
        url(event.slug, "posts"),
        raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert snapshot() == before


@pytest.mark.parametrize("data", [[], "body", 3, None])
def test_a_body_that_is_not_an_object_is_a_400(event, reporter, api_for, snapshot, data):
    api = api_for(reporter)
    before = snapshot()
    response = api.client.post(
        url(event.slug, "posts"),
        json.dumps(data),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {}
    assert snapshot() == before


def test_form_encoded_body_is_refused_as_malformed_json(event, reporter, api_for, snapshot):
    api = api_for(reporter)
    before = snapshot()
    response = api.client.post(
        url(event.slug, "posts"),
        {"body": "x"},
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert snapshot() == before


def test_body_over_one_mebibyte_is_a_413(event, reporter, api_for, snapshot):
    api = api_for(reporter)
    before = snapshot()
    raw = json.dumps({"body": "x" * (1024 * 1024)})
    response = api.client.post(
        url(event.slug, "posts"),
        raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "detail": "The request body is larger than 1 MiB.",
        "fields": {},
    }
    assert snapshot() == before


def test_reporter_cannot_pin_or_mark_key_events(event, reporter, api_for, snapshot):
    before = snapshot()
    api = api_for(reporter)
    pinned = api.post(url(event.slug, "posts"), {"body": "x", "is_pinned": True})
    key = api.post(url(event.slug, "posts"), {"body": "x", "is_key_event": True})

    assert (pinned.status_code, key.status_code) == (403, 403)
    assert pinned.json()["error"] == "permission_denied"
    assert snapshot() == before


def test_editor_can_pin_a_post(event, editor, api_for):
    response = api_for(editor).post(url(event.slug, "posts"), {"body": "x", "is_pinned": True})

    assert response.status_code == 201
    assert response.json()["is_pinned"] is True


def test_outsider_cannot_publish(event, outsider, api_for, snapshot):
    before = snapshot()
    response = api_for(outsider).post(url(event.slug, "posts"), {"body": "x"})

    assert response.status_code == 403
    assert snapshot() == before


def test_anonymous_cannot_publish(event, anonymous, snapshot):
    before = snapshot()
    response = anonymous.post(url(event.slug, "posts"), {"body": "x"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "not_authenticated"
    assert snapshot() == before


def test_publishing_to_an_unknown_event_is_a_404(reporter, api_for, snapshot):
    before = snapshot()
    response = api_for(reporter).post(url("no-such-event", "posts"), {"body": "x"})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert snapshot() == before


# --- reading ----------------------------------------------------------------------------


def test_anyone_reads_a_published_post(event, published, anonymous):
    response = anonymous.get(url(event.slug, "posts", published.pk))

    assert response.status_code == 200
    assert response.json()["id"] == published.pk
    assert response["Cache-Control"] == "no-cache"


def test_draft_is_hidden_from_readers_but_not_from_its_author(event, reporter, anonymous, api_for):
    draft, _ = services.post_publish(event=event, author=reporter, body="WIP", status="draft")

    assert anonymous.get(url(event.slug, "posts", draft.pk)).status_code == 404
    assert api_for(reporter).get(url(event.slug, "posts", draft.pk)).status_code == 200


def test_post_of_another_event_is_a_404(event, anonymous):
    post = PostFactory()

    assert anonymous.get(url(event.slug, "posts", post.pk)).status_code == 404


def test_absurd_post_id_is_a_404(event, anonymous):
    assert anonymous.get(url(event.slug, "posts", 10**30)).status_code == 404


def test_list_shows_only_published_posts_newest_first(event, reporter, anonymous):
    services.post_publish(event=event, author=reporter, body="draft", status="draft")
    old, _ = services.post_publish(event=event, author=reporter, body="old")
    new, _ = services.post_publish(event=event, author=reporter, body="new")
    gone, _ = services.post_publish(event=event, author=reporter, body="gone")
    services.post_delete(actor=reporter, post=gone)

    response = anonymous.get(url(event.slug, "posts"))

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [new.pk, old.pk]
    assert response.json()["next"] is None


def test_list_of_posts_uses_a_constant_number_of_queries(
    event, reporter, anonymous, django_assert_max_num_queries
):
    for n in range(30):
        PostFactory(event=event, author=reporter, body=f"entry {n}")

    with django_assert_max_num_queries(3):
        response = anonymous.get(url(event.slug, "posts") + "?limit=30")

    assert len(response.json()["results"]) == 30


# --- editing and removing ---------------------------------------------------------------


def test_reporter_edits_own_post(event, reporter, published, api_for):
    response = api_for(reporter).patch(url(event.slug, "posts", published.pk), {"body": "Fixed."})

    assert response.status_code == 200
    assert response.json()["body"] == "Fixed."
    assert Change.objects.filter(kind="post.updated").count() == 1


def test_reporter_cannot_edit_others_post(event, published, colleague, api_for, snapshot):
    before = snapshot()
    response = api_for(colleague).patch(
        url(event.slug, "posts", published.pk), {"body": "Mine now."}
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_editor_edits_and_pins_others_post(event, editor, published, api_for):
    response = api_for(editor).patch(
        url(event.slug, "posts", published.pk), {"headline": "Doors", "is_pinned": True}
    )

    assert response.status_code == 200
    assert response.json()["is_pinned"] is True
    assert response.json()["headline"] == "Doors"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"is_pinned": "yes"}, "is_pinned"),
        ({"body": ""}, "body"),
        ({"id": 3}, "id"),
        ({"event": "elsewhere"}, "event"),
        ({"published_at": "2025-05-01 10:30"}, "published_at"),
    ],
)
def test_invalid_edit_changes_nothing(event, editor, published, api_for, snapshot, data, field):
    before = snapshot()
    response = api_for(editor).patch(url(event.slug, "posts", published.pk), data)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert snapshot() == before


def test_empty_edit_is_refused(event, editor, published, api_for, snapshot):
    before = snapshot()
    response = api_for(editor).patch(url(event.slug, "posts", published.pk), {})

    assert response.status_code == 400
    assert snapshot() == before


def test_anonymous_cannot_edit_or_remove(event, published, anonymous, snapshot):
    before = snapshot()

    assert anonymous.patch(url(event.slug, "posts", published.pk), {"body": "x"}).status_code == 401
    assert anonymous.delete(url(event.slug, "posts", published.pk)).status_code == 401
    assert snapshot() == before


def test_reporter_removes_own_post(event, reporter, published, api_for, anonymous):
    response = api_for(reporter).delete(url(event.slug, "posts", published.pk))

    assert response.status_code == 204
    assert response.content == b""
    assert anonymous.get(url(event.slug, "posts", published.pk)).status_code == 404
    published.refresh_from_db()
    assert published.deleted_at is not None  # kept for the audit trail
    assert Change.objects.filter(kind="post.deleted").count() == 1


def test_reporter_cannot_remove_others_post(event, published, colleague, api_for, snapshot):
    before = snapshot()
    response = api_for(colleague).delete(url(event.slug, "posts", published.pk))

    assert response.status_code == 403
    assert snapshot() == before


def test_removing_a_removed_post_is_a_404(event, reporter, published, api_for):
    api = api_for(reporter)
    api.delete(url(event.slug, "posts", published.pk))

    assert api.delete(url(event.slug, "posts", published.pk)).status_code == 404
    assert Change.objects.filter(kind="post.deleted").count() == 1


def test_location_of_a_created_post_is_its_api_address(event, reporter, api_for):
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "x"})
    post_id = response.json()["id"]

    expected = reverse("api:post", kwargs={"slug": event.slug, "post_id": post_id})
    assert response["Location"].endswith(expected)
    assert api_for(reporter).get(expected).json()["id"] == post_id


def test_idempotency_key_never_reveals_someone_elses_draft(
    event, reporter, colleague, api_for, snapshot
):
    api_for(reporter).post(
        url(event.slug, "posts"), {"body": "secret", "status": "draft"}, **{"Idempotency-Key": "k"}
    )
    before = snapshot()

    response = api_for(colleague).post(
        url(event.slug, "posts"), {"body": "x"}, **{"Idempotency-Key": "k"}
    )

    assert response.status_code == 409
    assert "secret" not in response.content.decode()
    assert snapshot() == before


def test_json_body_without_json_content_type_is_accepted(event, reporter, api_for):
    """`curl -d '{...}'` sends form encoding by default; the body is still JSON."""
    api = api_for(reporter)
    response = api.client.post(
        url(event.slug, "posts"),
        data='{"body": "Sent by curl -d"}',
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 201
    assert response.json()["body"] == "Sent by curl -d"
