"""Red-team findings on the team workflow (issue 11): each test reproduces a hole that was
found, and stays as its guard."""

import pytest
from django.test import Client

from liveblog.blog import services
from liveblog.blog.models import Membership
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
