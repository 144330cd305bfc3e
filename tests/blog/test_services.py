"""Services: permissions, the change log and what each write broadcasts (after commit)."""

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from liveblog.blog import selectors, services
from liveblog.blog.models import ApiToken, AuditEntry, Change, Event, Membership, Post
from tests import pictures
from tests.factories import EventFactory, MembershipFactory, PostFactory, UserFactory


def frames(sent):
    return [json.loads(m["frame"]) for m in sent]


def publish(event, author, **kwargs):
    kwargs.setdefault("body", "The conference *opens*.")
    post, _created = services.post_publish(event=event, author=author, **kwargs)
    return post


def test_publish_records_change_and_broadcasts_after_commit(
    event, reporter, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post = publish(event, reporter)
        assert sent == [], "nothing may be pushed before the transaction commits"
    for callback in callbacks:
        callback()
    [frame] = frames(sent)
    assert frame["type"] == "post.created"
    assert frame["seq"] == 1
    assert frame["post"]["id"] == post.pk
    assert f'id="post-{post.pk}"' in frame["html"]
    change = Change.objects.get(event=event)
    assert change.seq == 1 and change.payload == frame
    event.refresh_from_db()
    assert event.last_seq == 1


def test_rolled_back_publish_reaches_no_reader(event, reporter, sent):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        publish(event, reporter)
        raise RuntimeError("rollback")
    assert sent == []
    assert not Post.objects.exists()


def test_body_is_rendered_and_sanitised(event, reporter):
    post = publish(
        event, reporter, body="Hi <script>alert(1)</script> [x](javascript:alert(1)) **b**"
    )
    assert "<script" not in post.body_html
    assert 'href="javascript' not in post.body_html
    assert "<strong>b</strong>" in post.body_html


def test_draft_is_not_broadcast_until_published(
    event, reporter, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post = publish(event, reporter, status=Post.Status.DRAFT)
    assert sent == [] and not Change.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(actor=reporter, post=post, changes={"status": "published"})
    assert [f["type"] for f in frames(sent)] == ["post.created"]


def test_edit_and_delete_are_broadcast_in_seq_order(
    event, reporter, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post = publish(event, reporter)
        services.post_update(actor=reporter, post=post, changes={"body": "Corrected."})
        services.post_delete(actor=reporter, post=post)
    assert [(f["type"], f["seq"]) for f in frames(sent)] == [
        ("post.created", 1),
        ("post.updated", 2),
        ("post.deleted", 3),
    ]
    assert frames(sent)[2]["post"] == {"id": post.pk}
    post.refresh_from_db()
    assert post.deleted_at is not None, "a removed post is kept for the audit trail"


def test_reporter_cannot_edit_others_post(event, reporter):
    other = MembershipFactory(event=event).user
    post = publish(event, other)
    with pytest.raises(PermissionDenied):
        services.post_update(actor=reporter, post=post, changes={"body": "hijacked"})
    with pytest.raises(PermissionDenied):
        services.post_delete(actor=reporter, post=post)
    post.refresh_from_db()
    assert post.body != "hijacked" and post.deleted_at is None
    assert Change.objects.count() == 1


def test_editor_can_edit_others_post_and_pin(event, reporter, editor):
    post = publish(event, reporter)
    services.post_update(actor=editor, post=post, changes={"is_pinned": True, "body": "Fixed"})
    post.refresh_from_db()
    assert post.is_pinned and post.body == "Fixed"


def test_reporter_cannot_pin_or_mark_key_event(event, reporter):
    with pytest.raises(PermissionDenied):
        publish(event, reporter, is_pinned=True)
    with pytest.raises(PermissionDenied):
        publish(event, reporter, is_key_event=True)
    assert not Post.objects.exists()


def test_outsider_cannot_publish(event, outsider):
    with pytest.raises(PermissionDenied):
        publish(event, outsider)


def test_pinning_unpins_the_previous_pinned_post(
    event, editor, sent, django_capture_on_commit_callbacks
):
    first = publish(event, editor, is_pinned=True)
    with django_capture_on_commit_callbacks(execute=True):
        second = publish(event, editor, is_pinned=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.is_pinned and second.is_pinned
    assert [(f["type"], f["post"]["id"]) for f in frames(sent)] == [
        ("post.updated", first.pk),
        ("post.created", second.pk),
    ]


def test_body_and_headline_limits_name_the_field(event, reporter):
    with pytest.raises(ValidationError) as error:
        publish(event, reporter, body="x" * 50_001)
    assert "body" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        publish(event, reporter, headline="h" * 301)
    assert "headline" in error.value.message_dict
    with pytest.raises(ValidationError):
        publish(event, reporter, body="   ")
    assert not Post.objects.exists()


def test_idempotency_key_returns_first_post(event, reporter):
    first, created = services.post_publish(
        event=event, author=reporter, body="once", idempotency_key="k1"
    )
    again, created_again = services.post_publish(
        event=event, author=reporter, body="once", idempotency_key="k1"
    )
    assert created and not created_again and first.pk == again.pk
    assert Post.objects.count() == 1 and Change.objects.count() == 1


def test_backdated_post_keeps_its_time(event, reporter):
    when = timezone.now() - timedelta(hours=2)
    post = publish(event, reporter, published_at=when)
    assert post.published_at == when


def test_event_update_by_editor_logs_event_updated(
    event, editor, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.event_update(actor=editor, event=event, changes={"status": "ended"})
    event.refresh_from_db()
    assert event.status == "ended" and event.ends_at is not None
    [frame] = frames(sent)
    assert frame["type"] == "event.updated" and frame["event"]["status"] == "ended"


def test_reporter_cannot_change_event(event, reporter):
    with pytest.raises(PermissionDenied):
        services.event_update(actor=reporter, event=event, changes={"status": "ended"})
    event.refresh_from_db()
    assert event.status == Event.Status.LIVE


def test_event_timezone_is_validated(event, editor):
    with pytest.raises(ValidationError) as error:
        services.event_update(actor=editor, event=event, changes={"timezone": "Mars/Olympus"})
    assert "timezone" in error.value.message_dict


def test_only_admin_creates_events(admin, outsider):
    with pytest.raises(PermissionDenied):
        services.event_create(actor=outsider, title="Nope")
    event = services.event_create(actor=admin, title="Election night: results")
    assert event.slug == "election-night-results"
    with pytest.raises(services.Conflict):
        services.event_create(actor=admin, title="Again", slug="election-night-results")


def test_editor_adds_member(event, editor):
    newcomer = UserFactory()
    services.membership_add(actor=editor, event=event, user=newcomer, role="reporter")
    assert Membership.objects.get(event=event, user=newcomer).role == "reporter"


def test_admin_renames_event_logged_as_event_updated_and_pushed_after_commit(
    event, admin, reporter, sent, django_capture_on_commit_callbacks
):
    old = event.slug
    publish(event, reporter)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        renamed = services.event_update(actor=admin, event=event, changes={"slug": "moved"})
        assert sent == [], "nothing may be pushed before the transaction commits"
    for callback in callbacks:
        callback()
    assert renamed.slug == "moved" and renamed.last_seq == 2
    [frame] = frames(sent)
    assert frame["type"] == "event.updated" and frame["seq"] == 2
    assert frame["event"]["slug"] == "moved" and frame["event"]["url"] == "/events/moved/"
    assert Change.objects.get(event=event, seq=2).payload == frame
    assert selectors.event_by_slug(old) is None
    assert selectors.event_by_slug("moved") == event


def test_editor_cannot_change_the_slug(event, editor):
    with pytest.raises(PermissionDenied):
        services.event_update(actor=editor, event=event, changes={"slug": "mine-now"})
    assert Event.objects.get(pk=event.pk).slug == event.slug
    assert not Change.objects.exists()


def test_slug_must_be_url_safe_and_free(event, admin):
    taken = EventFactory().slug
    with pytest.raises(services.Conflict) as conflict:
        services.event_update(actor=admin, event=event, changes={"slug": taken})
    assert "slug" in conflict.value.message_dict
    with pytest.raises(ValidationError) as invalid:
        services.event_update(actor=admin, event=event, changes={"slug": "a/b c"})
    assert not isinstance(invalid.value, services.Conflict)
    assert "slug" in invalid.value.message_dict
    assert Event.objects.get(pk=event.pk).slug == event.slug
    assert not Change.objects.exists()


def test_editor_removes_member_and_reporter_cannot(event, editor, reporter):
    with pytest.raises(PermissionDenied):
        services.membership_remove(actor=reporter, event=event, user=editor)
    services.membership_remove(actor=editor, event=event, user=reporter)
    assert list(event.memberships.values_list("user_id", flat=True)) == [editor.pk]


def test_token_create_returns_the_key_once_and_stores_its_hash(reporter, outsider):
    token, key = services.token_create(user=reporter, name="ingest")
    assert token.key_hash == ApiToken.hash(key) and token.prefix == key[:8]
    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=outsider, token=token)
    services.token_revoke(actor=reporter, token=token)
    assert not ApiToken.objects.exists()


def test_saving_a_stale_event_never_moves_last_seq_back(event, reporter):
    stale = Event.objects.get(pk=event.pk)
    publish(event, reporter)
    stale.title = "Renamed"
    stale.save()
    assert Event.objects.get(pk=event.pk).last_seq == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_get_distinct_increasing_seqs():
    event = EventFactory()
    authors = [MembershipFactory(event=event).user for _ in range(4)]
    errors: list[Exception] = []

    def work(author):
        try:
            for i in range(10):
                publish(event, author, body=f"entry {i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in authors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(Change.objects.filter(event=event).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, 41))
    assert Event.objects.get(pk=event.pk).last_seq == 40


def test_post_factory_posts_are_visible_to_readers(event):
    post = PostFactory(event=event)
    assert post.is_public


def test_an_entry_dated_in_the_future_is_scheduled_and_reaches_no_reader(event, editor):
    """SPEC §6: a `published` entry dated in the future is stored as `scheduled`; nothing
    is logged for readers until the worker publishes it."""
    later = timezone.now() + timedelta(hours=2)
    post = publish(event, editor, published_at=later, is_pinned=True)
    assert post.status == Post.Status.SCHEDULED and not post.is_public
    assert not Change.objects.exists()
    assert not Post.objects.public().exists()


def test_an_entry_cannot_be_scheduled_centuries_ahead(event, editor):
    """Issue 14, reproduction 10: an entry dated 2999 stayed pinned above everything, with
    `published_at` as its sort key. A schedule is at most a year ahead."""
    far = timezone.now() + timedelta(days=365 * 900)
    with pytest.raises(ValidationError) as refused:
        publish(event, editor, published_at=far, is_pinned=True)
    assert "published_at" in refused.value.message_dict
    assert not Post.objects.exists() and not Change.objects.exists()

    post = publish(event, editor)
    with pytest.raises(ValidationError):
        services.post_update(actor=editor, post=post, changes={"published_at": far})
    post.refresh_from_db()
    assert post.published_at <= timezone.now() and post.is_public


def test_a_draft_with_a_future_time_is_scheduled_when_published(event, editor):
    later = timezone.now() + timedelta(hours=2)
    draft = publish(event, editor, published_at=later, status=Post.Status.DRAFT)
    post = services.post_update(actor=editor, post=draft, changes={"status": "published"})
    assert post.status == Post.Status.SCHEDULED
    assert not Change.objects.exists()


def test_asking_for_scheduled_without_a_future_time_is_refused(event, editor):
    with pytest.raises(ValidationError) as refused:
        publish(event, editor, status=Post.Status.SCHEDULED)
    assert "published_at" in refused.value.message_dict
    assert not Post.objects.exists()


def test_a_clock_a_little_ahead_is_not_the_future(event, editor):
    """A reporter's device a few seconds ahead of the server still publishes."""
    publish(event, editor, published_at=timezone.now() + timedelta(seconds=30))


# --- versions (optimistic locking) ------------------------------------------------------


def version_of(post):
    return Post.objects.values_list("version", flat=True).get(pk=post.pk)


def test_a_new_post_is_at_version_one(event, reporter):
    assert publish(event, reporter).version == 1


def test_every_saved_change_moves_the_version_on_by_one(event, editor):
    post = publish(event, editor)

    services.post_update(actor=editor, post=post, changes={"body": "Corrected."})
    assert version_of(post) == 2
    services.post_update(actor=editor, post=post, changes={"is_pinned": True})
    assert version_of(post) == 3
    services.post_update(actor=editor, post=post, changes={"status": "draft"})
    assert version_of(post) == 4
    services.post_revise(actor=editor, post=post, changes={"headline": "Revised"})
    assert version_of(post) == 5
    services.post_delete(actor=editor, post=post)
    assert version_of(post) == 6


def test_pinning_moves_the_version_of_the_post_it_unpins(event, editor):
    first = publish(event, editor, is_pinned=True)
    second = publish(event, editor)

    services.post_update(actor=editor, post=second, changes={"is_pinned": True})

    assert version_of(first) == 2
    unpinned = Change.objects.filter(post=first).order_by("seq").last().payload
    assert unpinned["post"]["is_pinned"] is False
    assert unpinned["post"]["version"] == 2


def test_the_change_log_and_the_live_frame_carry_the_version(
    event, reporter, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post = publish(event, reporter)
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(actor=reporter, post=post, changes={"body": "Again."})

    assert [f["post"]["version"] for f in frames(sent)] == [1, 2]
    logged = Change.objects.filter(post=post).order_by("seq").last()
    assert logged.payload["post"]["version"] == 2


def test_the_right_expected_version_saves_and_moves_it_on(event, reporter):
    post = publish(event, reporter)

    saved = services.post_update(
        actor=reporter, post=post, changes={"body": "Fine."}, expected_version=1
    )

    assert saved.version == 2
    assert Post.objects.get(pk=post.pk).body == "Fine."


def test_a_stale_expected_version_changes_nothing_and_names_the_current_post(
    event, reporter, sent, django_capture_on_commit_callbacks
):
    post = publish(event, reporter)
    services.post_update(actor=reporter, post=post, changes={"body": "Theirs."})
    audited, logged = AuditEntry.objects.count(), Change.objects.count()

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(services.StaleVersion) as refused,
    ):
        services.post_update(
            actor=reporter, post=post, changes={"body": "Mine."}, expected_version=1
        )

    assert refused.value.current.body == "Theirs."
    assert refused.value.current.version == 2
    assert "version 1" in refused.value.messages[0]
    stored = Post.objects.get(pk=post.pk)
    assert (stored.body, stored.version) == ("Theirs.", 2)
    assert (AuditEntry.objects.count(), Change.objects.count()) == (audited, logged)
    assert callbacks == []  # nothing to push


def test_a_stale_revise_keeps_the_photo_texts_as_they_were(event, reporter, media_storage):
    image = services.image_upload(
        actor=reporter, event=event, file=io.BytesIO(pictures.photo(300, 200)), alt="A hall"
    )
    post = publish(event, reporter, images=[image.pk])
    services.post_update(actor=reporter, post=post, changes={"body": "Theirs."})

    with pytest.raises(services.StaleVersion):
        services.post_revise(
            actor=reporter,
            post=post,
            changes={"body": "Mine."},
            images=[(image.pk, services.ImageText(alt="Mine too"))],
            expected_version=1,
        )

    image.refresh_from_db()
    assert image.alt == "A hall"


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_changes_from_one_version_exactly_one_is_saved():
    event = EventFactory()
    authors = [MembershipFactory(event=event, role="editor").user for _ in range(2)]
    post = publish(event, authors[0])
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def work(author, body):
        try:
            start.wait()
            services.post_update(
                actor=author, post=post, changes={"body": body}, expected_version=1
            )
            outcomes.append("saved")
        except services.StaleVersion:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(a, f"by {a.pk}")) for a in authors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert version_of(post) == 2
    assert Change.objects.filter(post=post).count() == 2  # created, then one update
