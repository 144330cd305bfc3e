"""An event's lifecycle through the services: go live, end, reopen, the automatic end's
rules, the settings' version, and members (change role, the last editor, removal)."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Event, Membership
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(db):
    return EventFactory(status=Event.Status.SCHEDULED, starts_at=None)


def test_going_live_starts_the_event_now_and_is_pushed_and_audited(
    scheduled, sent, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = services.event_go_live(actor=admin, event=scheduled)

    assert event.status == "live" and event.starts_at is not None
    [frame] = [json.loads(m["frame"]) for m in sent]
    assert (frame["type"], frame["event"]["status"]) == ("event.updated", "live")
    entry = AuditEntry.objects.filter(action="event.updated").get()
    assert entry.detail["lifecycle"] == "went_live" and "status" in entry.detail["fields"]


def test_ending_sets_the_end_now_even_over_an_automatic_end_ahead(event, editor):
    event.ends_at = timezone.now() + timedelta(hours=3)
    event.save()

    ended = services.event_end(actor=editor, event=event)

    assert ended.status == "ended"
    assert ended.ends_at <= timezone.now()


def test_reopening_clears_the_end_and_takes_entries_again(event, editor, reporter):
    ended = services.event_end(actor=editor, event=event)
    with pytest.raises(services.EventEnded):
        services.post_publish(event=ended, author=reporter, body="Too late.")

    reopened = services.event_reopen(actor=editor, event=ended)

    assert (reopened.status, reopened.ends_at) == ("live", None)
    post, _ = services.post_publish(event=reopened, author=reporter, body="Back on.")
    assert post.status == "published"


def test_a_step_the_event_is_not_ready_for_changes_nothing(event, editor, sent):
    with pytest.raises(services.WrongStatus):
        services.event_go_live(actor=editor, event=event)  # already live
    with pytest.raises(services.WrongStatus):
        services.event_reopen(actor=editor, event=event)

    event.refresh_from_db()
    assert (event.status, event.version, sent) == ("live", 1, [])


def test_reporters_cannot_change_the_lifecycle(event, reporter):
    with pytest.raises(PermissionDenied):
        services.event_end(actor=reporter, event=event)
    event.refresh_from_db()
    assert event.status == "live"


def test_an_automatic_end_must_be_ahead(event, editor):
    with pytest.raises(ValidationError) as refused:
        services.event_update(
            actor=editor, event=event, changes={"ends_at": timezone.now() - timedelta(minutes=1)}
        )
    assert "ends_at" in refused.value.message_dict

    ahead = timezone.now() + timedelta(hours=2)
    event = services.event_update(actor=editor, event=event, changes={"ends_at": ahead})
    assert (event.status, event.ends_at) == ("live", ahead)


def test_every_saved_change_moves_the_version_on(event, editor):
    event = services.event_update(actor=editor, event=event, changes={"title": "One"})
    event = services.event_end(actor=editor, event=event)

    assert event.version == 3


def test_a_change_based_on_an_old_version_is_refused_with_the_current_event(event, editor, sent):
    services.event_update(
        actor=editor, event=event, changes={"title": "Theirs"}, expected_version=1
    )
    sent.clear()

    with pytest.raises(services.StaleEventVersion) as refused:
        services.event_update(
            actor=editor, event=event, changes={"title": "Mine"}, expected_version=1
        )

    assert refused.value.error_code == "conflict"
    assert (refused.value.current.title, refused.value.current.version) == ("Theirs", 2)
    event.refresh_from_db()
    assert (event.title, sent) == ("Theirs", [])


# --- members ----------------------------------------------------------------------------


def test_an_editor_changes_a_members_role(event, editor, reporter):
    membership = services.membership_update(
        actor=editor, event=event, user=reporter, role="contributor"
    )

    assert membership.role == "contributor"
    assert AuditEntry.objects.filter(action="membership.role_changed").exists()


def test_changing_the_role_of_someone_not_a_member_is_refused(event, editor, outsider):
    with pytest.raises(ValidationError):
        services.membership_update(actor=editor, event=event, user=outsider, role="reporter")
    assert not Membership.objects.filter(user=outsider).exists()


def test_the_last_editor_cannot_be_demoted_or_removed_by_an_editor(event, editor):
    with pytest.raises(services.Conflict):
        services.membership_update(actor=editor, event=event, user=editor, role="reporter")
    with pytest.raises(services.Conflict):
        services.membership_remove(actor=editor, event=event, user=editor)

    assert Membership.objects.get(event=event, user=editor).role == "editor"


def test_with_a_second_editor_one_may_step_down(event, editor):
    MembershipFactory(event=event, role="editor")

    services.membership_update(actor=editor, event=event, user=editor, role="reporter")

    assert Membership.objects.get(event=event, user=editor).role == "reporter"


def test_removing_a_member_revokes_their_desk_access(event, editor, reporter, monkeypatch):
    from liveblog.live import desk

    revoked = []
    monkeypatch.setattr(
        desk, "revoke", lambda event_id, user_id: revoked.append((event_id, user_id))
    )

    services.membership_remove(actor=editor, event=event, user=reporter)

    assert revoked == [(event.pk, reporter.pk)]
    assert not Membership.objects.filter(event=event, user=reporter).exists()
    with pytest.raises(PermissionDenied):
        services.post_publish(event=event, author=reporter, body="Still here?")


def test_going_live_before_the_planned_start_starts_it_now(scheduled, editor):
    scheduled.starts_at = timezone.now() + timedelta(hours=5)
    scheduled.save()
    MembershipFactory(event=scheduled, user=editor, role="editor")

    live = services.event_go_live(actor=editor, event=scheduled)
    ended = services.event_end(actor=editor, event=live)

    assert live.starts_at <= timezone.now()
    assert ended.starts_at <= ended.ends_at
