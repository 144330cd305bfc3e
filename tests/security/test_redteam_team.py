"""Red-team findings on the team workflow (issue 11): each test reproduces a hole that was
found, and stays as its guard."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Change, Event, Membership, Post
from tests.factories import MembershipFactory

# Characters str.isdigit() accepts and int() refuses (superscripts, circled digits).
NOT_INT_DIGITS = ["²", "①", "1²"]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.LIVEBLOG_RATE_LIMITS = False


@pytest.fixture
def contributor(event):
    return MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user


def _signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("value", NOT_INT_DIGITS)
def test_autosave_answers_not_found_for_a_post_id_of_unicode_digits(event, editor, value):
    response = _signed_in(editor).get(f"/editor/events/{event.slug}/autosave/?post={value}")
    assert response.status_code == 404


@pytest.mark.parametrize("value", NOT_INT_DIGITS)
def test_approving_with_a_version_of_unicode_digits_is_no_server_error(
    event, editor, contributor, value
):
    post, _ = services.post_publish(event=event, author=contributor, body="Smoke.")
    response = _signed_in(editor).post(
        f"/editor/events/{event.slug}/queue/{post.pk}/approve/", {"version": value}
    )
    assert response.status_code < 500


@pytest.mark.parametrize("value", NOT_INT_DIGITS)
def test_restoring_with_a_version_of_unicode_digits_is_no_server_error(event, editor, value):
    post, _ = services.post_publish(event=event, author=editor, body="Smoke.")
    response = _signed_in(editor).post(
        f"/editor/events/{event.slug}/posts/{post.pk}/revisions/1/restore/", {"version": value}
    )
    assert response.status_code < 500


def _held(event, editor, reporter) -> Post:
    """A reporter's scheduled entry in an event an editor has since ended: the worker holds
    it until the event reopens (services.post_publish_due)."""
    post, _ = services.post_publish(
        event=event,
        author=reporter,
        body="The results, at four.",
        published_at=timezone.now() + timedelta(hours=1),
    )
    services.event_update(actor=editor, event=event, changes={"status": Event.Status.ENDED})
    return post


def test_a_held_entry_is_not_published_now_into_an_ended_event(event, editor, reporter):
    post = _held(event, editor, reporter)
    with pytest.raises(services.EventEnded):
        services.post_publish_now(actor=reporter, post=post)
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    assert not Change.objects.filter(post=post).exists()


def test_a_held_entry_is_not_published_into_an_ended_event_by_a_patch(event, editor, reporter):
    post = _held(event, editor, reporter)
    with pytest.raises(services.EventEnded):
        services.post_update(
            actor=reporter,
            post=post,
            changes={"status": Post.Status.PUBLISHED, "published_at": timezone.now()},
        )
    assert Post.objects.get(pk=post.pk).status == Post.Status.SCHEDULED


def test_a_held_entry_may_still_be_rescheduled_in_an_ended_event(event, editor, reporter):
    post = _held(event, editor, reporter)
    later = timezone.now() + timedelta(hours=2)
    services.post_reschedule(actor=reporter, post=post, published_at=later)
    assert Post.objects.get(pk=post.pk).published_at == later


def test_the_worker_does_not_publish_into_an_event_ended_after_it_read_the_due_entries(
    event, editor, reporter, monkeypatch
):
    """The due entries are read (event not ended yet), then an editor's end commits before
    the worker takes the event's lock: the entry stays held."""
    post, _ = services.post_publish(
        event=event,
        author=reporter,
        body="At four.",
        published_at=timezone.now() + timedelta(hours=1),
    )
    read_due = services._due_posts

    def due_then_ended(now, limit):
        rows = read_due(now, limit)
        Event.objects.filter(pk=event.pk).update(status=Event.Status.ENDED)
        return rows

    monkeypatch.setattr(services, "_due_posts", due_then_ended)
    assert services.post_publish_due(now=post.published_at) == []
    assert Post.objects.get(pk=post.pk).status == Post.Status.SCHEDULED
    assert not Change.objects.filter(post=post).exists()


@pytest.mark.parametrize("value", NOT_INT_DIGITS)
def test_oembed_refuses_a_width_of_unicode_digits_as_bad_input(event, value):
    response = Client(raise_request_exception=False).get(
        "/oembed/", {"url": f"http://testserver/events/{event.slug}/", "maxwidth": value}
    )
    assert response.status_code == 400
