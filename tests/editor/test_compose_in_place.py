"""The composer's script publishes without a reload (static/js/editor.js): the same view,
asked for JSON, answers the new entry's id and a fresh form token, or the form's errors by
field in SPEC §6's shape; nothing is stored for a refused entry."""

import pytest
from django.urls import reverse

from liveblog.blog.models import Change, Post

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def compose(client, event, data):
    return client.post(reverse("editor:compose", args=[event.slug]), data, **JSON)


def test_publish_answers_the_new_entry_and_a_new_token(client_for, event, reporter):
    response = compose(
        client_for(reporter), event, {"body": "Doors **open**.", "action": "publish", "token": "t1"}
    )

    post = Post.objects.get(event=event)
    answer = response.json()
    assert response.status_code == 201
    assert answer["id"] == post.pk
    assert (answer["status"], answer["message"]) == ("published", "Published.")
    assert answer["token"] and answer["token"] != "t1"
    assert "html" not in answer  # the live socket brings the entry, as to every reader
    assert Change.objects.filter(post=post, kind="post.created").count() == 1


def test_the_next_entry_with_the_new_token_is_a_new_entry(client_for, event, reporter):
    client = client_for(reporter)
    first = compose(client, event, {"body": "One", "action": "publish", "token": "t1"}).json()

    again = compose(client, event, {"body": "One", "action": "publish", "token": "t1"}).json()
    second = compose(client, event, {"body": "Two", "action": "publish", "token": first["token"]})

    assert again["id"] == first["id"]  # a double click: one entry
    assert second.json()["id"] != first["id"]
    assert Post.objects.filter(event=event).count() == 2


def test_no_message_waits_for_the_next_page_load(client_for, event, reporter):
    client = client_for(reporter)
    compose(client, event, {"body": "Quietly", "action": "publish"})

    page = client.get(reverse("editor:compose", args=[event.slug])).content.decode()

    assert '<p class="message' not in page


def test_a_draft_comes_back_rendered_for_the_drafts_list(client_for, event, reporter):
    response = compose(client_for(reporter), event, {"body": "Not *yet*.", "action": "draft"})

    post = Post.objects.get(event=event)
    answer = response.json()
    assert response.status_code == 201
    assert (answer["status"], answer["message"]) == ("draft", "Draft saved.")
    assert f'id="draft-{post.pk}"' in answer["html"]
    assert "<em>yet</em>" in answer["html"]
    assert not Change.objects.filter(event=event).exists()


def test_field_errors_in_the_apis_shape_and_nothing_stored(client_for, event, reporter):
    response = compose(
        client_for(reporter),
        event,
        {"headline": "x" * 301, "body": "", "published_at": "tomorrow", "action": "publish"},
    )

    answer = response.json()
    assert response.status_code == 400
    assert answer["error"] == "invalid"
    assert answer["detail"]
    assert set(answer["fields"]) == {"headline", "body", "published_at"}
    assert answer["fields"]["body"] == ["An entry needs a body."]
    assert not Post.objects.exists()


def test_a_services_refusal_comes_back_by_field(client_for, event, reporter, settings):
    settings.LIVEBLOG_MAX_BODY_CHARS = 10  # the service's own check (the form reads it too)
    response = compose(client_for(reporter), event, {"body": "x" * 11, "action": "publish"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["body"]


def test_a_reporters_crafted_pin_is_a_json_403(client_for, event, reporter):
    response = compose(
        client_for(reporter), event, {"body": "Pin", "is_pinned": "on", "action": "publish"}
    )

    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "detail": "Only editors can pin entries or mark key events.",
    }
    assert not Post.objects.exists()


def test_an_outsider_gets_a_json_403(client_for, event, outsider):
    response = compose(client_for(outsider), event, {"body": "Hi", "action": "publish"})

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not Post.objects.exists()


def test_without_an_action_nothing_is_stored(client_for, event, reporter):
    response = compose(client_for(reporter), event, {"body": "Which?"})

    assert response.status_code == 400
    assert response.json()["detail"] == "Choose Publish or Save draft."
    assert not Post.objects.exists()


def test_a_browsers_own_form_post_still_redirects(client_for, event, reporter):
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client_for(reporter).post(
        reverse("editor:compose", args=[event.slug]),
        {"body": "No script", "action": "publish"},
        HTTP_ACCEPT=browser_accept,
    )

    assert response.status_code == 302
    assert Post.objects.filter(event=event, body="No script").exists()
