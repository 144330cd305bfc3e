"""The Django admin writes through the services: driven as a browser would, by a logged-in
superuser who loads a form and posts it back (with its inlines' management forms)."""

import hashlib
import json
import re
from typing import Any

import lxml.html
import pytest
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import ApiToken, Change, Event, Membership, Post
from tests.factories import EventFactory, MembershipFactory, UserFactory


@pytest.fixture
def staff(admin, client_for):
    return client_for(admin)


def browser_form(client, url: str) -> dict[str, str]:
    """The admin form at `url` as a browser sends it back untouched: every enabled field with
    the value it shows, the inlines' management forms included."""
    response = client.get(url)
    assert response.status_code == 200
    page = lxml.html.fromstring(response.content)
    [form] = page.xpath("//form[@method='post'][contains(@id, '_form')]")
    data = dict(form.form_values())
    data["_save"] = "Save"
    return data


def spy(monkeypatch, name: str) -> list[dict[str, Any]]:
    """Record each call of services.<name> (which still runs)."""
    calls: list[dict[str, Any]] = []
    real = getattr(services, name)

    def record(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, name, record)
    return calls


def change_url(obj) -> str:
    return reverse(f"admin:blog_{obj._meta.model_name}_change", args=[obj.pk])


def row_of(data: dict[str, str], membership: Membership) -> str:
    """The inline row prefix (`memberships-<n>`) that shows `membership`."""
    total = int(data["memberships-TOTAL_FORMS"])
    [prefix] = [
        f"memberships-{n}"
        for n in range(total)
        if data.get(f"memberships-{n}-id") == str(membership.pk)
    ]
    return prefix


def frames(sent) -> list[dict[str, Any]]:
    return [json.loads(m["frame"]) for m in sent]


# --- events -----------------------------------------------------------------------------


def test_admin_creates_an_event_as_the_api_does(admin, staff, monkeypatch):
    created = spy(monkeypatch, "event_create")
    reporter = UserFactory()
    data = browser_form(staff, reverse("admin:blog_event_add"))
    data.update(
        {
            "title": "Election night: results",
            "slug": "election-night",
            "timezone": "Europe/Paris",
            "memberships-0-user": str(reporter.pk),
            "memberships-0-role": "reporter",
        }
    )

    response = staff.post(reverse("admin:blog_event_add"), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:blog_event_changelist")
    event = Event.objects.get()
    assert [(c["actor"], c["slug"]) for c in created] == [(admin, "election-night")]
    assert (event.slug, event.timezone) == ("election-night", "Europe/Paris")
    # As the service gives (and POST /api/v1/events/): the creator is the event's editor.
    roles = dict(event.memberships.values_list("user__username", "role"))
    assert roles == {admin.username: "editor", reporter.username: "reporter"}


def test_admin_event_slug_left_empty_is_made_from_the_title(staff):
    data = browser_form(staff, reverse("admin:blog_event_add"))
    data.update({"title": "Election night: results", "slug": ""})

    assert staff.post(reverse("admin:blog_event_add"), data).status_code == 302

    assert Event.objects.get().slug == "election-night-results"


def test_admin_create_refused_by_the_service_is_a_form_error_and_saves_nothing(staff):
    data = browser_form(staff, reverse("admin:blog_event_add"))
    data.update(
        {
            "title": "Backwards",
            "slug": "backwards",
            "starts_at_0": "2026-12-01",
            "starts_at_1": "12:00:00",
            "ends_at_0": "2026-12-01",
            "ends_at_1": "11:00:00",
        }
    )

    response = staff.post(reverse("admin:blog_event_add"), data)

    assert response.status_code == 200
    assert "The end must not be before the start." in response.content.decode()
    assert "was added successfully" not in response.content.decode()
    assert not Event.objects.exists() and not Membership.objects.exists()


def test_admin_slug_change_is_logged_pushed_and_moves_the_event(
    event, editor, staff, sent, client, django_capture_on_commit_callbacks
):
    old = event.slug
    services.post_publish(event=event, author=editor, body="Doors open.")
    sent.clear()
    data = browser_form(staff, change_url(event))
    data["slug"] = "renamed-event"

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(change_url(event), data)

    assert response.status_code == 302
    [change] = Change.objects.filter(event=event, kind="event.updated")
    assert change.seq == 2 and Change.objects.filter(event=event).count() == 2
    assert change.payload["event"]["slug"] == "renamed-event"
    assert change.payload["event"]["url"] == "/events/renamed-event/"
    assert frames(sent) == [change.payload]
    event.refresh_from_db()
    assert event.slug == "renamed-event" and event.last_seq == 2
    assert client.get(f"/events/{old}/").status_code == 404
    assert client.get("/events/renamed-event/").status_code == 200
    assert client.get(reverse("api:event", kwargs={"slug": old})).status_code == 404
    api = client.get(reverse("api:event", kwargs={"slug": "renamed-event"}))
    assert api.status_code == 200 and api.json()["last_seq"] == 2


def test_admin_taken_slug_is_the_services_form_error_and_changes_nothing(event, staff, sent):
    other = EventFactory()
    data = browser_form(staff, change_url(event))
    data["slug"] = other.slug

    response = staff.post(change_url(event), data)

    assert response.status_code == 200
    assert f"The slug &#x27;{other.slug}&#x27; is already in use." in response.content.decode()
    assert Event.objects.get(pk=event.pk).slug == event.slug
    assert not Change.objects.exists() and sent == []


def test_admin_invalid_slug_is_a_form_error_and_changes_nothing(event, staff, sent):
    data = browser_form(staff, change_url(event))
    data["slug"] = "not a/slug"

    response = staff.post(change_url(event), data)

    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert Event.objects.get(pk=event.pk).slug == event.slug
    assert not Change.objects.exists() and sent == []


def test_slug_taken_after_the_form_checked_it_is_a_form_error_not_a_500(
    event, staff, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """A concurrent writer takes the slug between the form's check and the service's write:
    the service's Conflict rolls the admin's transaction back and shows on the form."""
    real = services.event_update

    def racing(**kwargs: Any) -> Event:
        EventFactory(slug="contested")  # committed by "someone else" meanwhile
        return real(**kwargs)

    monkeypatch.setattr(services, "event_update", racing)
    data = browser_form(staff, change_url(event))
    data["slug"] = "contested"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff.post(change_url(event), data)

    assert response.status_code == 200
    assert "The slug &#x27;contested&#x27; is already in use." in response.content.decode()
    assert "was changed successfully" not in response.content.decode()
    assert Event.objects.get(pk=event.pk).slug == event.slug
    assert not Change.objects.exists() and callbacks == [] and sent == []


# --- members ----------------------------------------------------------------------------


def test_inline_members_are_added_changed_and_removed_through_the_services(
    event, staff, monkeypatch
):
    added, removed = spy(monkeypatch, "membership_add"), spy(monkeypatch, "membership_remove")
    promoted = MembershipFactory(event=event, role="reporter")
    leaving = MembershipFactory(event=event, role="reporter")
    newcomer = UserFactory()
    data = browser_form(staff, change_url(event))
    data[f"{row_of(data, promoted)}-role"] = "editor"
    data[f"{row_of(data, leaving)}-DELETE"] = "on"
    extra = data["memberships-INITIAL_FORMS"]
    data[f"memberships-{extra}-user"] = str(newcomer.pk)
    data[f"memberships-{extra}-role"] = "reporter"

    response = staff.post(change_url(event), data)

    assert response.status_code == 302
    roles = dict(event.memberships.values_list("user_id", "role"))
    assert roles == {promoted.user_id: "editor", newcomer.pk: "reporter"}
    assert sorted((c["user"].pk, c["role"]) for c in added) == sorted(roles.items())
    assert [(c["event"].pk, c["user"].pk) for c in removed] == [(event.pk, leaving.user_id)]
    assert not Change.objects.exists(), "memberships are not reader-visible changes"


def test_inline_member_row_cannot_be_given_to_another_user(event, staff):
    member = MembershipFactory(event=event)
    data = browser_form(staff, change_url(event))
    data[f"{row_of(data, member)}-user"] = str(UserFactory().pk)

    staff.post(change_url(event), data)

    assert list(event.memberships.values_list("user_id", flat=True)) == [member.user_id]


def test_membership_admin_adds_changes_and_deletes_through_the_services(event, staff, monkeypatch):
    added, removed = spy(monkeypatch, "membership_add"), spy(monkeypatch, "membership_remove")
    user = UserFactory()
    data = browser_form(staff, reverse("admin:blog_membership_add"))
    data.update({"event": str(event.pk), "user": str(user.pk), "role": "reporter"})

    assert staff.post(reverse("admin:blog_membership_add"), data).status_code == 302
    membership = Membership.objects.get(event=event, user=user)
    assert membership.role == "reporter" and len(added) == 1

    data = browser_form(staff, change_url(membership))
    data["role"] = "editor"
    assert staff.post(change_url(membership), data).status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == "editor"
    assert [c["role"] for c in added] == ["reporter", "editor"]

    delete = reverse("admin:blog_membership_delete", args=[membership.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 302
    assert not Membership.objects.filter(event=event, user=user).exists()
    assert [c["user"].pk for c in removed] == [user.pk]


# --- posts ------------------------------------------------------------------------------


def test_admin_entry_for_an_author_who_may_not_publish_is_a_form_error(event, outsider, staff):
    data = browser_form(staff, reverse("admin:blog_post_add"))
    data.update({"event": str(event.pk), "author": str(outsider.pk), "body": "Hello."})

    response = staff.post(reverse("admin:blog_post_add"), data)

    assert response.status_code == 200
    assert "You are not a member of this event." in response.content.decode()
    assert not Post.objects.exists() and not Change.objects.exists()


def test_saving_an_entry_unchanged_in_the_admin_logs_nothing(event, reporter, staff, sent):
    post, _ = services.post_publish(event=event, author=reporter, body="Doors open.")
    sent.clear()
    data = browser_form(staff, change_url(post))

    assert staff.post(change_url(post), data).status_code == 302

    assert Change.objects.filter(event=event).count() == 1
    assert Event.objects.get(pk=event.pk).last_seq == 1


# --- tokens -----------------------------------------------------------------------------


def test_admin_token_is_issued_by_the_service_shown_once_and_stored_as_a_hash(
    reporter, staff, monkeypatch
):
    issued = spy(monkeypatch, "token_create")
    data = browser_form(staff, reverse("admin:blog_apitoken_add"))
    data.update({"user": str(reporter.pk), "name": "ingest"})

    response = staff.post(reverse("admin:blog_apitoken_add"), data, follow=True)

    [key] = re.findall(r"lb_[A-Za-z0-9_-]{40,}", response.content.decode())
    token = ApiToken.objects.get()
    assert [(c["user"], c["name"]) for c in issued] == [(reporter, "ingest")]
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    again = staff.get(reverse("admin:blog_apitoken_changelist"))
    assert key not in again.content.decode()


def test_admin_token_for_a_deactivated_account_is_a_form_error(reporter, staff):
    reporter.is_active = False
    reporter.save()
    data = browser_form(staff, reverse("admin:blog_apitoken_add"))
    data.update({"user": str(reporter.pk), "name": "ingest"})

    response = staff.post(reverse("admin:blog_apitoken_add"), data)

    assert response.status_code == 200
    assert "This account is deactivated." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_admin_token_cannot_be_handed_to_another_user(reporter, staff):
    token, _key = services.token_create(user=reporter)
    data = {"user": str(UserFactory().pk), "name": "stolen", "_save": "Save"}

    response = staff.post(change_url(token), data)

    assert response.status_code == 403
    assert ApiToken.objects.get().user == reporter


def test_admin_revokes_a_token_through_the_service(reporter, staff, monkeypatch):
    revoked = spy(monkeypatch, "token_revoke")
    token, _key = services.token_create(user=reporter)

    response = staff.post(reverse("admin:blog_apitoken_delete", args=[token.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not ApiToken.objects.exists() and [c["token"].pk for c in revoked] == [token.pk]
