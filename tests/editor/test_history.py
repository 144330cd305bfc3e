"""An entry's History page (issue 11, Revisions): every revision with its author, time,
status and what changed, a word-level diff that never renders the body as HTML, and a
Restore button; for the event's editors only."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import Membership, Post, Revision
from liveblog.editor.revisions import changes_between, word_diff
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def history_url(post):
    return reverse("editor:post_history", args=[post.event.slug, post.pk])


def restore_url(post, number):
    return reverse("editor:post_restore", args=[post.event.slug, post.pk, number])


def page(client, post):
    response = client.get(history_url(post))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def revisions_on(soup):
    return soup.select("[data-revision]")


@pytest.fixture
def corrected(event, reporter, editor, publish):
    """Published by a reporter, then corrected by an editor."""
    post = publish(reporter, "Turnout is 40% at noon.", headline="Turnout")
    services.post_update(
        actor=editor,
        post=post,
        changes={"body": "Turnout is 42% at noon, officials say.", "is_key_event": True},
    )
    return Post.objects.get(pk=post.pk)


# --- the diff -------------------------------------------------------------------------------


def test_the_diff_marks_words_added_and_removed():
    assert word_diff("Turnout is 40% at noon.", "Turnout is 42% at noon.") == (
        "Turnout is <del>40%</del> <ins>42%</ins> at noon."
    )


def test_the_diff_keeps_the_text_as_typed_with_its_line_breaks():
    assert word_diff("One.\n\nTwo.", "One.\n\nTwo.") == "One.\n\nTwo."


def test_the_diff_escapes_every_word_it_shows():
    shown = word_diff("Hello <b>there</b>", "Hello <script>alert(1)</script> & you")

    assert "<script>" not in shown and "<b>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "&lt;b&gt;there&lt;/b&gt;" in shown  # the removed words, escaped too
    assert "&amp; you" in shown


def test_what_changed_is_said_in_words(event, corrected):
    first, second = Revision.objects.filter(post=corrected).order_by("number")

    assert changes_between(None, first, event=event, images={}) == ["Created as published"]
    assert changes_between(first, second, event=event, images={}) == [
        "Text changed",
        "Marked as a key event",
    ]


def test_a_change_of_status_time_and_pin_is_said(event, editor, publish):
    post = publish(editor, "Text.")
    later = datetime(2026, 12, 1, 10, 52, tzinfo=ZoneInfo(event.timezone))
    services.post_update(
        actor=editor,
        post=post,
        changes={"status": Post.Status.DRAFT, "is_pinned": True, "published_at": later},
    )
    first, second = Revision.objects.filter(post=post).order_by("number")

    assert changes_between(first, second, event=event, images={}) == [
        "Status: published → draft",
        "Pinned",
        "Time set to 10:52 a.m., 1 Dec",
    ]


# --- the page -------------------------------------------------------------------------------


def test_every_revision_is_listed_newest_first_with_author_time_and_status(
    client_for, editor, reporter, corrected
):
    at = datetime(2026, 12, 1, 2, 52, tzinfo=UTC)  # 10:52 a.m. in Shanghai, the event's zone
    Revision.objects.filter(post=corrected, number=2).update(created_at=at)

    soup = page(client_for(editor), corrected)

    shown = revisions_on(soup)
    assert [r["data-revision"] for r in shown] == ["2", "1"]
    newest, first = shown
    assert editor.get_full_name() in newest.select_one(".revision__author").text
    assert reporter.get_full_name() in first.select_one(".revision__author").text
    time = newest.select_one("time")
    assert (time["datetime"], time.text) == ("2026-12-01T10:52:00+08:00", "10:52 a.m., 1 Dec")
    assert newest.select_one(".badge--status").text == "Published"
    assert "Marked as a key event" in newest.select_one(".revision__changes").text
    assert "Current" in newest.select_one(".revision__meta").text


def test_the_page_shows_the_diff_against_the_revision_before(client_for, editor, corrected):
    newest = revisions_on(page(client_for(editor), corrected))[0]

    body = newest.select_one(".diff--body")
    assert [d.text for d in body.select("del")] == ["40%", "noon."]
    assert [i.text for i in body.select("ins")] == ["42%", "noon, officials say."]


def test_a_script_typed_into_an_entry_is_shown_as_text(client_for, editor, publish):
    post = publish(editor, "Fine.")
    typed = 'Look <script>alert("x")</script> <img src=x onerror=alert(1)>'
    services.post_update(actor=editor, post=post, changes={"body": typed, "headline": "<i>h</i>"})

    response = client_for(editor).get(history_url(post))
    soup = BeautifulSoup(response.content, "html.parser")

    main = soup.select_one(".revisions")
    assert main.select("script") == [] and main.select("img") == [] and main.select("i") == []
    assert '<script>alert("x")</script>' in main.text
    assert "&lt;script&gt;" in response.content.decode()


def test_every_revision_but_the_current_one_has_a_restore_button(client_for, editor, corrected):
    newest, first = revisions_on(page(client_for(editor), corrected))

    assert newest.select("form[data-restore]") == []
    [form] = first.select("form[data-restore]")
    assert form["method"] == "post"
    assert form["action"] == restore_url(corrected, 1)
    assert form.select_one("[name=csrfmiddlewaretoken]") is not None
    assert form.select_one("[name=version]")["value"] == str(corrected.version)
    assert "Restore this version" in form.select_one("button").text


def test_the_history_reads_a_constant_number_of_queries(
    client_for, editor, publish, django_assert_num_queries
):
    client = client_for(editor)
    post = publish(editor, "Take 0.")
    client.get(history_url(post))  # the session and the user, read once
    services.post_update(actor=editor, post=post, changes={"body": "Take 1."})

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(history_url(post))
    for n in range(2, 8):
        services.post_update(actor=editor, post=post, changes={"body": f"Take {n}."})
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(history_url(post))


def test_the_edit_page_links_to_the_history_for_editors_only(
    client_for, editor, reporter, corrected
):
    edit = reverse("editor:post_edit", args=[corrected.event.slug, corrected.pk])

    assert history_url(corrected) in client_for(editor).get(edit).content.decode()
    assert history_url(corrected) not in client_for(reporter).get(edit).content.decode()


def test_the_composer_gives_its_script_the_history_address(client_for, editor, event):
    html = client_for(editor).get(reverse("editor:compose", args=[event.slug])).content.decode()

    assert f'data-history-url="/editor/events/{event.slug}/posts/0/history/"' in html


# --- who may --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client, corrected):
    response = client.get(history_url(corrected))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("editor:login"))


@pytest.mark.parametrize("role", [Membership.Role.CONTRIBUTOR, Membership.Role.REPORTER])
def test_writers_who_are_not_editors_are_refused_even_for_their_own_entry(
    client_for, event, publish, role
):
    writer = MembershipFactory(event=event, role=role).user
    own = publish(writer, "Mine.")
    client = client_for(writer)

    assert client.get(history_url(own)).status_code == 403
    assert client.post(restore_url(own, 1)).status_code == 403


def test_an_editor_of_another_event_is_refused(client_for, corrected):
    stranger = MembershipFactory(role=Membership.Role.EDITOR).user

    assert client_for(stranger).get(history_url(corrected)).status_code == 403


def test_an_admin_sees_the_history(client_for, admin, corrected):
    assert len(revisions_on(page(client_for(admin), corrected))) == 2


def test_a_removed_entry_has_no_history_page(client_for, editor, corrected):
    services.post_delete(actor=editor, post=corrected)

    assert client_for(editor).get(history_url(corrected)).status_code == 404


# --- restore --------------------------------------------------------------------------------


def test_restoring_puts_the_version_back_and_comes_back_to_the_history(
    client_for, editor, corrected
):
    client = client_for(editor)

    response = client.post(restore_url(corrected, 1), {"version": corrected.version}, follow=True)

    restored = Post.objects.get(pk=corrected.pk)
    assert (restored.body, restored.is_key_event) == ("Turnout is 40% at noon.", False)
    assert response.redirect_chain[-1][0] == history_url(corrected)
    soup = BeautifulSoup(response.content, "html.parser")
    assert "Revision 1 restored" in soup.select_one(".messages").text
    newest = revisions_on(soup)[0]
    assert newest["data-revision"] == "3"
    assert "Restored from revision 1" in newest.select_one(".revision__note").text


def test_a_restore_from_a_history_read_before_a_change_restores_nothing(
    client_for, editor, corrected
):
    shown = corrected.version
    services.post_update(actor=editor, post=corrected, changes={"body": "Turnout is 45%."})

    response = client_for(editor).post(restore_url(corrected, 1), {"version": shown}, follow=True)

    assert Post.objects.get(pk=corrected.pk).body == "Turnout is 45%."
    assert "nothing was restored" in response.content.decode()


def test_restoring_a_missing_revision_is_not_found(client_for, editor, corrected):
    assert client_for(editor).post(restore_url(corrected, 9)).status_code == 404


def test_restore_takes_a_post_only(client_for, editor, corrected):
    assert client_for(editor).get(restore_url(corrected, 1)).status_code == 405
    assert Post.objects.get(pk=corrected.pk).is_key_event
