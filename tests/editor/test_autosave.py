"""The autosave endpoint (liveblog/editor/autosave.py) and its services: a writer's draft of
the composer or of an edit form is saved, brought back and thrown away; it is the writer's
alone, limited as an entry is, never reaches a reader, and goes once the entry is saved."""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Change, Membership, Post, PostDraft
from liveblog.editor.autosave import DRAFT_REQUEST_MAX_BYTES
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"
TYPED = {
    "headline": "Half a headline",
    "body": "The minister said the budget would",
    "fields": {"published_at": "", "is_breaking": True},
}


def autosave_url(event, post=None):
    url = reverse("editor:autosave", args=[event.slug])
    return f"{url}?post={post.pk}" if post is not None else url


def put(client, event, draft, post=None, **extra):
    return client.put(
        autosave_url(event, post), json.dumps(draft), content_type=JSON, HTTP_ACCEPT=JSON, **extra
    )


def get(client, event, post=None):
    return client.get(autosave_url(event, post), HTTP_ACCEPT=JSON)


def test_a_saved_draft_comes_back(client_for, event, reporter):
    client = client_for(reporter)

    saved = put(client, event, TYPED)
    answer = get(client, event)

    assert saved.status_code == 200
    assert answer.status_code == 200
    draft = answer.json()
    assert (draft["headline"], draft["body"], draft["fields"]) == (
        TYPED["headline"],
        TYPED["body"],
        TYPED["fields"],
    )
    assert draft["post"] is None
    assert draft["updated_at"] == saved.json()["updated_at"]
    assert answer["Cache-Control"].startswith("max-age=0")


def test_no_draft_answers_204(client_for, event, reporter):
    assert get(client_for(reporter), event).status_code == 204


def test_saving_again_replaces_the_draft(client_for, event, reporter):
    client = client_for(reporter)
    put(client, event, TYPED)

    put(client, event, {**TYPED, "body": "The minister said the budget would grow."})

    assert PostDraft.objects.filter(user=reporter, event=event).count() == 1
    assert get(client, event).json()["body"] == "The minister said the budget would grow."


def test_post_saves_as_put_does(client_for, event, reporter):
    client = client_for(reporter)

    response = client.post(
        autosave_url(event), json.dumps(TYPED), content_type=JSON, HTTP_ACCEPT=JSON
    )

    assert response.status_code == 200
    assert PostDraft.objects.get(user=reporter, event=event).body == TYPED["body"]


def test_delete_discards_the_draft(client_for, event, reporter):
    client = client_for(reporter)
    put(client, event, TYPED)

    response = client.delete(autosave_url(event), HTTP_ACCEPT=JSON)

    assert response.status_code == 204
    assert get(client, event).status_code == 204
    assert client.delete(autosave_url(event), HTTP_ACCEPT=JSON).status_code == 204


def test_a_draft_writes_nothing_but_the_draft(client_for, event, reporter, sent):
    put(client_for(reporter), event, TYPED)

    assert not Post.objects.exists()
    assert not Change.objects.exists()
    assert not AuditEntry.objects.filter(event=event).exists()
    assert sent == []


def test_an_edit_forms_draft_keeps_its_version_and_leaves_the_entry_alone(
    client_for, event, reporter, publish
):
    post = publish(reporter, body="As published.")
    client = client_for(reporter)
    typed = {"headline": "", "body": "As corrected, half", "fields": {"version": post.version}}

    put(client, event, typed, post=post)

    post.refresh_from_db()
    assert post.body == "As published."
    assert post.version == 1
    assert post.revisions.count() == 1
    draft = get(client, event, post).json()
    assert (draft["post"], draft["body"], draft["fields"]) == (
        post.pk,
        typed["body"],
        {"version": 1},
    )
    assert get(client, event).status_code == 204  # the composer's draft is another one


def test_other_users_never_see_a_draft(client_for, event, reporter, editor, other_reporter):
    put(client_for(reporter), event, TYPED)

    assert get(client_for(editor), event).status_code == 204
    assert get(client_for(other_reporter), event).status_code == 204
    client_for(other_reporter).delete(autosave_url(event), HTTP_ACCEPT=JSON)
    assert PostDraft.objects.filter(user=reporter).exists()


def test_a_draft_never_reaches_a_reader(client_for, event, reporter, publish):
    publish(reporter, body="Published for everyone.")
    secret = "Unpublished words, typed only"
    put(client_for(reporter), event, {**TYPED, "body": secret, "headline": secret})
    anonymous = Client()

    pages = [
        event.get_absolute_url(),
        reverse("reader:feed", args=[event.slug]),
        reverse("api:posts", args=[event.slug]),
        reverse("api:changes", args=[event.slug]),
        reverse("reader:sitemap", args=["events"]),
    ]
    for page in pages:
        response = anonymous.get(page)
        assert response.status_code == 200, page
        assert secret not in response.content.decode(), page
    # Nor the writer's own composer page as rendered by the server (the script restores it).
    composer = client_for(reporter).get(reverse("editor:compose", args=[event.slug]))
    assert secret not in composer.content.decode()


def test_outsiders_are_refused(client_for, event, outsider):
    client = client_for(outsider)

    assert get(client, event).status_code == 403
    assert put(client, event, TYPED).status_code == 403
    assert not PostDraft.objects.exists()


def test_anonymous_is_sent_to_log_in(event):
    response = Client().get(autosave_url(event))

    assert response.status_code == 302
    assert reverse("editor:login") in response.url


def test_a_contributor_keeps_a_draft_of_a_new_entry(client_for, event):
    contributor = MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user

    assert put(client_for(contributor), event, TYPED).status_code == 200


def test_only_who_may_edit_an_entry_keeps_a_draft_of_it(
    client_for, event, reporter, other_reporter, editor, publish
):
    post = publish(reporter)

    assert put(client_for(other_reporter), event, TYPED, post=post).status_code == 403
    assert get(client_for(other_reporter), event, post).status_code == 403
    assert put(client_for(editor), event, TYPED, post=post).status_code == 200
    assert PostDraft.objects.filter(post=post).count() == 1


def test_a_contributor_keeps_no_draft_of_an_entry_an_editor_published(client_for, event, editor):
    contributor = MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user
    post, _ = services.post_publish(event=event, author=contributor, body="Submitted.")
    services.post_update(actor=editor, post=post, changes={"status": Post.Status.PUBLISHED})

    assert put(client_for(contributor), event, TYPED, post=post).status_code == 403


def test_an_entry_of_another_event_or_none_is_404(client_for, event, reporter):
    other = MembershipFactory(role=Membership.Role.REPORTER)
    elsewhere, _ = services.post_publish(event=other.event, author=other.user, body="Far.")
    client = client_for(reporter)

    assert get(client, event, elsewhere).status_code == 404
    assert client.get(autosave_url(event) + "?post=abc").status_code == 404
    assert client.get(reverse("editor:autosave", args=["no-such-event"])).status_code == 404


def test_a_removed_entry_keeps_no_draft(client_for, event, reporter, publish):
    post = publish(reporter)
    services.post_delete(actor=reporter, post=post)

    assert put(client_for(reporter), event, TYPED, post=post).status_code == 404


def test_a_body_longer_than_an_entrys_is_refused_with_400(client_for, event, reporter):
    too_long = "x" * (settings.LIVEBLOG_MAX_BODY_CHARS + 1)

    response = put(client_for(reporter), event, {**TYPED, "body": too_long})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert "body" in response.json()["fields"]
    assert not PostDraft.objects.exists()


def test_a_long_headline_is_refused_with_400(client_for, event, reporter):
    response = put(client_for(reporter), event, {**TYPED, "headline": "h" * 301})

    assert response.status_code == 400
    assert "headline" in response.json()["fields"]


def test_fields_over_their_size_are_refused_with_400(client_for, event, reporter):
    big = {"note": "n" * settings.LIVEBLOG_MAX_DRAFT_FIELDS_BYTES}

    response = put(client_for(reporter), event, {**TYPED, "fields": big})

    assert response.status_code == 400
    assert "fields" in response.json()["fields"]


@pytest.mark.parametrize(
    "sent",
    [
        "not json",
        '["a list"]',
        '{"body": 12}',
        '{"headline": ["x"]}',
        '{"body": "ok", "fields": "not an object"}',
    ],
)
def test_what_is_not_a_draft_is_refused_with_400(client_for, event, reporter, sent):
    response = client_for(reporter).put(
        autosave_url(event), sent, content_type=JSON, HTTP_ACCEPT=JSON
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert not PostDraft.objects.exists()


def test_a_request_larger_than_any_draft_is_refused_with_413(client_for, event, reporter):
    huge = json.dumps({"body": "y" * (DRAFT_REQUEST_MAX_BYTES + 1)})

    response = client_for(reporter).put(
        autosave_url(event), huge, content_type=JSON, HTTP_ACCEPT=JSON
    )

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not PostDraft.objects.exists()


def test_control_characters_are_cleaned_as_in_an_entry(client_for, event, reporter):
    put(client_for(reporter), event, {**TYPED, "body": "bell\x07 and null\x00 gone"})

    assert PostDraft.objects.get().body == "bell and null gone"


def test_writes_need_the_csrf_token(event, reporter):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    client.get(reverse("editor:compose", args=[event.slug]))
    token = client.cookies["csrftoken"].value

    refused = put(client, event, TYPED)
    refused_delete = client.delete(autosave_url(event))
    accepted = put(client, event, TYPED, HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert refused_delete.status_code == 403
    assert accepted.status_code == 200
    assert PostDraft.objects.count() == 1


def test_publishing_discards_the_composers_draft(client_for, event, reporter):
    client = client_for(reporter)
    put(client, event, TYPED)

    client.post(reverse("editor:compose", args=[event.slug]), {"body": "Out.", "action": "publish"})

    assert not PostDraft.objects.exists()


def test_saving_a_draft_entry_discards_the_composers_draft(client_for, event, reporter):
    client = client_for(reporter)
    put(client, event, TYPED)

    client.post(
        reverse("editor:compose", args=[event.slug]),
        {"body": "Later.", "action": "draft"},
        HTTP_ACCEPT=JSON,
    )

    assert not PostDraft.objects.exists()


def test_a_refused_entry_keeps_the_draft(client_for, event, reporter):
    client = client_for(reporter)
    put(client, event, TYPED)

    client.post(reverse("editor:compose", args=[event.slug]), {"body": "", "action": "publish"})

    assert PostDraft.objects.count() == 1


def test_updating_an_entry_discards_its_draft_only(client_for, event, reporter, publish):
    post = publish(reporter, body="Before.")
    client = client_for(reporter)
    put(client, event, TYPED, post=post)
    put(client, event, TYPED)

    client.post(
        reverse("editor:post_edit", args=[event.slug, post.pk]),
        {"body": "After.", "action": "publish", "version": post.version},
    )

    assert list(PostDraft.objects.values_list("post", flat=True)) == [None]


def test_a_stale_update_keeps_its_draft(client_for, event, reporter, publish):
    post = publish(reporter, body="Before.")
    services.post_update(actor=reporter, post=post, changes={"body": "Moved on."})
    client = client_for(reporter)
    put(client, event, {**TYPED, "fields": {"version": 1}}, post=post)

    response = client.post(
        reverse("editor:post_edit", args=[event.slug, post.pk]),
        {"body": "Mine.", "action": "publish", "version": 1},
    )

    assert response.status_code == 409
    assert PostDraft.objects.filter(post=post).count() == 1


def test_a_retried_publish_with_the_same_token_creates_nothing_new(client_for, event, reporter):
    """What the composer's outbox relies on: however many times the script sends an entry
    (the answer lost, the server down), its token makes one entry."""
    client = client_for(reporter)
    data = {"body": "Sent while the database was away.", "action": "publish", "token": "t-1"}
    url = reverse("editor:compose", args=[event.slug])

    first = client.post(url, data, HTTP_ACCEPT=JSON)
    again = client.post(url, data, HTTP_ACCEPT=JSON)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Post.objects.filter(event=event).count() == 1
    assert Change.objects.filter(event=event, kind="post.created").count() == 1


def test_autosaves_have_their_own_window(client_for, event, reporter, settings, monkeypatch):
    """Typing never uses up the writes a reporter needs to publish, nor publishing the saves."""
    import time
    import uuid
    from types import SimpleNamespace

    from liveblog.http import ratelimit

    mid_window = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: mid_window))
    settings.LIVEBLOG_RATE_LIMITS = True
    settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE = 2
    cache = dict(settings.CACHES["default"], KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    settings.CACHES = {"default": cache}
    client = client_for(reporter)

    answers = [put(client, event, TYPED).status_code for _ in range(3)]
    published = client.post(
        reverse("editor:compose", args=[event.slug]), {"body": "Out.", "action": "publish"}
    )

    assert answers == [200, 200, 429]
    assert published.status_code == 302
    assert get(client, event).status_code == 204  # reads are not counted; the publish discarded
