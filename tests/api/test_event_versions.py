"""An event's settings are versioned over the API as entries are: `version` in the body or
If-Match with the ETag of GET/PATCH; a stale one is a 409 with the current event."""

import pytest

from liveblog.blog import services
from liveblog.blog.models import Event
from tests.api.helpers import url

pytestmark = pytest.mark.django_db


def test_get_and_patch_carry_the_version_as_etag(event, editor, api_for):
    api = api_for(editor)

    got = api.get(url(event.slug))
    patched = api.patch(url(event.slug), {"title": "New title"})

    assert (got["ETag"], got.json()["version"]) == ('"1"', 1)
    assert (patched["ETag"], patched.json()["version"]) == ('"2"', 2)


def test_a_patch_based_on_an_old_version_is_a_409_with_the_current_event(
    event, editor, api_for, snapshot
):
    services.event_update(actor=editor, event=event, changes={"title": "Theirs"})
    before = snapshot()

    response = api_for(editor).patch(url(event.slug), {"title": "Mine", "version": 1})

    body = response.json()
    assert response.status_code == 409
    assert (body["error"], body["current"]["title"], body["current"]["version"]) == (
        "conflict",
        "Theirs",
        2,
    )
    assert response["ETag"] == '"2"'
    assert snapshot() == before


def test_if_match_with_the_etag_works_as_the_body_version(event, editor, api_for):
    api = api_for(editor)
    etag = api.get(url(event.slug))["ETag"]
    services.event_update(actor=editor, event=event, changes={"summary": "Moved on."})

    stale = api.patch(url(event.slug), {"title": "Mine"}, **{"If-Match": etag})
    fresh = api.patch(url(event.slug), {"title": "Mine"}, **{"If-Match": '"2"'})

    assert stale.status_code == 409
    assert fresh.status_code == 200 and fresh.json()["title"] == "Mine"


def test_a_malformed_if_match_is_a_400(event, editor, api_for):
    response = api_for(editor).patch(url(event.slug), {"title": "Mine"}, **{"If-Match": "soon"})

    assert response.status_code == 400
    assert Event.objects.get(pk=event.pk).title == event.title


def test_a_version_alone_is_not_a_change(event, editor, api_for):
    assert api_for(editor).patch(url(event.slug), {"version": 1}).status_code == 400


def test_an_ended_event_refuses_a_new_post_with_409(event, editor, reporter, api_for):
    api_for(editor).patch(url(event.slug), {"status": "ended"})

    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "Too late."})

    assert response.status_code == 409
    assert response.json()["error"] == "event_ended"


def test_a_removed_reporters_token_is_refused_on_the_next_post(event, editor, reporter, api_for):
    api = api_for(reporter)
    assert api.post(url(event.slug, "posts"), {"body": "First."}).status_code == 201

    services.membership_remove(actor=editor, event=event, user=reporter)
    response = api.post(url(event.slug, "posts"), {"body": "Second."})

    assert response.status_code == 403
    assert event.posts.count() == 1


def test_the_document_describes_the_event_version_and_its_conflict(anonymous):
    document = anonymous.get("/api/schema/").json()
    patch = document["paths"]["/api/v1/events/{slug}/"]["patch"]

    assert "409" in patch["responses"]
    assert "If-Match" in patch["description"]
    assert any(p["name"] == "If-Match" for p in patch.get("parameters", []))
