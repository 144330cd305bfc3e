import pytest

from liveblog.blog import services
from liveblog.blog.models import Change
from tests.api.helpers import url


@pytest.fixture
def history(event, reporter, editor):
    """Five changes: three posts, one edit, one removal."""
    a, _ = services.post_publish(event=event, author=reporter, body="a")
    b, _ = services.post_publish(event=event, author=reporter, body="b")
    services.post_publish(event=event, author=reporter, body="draft", status="draft")
    services.post_publish(event=event, author=reporter, body="c")
    services.post_update(actor=editor, post=a, changes={"body": "a2"})
    services.post_delete(actor=reporter, post=b)
    return Change.objects.filter(event=event).order_by("seq")


def test_changes_since_a_seq_are_the_live_messages_oldest_first(event, history, anonymous):
    response = anonymous.get(url(event.slug, "changes") + "?since=2")

    assert response.status_code == 200
    body = response.json()
    assert [c["seq"] for c in body["changes"]] == [3, 4, 5]
    assert [c["type"] for c in body["changes"]] == ["post.created", "post.updated", "post.deleted"]
    assert body["changes"] == [c.payload for c in history[2:]]
    assert body["changes"][2]["post"] == {"id": history[4].post_id}
    assert body["last_seq"] == 5


def test_changes_without_since_start_from_the_beginning(event, history, anonymous):
    body = anonymous.get(url(event.slug, "changes")).json()

    assert [c["seq"] for c in body["changes"]] == [1, 2, 3, 4, 5]
    assert all("draft" not in str(c.get("post", {}).get("body")) for c in body["changes"])


def test_changes_since_the_last_seq_are_empty(event, history, anonymous):
    body = anonymous.get(url(event.slug, "changes") + "?since=5").json()

    assert body == {"changes": [], "last_seq": 5}


def test_changes_are_capped_at_the_catch_up_limit(event, history, anonymous, settings):
    settings.LIVEBLOG_CATCHUP_LIMIT = 2

    body = anonymous.get(url(event.slug, "changes") + "?since=1").json()

    assert [c["seq"] for c in body["changes"]] == [2, 3]
    assert body["last_seq"] == 5  # tells the client there is more


@pytest.mark.parametrize("since", ["-1", "abc", "1.0", "9" * 40, "9223372036854775808"])
def test_bad_since_is_a_400(event, anonymous, since):
    response = anonymous.get(url(event.slug, "changes") + f"?since={since}")

    assert response.status_code == 400
    assert "since" in response.json()["fields"]


def test_changes_of_an_unknown_event_are_a_404(db, anonymous):
    assert anonymous.get(url("nope", "changes")).status_code == 404
