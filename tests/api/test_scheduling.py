"""Scheduling through the API's own POST and PATCH (issue 11, SPEC §6): a `published_at`
ahead makes a `scheduled` entry, in no public list and with no change until the worker
publishes it; PATCH reschedules, cancels (draft) or publishes it now."""

from datetime import timedelta

import pytest
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Change, Post
from tests.api.helpers import url

AHEAD = timedelta(hours=2)


def ahead(delta=AHEAD) -> str:
    return (timezone.now() + delta).isoformat()


@pytest.fixture
def scheduled(event, reporter, api_for):
    response = api_for(reporter).post(
        url(event.slug, "posts"), {"body": "At the count.", "published_at": ahead()}
    )
    assert response.status_code == 201
    return response.json()


def test_a_post_dated_ahead_is_created_scheduled_and_shown_to_no_reader(
    event, scheduled, api_for, client
):
    assert scheduled["status"] == "scheduled"
    public = client.get(url(event.slug, "posts")).json()
    assert public["results"] == []
    assert client.get(url(event.slug, "posts", scheduled["id"])).status_code == 404
    assert client.get(url(event.slug, "changes")).json()["changes"] == []
    assert not Change.objects.exists()


def test_asking_for_scheduled_a_few_seconds_ahead_schedules_it(event, reporter, api_for):
    response = api_for(reporter).post(
        url(event.slug, "posts"),
        {"body": "Soon.", "published_at": ahead(timedelta(seconds=5)), "status": "scheduled"},
    )
    assert response.status_code == 201 and response.json()["status"] == "scheduled"


def test_a_patch_with_a_new_time_reschedules(event, reporter, scheduled, api_for):
    later = timezone.now() + 2 * AHEAD
    response = api_for(reporter).patch(
        url(event.slug, "posts", scheduled["id"]), {"published_at": later.isoformat()}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "scheduled" and body["version"] == 2
    assert Post.objects.get(pk=scheduled["id"]).published_at == later


def test_a_patch_to_draft_cancels_the_schedule(event, reporter, scheduled, api_for):
    response = api_for(reporter).patch(
        url(event.slug, "posts", scheduled["id"]), {"status": "draft"}
    )
    assert response.status_code == 200 and response.json()["status"] == "draft"
    assert services.post_publish_due(now=timezone.now() + 2 * AHEAD) == []


def test_a_patch_to_a_past_time_of_a_scheduled_entry_is_refused(
    event, reporter, scheduled, api_for
):
    response = api_for(reporter).patch(
        url(event.slug, "posts", scheduled["id"]),
        {"published_at": (timezone.now() - AHEAD).isoformat()},
    )
    assert response.status_code == 400 and "published_at" in response.json()["fields"]


def test_publishing_now_through_patch(event, reporter, scheduled, api_for, client):
    response = api_for(reporter).patch(
        url(event.slug, "posts", scheduled["id"]),
        {"status": "published", "published_at": timezone.now().isoformat()},
    )
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert [p["id"] for p in client.get(url(event.slug, "posts")).json()["results"]] == [
        scheduled["id"]
    ]


def test_a_due_entry_published_by_the_worker_is_in_the_list_and_the_changes(
    event, scheduled, client
):
    services.post_publish_due(now=timezone.now() + AHEAD + timedelta(seconds=1))
    [listed] = client.get(url(event.slug, "posts")).json()["results"]
    assert listed["id"] == scheduled["id"] and listed["status"] == "published"
    [change] = client.get(url(event.slug, "changes")).json()["changes"]
    assert change["type"] == "post.created" and change["post"]["id"] == scheduled["id"]


def test_the_document_describes_scheduling(client):
    document = client.get("/api/schema/").json()
    posts = document["paths"]["/api/v1/events/{slug}/posts/"]["post"]
    assert "scheduled" in posts["description"] and "worker" in posts["description"]
    patch = document["paths"]["/api/v1/events/{slug}/posts/{post_id}/"]["patch"]
    assert "rescheduled" in patch["description"]
