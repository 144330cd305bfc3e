"""The approval workflow in the API (SPEC §6): a contributor's POST is `submitted`, an editor
publishes it with PATCH {"status": "published"}, sends it back (…/send-back/, a note) or
rejects it (…/reject/); …/submissions/ lists what waits. Every answer is checked against the
OpenAPI document (tests/conftest.py), so each status here is documented."""

from datetime import datetime

import pytest
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Change, Membership, Post
from tests.api.helpers import url
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def contributor(event):
    return MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user


@pytest.fixture
def submitted(event, contributor):
    post, _ = services.post_publish(event=event, author=contributor, body="Smoke over the port.")
    return post


def test_a_contributors_post_is_created_submitted(event, contributor, api_for):
    response = api_for(contributor).post(url(event.slug, "posts"), {"body": "Smoke."})
    assert response.status_code == 201
    assert response.json()["status"] == "submitted"
    assert Post.objects.get().status == Post.Status.SUBMITTED
    assert not Change.objects.exists()


def test_a_contributors_draft_stays_a_draft(event, contributor, api_for):
    response = api_for(contributor).post(
        url(event.slug, "posts"), {"body": "Smoke.", "status": "draft"}
    )
    assert response.status_code == 201 and response.json()["status"] == "draft"


def test_an_editor_approves_with_a_patch_to_published(event, editor, submitted, api_for):
    response = api_for(editor).patch(
        url(event.slug, "posts", submitted.pk), {"status": "published"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "published" and body["version"] == submitted.version + 1
    assert Change.objects.get().kind == Change.Kind.POST_CREATED
    assert AuditEntry.objects.filter(post=submitted, action="post.approved").exists()


def test_a_contributor_cannot_approve_their_own_submission(event, contributor, submitted, api_for):
    response = api_for(contributor).patch(
        url(event.slug, "posts", submitted.pk), {"status": "published"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "submitted", "it still waits for an editor"
    assert not Change.objects.exists()


def test_an_editor_sends_a_submission_back_with_a_note(event, editor, submitted, api_for):
    response = api_for(editor).post(
        url(event.slug, "posts", submitted.pk, "send-back"), {"note": "Which port?"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert response["ETag"] == f'"{submitted.version + 1}"'
    submitted.refresh_from_db()
    assert submitted.review_note == "Which port?"


@pytest.mark.parametrize("note", ["", "   "])
def test_sending_back_without_a_note_is_a_400_naming_it(event, editor, submitted, api_for, note):
    response = api_for(editor).post(
        url(event.slug, "posts", submitted.pk, "send-back"), {"note": note}
    )
    assert response.status_code == 400
    assert "note" in response.json()["fields"]
    submitted.refresh_from_db()
    assert submitted.status == Post.Status.SUBMITTED


def test_a_note_over_the_limit_is_a_400(event, editor, submitted, api_for):
    response = api_for(editor).post(
        url(event.slug, "posts", submitted.pk, "send-back"),
        {"note": "x" * (services.REVIEW_NOTE_CHARS + 1)},
    )
    assert response.status_code == 400 and "note" in response.json()["fields"]


def test_an_editor_rejects_a_submission(event, editor, submitted, api_for):
    response = api_for(editor).post(
        url(event.slug, "posts", submitted.pk, "reject"), {"note": "Unconfirmed."}
    )
    assert response.status_code == 204
    submitted.refresh_from_db()
    assert submitted.deleted_at is not None
    assert api_for(editor).get(url(event.slug, "posts", submitted.pk)).status_code == 404


def test_a_rejection_needs_no_note(event, editor, submitted, api_for):
    response = api_for(editor).post(url(event.slug, "posts", submitted.pk, "reject"), {})
    assert response.status_code == 204


@pytest.mark.parametrize("action", ["send-back", "reject"])
def test_a_decision_on_a_post_already_decided_is_a_409(
    event, editor, submitted, api_for, action, snapshot
):
    services.post_approve(actor=editor, post=submitted)
    before = snapshot()
    response = api_for(editor).post(url(event.slug, "posts", submitted.pk, action), {"note": "x"})
    assert response.status_code == 409
    assert response.json()["error"] == "not_submitted"
    assert "not waiting for approval" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("action", ["send-back", "reject"])
def test_the_author_cannot_send_back_or_reject(
    event, contributor, submitted, api_for, action, snapshot
):
    before = snapshot()
    response = api_for(contributor).post(
        url(event.slug, "posts", submitted.pk, action), {"note": "x"}
    )
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("action", ["send-back", "reject"])
def test_a_reporter_does_not_see_others_submissions_to_decide_on(
    event, reporter, submitted, api_for, action
):
    response = api_for(reporter).post(url(event.slug, "posts", submitted.pk, action), {"note": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["send-back", "reject"])
def test_anonymous_decisions_are_a_401(event, submitted, anonymous, action):
    response = anonymous.post(url(event.slug, "posts", submitted.pk, action), {"note": "x"})
    assert response.status_code == 401


# --- the list ---------------------------------------------------------------------------


def test_editors_list_every_submission_oldest_first(event, editor, contributor, api_for):
    other = MembershipFactory(event=event, role="contributor").user
    first, _ = services.post_publish(event=event, author=contributor, body="First.")
    second, _ = services.post_publish(event=event, author=other, body="Second.")
    services.post_publish(event=event, author=contributor, body="Mine.", status="draft")
    body = api_for(editor).get(url(event.slug, "submissions")).json()
    assert [p["id"] for p in body["results"]] == [first.pk, second.pk]
    assert {p["status"] for p in body["results"]} == {"submitted"}
    assert body["next"] is None


def test_a_contributor_lists_only_their_own(event, contributor, submitted, api_for):
    other = MembershipFactory(event=event, role="contributor").user
    services.post_publish(event=event, author=other, body="Theirs.")
    body = api_for(contributor).get(url(event.slug, "submissions")).json()
    assert [p["id"] for p in body["results"]] == [submitted.pk]


def test_a_reporter_lists_none_of_others(event, reporter, submitted, api_for):
    assert api_for(reporter).get(url(event.slug, "submissions")).json()["results"] == []


def test_the_list_pages_with_a_cursor(event, editor, contributor, api_for):
    posts = [
        services.post_publish(event=event, author=contributor, body=f"Entry {n}.")[0]
        for n in range(3)
    ]
    client = api_for(editor)
    first = client.get(url(event.slug, "submissions") + "?limit=2").json()
    assert [p["id"] for p in first["results"]] == [posts[0].pk, posts[1].pk]
    rest = client.get(first["next"].removeprefix("http://testserver")).json()
    assert [p["id"] for p in rest["results"]] == [posts[2].pk] and rest["next"] is None


def test_the_list_is_refused_to_anonymous_and_outsiders(event, submitted, anonymous, api_for):
    assert anonymous.get(url(event.slug, "submissions")).status_code == 401
    response = api_for(UserFactory()).get(url(event.slug, "submissions"))
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"


def test_an_approved_submission_leaves_the_list(event, editor, submitted, api_for):
    client = api_for(editor)
    client.patch(url(event.slug, "posts", submitted.pk), {"status": "published"})
    assert client.get(url(event.slug, "submissions")).json()["results"] == []


def test_the_endpoints_are_documented_with_every_status(anonymous):
    document = anonymous.get("/api/schema/").json()
    paths = document["paths"]
    send_back = paths["/api/v1/events/{slug}/posts/{post_id}/send-back/"]["post"]
    reject = paths["/api/v1/events/{slug}/posts/{post_id}/reject/"]["post"]
    listing = paths["/api/v1/events/{slug}/submissions/"]["get"]
    assert {"200", "400", "401", "403", "404", "409", "429"} <= set(send_back["responses"])
    assert {"204", "400", "401", "403", "404", "409", "429"} <= set(reject["responses"])
    assert {"200", "400", "401", "403", "404"} <= set(listing["responses"])
    assert document["components"]["schemas"]["SendBack"]["required"] == ["note"]


def test_published_at_of_an_approved_submission_is_the_approval_time(
    event, editor, submitted, api_for
):
    before = timezone.now().replace(microsecond=0)
    body = api_for(editor).patch(url(event.slug, "posts", submitted.pk), {"status": "published"})
    assert datetime.fromisoformat(body.json()["published_at"]) >= before
