import pytest
from django.contrib.auth import get_user_model

from liveblog.blog.models import Change, Event, Membership
from tests.api.helpers import url
from tests.factories import EventFactory, UserFactory

EVENT_KEYS = {
    "slug", "title", "summary", "status", "timezone", "order", "starts_at", "ends_at", "url",
    "last_seq", "key_points", "key_points_html", "version",
}  # fmt: skip


# --- reading ----------------------------------------------------------------------------


def test_anyone_lists_events_newest_first(db, anonymous):
    older, newer = EventFactory(), EventFactory()

    response = anonymous.get(url())

    assert response.status_code == 200
    body = response.json()
    assert [e["slug"] for e in body["results"]] == [newer.slug, older.slug]
    assert set(body["results"][0]) == EVENT_KEYS
    assert body["next"] is None


def test_events_list_pages_by_cursor_without_gap_or_duplicate(db, anonymous):
    slugs = [EventFactory().slug for _ in range(7)][::-1]
    seen: list[str] = []
    next_url: str | None = url() + "?limit=3"
    while next_url:
        body = anonymous.get(next_url).json()
        seen += [e["slug"] for e in body["results"]]
        next_url = body["next"]
        assert next_url is None or next_url.startswith("http://testserver/api/v1/events/?")

    assert seen == slugs


def test_anyone_reads_an_event(event, anonymous):
    response = anonymous.get(url(event.slug))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == EVENT_KEYS
    assert body["slug"] == event.slug
    assert body["timezone"] == "Asia/Shanghai"
    assert body["url"] == f"/events/{event.slug}/"


def test_unknown_event_is_a_json_404(db, anonymous):
    response = anonymous.get(url("nope"))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert set(response.json()) == {"error", "detail", "fields"}


# --- creating ---------------------------------------------------------------------------


def test_admin_creates_an_event(admin, api_for):
    response = api_for(admin).post(
        url(),
        {
            "title": "Opening ceremony",
            "slug": "opening",
            "summary": "Live from the hall.",
            "timezone": "Europe/Paris",
            "order": "oldest",
            "status": "live",
            "starts_at": "2025-05-01T10:00:00+02:00",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "opening"
    assert body["order"] == "oldest"
    assert body["starts_at"] == "2025-05-01T08:00:00+00:00"
    assert set(body) == EVENT_KEYS
    assert response["Location"].endswith("/api/v1/events/opening/")
    assert Event.objects.filter(slug="opening").exists()


def test_event_slug_comes_from_the_title_when_not_given(admin, api_for):
    response = api_for(admin).post(url(), {"title": "Budget Day 2025"})

    assert response.status_code == 201
    assert response.json()["slug"] == "budget-day-2025"
    assert response.json()["status"] == "scheduled"


def test_editor_cannot_create_events(editor, api_for, snapshot):
    before = snapshot()
    response = api_for(editor).post(url(), {"title": "Mine"})

    assert response.status_code == 403
    assert snapshot() == before


def test_anonymous_cannot_create_events(db, anonymous, snapshot):
    before = snapshot()
    response = anonymous.post(url(), {"title": "Mine"})

    assert response.status_code == 401
    assert snapshot() == before


def test_taken_slug_is_a_409(event, admin, api_for, snapshot):
    before = snapshot()
    response = api_for(admin).post(url(), {"title": "Again", "slug": event.slug})

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "slug" in response.json()["fields"]
    assert "already in use" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": 3}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "T", "slug": "not a slug!"}, "slug"),
        ({"title": "T", "timezone": "Mars/Olympus"}, "timezone"),
        ({"title": "T", "status": "paused"}, "status"),
        ({"title": "T", "order": "random"}, "order"),
        ({"title": "T", "starts_at": "2025-05-01T10:00:00"}, "starts_at"),
        ({"title": "T", "last_seq": 9}, "last_seq"),
    ],
)
def test_invalid_event_is_refused_naming_the_field(admin, api_for, snapshot, data, field):
    before = snapshot()
    response = api_for(admin).post(url(), data)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert snapshot() == before


# --- changing ---------------------------------------------------------------------------


def test_editor_changes_event_status(event, editor, api_for):
    response = api_for(editor).patch(url(event.slug), {"status": "ended"})

    assert response.status_code == 200
    assert response.json()["status"] == "ended"
    assert response.json()["ends_at"] is not None
    assert response.json()["last_seq"] == 1
    change = Change.objects.get(event=event)
    assert change.kind == "event.updated"
    assert change.payload["event"]["status"] == "ended"


def test_reporter_cannot_change_the_event(event, reporter, api_for, snapshot):
    before = snapshot()
    response = api_for(reporter).patch(url(event.slug), {"title": "Mine"})

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"slug": "renamed"}, "slug"),
        ({"status": "paused"}, "status"),
        ({"title": None}, "title"),
        ({"ends_at": "2000-01-01T00:00:00+00:00"}, "ends_at"),
    ],
)
def test_invalid_event_change_is_refused(event, editor, api_for, snapshot, data, field):
    before = snapshot()
    response = api_for(editor).patch(url(event.slug), data)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert snapshot() == before


# --- members ----------------------------------------------------------------------------


def test_editor_adds_a_reporter(event, editor, api_for):
    newcomer = UserFactory()

    response = api_for(editor).post(
        url(event.slug, "members"), {"username": newcomer.username, "role": "reporter"}
    )

    assert response.status_code == 201
    assert response.json() == {
        "username": newcomer.username,
        "role": "reporter",
        "event": event.slug,
    }
    assert Membership.objects.get(event=event, user=newcomer).role == "reporter"


def test_adding_an_unknown_user_names_the_username(event, editor, api_for, snapshot):
    before = snapshot()
    response = api_for(editor).post(
        url(event.slug, "members"), {"username": "ghost", "role": "reporter"}
    )

    assert response.status_code == 400
    assert "username" in response.json()["fields"]
    assert snapshot() == before


def test_unknown_role_is_refused(event, editor, api_for, snapshot):
    newcomer = UserFactory()
    before = snapshot()
    response = api_for(editor).post(
        url(event.slug, "members"), {"username": newcomer.username, "role": "owner"}
    )

    assert response.status_code == 400
    assert "role" in response.json()["fields"]
    assert snapshot() == before


def test_reporter_cannot_add_members_nor_learn_who_exists(event, reporter, api_for, snapshot):
    before = snapshot()
    api = api_for(reporter)
    known = api.post(url(event.slug, "members"), {"username": reporter.username, "role": "editor"})
    ghost = api.post(url(event.slug, "members"), {"username": "ghost", "role": "editor"})

    assert (known.status_code, ghost.status_code) == (403, 403)
    assert snapshot() == before
    assert get_user_model().objects.filter(username="ghost").count() == 0
