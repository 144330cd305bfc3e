"""Every write path of the editor is rate limited as the API's are (issue 14, reproduction 7):
per user and per address, the same counters and settings, 429 with Retry-After, nothing
written. The counters are those of liveblog.http.ratelimit, which the API uses too."""

import json
import time
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import ApiToken, AuditEntry, Change, Event, Membership, Post
from liveblog.http import ratelimit
from tests.api.helpers import Api, url
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture
def rate_limits(settings, monkeypatch):
    """Limits on, LIMIT writes a minute, counted in a fresh namespace of the real cache, the
    clock standing still mid-window (as tests/api/conftest.py's fixture)."""
    mid_window = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: mid_window))
    settings.LIVEBLOG_RATE_LIMITS = True
    settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE = LIMIT
    cache = dict(django_settings.CACHES["default"], KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    settings.CACHES = {"default": cache}
    return settings


def snapshot():
    return (
        list(Post.objects.values_list("id", "body", "status", "deleted_at")),
        list(Event.objects.values_list("slug", "title", "status")),
        list(Membership.objects.values_list("event_id", "user_id", "role")),
        Change.objects.count(),
        list(ApiToken.objects.values_list("id", flat=True)),
        AuditEntry.objects.count(),
    )


def _compose(event):
    return reverse("editor:compose", args=[event.slug]), {"body": "Hi", "action": "publish"}


def _draft(event):
    return reverse("editor:compose", args=[event.slug]), {"body": "Hi", "action": "draft"}


def _edit(event):
    post = Post.objects.filter(event=event).first()
    return reverse("editor:post_edit", args=[event.slug, post.pk]), {
        "body": f"Edited {uuid.uuid4().hex}",
        "action": "publish",
    }


def _delete(event):
    post = Post.objects.filter(event=event, deleted_at__isnull=True).first()
    return reverse("editor:post_delete", args=[event.slug, post.pk]), {}


def _settings(event):
    data = {
        "title": f"Title {uuid.uuid4().hex[:6]}",
        "summary": event.summary,
        "status": event.status,
        "timezone": event.timezone,
        "order": event.order,
    }
    return reverse("editor:event_settings", args=[event.slug]), data


def _member_add(event):
    user = MembershipFactory().user  # a member elsewhere: active, not yet of this event
    return reverse("editor:member_add", args=[event.slug]), {
        "username": user.username,
        "role": "reporter",
    }


def _token_create(event):
    return reverse("editor:tokens"), {
        "name": f"script {uuid.uuid4().hex[:6]}",
        "expires_in_days": "30",
    }


def _token_revoke(event):
    token = ApiToken.objects.order_by("pk").first()
    return reverse("editor:token_revoke", args=[token.pk]), {}


WRITES = {
    "publish": _compose,
    "draft": _draft,
    "edit": _edit,
    "delete": _delete,
    "event settings": _settings,
    "member add": _member_add,
    "token create": _token_create,
    "token revoke": _token_revoke,
}


@pytest.fixture
def writer(event, editor):
    """An editor of the event (every write path is open to one) with entries to change."""
    client = Client()
    client.force_login(editor)
    for n in range(LIMIT + 2):
        Post.objects.create(event=event, author=editor, body=f"Entry {n}", body_html="")
        services.token_create(user=editor, name=f"token {n}", expires_in_days=None)
    return client


@pytest.mark.parametrize("path", WRITES)
def test_every_editor_write_path_answers_429_over_the_limit(path, event, writer, rate_limits):
    for _ in range(LIMIT):
        address, data = WRITES[path](event)
        assert writer.post(address, data).status_code in (200, 302)
    address, data = WRITES[path](event)
    before = snapshot()

    response = writer.post(address, data)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    page = response.content.decode()
    assert f"at most {LIMIT} a minute" in page
    assert f"Try again in {response['Retry-After']} s." in page
    assert snapshot() == before


def test_the_refusal_page_gives_the_refused_text_back(event, writer, rate_limits):
    address, data = _compose(event)
    for _ in range(LIMIT):
        writer.post(address, data)

    response = writer.post(address, {"body": "Mayor <resigns>", "action": "publish"})

    assert response.status_code == 429
    assert "Mayor &lt;resigns&gt;</textarea>" in response.content.decode()


def test_the_preview_answers_429_in_json_over_the_limit(event, writer, rate_limits):
    address = reverse("editor:preview", args=[event.slug])
    for _ in range(LIMIT):
        assert writer.post(address, {"body": "*Hi*"}).status_code == 200

    response = writer.post(address, {"body": "*Hi*"})

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["error"] == "rate_limited"
    assert body["retry_after"] == int(response["Retry-After"])
    assert f"Try again in {body['retry_after']} s." in body["detail"]


def test_previews_do_not_use_up_the_writes_needed_to_publish(event, writer, rate_limits):
    preview = reverse("editor:preview", args=[event.slug])
    for _ in range(LIMIT + 1):
        writer.post(preview, {"body": "typing"})

    address, data = _compose(event)
    assert writer.post(address, data).status_code == 302


def test_pages_are_not_rate_limited(event, writer, rate_limits):
    address = reverse("editor:compose", args=[event.slug])

    assert {writer.get(address).status_code for _ in range(LIMIT + 2)} == {200}


def test_the_editor_and_the_api_share_one_counter(event, editor, writer, rate_limits):
    api = Api(token=services.token_issue(user=editor, name="tests"))
    for n in range(LIMIT):
        assert api.post(url(event.slug, "posts"), {"body": f"{n}"}).status_code == 201

    address, data = _compose(event)
    assert writer.post(address, data).status_code == 429


def test_the_limit_is_per_user(event, writer, reporter, rate_limits):
    address, data = _compose(event)
    for _ in range(LIMIT):
        writer.post(address, data)
    other = Client()
    other.force_login(reporter)

    assert other.post(address, data).status_code == 302
    assert writer.post(address, data).status_code == 429


def test_one_address_is_limited_across_users(event, rate_limits):
    address, data = _compose(event)
    for _ in range(LIMIT * ratelimit.ADDRESS_SHARE):
        client = Client()
        client.force_login(MembershipFactory(event=event, role="reporter").user)
        assert client.post(address, data).status_code == 302
    fresh = Client()
    fresh.force_login(MembershipFactory(event=event, role="reporter").user)

    assert fresh.post(address, data).status_code == 429


def test_rate_limits_can_be_turned_off(event, writer, rate_limits):
    rate_limits.LIVEBLOG_RATE_LIMITS = False
    address, data = _compose(event)

    assert {writer.post(address, data).status_code for _ in range(LIMIT + 3)} == {302}


def test_the_no_script_preview_renders_nothing_over_the_body_limit(
    client_for, event, reporter, settings, monkeypatch
):
    """Review finding: `action=preview` on the compose form rendered a body of any length
    (~4.5 s of CPU for 1,000,000 characters), where the preview endpoint answers 413."""
    from liveblog.editor import views

    def refuse(body):
        raise AssertionError("rendered")

    monkeypatch.setattr(views, "markdown_to_html", refuse)
    body = "a\n=\n" * (settings.LIVEBLOG_MAX_BODY_CHARS // 4 + 1)
    response = client_for(reporter).post(
        f"/editor/events/{event.slug}/", {"body": body, "action": "preview"}
    )
    assert response.status_code == 200
    assert b"Too long to preview" in response.content
    assert not event.posts.exists()


def test_the_composers_script_gets_its_429_in_json(event, writer, rate_limits):
    address, data = _compose(event)
    for _ in range(LIMIT):
        writer.post(address, data, HTTP_ACCEPT="application/json")
    before = snapshot()

    response = writer.post(address, data, HTTP_ACCEPT="application/json")

    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert f"Try again in {response['Retry-After']} s." in response.json()["detail"]
    assert snapshot() == before
