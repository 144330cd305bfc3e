"""Optimistic locking through the API (SPEC §6): a PATCH naming an old `version` (in its
body or If-Match) is a 409 with the current post, and nothing changes."""

import pytest

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Change, Post
from tests.api.helpers import url


@pytest.fixture
def post(event, editor):
    post, _ = services.post_publish(event=event, author=editor, body="Doors open.")
    return post


@pytest.fixture
def api(api_for, editor):
    return api_for(editor)


def address(post):
    return url(post.event.slug, "posts", post.pk)


def written():
    """The audit entries of writes (a token's first use is recorded too: not a write)."""
    return AuditEntry.objects.exclude(action=AuditEntry.Action.TOKEN_USED).count()


def moved_on(post, editor):
    """Someone else's change: the post goes to version 2."""
    services.post_update(actor=editor, post=post, changes={"body": "Doors open at nine."})


def test_the_post_carries_its_version_and_sends_it_as_its_etag(api, post):
    response = api.get(address(post))

    assert response.json()["version"] == 1
    assert response["ETag"] == '"1"'


def test_each_change_moves_the_version_on_by_one(api, post):
    versions = [
        api.patch(address(post), change).json()["version"]
        for change in ({"body": "Corrected."}, {"is_pinned": True}, {"status": "draft"})
    ]

    assert versions == [2, 3, 4]
    assert Post.objects.get(pk=post.pk).version == 4


def test_the_right_body_version_saves_and_answers_the_next(api, post):
    response = api.patch(address(post), {"body": "Corrected.", "version": 1})

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["body"] == "Corrected."
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize("tag", ['"1"', 'W/"1"', "*"])
def test_the_right_if_match_saves(api, post, tag):
    response = api.patch(address(post), {"body": "Corrected."}, **{"If-Match": tag})

    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_the_etag_of_a_get_is_a_good_if_match(api, post):
    tag = api.get(address(post))["ETag"]

    response = api.patch(address(post), {"body": "Corrected."}, **{"If-Match": tag})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "stale",
    [{"version": 1}, {"If-Match": '"1"'}, {"If-Match": 'W/"1"'}],
    ids=["body", "if-match", "weak-if-match"],
)
def test_a_stale_version_is_a_conflict_with_the_current_post_and_changes_nothing(
    api, post, editor, snapshot, stale
):
    moved_on(post, editor)
    before, audited = snapshot(), written()
    body = {"body": "My version.", **{k: v for k, v in stale.items() if k == "version"}}
    headers = {k: v for k, v in stale.items() if k != "version"}

    response = api.patch(address(post), body, **headers)

    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "conflict"
    assert "version 1" in answer["detail"]
    assert answer["current"] == api.get(address(post)).json()
    assert answer["current"]["version"] == 2
    assert answer["current"]["body"] == "Doors open at nine."
    assert response["ETag"] == '"2"'
    assert snapshot() == before
    assert written() == audited
    assert Post.objects.get(pk=post.pk).version == 2


def test_a_refused_change_does_not_move_the_version(api, post, editor):
    moved_on(post, editor)
    api.patch(address(post), {"body": "Mine.", "version": 1})

    assert api.get(address(post)).json()["version"] == 2


def test_of_two_patches_from_the_same_version_only_the_first_is_saved(api_for, post, editor):
    first, second = api_for(editor), api_for(editor)  # two clients of one editor
    based_on = first.get(address(post)).json()["version"]

    one = first.patch(address(post), {"body": "First.", "version": based_on})
    two = second.patch(address(post), {"body": "Second.", "version": based_on})

    assert (one.status_code, two.status_code) == (200, 409)
    assert two.json()["current"] == one.json()
    assert Post.objects.get(pk=post.pk).body == "First."
    assert Change.objects.filter(post=post).count() == 2  # created, then one update


@pytest.mark.parametrize("tag", ["1", '"one"', '"1", "2"', '"0"', 'W/ "1"', '""'])
def test_a_malformed_if_match_is_bad_input(api, post, snapshot, tag):
    before = snapshot()

    response = api.patch(address(post), {"body": "Mine."}, **{"If-Match": tag})

    assert response.status_code == 400
    assert "If-Match" in response.json()["fields"]
    assert snapshot() == before


def test_a_body_version_and_an_if_match_that_differ_are_bad_input(api, post, snapshot):
    before = snapshot()

    response = api.patch(address(post), {"body": "Mine.", "version": 1}, **{"If-Match": '"2"'})

    assert response.status_code == 400
    assert "If-Match" in response.json()["fields"]
    assert snapshot() == before


def test_a_body_version_and_an_if_match_that_agree_are_fine(api, post):
    response = api.patch(address(post), {"body": "Mine.", "version": 1}, **{"If-Match": '"1"'})

    assert response.status_code == 200


@pytest.mark.parametrize("version", [0, -1, "1", 1.5, True, None])
def test_a_version_that_is_not_a_positive_whole_number_is_bad_input(api, post, version):
    response = api.patch(address(post), {"body": "Mine.", "version": version})

    assert response.status_code == 400
    assert "version" in response.json()["fields"]


def test_a_version_alone_changes_nothing_and_is_bad_input(api, post, snapshot):
    before = snapshot()

    response = api.patch(address(post), {"version": 1})

    assert response.status_code == 400
    assert Post.objects.get(pk=post.pk).version == 1
    assert snapshot() == before


def test_the_version_cannot_be_set_by_a_client_on_create(api, event):
    response = api.post(url(event.slug, "posts"), {"body": "New.", "version": 7})

    assert response.status_code == 400
    assert "version" in response.json()["fields"]


def test_a_patch_without_a_version_still_applies_to_the_current_post(api, post, editor):
    moved_on(post, editor)

    response = api.patch(address(post), {"is_key_event": True})

    assert response.status_code == 200
    assert response.json()["version"] == 3


def test_the_document_describes_version_if_match_and_the_conflict(anonymous):
    document = anonymous.get("/api/schema/").json()
    operation = document["paths"]["/api/v1/events/{slug}/posts/{post_id}/"]
    parameters = {p["name"] for p in operation["patch"]["parameters"]}

    assert "If-Match" in parameters
    conflict = operation["patch"]["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/PostConflict"}
    assert "current" in document["components"]["schemas"]["PostConflict"]["properties"]
    assert operation["get"]["responses"]["200"]["headers"]["ETag"]["required"] is True
    assert "version" in document["components"]["schemas"]["PostOut"]["required"]
