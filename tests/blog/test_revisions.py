"""Revisions (SPEC §3, issue 11): every saved change of an entry is kept, by whichever service
saves it, exactly once; an editor restores an earlier one as a new change, pushed live."""

import contextlib
import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from liveblog.blog import selectors, services
from liveblog.blog.models import AuditEntry, Change, Image, Membership, Post, Revision
from tests import pictures
from tests.factories import EventFactory, MembershipFactory


def publish(event, author, **kwargs):
    kwargs.setdefault("body", "Doors open at nine.")
    post, _created = services.post_publish(event=event, author=author, **kwargs)
    return post


def revisions(post):
    return list(Revision.objects.filter(post=post).order_by("number"))


def last(post):
    return Revision.objects.filter(post=post).order_by("-number").first()


def photo(event, user, alt="The hall"):
    file = io.BytesIO(pictures.photo(300, 200))
    return services.image_upload(actor=user, event=event, file=file, alt=alt)


@pytest.fixture
def contributor(event):
    return MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user


# --- every path keeps exactly one revision --------------------------------------------------


def test_publishing_keeps_the_entry_as_saved_as_revision_1(event, reporter):
    later = timezone.now() - timedelta(minutes=5)
    post = publish(event, reporter, headline="Doors", published_at=later, is_breaking=True)

    [first] = revisions(post)
    assert first.number == 1
    assert first.author == reporter
    assert (first.headline, first.body) == ("Doors", "Doors open at nine.")
    assert (first.status, first.published_at) == (Post.Status.PUBLISHED, later)
    assert (first.is_breaking, first.is_key_event, first.is_pinned) == (True, False, False)
    assert (first.deleted, first.note, first.images) == (False, "", [])


def test_a_draft_and_a_submission_are_kept_too(event, reporter, contributor):
    draft = publish(event, reporter, status=Post.Status.DRAFT)
    submitted = publish(event, contributor)

    assert [r.status for r in revisions(draft)] == [Post.Status.DRAFT]
    assert [r.status for r in revisions(submitted)] == [Post.Status.SUBMITTED]


def test_a_correction_keeps_one_more_revision_by_its_author(event, reporter, editor):
    post = publish(event, reporter)

    services.post_update(actor=editor, post=post, changes={"body": "Doors open at ten."})

    first, second = revisions(post)
    assert (first.body, first.author) == ("Doors open at nine.", reporter)
    assert (second.number, second.body, second.author) == (2, "Doors open at ten.", editor)
    assert second.created_at >= first.created_at


def test_marking_a_key_event_keeps_one_revision_with_the_flag(event, reporter, editor):
    post = publish(event, reporter)

    services.post_update(actor=editor, post=post, changes={"is_key_event": True})

    assert [(r.number, r.is_key_event) for r in revisions(post)] == [(1, False), (2, True)]


def test_pinning_keeps_a_revision_of_the_entry_and_of_the_one_it_unpins(event, editor):
    before = publish(event, editor, is_pinned=True)
    post = publish(event, editor)

    services.post_update(actor=editor, post=post, changes={"is_pinned": True})

    assert [(r.number, r.is_pinned) for r in revisions(post)] == [(1, False), (2, True)]
    unpinned = revisions(before)
    assert [(r.number, r.is_pinned) for r in unpinned] == [(1, True), (2, False)]
    assert unpinned[-1].note == f"unpinned: entry {post.pk} was pinned"
    assert unpinned[-1].author == editor


def test_publishing_a_pinned_entry_keeps_a_revision_of_the_one_it_unpins(event, editor):
    before = publish(event, editor, is_pinned=True)

    post = publish(event, editor, is_pinned=True)

    assert len(revisions(post)) == 1
    assert [r.is_pinned for r in revisions(before)] == [True, False]


def test_moving_to_drafts_and_back_keeps_each_status(event, reporter):
    post = publish(event, reporter)

    services.post_update(actor=reporter, post=post, changes={"status": Post.Status.DRAFT})
    services.post_update(actor=reporter, post=post, changes={"status": Post.Status.PUBLISHED})

    assert [r.status for r in revisions(post)] == ["published", "draft", "published"]


def test_removing_keeps_a_last_revision_marked_deleted(event, reporter, editor):
    post = publish(event, reporter, headline="Doors")

    services.post_delete(actor=editor, post=post)
    services.post_delete(actor=editor, post=post)  # already removed: nothing more

    first, removed = revisions(post)
    assert (removed.number, removed.deleted, removed.author) == (2, True, editor)
    assert (removed.headline, removed.body) == ("Doors", "Doors open at nine.")
    assert not first.deleted


def test_the_photos_are_kept_in_order(event, reporter, media_storage):
    hall, stage = photo(event, reporter), photo(event, reporter, alt="The stage")
    post = publish(event, reporter, images=[hall.pk, stage.pk])

    services.post_update(actor=reporter, post=post, changes={"images": [stage.pk, hall.pk]})

    assert [r.images for r in revisions(post)] == [[hall.pk, stage.pk], [stage.pk, hall.pk]]


def test_a_change_of_photo_texts_alone_keeps_a_revision_saying_so(event, reporter, media_storage):
    """The edit form's change of a caption only (post_revise): a revision keeps the photos'
    ids, not their texts, so its note says what changed."""
    hall = photo(event, reporter)
    post = publish(event, reporter, images=[hall.pk])

    services.post_revise(
        actor=reporter,
        post=post,
        changes={},
        images=[(hall.pk, services.ImageText(alt="The hall", caption="At nine"))],
    )

    first, second = revisions(post)
    assert second.images == first.images == [hall.pk]
    assert second.note == services.PHOTO_TEXTS_NOTE
    assert second.body == first.body


def test_a_revise_of_the_text_alone_has_no_photo_note(event, reporter, media_storage):
    hall = photo(event, reporter)
    post = publish(event, reporter, images=[hall.pk])

    services.post_revise(
        actor=reporter,
        post=post,
        changes={"body": "Doors open at ten."},
        images=[(hall.pk, services.ImageText(alt="The hall"))],
    )

    assert (last(post).body, last(post).note) == ("Doors open at ten.", "")


@pytest.mark.parametrize(
    ("change", "kept"),
    [
        (lambda post, by: services.post_update(actor=by, post=post, changes={"headline": "N"}), 1),
        (lambda post, by: services.post_update(actor=by, post=post, changes={"x": 1}), 0),
        (
            lambda post, by: services.post_update(
                actor=by, post=post, changes={"body": "Late."}, expected_version=9
            ),
            0,
        ),
        (lambda post, by: services.post_delete(actor=by, post=post), 1),
        (lambda post, by: services.post_restore(actor=by, post=post, number=1), 1),
        (
            lambda post, by: services.post_restore(
                actor=by, post=post, number=1, expected_version=9
            ),
            0,
        ),
    ],
    ids=["update", "refused field", "stale version", "delete", "restore", "stale restore"],
)
def test_a_change_keeps_exactly_one_revision_and_a_refusal_none(event, editor, change, kept):
    post = publish(event, editor)
    before = Revision.objects.count()

    with contextlib.suppress(ValidationError):
        change(post, editor)

    assert Revision.objects.count() == before + kept


def test_a_refused_change_keeps_no_revision(event, reporter, outsider):
    post = publish(event, reporter)

    with pytest.raises(PermissionDenied):
        services.post_update(actor=outsider, post=post, changes={"body": "Mine."})

    assert len(revisions(post)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_changes_get_different_numbers():
    """Each saving service holds the post's row lock while it numbers its revision: two
    writers at once never take the same number (the unique constraint would refuse one)."""
    event = EventFactory()
    authors = [MembershipFactory(event=event, role="editor").user for _ in range(2)]
    post = publish(event, authors[0])
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(author):
        try:
            start.wait()
            for n in range(3):
                body = f"Take {n} by {author.pk}."
                services.post_update(actor=author, post=post, changes={"body": body})
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(author,)) for author in authors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    kept = revisions(post)
    assert [r.number for r in kept] == list(range(1, 8))
    assert Post.objects.get(pk=post.pk).version == 7
    assert kept[-1].body == Post.objects.get(pk=post.pk).body


# --- reading them -------------------------------------------------------------------------


def test_the_history_lists_newest_first_with_authors_in_one_query(
    event, reporter, editor, django_assert_num_queries
):
    post = publish(event, reporter)
    for n in range(3):
        services.post_update(actor=editor, post=post, changes={"body": f"Take {n}."})

    with django_assert_num_queries(1):
        found = selectors.post_revisions(post)
        names = [r.author.get_username() for r in found]

    assert [r.number for r in found] == [4, 3, 2, 1]
    assert names == [editor.username] * 3 + [reporter.username]
    assert [r.number for r in selectors.post_revisions(post, before=3, limit=1)] == [2]


# --- restore --------------------------------------------------------------------------------


@pytest.fixture
def corrected(event, reporter, editor):
    """An entry as first published (revision 1), then corrected twice."""
    post = publish(event, reporter, headline="Doors", is_breaking=True)
    services.post_update(
        actor=editor,
        post=post,
        changes={"headline": "Doors, late", "body": "Doors open at ten.", "is_breaking": False},
    )
    services.post_update(actor=editor, post=post, changes={"is_key_event": True})
    return Post.objects.get(pk=post.pk)


def test_restoring_puts_the_text_and_flags_back_as_a_new_revision(corrected, editor):
    restored = services.post_restore(actor=editor, post=corrected, number=1)

    assert (restored.headline, restored.body) == ("Doors", "Doors open at nine.")
    assert (restored.is_breaking, restored.is_key_event) == (True, False)
    assert restored.body_html == "<p>Doors open at nine.</p>"
    assert restored.version == corrected.version + 1
    newest = last(corrected)
    assert (newest.number, newest.author, newest.note) == (4, editor, "restored from revision 1")
    assert (newest.headline, newest.body, newest.is_breaking) == (
        "Doors",
        "Doors open at nine.",
        True,
    )


def test_restoring_keeps_the_status_and_time_of_now(event, editor):
    post = publish(event, editor)
    services.post_update(actor=editor, post=post, changes={"status": Post.Status.DRAFT})
    earlier = timezone.now() - timedelta(hours=1)
    services.post_update(actor=editor, post=post, changes={"published_at": earlier})

    restored = services.post_restore(actor=editor, post=post, number=1)

    assert (restored.status, restored.published_at) == (Post.Status.DRAFT, earlier)


def test_restoring_a_public_entry_marks_it_updated_and_pushes_the_restored_text(
    corrected, editor, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        restored = services.post_restore(actor=editor, post=corrected, number=1)

    assert restored.corrected_at is not None
    frames = [json.loads(m["frame"]) for m in sent if "frame" in m]
    [frame] = frames
    assert frame["type"] == "post.updated"
    assert frame["post"]["body"] == "Doors open at nine."
    assert "Updated" in frame["html"]
    [nudge] = [m for m in sent if m.get("type") == "desk.changed"]
    assert (nudge["what"], nudge["post_id"], nudge["by"]) == ("post", corrected.pk, editor.username)
    entry = AuditEntry.objects.filter(post=corrected).first()
    assert entry.action == AuditEntry.Action.POST_UPDATED
    assert sorted(entry.detail["fields"]) == ["body", "headline", "is_breaking", "is_key_event"]


def test_restoring_leaves_out_the_photos_deleted_since(event, editor, media_storage):
    hall, stage = photo(event, editor), photo(event, editor, alt="The stage")
    post = publish(event, editor, images=[hall.pk, stage.pk])
    services.post_update(actor=editor, post=post, changes={"images": [stage.pk]})
    Image.objects.filter(pk=hall.pk).delete()  # no entry shows it any more

    restored = services.post_restore(actor=editor, post=post, number=1)

    assert [image.pk for image in restored.ordered_images] == [stage.pk]
    assert last(post).images == [stage.pk]


def test_restoring_a_pin_unpins_the_entry_pinned_since(event, editor):
    post = publish(event, editor, is_pinned=True)
    other = publish(event, editor, is_pinned=True)  # unpins `post` (its revision 2)

    services.post_restore(actor=editor, post=post, number=1)

    assert Post.objects.get(pk=post.pk).is_pinned
    assert not Post.objects.get(pk=other.pk).is_pinned


@pytest.mark.parametrize("role", [Membership.Role.CONTRIBUTOR, Membership.Role.REPORTER])
def test_only_editors_restore_even_their_own_entry(event, role):
    writer = MembershipFactory(event=event, role=role).user
    post = publish(event, writer, status=Post.Status.DRAFT)
    services.post_update(actor=writer, post=post, changes={"body": "Doors open at ten."})

    with pytest.raises(PermissionDenied):
        services.post_restore(actor=writer, post=post, number=1)

    assert Post.objects.get(pk=post.pk).body == "Doors open at ten."
    assert len(revisions(post)) == 2


def test_an_editor_of_another_event_cannot_restore(corrected):
    stranger = MembershipFactory(role=Membership.Role.EDITOR).user

    with pytest.raises(PermissionDenied):
        services.post_restore(actor=stranger, post=corrected, number=1)


def test_an_admin_restores(corrected, admin):
    restored = services.post_restore(actor=admin, post=corrected, number=1)

    assert restored.body == "Doors open at nine."


def test_a_removed_entry_is_not_restored(corrected, editor):
    services.post_delete(actor=editor, post=corrected)

    with pytest.raises(services.Conflict, match="removed"):
        services.post_restore(actor=editor, post=corrected, number=1)

    assert Post.objects.get(pk=corrected.pk).deleted_at is not None


def test_a_missing_revision_is_not_found(corrected, editor):
    with pytest.raises(Revision.DoesNotExist):
        services.post_restore(actor=editor, post=corrected, number=9)


def test_a_restore_based_on_an_old_version_changes_nothing(corrected, editor):
    changes = Change.objects.count()

    with pytest.raises(services.StaleVersion) as refused:
        services.post_restore(actor=editor, post=corrected, number=1, expected_version=1)

    assert refused.value.current.version == corrected.version
    assert Post.objects.get(pk=corrected.pk).body == "Doors open at ten."
    assert (len(revisions(corrected)), Change.objects.count()) == (3, changes)


def test_a_restore_based_on_the_current_version_is_saved(corrected, editor):
    restored = services.post_restore(
        actor=editor, post=corrected, number=1, expected_version=corrected.version
    )

    assert restored.body == "Doors open at nine."
