"""The composer schedules an entry typed with a time ahead, and its Scheduled panel
(liveblog/editor/scheduling.py) lists, reschedules, publishes now and cancels scheduled
entries, as plain forms that work without JavaScript (issue 11)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Change, Membership, Post
from liveblog.editor.forms import SHOWN_FORMAT
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def typed(event, when):
    return timezone.localtime(when, event.tz).strftime(SHOWN_FORMAT)


def schedule(event, author, ahead=timedelta(hours=3), body="Later today"):
    post, _ = services.post_publish(
        event=event, author=author, body=body, published_at=timezone.now() + ahead
    )
    assert post.status == Post.Status.SCHEDULED
    return post


def change(client, event, post, **data):
    url = reverse("editor:scheduled_change", args=[event.slug, post.pk])
    return client.post(url, data)


def test_the_composer_answers_a_scheduled_entry_with_its_time(client_for, event, reporter):
    when = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    response = client_for(reporter).post(
        reverse("editor:compose", args=[event.slug]),
        {"body": "Results at four.", "published_at": typed(event, when), "action": "publish"},
        **JSON,
    )
    answer = response.json()
    assert response.status_code == 201 and answer["status"] == "scheduled"
    assert answer["message"].startswith("Scheduled for ")
    assert "html" not in answer, "a scheduled entry is not a draft"
    post = Post.objects.get(event=event)
    assert post.published_at == when and not Change.objects.exists()


def test_the_panel_lists_a_reporters_own_scheduled_entries(client_for, event, reporter):
    other = MembershipFactory(event=event, role=Membership.Role.REPORTER).user
    mine = schedule(event, reporter, body="Mine, later")
    theirs = schedule(event, other, body="Theirs, later")
    html = client_for(reporter).get(reverse("editor:compose", args=[event.slug])).content.decode()
    assert f'id="scheduled-{mine.pk}"' in html and f'id="scheduled-{theirs.pk}"' not in html
    assert "data-scheduled-count>1<" in html


def test_the_panel_lists_every_scheduled_entry_for_an_editor(client_for, event, editor, reporter):
    posts = [schedule(event, reporter), schedule(event, editor)]
    html = client_for(editor).get(reverse("editor:scheduled", args=[event.slug])).content.decode()
    for post in posts:
        assert f'id="scheduled-{post.pk}"' in html
        assert "Reschedule" in html and "Publish now" in html and "Cancel" in html


def test_rescheduling_from_the_panel_moves_the_entry(client_for, event, reporter):
    post = schedule(event, reporter)
    later = (post.published_at + timedelta(hours=1)).replace(second=0, microsecond=0)
    client = client_for(reporter)
    response = change(
        client, event, post, action="reschedule", published_at=typed(event, later), version=1
    )
    assert response.status_code == 302 and response["Location"].endswith("#scheduled-title")
    post.refresh_from_db()
    assert post.published_at == later and post.status == Post.Status.SCHEDULED
    assert "Rescheduled: Scheduled for" in client.get(response["Location"]).content.decode()


def test_rescheduling_into_the_past_says_why_and_changes_nothing(client_for, event, reporter):
    post = schedule(event, reporter)
    client = client_for(reporter)
    past = typed(event, timezone.now() - timedelta(hours=1))
    response = change(client, event, post, action="reschedule", published_at=past)
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.version == 1
    page = client.get(response["Location"]).content.decode()
    assert "A scheduled entry needs a time in the future." in page


def test_cancelling_from_the_panel_makes_a_draft(client_for, event, reporter):
    post = schedule(event, reporter)
    change(client_for(reporter), event, post, action="cancel")
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


def test_publishing_now_from_the_panel_reaches_readers(client_for, event, reporter):
    post = schedule(event, reporter)
    change(client_for(reporter), event, post, action="publish")
    post.refresh_from_db()
    assert post.is_public
    assert Change.objects.filter(post=post, kind="post.created").count() == 1


def test_a_reporter_cannot_change_anothers_scheduled_entry(client_for, event, reporter):
    other = MembershipFactory(event=event, role=Membership.Role.REPORTER).user
    post = schedule(event, other)
    response = change(client_for(reporter), event, post, action="cancel")
    assert response.status_code == 404  # as a draft of theirs: not theirs to see
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED


def test_an_outsider_sees_no_panel(client_for, event, outsider, reporter):
    schedule(event, reporter)
    response = client_for(outsider).get(reverse("editor:scheduled", args=[event.slug]))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("ahead", "schedule_it", "label"),
    [(timedelta(hours=2), True, "Schedule"), (-timedelta(hours=2), False, "Publish")],
)
def test_the_button_label_follows_the_time_typed(
    client_for, event, reporter, ahead, schedule_it, label
):
    url = reverse("editor:schedule_check", args=[event.slug])
    when = typed(event, timezone.now() + ahead)
    answer = client_for(reporter).get(url, {"published_at": when}).json()
    assert (answer["schedule"], answer["label"]) == (schedule_it, label)
    if schedule_it:
        assert answer["message"].startswith("Scheduled for ")


def test_an_unreadable_time_keeps_the_publish_label_and_says_why(client_for, event, reporter):
    url = reverse("editor:schedule_check", args=[event.slug])
    answer = client_for(reporter).get(url, {"published_at": "half past"}).json()
    assert answer["schedule"] is False and "Type a time" in answer["error"]


def test_an_ended_events_scheduled_entries_are_shown_as_held(client_for, event, editor):
    post = schedule(event, editor)
    services.event_update(actor=editor, event=event, changes={"status": "ended"})
    html = client_for(editor).get(reverse("editor:scheduled", args=[event.slug])).content.decode()
    assert f'id="scheduled-{post.pk}"' in html and "waits until an editor reopens it" in html
