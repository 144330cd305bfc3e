from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import ApiToken, Post
from tests.api.helpers import Api, url


def test_bearer_token_authenticates_writes(event, reporter, api_for):
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "By script."})

    assert response.status_code == 201
    assert Post.objects.get().author == reporter


@pytest.mark.parametrize(
    "header",
    ["Bearer lb_forged", "Bearer ", "Token whatever", "Basic dXNlcjpwYXNz", "Bearer"],
)
def test_forged_or_malformed_token_is_a_401(event, snapshot, header):
    before = snapshot()
    response = Api().post(url(event.slug, "posts"), {"body": "x"}, Authorization=header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "not_authenticated"
    assert snapshot() == before


def test_forged_token_is_refused_even_on_reads(event):
    response = Api(token="lb_forged").get(url(event.slug))

    assert response.status_code == 401


def test_token_of_a_deactivated_user_is_refused(event, reporter, api_for):
    api = api_for(reporter)
    reporter.is_active = False
    reporter.save()

    assert api.post(url(event.slug, "posts"), {"body": "x"}).status_code == 401


def test_token_past_its_expiry_is_refused_with_a_sentence_saying_so(event, reporter, snapshot):
    token, key = services.token_create(user=reporter, name="ingest", expires_in_days=1)
    api = Api(token=key)
    assert api.get(url(event.slug)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = snapshot()

    for response in (api.post(url(event.slug, "posts"), {"body": "x"}), api.get(url(event.slug))):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == "not_authenticated"
        assert "expired" in response.json()["detail"]
    assert snapshot() == before


def test_token_before_its_expiry_works(event, reporter):
    token, key = services.token_create(user=reporter, expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(seconds=30))

    assert Api(token=key).post(url(event.slug, "posts"), {"body": "x"}).status_code == 201


def test_token_lets_its_user_see_own_drafts(event, reporter, api_for):
    draft, _ = services.post_publish(event=event, author=reporter, body="WIP", status="draft")

    assert api_for(reporter).get(url(event.slug, "posts", draft.pk)).status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute(event, reporter):
    key = services.token_issue(user=reporter)
    api = Api(token=key)
    api.get(url(event.slug))
    token = ApiToken.objects.get()
    first_use = token.last_used_at
    assert first_use is not None

    api.get(url(event.slug))
    token.refresh_from_db()
    assert token.last_used_at == first_use

    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get(url(event.slug))
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(seconds=1)


def test_session_write_without_csrf_token_is_refused(event, reporter, snapshot):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    before = snapshot()

    response = Api(client).post(url(event.slug, "posts"), {"body": "x"})

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert snapshot() == before


def test_session_write_with_csrf_token_works(event, reporter):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    csrf = "a1" * 16  # as a page would have set it: a 32-character secret
    client.cookies["csrftoken"] = csrf

    response = Api(client).post(url(event.slug, "posts"), {"body": "x"}, **{"X-CSRFToken": csrf})

    assert response.status_code == 201


def test_token_requests_need_no_csrf_token(event, reporter):
    api = Api(Client(enforce_csrf_checks=True), token=services.token_issue(user=reporter))

    assert api.post(url(event.slug, "posts"), {"body": "x"}).status_code == 201


def test_session_reads_need_no_csrf_token(event, reporter):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)

    assert Api(client).get(url(event.slug, "posts")).status_code == 200
