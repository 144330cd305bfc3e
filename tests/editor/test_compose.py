from datetime import UTC, datetime

import pytest
from django.urls import reverse

from liveblog.blog.models import Change, Post

pytestmark = pytest.mark.django_db


def compose_url(event):
    return reverse("editor:compose", args=[event.slug])


def test_reporter_publishes_an_entry(client_for, event, reporter):
    client = client_for(reporter)

    response = client.post(
        compose_url(event),
        {"headline": "Doors open", "body": "The hall is **full**.", "action": "publish"},
    )

    post = Post.objects.get(event=event)
    assert response.status_code == 302
    assert response.url == compose_url(event)
    assert (post.author, post.headline, post.status) == (reporter, "Doors open", "published")
    assert "<strong>full</strong>" in post.body_html
    assert Change.objects.filter(event=event, post=post, kind="post.created").count() == 1
    page = client.get(response.url)
    assert "Published." in page.content.decode()


def test_time_is_read_in_the_events_timezone(client_for, event, reporter):
    client_for(reporter).post(
        compose_url(event),
        {"body": "Backdated.", "published_at": "2025-03-01T10:30", "action": "publish"},
    )

    post = Post.objects.get(event=event)
    assert event.timezone == "Asia/Shanghai"
    assert post.published_at == datetime(2025, 3, 1, 2, 30, tzinfo=UTC)


def test_save_draft_writes_no_change_for_readers(client_for, event, reporter):
    response = client_for(reporter).post(
        compose_url(event), {"body": "Not yet.", "action": "draft"}, follow=True
    )

    post = Post.objects.get(event=event)
    assert post.status == Post.Status.DRAFT
    assert not Change.objects.filter(event=event).exists()
    assert "Draft saved." in response.content.decode()


def test_double_submitted_form_publishes_once(client_for, event, reporter):
    client = client_for(reporter)
    data = {"body": "Once.", "action": "publish", "token": "abc123"}

    client.post(compose_url(event), data)
    client.post(compose_url(event), data)

    assert Post.objects.filter(event=event).count() == 1


def test_validation_error_keeps_the_typed_text(client_for, event, reporter):
    typed = "A long paragraph I must not lose <3"
    response = client_for(reporter).post(
        compose_url(event), {"headline": "x" * 301, "body": typed, "action": "publish"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert not Post.objects.exists()
    assert "A long paragraph I must not lose &lt;3</textarea>" in html
    assert 'id="id_headline_error"' in html
    assert 'aria-invalid="true"' in html


def test_empty_body_is_an_error_next_to_the_field(client_for, event, reporter):
    response = client_for(reporter).post(
        compose_url(event), {"headline": "Only a headline", "body": "", "action": "publish"}
    )

    html = response.content.decode()
    assert 'id="id_body_error"' in html
    assert 'value="Only a headline"' in html
    assert not Post.objects.exists()


def test_preview_button_renders_without_saving(client_for, event, reporter):
    response = client_for(reporter).post(
        compose_url(event), {"body": "*Draft* <script>alert(1)</script>", "action": "preview"}
    )

    html = response.content.decode()
    assert "<em>Draft</em>" in html
    assert "<script>alert(1)" not in html
    assert not Post.objects.exists()


@pytest.mark.parametrize("field", ["is_pinned", "is_key_event"])
def test_reporter_cannot_pin_or_mark_key_events(client_for, event, reporter, field):
    response = client_for(reporter).post(
        compose_url(event), {"body": "Pin me", field: "on", "action": "publish"}
    )

    assert response.status_code in (200, 403)
    assert "Only editors can pin" in response.content.decode()
    assert not Post.objects.exists()
    assert not Change.objects.exists()


def test_reporter_does_not_see_moderation_checkboxes(client_for, event, reporter, editor):
    assert b'name="is_pinned"' not in client_for(reporter).get(compose_url(event)).content
    assert b'name="is_pinned"' in client_for(editor).get(compose_url(event)).content


def test_editor_can_pin_and_mark_key_event(client_for, event, editor):
    client_for(editor).post(
        compose_url(event),
        {"body": "Pinned", "is_pinned": "on", "is_key_event": "on", "action": "publish"},
    )

    post = Post.objects.get(event=event)
    assert post.is_pinned and post.is_key_event


def test_outsider_is_refused(client_for, event, outsider):
    client = client_for(outsider)

    assert client.get(compose_url(event)).status_code == 403
    response = client.post(compose_url(event), {"body": "Hi", "action": "publish"})
    assert response.status_code == 403
    assert not Post.objects.exists()


def test_unknown_event_is_404(client_for, reporter):
    assert client_for(reporter).get("/editor/events/no-such-event/").status_code == 404


def test_drafts_are_listed_per_role(client_for, event, reporter, other_reporter, editor, publish):
    mine = publish(reporter, "My draft text", status=Post.Status.DRAFT)
    theirs = publish(other_reporter, "Their draft text", status=Post.Status.DRAFT)
    published = publish(other_reporter, "Their published text")

    as_reporter = client_for(reporter).get(compose_url(event)).content.decode()
    as_editor = client_for(editor).get(compose_url(event)).content.decode()

    assert f'id="draft-{mine.pk}"' in as_reporter
    assert f'id="draft-{theirs.pk}"' not in as_reporter
    assert "Their draft text" not in as_reporter
    assert f'id="draft-{mine.pk}"' in as_editor
    assert f'id="draft-{theirs.pk}"' in as_editor
    assert f'id="post-{published.pk}"' in as_reporter
    assert f'id="post-{published.pk}"' in as_editor


def test_composer_carries_what_the_live_script_needs(client_for, event, reporter, publish):
    publish(reporter, "One")
    html = client_for(reporter).get(compose_url(event)).content.decode()

    assert f'data-seq="{event.last_seq}"' in html
    assert f'data-ws="/ws/events/{event.slug}/"' in html
    assert f'data-username="{reporter.username}"' in html
    assert 'data-moderator="false"' in html
    assert f'data-edit-url="/editor/events/{event.slug}/posts/0/edit/"' in html
    assert "js/editor.js" in html


def test_composer_query_count_does_not_grow_with_entries(
    client_for, event, reporter, publish, django_assert_max_num_queries
):
    client = client_for(reporter)
    for n in range(3):  # a draft among them: the drafts' images are one prefetch query
        publish(reporter, f"Entry {n}", status=Post.Status.DRAFT if n == 0 else "published")
    with django_assert_max_num_queries(12) as few:
        client.get(compose_url(event))
    for n in range(10):
        publish(reporter, f"More {n}", status=Post.Status.DRAFT if n % 2 else "published")

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(compose_url(event))
