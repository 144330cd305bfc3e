"""Scheduled entries and automatic event ends (issue 11, SPEC §2 and §6): the services the
worker runs (post_publish_due, event_end_due), with real PostgreSQL row locks."""

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.management.commands.worker import _until_next
from liveblog.blog.models import AuditEntry, Change, Event, Image, Membership, Post, Revision
from tests import pictures
from tests.factories import EventFactory, MembershipFactory

AHEAD = timedelta(hours=1)


def schedule(event, author, *, at=None, **kwargs):
    kwargs.setdefault("body", "The results are announced.")
    post, _ = services.post_publish(
        event=event, author=author, published_at=at or timezone.now() + AHEAD, **kwargs
    )
    assert post.status == Post.Status.SCHEDULED
    return post


@pytest.fixture
def sent(sent, monkeypatch):
    """What was pushed, as if each service's transaction had committed there and then (the
    test's own transaction never does; tests/blog/test_services.py checks the "after")."""
    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())
    return sent


def frames(sent):
    return [json.loads(m["frame"]) for m in sent if "frame" in m]


def desk(sent):
    return [m for m in sent if m.get("type") == "desk.changed"]


def test_a_due_entry_is_published_with_its_scheduled_time(event, reporter, sent):
    post = schedule(event, reporter)
    assert not Change.objects.exists()
    [published] = services.post_publish_due(now=post.published_at + timedelta(seconds=1))
    post.refresh_from_db()
    assert published.pk == post.pk and post.status == Post.Status.PUBLISHED and post.is_public
    assert post.published_at == published.published_at, "readers see the time it was set for"
    assert post.version == 2
    [change] = Change.objects.filter(event=event)
    assert change.kind == Change.Kind.POST_CREATED and change.post_id == post.pk
    assert change.actor is None
    [frame] = frames(sent)
    assert frame["type"] == "post.created" and frame["post"]["status"] == "published"


def test_the_worker_leaves_a_revision_and_an_audit_entry_without_an_actor(event, reporter):
    post = schedule(event, reporter)
    services.post_publish_due(now=post.published_at)
    last = Revision.objects.filter(post=post).order_by("-number").first()
    assert last.note == "published on schedule" and last.status == Post.Status.PUBLISHED
    assert last.author == reporter and last.number == 2
    entry = AuditEntry.objects.filter(post=post, action=AuditEntry.Action.POST_PUBLISHED).get()
    assert entry.actor is None and entry.detail["by"] == "worker"


def test_an_entry_not_yet_due_stays_scheduled(event, reporter, sent):
    post = schedule(event, reporter)
    assert services.post_publish_due(now=post.published_at - timedelta(seconds=1)) == []
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and frames(sent) == []
    assert not Post.objects.public().exists()


def test_a_removed_scheduled_entry_is_never_published(event, reporter):
    post = schedule(event, reporter)
    services.post_delete(actor=reporter, post=post)
    assert services.post_publish_due(now=post.published_at) == []
    assert not Change.objects.exists()


def test_a_due_entry_is_published_once_however_often_the_worker_looks(event, reporter):
    post = schedule(event, reporter)
    later = post.published_at + timedelta(minutes=5)
    assert len(services.post_publish_due(now=later)) == 1
    assert services.post_publish_due(now=later) == []
    assert Change.objects.filter(post=post, kind=Change.Kind.POST_CREATED).count() == 1


def test_entries_of_an_ended_event_are_held_until_it_reopens(event, editor, reporter):
    post = schedule(event, reporter)
    services.event_update(actor=editor, event=event, changes={"status": Event.Status.ENDED})
    assert services.post_publish_due(now=post.published_at) == []
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    services.event_update(actor=editor, event=event, changes={"status": Event.Status.LIVE})
    assert [p.pk for p in services.post_publish_due(now=post.published_at)] == [post.pk]


def test_an_entry_whose_author_left_the_event_is_still_published(event, editor, reporter):
    post = schedule(event, reporter)
    services.membership_remove(actor=editor, event=event, user=reporter)
    assert [p.pk for p in services.post_publish_due(now=post.published_at)] == [post.pk]


def test_several_due_entries_of_one_event_go_out_in_time_order(event, reporter):
    now = timezone.now()
    late = schedule(event, reporter, at=now + timedelta(minutes=30), body="second")
    early = schedule(event, reporter, at=now + timedelta(minutes=10), body="first")
    services.post_publish_due(now=now + AHEAD)
    seqs = {c.post_id: c.seq for c in Change.objects.filter(event=event)}
    assert seqs[early.pk] < seqs[late.pk]


def test_a_scheduled_photo_needs_its_alt_text(event, reporter):
    image = services.image_upload(
        actor=reporter, event=event, file=io.BytesIO(pictures.photo(640, 480)), describe_later=True
    )
    with pytest.raises(ValidationError) as refused:
        schedule(event, reporter, images=[image.pk])
    assert "images" in refused.value.message_dict


def test_an_entry_that_can_no_longer_be_published_goes_back_to_the_drafts(event, reporter, sent):
    image = services.image_upload(
        actor=reporter, event=event, file=io.BytesIO(pictures.photo(640, 480)), alt="A"
    )
    post = schedule(event, reporter, images=[image.pk])
    Image.objects.filter(pk=image.pk).update(alt="")  # described later by someone, wrongly
    assert services.post_publish_due(now=post.published_at) == []
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT and not Change.objects.exists()
    note = Revision.objects.filter(post=post).order_by("-number").first().note
    assert note.startswith("not published on schedule: Photo 1: alt text is required")
    assert [m["status"] for m in desk(sent)][-1] == "draft"


def test_a_scheduled_pinned_entry_unpins_the_previous_one_when_it_goes_out(event, editor):
    pinned, _ = services.post_publish(event=event, author=editor, body="Old", is_pinned=True)
    post = schedule(event, editor, is_pinned=True)
    pinned.refresh_from_db()
    assert pinned.is_pinned, "a schedule is not a pin yet"
    services.post_publish_due(now=post.published_at)
    pinned.refresh_from_db()
    assert not pinned.is_pinned


def test_asking_for_scheduled_takes_any_time_ahead(event, reporter):
    """The two minutes' tolerance is for devices' clocks: a writer who asks for `scheduled`
    three seconds ahead gets a schedule."""
    soon = timezone.now() + timedelta(seconds=3)
    post = schedule(event, reporter, at=soon, status=Post.Status.SCHEDULED)
    assert post.published_at == soon


def test_a_schedule_is_at_most_a_year_ahead_when_moved_too(event, reporter):
    post = schedule(event, reporter)
    far = timezone.now() + services.SCHEDULE_HORIZON + timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        services.post_reschedule(actor=reporter, post=post, published_at=far)
    assert "published_at" in refused.value.message_dict


# --- reschedule, cancel, publish now -----------------------------------------------------


def test_rescheduling_moves_the_time_and_tells_the_desk(event, reporter, sent):
    post = schedule(event, reporter)
    later = post.published_at + timedelta(hours=2)
    moved = services.post_reschedule(actor=reporter, post=post, published_at=later)
    assert moved.status == Post.Status.SCHEDULED and moved.published_at == later
    assert services.post_publish_due(now=post.published_at + timedelta(minutes=1)) == []
    assert desk(sent)[-1] == {
        "type": "desk.changed",
        "what": "post",
        "post_id": post.pk,
        "status": "scheduled",
        "by": reporter.username,
    }
    assert Revision.objects.filter(post=post, note="rescheduled").exists()


def test_rescheduling_into_the_past_is_refused(event, reporter):
    post = schedule(event, reporter)
    with pytest.raises(ValidationError) as refused:
        services.post_reschedule(
            actor=reporter, post=post, published_at=timezone.now() - timedelta(minutes=1)
        )
    assert "published_at" in refused.value.message_dict


def test_cancelling_a_schedule_makes_a_draft_that_is_never_published(event, reporter, sent):
    post = schedule(event, reporter)
    draft = services.post_unschedule(actor=reporter, post=post)
    assert draft.status == Post.Status.DRAFT
    assert services.post_publish_due(now=post.published_at) == []
    assert desk(sent)[-1]["status"] == "draft"


def test_publishing_now_dates_the_entry_now(event, reporter, sent):
    post = schedule(event, reporter)
    before = timezone.now()
    now = services.post_publish_now(actor=reporter, post=post)
    assert now.is_public and now.published_at >= before
    assert [f["type"] for f in frames(sent)] == ["post.created"]
    assert desk(sent)[-1]["status"] == "published"


def test_an_entry_the_worker_published_cannot_be_rescheduled(event, reporter):
    post = schedule(event, reporter)
    services.post_publish_due(now=post.published_at)
    with pytest.raises(services.Conflict):
        services.post_reschedule(actor=reporter, post=post, published_at=post.published_at + AHEAD)
    post.refresh_from_db()
    assert post.is_public


def test_a_reporter_cannot_reschedule_someone_elses_entry(event, reporter):
    other = MembershipFactory(event=event, role=Membership.Role.REPORTER).user
    post = schedule(event, other)
    with pytest.raises(PermissionDenied):
        services.post_unschedule(actor=reporter, post=post)


def test_an_editor_reschedules_a_reporters_entry(event, editor, reporter):
    post = schedule(event, reporter)
    later = post.published_at + AHEAD
    assert services.post_reschedule(actor=editor, post=post, published_at=later).published_at


def test_a_contributor_cannot_schedule(event):
    contributor = MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user
    post, _ = services.post_publish(
        event=event, author=contributor, body="Mine", published_at=timezone.now() + AHEAD
    )
    assert post.status == Post.Status.SUBMITTED


def test_scheduling_tells_the_desk(event, reporter, sent):
    post = schedule(event, reporter)
    assert desk(sent) == [
        {
            "type": "desk.changed",
            "what": "post",
            "post_id": post.pk,
            "status": "scheduled",
            "by": reporter.username,
        }
    ]


# --- automatic event ends ----------------------------------------------------------------


def test_a_live_event_ends_at_its_end_time(db, sent):
    event = EventFactory(ends_at=timezone.now() + AHEAD)
    assert services.event_end_due(now=event.ends_at - timedelta(seconds=1)) == []
    [ended] = services.event_end_due(now=event.ends_at)
    event.refresh_from_db()
    assert ended.pk == event.pk and event.status == Event.Status.ENDED
    [frame] = frames(sent)
    assert frame["type"] == "event.updated" and frame["event"]["status"] == "ended"
    entry = AuditEntry.objects.get(event=event, action=AuditEntry.Action.EVENT_UPDATED)
    assert entry.actor is None and entry.detail["by"] == "worker"
    with pytest.raises(services.EventEnded):
        services.post_publish(event=event, author=MembershipFactory(event=event).user, body="x")


def test_an_event_not_yet_live_is_not_ended_by_its_end_time(db):
    EventFactory(status=Event.Status.SCHEDULED, ends_at=timezone.now() - AHEAD)
    assert services.event_end_due() == []


def test_the_next_due_time_is_the_earliest_entry_or_end(event, reporter):
    assert services.next_due() is None
    post = schedule(event, reporter)
    assert services.next_due() == post.published_at
    EventFactory(ends_at=post.published_at - timedelta(minutes=5))
    assert services.next_due() == post.published_at - timedelta(minutes=5)


def test_the_worker_wakes_for_what_is_due_before_its_interval():
    now = timezone.now()
    assert _until_next(None, 5.0, now=now) == 5.0
    assert _until_next(now + timedelta(seconds=1), 5.0, now=now) == 1.0
    assert _until_next(now - timedelta(seconds=1), 5.0, now=now) == 0.0
    assert _until_next(now + timedelta(minutes=1), 5.0, now=now) == 5.0


# --- two workers at once (real row locks) ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_an_entry_another_worker_holds_without_waiting():
    event = EventFactory()
    author = MembershipFactory(event=event, role="editor").user
    post = schedule(event, author)
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Post.objects.select_for_update().get(pk=post.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        assert services.post_publish_due(now=post.published_at) == [], "skipped, not waited"
    finally:
        release.set()
        thread.join(10)
    assert [p.pk for p in services.post_publish_due(now=post.published_at)] == [post.pk]


@pytest.mark.django_db(transaction=True)
def test_workers_running_at_once_publish_each_entry_exactly_once():
    event = EventFactory()
    author = MembershipFactory(event=event, role="editor").user
    posts = [schedule(event, author, body=f"Entry {n}") for n in range(12)]
    due = max(p.published_at for p in posts)
    start = threading.Barrier(3)
    published: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait(10)
            for _ in range(3):
                published.extend(p.pk for p in services.post_publish_due(now=due, limit=4))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(published) == sorted(p.pk for p in posts)
    created = Change.objects.filter(event=event, kind=Change.Kind.POST_CREATED)
    assert sorted(created.values_list("post_id", flat=True)) == sorted(p.pk for p in posts)
    notes = Revision.objects.filter(post__event=event, note="published on schedule")
    assert notes.count() == len(posts)


@pytest.mark.django_db(transaction=True)
def test_an_event_another_transaction_holds_is_ended_on_a_later_tick():
    event = EventFactory(ends_at=timezone.now() - timedelta(seconds=1))
    held, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                Event.objects.select_for_update().get(pk=event.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(10)
        assert services.event_end_due() == []
    finally:
        release.set()
        thread.join(10)
    assert [e.pk for e in services.event_end_due()] == [event.pk]
