"""The approval queue on the composer page, without JavaScript (forms post and redirect)
and as queue.js asks for it (JSON, and the panel alone); the contributor's side: "Submit for
approval", their list, an editor's note on a sent-back entry."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import Change, Membership, Post
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def contributor(event):
    return MembershipFactory(
        event=event,
        role=Membership.Role.CONTRIBUTOR,
        user__first_name="Cora",
        user__last_name="Kent",
    ).user


@pytest.fixture
def submitted(event, contributor):
    post, _ = services.post_publish(
        event=event, author=contributor, body="The **mayor** resigns.", headline="Mayor"
    )
    return post


def compose(event):
    return reverse("editor:compose", args=[event.slug])


def queue_url(event, name="queue", *args):
    return reverse(f"editor:{name}", args=[event.slug, *args])


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def buttons(soup, selector="[data-post-form] [data-actions]"):
    return [
        b.get_text(strip=True)
        for b in soup.select(f"{selector} button[name=action]")
        if b["value"] != "preview"
    ]


# --- the editor's queue -----------------------------------------------------------------


def test_an_editor_sees_the_waiting_submission_with_its_author_and_actions(
    client_for, event, editor, submitted
):
    soup = page(client_for(editor), compose(event))
    panel = soup.select_one("[data-queue]")
    assert panel.select_one("h2").get_text(" ", strip=True).startswith("Waiting for approval 1")
    entry = panel.select_one(f"#submission-{submitted.pk}")
    assert entry.select_one(".submission__author").get_text() == "Cora Kent"
    assert entry.select_one("time")["datetime"]
    assert "<strong>mayor</strong>" in str(entry.select_one(".submission__body"))
    actions = [
        a.get_text(" ", strip=True).split(" Cora")[0]
        for a in entry.select("button, a.btn, summary")
    ]
    assert actions == [
        "Approve",
        "Edit, then approve",
        "Send back",
        "Send back with this note",
        "Reject",
        "Reject entry",
    ]


def test_approve_without_javascript_publishes_and_redirects_to_the_queue(
    client_for, event, editor, submitted
):
    client = client_for(editor)
    response = client.post(
        queue_url(event, "queue_approve", submitted.pk), {"version": submitted.version}
    )
    assert response.status_code == 302 and response.url == compose(event) + "#queue"
    submitted.refresh_from_db()
    assert submitted.is_public
    soup = page(client, response.url)
    assert "Approved: Cora Kent's entry is published." in soup.select_one(".messages").get_text()
    assert soup.select_one(f"#submission-{submitted.pk}") is None


def test_an_approval_of_text_changed_since_is_refused_with_a_message(
    client_for, event, editor, contributor, submitted
):
    read_at = submitted.version
    services.post_update(actor=contributor, post=submitted, changes={"body": "Changed."})
    client = client_for(editor)
    response = client.post(queue_url(event, "queue_approve", submitted.pk), {"version": read_at})
    submitted.refresh_from_db()
    assert submitted.status == Post.Status.SUBMITTED and not Change.objects.exists()
    text = page(client, response.url).select_one(".messages").get_text()
    assert "changed this entry after you read it: nothing was published" in text


def test_send_back_without_javascript_needs_a_note_then_makes_a_draft(
    client_for, event, editor, contributor, submitted
):
    client = client_for(editor)
    refused = client.post(queue_url(event, "queue_send_back", submitted.pk), {"note": ""})
    assert "Say what to change" in page(client, refused.url).select_one(".messages").get_text()
    submitted.refresh_from_db()
    assert submitted.status == Post.Status.SUBMITTED

    client.post(queue_url(event, "queue_send_back", submitted.pk), {"note": "Source, please."})
    submitted.refresh_from_db()
    assert (submitted.status, submitted.review_note) == ("draft", "Source, please.")
    # Its author finds it among their drafts, with the note.
    draft = page(client_for(contributor), compose(event)).select_one(f"#draft-{submitted.pk}")
    assert "Sent back by an editor: Source, please." in draft.get_text(" ", strip=True)


def test_reject_as_the_script_asks_answers_the_message_and_the_panel(
    client_for, event, editor, submitted
):
    response = client_for(editor).post(
        queue_url(event, "queue_reject", submitted.pk), {"note": "Unverified."}, **JSON
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["message"].startswith("Rejected")
    panel = BeautifulSoup(body["html"], "html.parser").select_one("[data-queue]")
    assert panel.select_one("[data-queue-count]").get_text(strip=True).startswith("0")
    assert "Nothing is waiting" in panel.get_text()


def test_a_decision_already_taken_answers_409_to_the_script(client_for, event, editor, submitted):
    services.post_approve(actor=editor, post=submitted)
    response = client_for(editor).post(
        queue_url(event, "queue_reject", submitted.pk), {"note": ""}, **JSON
    )
    assert response.status_code == 409
    assert response.json()["ok"] is False
    assert "not waiting for approval" in response.json()["message"]


def test_the_panel_alone_answers_for_the_scripts_refresh(client_for, event, editor, submitted):
    response = client_for(editor).get(queue_url(event))
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    assert soup.select_one("[data-queue]")["data-queue-url"] == queue_url(event)
    assert soup.select_one(f"#submission-{submitted.pk}") is not None
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize("action", ["queue_approve", "queue_send_back", "queue_reject"])
def test_the_author_cannot_decide_on_their_own_submission(
    client_for, event, contributor, submitted, action
):
    response = client_for(contributor).post(
        queue_url(event, action, submitted.pk), {"note": "Fine by me."}
    )
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == Post.Status.SUBMITTED and submitted.deleted_at is None


@pytest.mark.parametrize("action", ["queue_approve", "queue_send_back", "queue_reject"])
def test_a_reporter_is_not_shown_others_submissions_to_decide_on(
    client_for, event, reporter, submitted, action
):
    response = client_for(reporter).post(queue_url(event, action, submitted.pk), {"note": "x"})
    assert response.status_code == 404


def test_the_queue_needs_a_login(client, event, submitted):
    response = client.get(queue_url(event))
    assert response.status_code == 302 and "/editor/login/" in response.url


def test_edit_then_approve_says_approve_and_publish_and_does(client_for, event, editor, submitted):
    client = client_for(editor)
    edit = reverse("editor:post_edit", args=[event.slug, submitted.pk])
    soup = page(client, edit)
    assert soup.select_one("h1").get_text() == "Edit submission"
    assert buttons(soup) == ["Approve and publish"]
    response = client.post(
        edit,
        {"headline": "Mayor resigns", "body": "The mayor resigns.", "action": "publish",
         "version": submitted.version},
    )  # fmt: skip
    submitted.refresh_from_db()
    assert (submitted.status, submitted.headline) == ("published", "Mayor resigns")
    assert (
        "Approved and published." in page(client, response.url).select_one(".messages").get_text()
    )


# --- the contributor's side -------------------------------------------------------------


def test_a_contributors_composer_submits_for_approval(client_for, event, contributor):
    client = client_for(contributor)
    soup = page(client, compose(event))
    assert buttons(soup) == ["Submit for approval", "Save draft"]
    assert (
        soup.select_one("[data-queue] h2")
        .get_text(" ", strip=True)
        .startswith("Your submissions 0")
    )
    response = client.post(compose(event), {"body": "Crowds at the gate.", "action": "publish"})
    post = Post.objects.get()
    assert post.status == Post.Status.SUBMITTED
    soup = page(client, response.url)
    assert "Submitted for approval" in soup.select_one(".messages").get_text()
    mine = soup.select_one(f"#submission-{post.pk}")
    assert "Waiting for approval" in mine.get_text()
    assert mine.select(".submission__actions") == [], "a contributor does not approve"


def test_the_composers_script_is_told_submitted_and_gets_no_draft_item(
    client_for, event, contributor
):
    response = client_for(contributor).post(
        compose(event), {"body": "Crowds.", "action": "publish"}, **JSON
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "submitted" and "html" not in body
    assert body["message"].startswith("Submitted for approval")


def test_a_contributor_editing_their_submission_updates_it(
    client_for, event, contributor, submitted
):
    soup = page(
        client_for(contributor), reverse("editor:post_edit", args=[event.slug, submitted.pk])
    )
    assert buttons(soup) == ["Update submission", "Move to drafts"]


def test_a_rejected_entry_stays_in_its_authors_list_with_the_note(
    client_for, event, editor, contributor, submitted
):
    services.post_reject(actor=editor, post=submitted, note="We have this from Reuters.")
    rejected = page(client_for(contributor), compose(event)).select_one(f"#rejected-{submitted.pk}")
    assert "Rejected" in rejected.get_text()
    assert "Editor's note: We have this from Reuters." in rejected.get_text(" ", strip=True)


def test_a_reporter_with_nothing_submitted_sees_no_queue_and_publishes(client_for, event, reporter):
    soup = page(client_for(reporter), compose(event))
    assert soup.select_one("[data-queue]") is None
    assert buttons(soup) == ["Publish", "Save draft"]
