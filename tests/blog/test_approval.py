"""The approval workflow's services (SPEC §4, §6): a contributor submits, an editor approves,
sends back with a note, or rejects; each decision is audited, kept as a revision, told to
the event's desk, and refused with nothing changed when it is not the editor's to take."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from liveblog.blog import selectors, services
from liveblog.blog.models import AuditEntry, Change, Membership, Post, Revision
from liveblog.live import desk
from tests.factories import MembershipFactory, UserFactory

Action = AuditEntry.Action


@pytest.fixture
def contributor(event):
    return MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user


@pytest.fixture
def desk_frames(monkeypatch):
    """What the services told the event's desk, after commit: (group, frame)."""
    told: list[tuple[str, dict]] = []
    monkeypatch.setattr(desk, "_send", lambda group, message: told.append((group, message)))
    return told


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (the desk's and the readers' pushes) as a commit would."""

    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def submit(event, contributor, **fields):
    fields.setdefault("body", "The minister *arrives*.")
    post, _created = services.post_publish(event=event, author=contributor, **fields)
    return post


def snapshot():
    return {
        "posts": list(Post.objects.order_by("pk").values()),
        "changes": Change.objects.count(),
        "revisions": Revision.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


# --- submitting -------------------------------------------------------------------------


def test_a_contributors_entry_is_submitted_and_told_to_the_desk(
    event, contributor, desk_frames, committing
):
    post = committing(lambda: submit(event, contributor))
    assert post.status == Post.Status.SUBMITTED and not post.is_public
    assert not Change.objects.exists(), "readers are told nothing of a submission"
    assert desk_frames == [
        (
            f"desk-{event.pk}",
            {
                "type": "desk.changed",
                "what": "submission",
                "post_id": post.pk,
                "status": "submitted",
                "by": contributor.username,
            },
        )
    ]


def test_a_sent_back_draft_submitted_again_loses_its_note_and_says_submitted(
    event, contributor, editor, desk_frames, committing
):
    post = submit(event, contributor)
    services.post_send_back(actor=editor, post=post, note="Name the minister.")
    desk_frames.clear()
    again = committing(
        services.post_update,
        actor=contributor,
        post=post,
        changes={"body": "Minister Li arrives.", "status": "published"},
    )
    assert again.status == Post.Status.SUBMITTED and again.review_note == ""
    assert AuditEntry.objects.filter(action=Action.POST_SUBMITTED, post=post).exists()
    assert [frame["status"] for _group, frame in desk_frames] == ["submitted"]


def test_a_draft_saved_by_a_reporter_is_not_told_to_the_desk(
    event, reporter, desk_frames, committing
):
    committing(lambda: submit(event, reporter, status=Post.Status.DRAFT))
    committing(lambda: submit(event, reporter))
    assert desk_frames == []


# --- approving --------------------------------------------------------------------------


def test_approval_publishes_the_submission_at_approval_time(
    event, contributor, editor, desk_frames, committing, sent
):
    post = submit(event, contributor, published_at=timezone.now() - timedelta(hours=1))
    approved = committing(services.post_approve, actor=editor, post=post)
    assert approved.status == Post.Status.PUBLISHED and approved.is_public
    assert approved.published_at > timezone.now() - timedelta(minutes=1)
    assert approved.author == contributor, "the entry stays its writer's"
    [frame] = [json.loads(m["frame"]) for m in sent]
    assert frame["type"] == "post.created" and frame["post"]["id"] == post.pk
    assert (
        desk_frames[-1][1]["status"] == "published" and desk_frames[-1][1]["by"] == editor.username
    )
    entry = AuditEntry.objects.get(post=post, action=Action.POST_APPROVED)
    assert entry.username == editor.username
    assert post.revisions.order_by("-number").first().note == "approved"


def test_approval_with_the_editors_edits_publishes_them(event, contributor, editor):
    post = submit(event, contributor, headline="Arival")
    approved = services.post_approve(
        actor=editor, post=post, changes={"headline": "Arrival", "is_key_event": True}
    )
    assert (approved.headline, approved.is_key_event, approved.status) == (
        "Arrival",
        True,
        Post.Status.PUBLISHED,
    )


def test_a_submission_dated_in_the_future_is_scheduled_when_approved(event, contributor, editor):
    later = timezone.now() + timedelta(hours=3)
    post = submit(event, contributor, published_at=later)
    assert post.status == Post.Status.SUBMITTED
    approved = services.post_approve(actor=editor, post=post)
    assert approved.status == Post.Status.SCHEDULED and approved.published_at == later
    assert not Change.objects.exists()


def test_the_api_style_patch_approves_as_post_approve_does(
    event, contributor, editor, desk_frames, committing
):
    """SPEC §6: an editor publishes a submission with PATCH {"status": "published"}."""
    post = submit(event, contributor)
    approved = committing(
        services.post_update, actor=editor, post=post, changes={"status": "published"}
    )
    assert approved.is_public
    assert AuditEntry.objects.filter(post=post, action=Action.POST_APPROVED).exists()
    assert desk_frames[-1][1]["what"] == "submission"


def test_approving_text_changed_since_it_was_read_is_refused(event, contributor, editor):
    post = submit(event, contributor)
    read_at = post.version
    services.post_update(actor=contributor, post=post, changes={"body": "Changed meanwhile."})
    before = snapshot()
    with pytest.raises(services.StaleVersion):
        services.post_approve(actor=editor, post=post, expected_version=read_at)
    assert snapshot() == before


def test_approval_in_an_ended_event_is_refused(event, contributor, editor):
    post = submit(event, contributor)
    services.event_update(actor=editor, event=event, changes={"status": "ended"})
    before = snapshot()
    with pytest.raises(services.EventEnded):
        services.post_approve(actor=editor, post=post)
    assert snapshot() == before


# --- sending back and rejecting ---------------------------------------------------------


def test_sending_back_makes_a_draft_with_the_note(
    event, contributor, editor, desk_frames, committing
):
    post = submit(event, contributor)
    back = committing(services.post_send_back, actor=editor, post=post, note=" Name the minister. ")
    assert back.status == Post.Status.DRAFT and back.review_note == "Name the minister."
    assert back.version == post.version + 1
    assert back.revisions.order_by("-number").first().note == "sent back: Name the minister."
    entry = AuditEntry.objects.get(post=post, action=Action.POST_SENT_BACK)
    assert entry.detail == {"author": contributor.username, "note": "Name the minister."}
    assert desk_frames[-1][1] | {"by": None} == {
        "type": "desk.changed",
        "what": "submission",
        "post_id": post.pk,
        "status": "draft",
        "by": None,
    }
    assert post in selectors.drafts_for_editor(event, contributor)


def test_sending_back_needs_a_note(event, contributor, editor):
    post = submit(event, contributor)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        services.post_send_back(actor=editor, post=post, note="   ")
    assert "note" in refused.value.message_dict
    assert snapshot() == before


def test_rejecting_removes_the_submission_and_tells_its_author(
    event, contributor, editor, desk_frames, committing
):
    post = submit(event, contributor)
    committing(services.post_reject, actor=editor, post=post, note="Not ours to report.")
    post.refresh_from_db()
    assert post.deleted_at is not None and post.deleted_by == editor
    assert post.revisions.order_by("-number").first().note == "rejected: Not ours to report."
    assert AuditEntry.objects.filter(post=post, action=Action.POST_REJECTED).exists()
    assert not Change.objects.exists()
    assert desk_frames[-1][1]["post_id"] == post.pk
    assert [p.pk for p in selectors.rejected_for_author(event, contributor)] == [post.pk]
    assert selectors.rejected_for_author(event, contributor)[0].review_note == "Not ours to report."
    assert selectors.approval_queue(event, editor).waiting == []


def test_an_entry_its_author_withdrew_is_not_shown_as_rejected(
    event, contributor, desk_frames, committing
):
    post = submit(event, contributor)
    committing(services.post_delete, actor=contributor, post=post)
    assert selectors.rejected_for_author(event, contributor) == []
    assert desk_frames[-1][1]["post_id"] == post.pk, "the queue drops a withdrawn entry"


# --- refusals: nothing changed ------------------------------------------------------------

DECISIONS = {
    "approve": lambda actor, post: services.post_approve(actor=actor, post=post),
    "send back": lambda actor, post: services.post_send_back(actor=actor, post=post, note="No."),
    "reject": lambda actor, post: services.post_reject(actor=actor, post=post, note="No."),
}


@pytest.mark.parametrize("decision", DECISIONS)
@pytest.mark.parametrize("who", ["the author", "a reporter", "another contributor", "an outsider"])
def test_only_editors_decide_on_submissions(event, contributor, reporter, decision, who):
    actor = {
        "the author": contributor,
        "a reporter": reporter,
        "another contributor": MembershipFactory(event=event, role="contributor").user,
        "an outsider": UserFactory(),
    }[who]
    post = submit(event, contributor)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        DECISIONS[decision](actor, post)
    assert snapshot() == before


@pytest.mark.parametrize("decision", DECISIONS)
@pytest.mark.parametrize("state", ["draft", "published", "removed"])
def test_a_decision_on_an_entry_not_waiting_is_refused(event, contributor, editor, decision, state):
    post = submit(event, contributor, status="draft" if state == "draft" else "published")
    if state == "published":
        post = services.post_approve(actor=editor, post=post)
    if state == "removed":
        services.post_delete(actor=contributor, post=post)
    before = snapshot()
    with pytest.raises(services.NotSubmitted) as refused:
        DECISIONS[decision](editor, post)
    assert refused.value.error_code == "not_submitted"
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_two_editors_deciding_at_once_act_once(event, contributor):
    """The row lock: the second editor waits for the first, then is told it is decided."""
    first = MembershipFactory(event=event, role="editor").user
    second = MembershipFactory(event=event, role="editor").user
    post = submit(event, contributor)
    results: dict[str, object] = {}
    start = threading.Barrier(2)

    def decide(name, fn):
        start.wait()
        try:
            results[name] = fn()
        except services.NotSubmitted as exc:
            results[name] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=decide, args=("approve", lambda: DECISIONS["approve"](first, post))
        ),
        threading.Thread(target=decide, args=("reject", lambda: DECISIONS["reject"](second, post))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [
        name for name, result in results.items() if isinstance(result, services.NotSubmitted)
    ]
    assert len(refused) == 1
    post.refresh_from_db()
    if refused == ["reject"]:
        assert post.is_public
    else:
        assert post.deleted_at is not None and not Change.objects.filter(post=post).exists()


def test_the_queue_lists_all_for_editors_and_their_own_for_others(event, contributor, editor):
    mine = submit(event, contributor)
    other = MembershipFactory(event=event, role="contributor").user
    theirs = submit(event, other)
    assert [p.pk for p in selectors.approval_queue(event, editor).waiting] == [mine.pk, theirs.pk]
    assert [p.pk for p in selectors.approval_queue(event, contributor).waiting] == [mine.pk]
    assert selectors.approval_queue(event, editor).count == 2
    assert selectors.approval_queue(event, UserFactory()).waiting == []
