import pytest
from django.urls import reverse

from liveblog.blog.models import Change, Post

pytestmark = pytest.mark.django_db


def edit_url(post):
    return reverse("editor:post_edit", args=[post.event.slug, post.pk])


def delete_url(post):
    return reverse("editor:post_delete", args=[post.event.slug, post.pk])


def test_edit_page_is_prefilled(client_for, reporter, publish):
    post = publish(reporter, "Original text", headline="Original headline")

    html = client_for(reporter).get(edit_url(post)).content.decode()

    assert "Original text</textarea>" in html
    assert 'value="Original headline"' in html
    assert "Update entry" in html


def test_reporter_edits_own_post(client_for, event, reporter, publish):
    post = publish(reporter, "Tpyo")

    response = client_for(reporter).post(edit_url(post), {"body": "Typo", "action": "publish"})

    post.refresh_from_db()
    assert response.status_code == 302
    assert post.body == "Typo"
    assert Change.objects.filter(post=post, kind="post.updated").count() == 1


def test_untouched_time_does_not_move_the_entry(client_for, reporter, publish):
    post = publish(reporter, "Text")
    client = client_for(reporter)
    shown = client.get(edit_url(post)).context["form"]["published_at"].value()

    client.post(
        edit_url(post), {"body": "Text, corrected", "published_at": shown, "action": "publish"}
    )

    before = post.published_at
    post.refresh_from_db()
    assert post.published_at == before


def test_reporter_editing_a_pinned_own_post_keeps_the_pin(client_for, reporter, editor, publish):
    from liveblog.blog import services

    post = publish(reporter, "Text")
    services.post_update(actor=editor, post=post, changes={"is_pinned": True})

    response = client_for(reporter).post(edit_url(post), {"body": "New", "action": "publish"})

    post.refresh_from_db()
    assert response.status_code == 302
    assert (post.body, post.is_pinned) == ("New", True)


def test_reporter_cannot_edit_others_posts(client_for, reporter, other_reporter, publish):
    post = publish(other_reporter, "Theirs")
    client = client_for(reporter)

    assert client.get(edit_url(post)).status_code == 403
    response = client.post(edit_url(post), {"body": "Mine now", "action": "publish"})

    post.refresh_from_db()
    assert response.status_code == 403
    assert post.body == "Theirs"
    assert not Change.objects.filter(post=post, kind="post.updated").exists()


def test_reporter_cannot_delete_others_posts(client_for, reporter, other_reporter, publish):
    post = publish(other_reporter, "Theirs")
    client = client_for(reporter)

    assert client.get(delete_url(post)).status_code == 403
    assert client.post(delete_url(post)).status_code == 403

    post.refresh_from_db()
    assert post.deleted_at is None


def test_reporter_cannot_open_others_drafts(client_for, reporter, other_reporter, publish):
    post = publish(other_reporter, "Secret", status=Post.Status.DRAFT)

    assert client_for(reporter).get(edit_url(post)).status_code == 404


def test_editor_edits_others_posts(client_for, editor, reporter, publish):
    post = publish(reporter, "Theirs")

    response = client_for(editor).post(
        edit_url(post), {"body": "Corrected", "is_key_event": "on", "action": "publish"}
    )

    post.refresh_from_db()
    assert response.status_code == 302
    assert (post.body, post.is_key_event) == ("Corrected", True)


def test_delete_asks_for_confirmation_then_removes(client_for, editor, reporter, publish):
    post = publish(reporter, "To remove")
    client = client_for(editor)

    confirm = client.get(delete_url(post))
    assert confirm.status_code == 200
    assert b"To remove" in confirm.content
    post.refresh_from_db()
    assert post.deleted_at is None

    response = client.post(delete_url(post), follow=True)

    post.refresh_from_db()
    assert post.deleted_at is not None
    assert Change.objects.filter(post=post, kind="post.deleted").count() == 1
    assert "Entry removed." in response.content.decode()


def test_reporter_deletes_own_draft(client_for, reporter, publish):
    post = publish(reporter, "Draft", status=Post.Status.DRAFT)

    client_for(reporter).post(delete_url(post))

    post.refresh_from_db()
    assert post.deleted_at is not None


def test_publishing_a_draft_from_the_edit_page(client_for, reporter, publish):
    post = publish(reporter, "Ready", status=Post.Status.DRAFT)

    response = client_for(reporter).post(
        edit_url(post), {"body": "Ready", "action": "publish"}, follow=True
    )

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert Change.objects.filter(post=post, kind="post.created").count() == 1
    assert "Published." in response.content.decode()


def test_edit_validation_error_keeps_the_text(client_for, reporter, publish):
    post = publish(reporter, "Before")

    response = client_for(reporter).post(
        edit_url(post), {"headline": "h" * 400, "body": "After, typed", "action": "publish"}
    )

    post.refresh_from_db()
    assert response.status_code == 200
    assert "After, typed</textarea>" in response.content.decode()
    assert post.body == "Before"
