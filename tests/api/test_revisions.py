"""An entry's revisions through the API (SPEC §6): listed newest first for the event's
editors, and restored as a new revision that readers get live (the change log)."""

import io
import json
from datetime import datetime

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership, Post, Revision
from tests import pictures
from tests.api.helpers import Api, url
from tests.factories import MembershipFactory


@pytest.fixture
def post(event, reporter, editor):
    """Published by a reporter (revision 1), corrected by an editor (2), then by its
    reporter (3)."""
    post, _ = services.post_publish(
        event=event, author=reporter, headline="Doors", body="Doors open at nine."
    )
    services.post_update(actor=editor, post=post, changes={"body": "Doors open at ten."})
    services.post_update(actor=reporter, post=post, changes={"body": "Doors open at eleven."})
    return Post.objects.get(pk=post.pk)


@pytest.fixture
def api(api_for, editor):
    return api_for(editor)


def listing(post, **query):
    address = url(post.event.slug, "posts", post.pk, "revisions")
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


def restoring(post, number):
    return url(post.event.slug, "posts", post.pk, "revisions", number, "restore")


def restore(api, post, number, data=None, **headers):
    """POST …/restore/, with no body at all (as `curl -X POST` sends it) unless `data`."""
    if api.token:
        headers.setdefault("Authorization", f"Bearer {api.token}")
    body = b"" if data is None else json.dumps(data)
    path = restoring(post, number)
    return api.client.post(path, body, content_type="application/json", headers=headers)


def member(event, role):
    return MembershipFactory(event=event, role=role).user


# --- the list -------------------------------------------------------------------------------


def test_the_revisions_are_listed_newest_first_with_their_authors_and_times(
    api, post, reporter, editor
):
    response = api.get(listing(post))

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    numbers = [r["number"] for r in body["results"]]
    assert numbers == [3, 2, 1]
    authors = [r["author"]["username"] for r in body["results"]]
    assert authors == [reporter.username, editor.username, reporter.username]
    assert body["results"][1]["author"]["display_name"] == editor.get_full_name()
    texts = [r["body"] for r in body["results"]]
    assert texts == ["Doors open at eleven.", "Doors open at ten.", "Doors open at nine."]
    times = [datetime.fromisoformat(r["created_at"]) for r in body["results"]]
    assert all(t.utcoffset() is not None for t in times)
    assert times == sorted(times, reverse=True)
    first = body["results"][-1]
    assert (first["headline"], first["status"], first["images"]) == ("Doors", "published", [])
    assert (first["is_key_event"], first["is_pinned"], first["deleted"]) == (False, False, False)


def test_the_list_is_paged_by_cursor_with_no_repeat(api, post, editor):
    services.post_update(actor=editor, post=post, changes={"body": "Doors open at noon."})

    first = api.get(listing(post, limit=3)).json()
    assert [r["number"] for r in first["results"]] == [4, 3, 2]
    assert first["next"].startswith("http")
    # A change meanwhile does not shift the next page.
    services.post_update(actor=editor, post=post, changes={"body": "Doors open at one."})
    second = api.get(first["next"]).json()

    assert [r["number"] for r in second["results"]] == [1]
    assert second["next"] is None


def test_a_bad_cursor_is_bad_input(api, post):
    response = api.get(listing(post, cursor="not-a-cursor"))

    assert response.status_code == 400


def test_a_revision_shows_the_photos_that_still_exist(api, post, event, editor, media_storage):
    image = services.image_upload(
        actor=editor, event=event, file=io.BytesIO(pictures.photo(300, 200)), alt="The hall"
    )
    services.post_update(actor=editor, post=post, changes={"images": [image.pk]})

    newest = api.get(listing(post)).json()["results"][0]

    [shown] = newest["images"]
    assert (shown["id"], shown["alt"]) == (image.pk, "The hall")
    assert shown["renditions"]


def test_anonymous_is_asked_to_log_in(anonymous, post):
    response = anonymous.get(listing(post))

    assert response.status_code == 401


@pytest.mark.parametrize("role", [Membership.Role.CONTRIBUTOR, Membership.Role.REPORTER])
def test_writers_who_are_not_editors_are_refused_even_for_their_own_entry(api_for, event, role):
    writer = member(event, role)
    own, _ = services.post_publish(event=event, author=writer, body="Mine.")

    response = api_for(writer).get(listing(own))

    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_the_author_reporter_of_the_entry_is_refused(api_for, post, reporter):
    assert api_for(reporter).get(listing(post)).status_code == 403


def test_an_editor_of_another_event_is_refused(api_for, post):
    stranger = MembershipFactory(role=Membership.Role.EDITOR).user

    assert api_for(stranger).get(listing(post)).status_code == 403


def test_an_admin_sees_the_revisions(api_for, admin, post):
    response = api_for(admin).get(listing(post))

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_an_unknown_or_removed_entry_is_not_found(api, post, editor):
    missing = url(post.event.slug, "posts", post.pk + 100, "revisions")
    assert api.get(missing).status_code == 404

    services.post_delete(actor=editor, post=post)

    assert api.get(listing(post)).status_code == 404


def test_a_draft_is_listed_for_editors(api, event, reporter):
    draft, _ = services.post_publish(
        event=event, author=reporter, body="Not yet.", status=Post.Status.DRAFT
    )

    response = api.get(listing(draft))

    assert [r["status"] for r in response.json()["results"]] == ["draft"]


# --- restore --------------------------------------------------------------------------------


def test_restoring_answers_the_post_as_it_is_now(api, post):
    response = restore(api, post, 1)

    assert response.status_code == 200
    restored = response.json()
    assert (restored["headline"], restored["body"]) == ("Doors", "Doors open at nine.")
    assert restored["version"] == 4
    assert response["ETag"] == '"4"'
    assert restored["corrected_at"] is not None


def test_a_restore_is_a_new_revision_at_the_top_of_the_list(api, post, editor):
    restore(api, post, 1, {})

    newest = api.get(listing(post)).json()["results"][0]

    assert (newest["number"], newest["body"]) == (4, "Doors open at nine.")
    assert newest["author"]["username"] == editor.username
    assert newest["note"] == "restored from revision 1"


def test_a_restore_reaches_readers_and_the_replaced_text_is_never_replayed(api, anonymous, post):
    restore(api, post, 1)

    log = anonymous.get(url(post.event.slug, "changes") + "?since=0").json()

    *_, last = log["changes"]
    assert last["type"] == "post.updated"
    assert last["post"]["body"] == "Doors open at nine."
    assert "Updated" in last["html"]
    replay = json.dumps(log)
    assert "Doors open at ten." not in replay
    assert "Doors open at eleven." not in replay


@pytest.mark.parametrize("based_on", [{"data": {"version": 1}}, {"If-Match": '"1"'}])
def test_a_restore_based_on_an_old_version_is_a_conflict(api, post, based_on):
    data = based_on.pop("data", None)

    response = restore(api, post, 1, data, **based_on)

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert response.json()["current"]["version"] == 3
    assert Post.objects.get(pk=post.pk).body == "Doors open at eleven."
    assert Revision.objects.filter(post=post).count() == 3


@pytest.mark.parametrize("based_on", [{"data": {"version": 3}}, {"If-Match": '"3"'}])
def test_a_restore_based_on_the_current_version_is_saved(api, post, based_on):
    data = based_on.pop("data", None)

    response = restore(api, post, 1, data, **based_on)

    assert response.status_code == 200


def test_a_restore_whose_body_and_if_match_disagree_is_bad_input(api, post):
    response = restore(api, post, 1, {"version": 3}, **{"If-Match": '"2"'})

    assert response.status_code == 400


def test_anonymous_cannot_restore(post):
    response = restore(Api(), post, 1)

    assert response.status_code == 401


@pytest.mark.parametrize("role", [Membership.Role.CONTRIBUTOR, Membership.Role.REPORTER])
def test_non_editors_cannot_restore(api_for, event, post, role, snapshot):
    writer = api_for(member(event, role))
    before = snapshot()

    response = restore(writer, post, 1)

    assert response.status_code == 403
    assert snapshot() == before


def test_the_author_reporter_cannot_restore(api_for, post, reporter):
    assert restore(api_for(reporter), post, 1).status_code == 403
    assert Post.objects.get(pk=post.pk).body == "Doors open at eleven."


def test_an_editor_of_another_event_cannot_restore(api_for, post):
    stranger = MembershipFactory(role=Membership.Role.EDITOR).user

    assert restore(api_for(stranger), post, 1).status_code == 403


def test_an_admin_restores(api_for, admin, post):
    assert restore(api_for(admin), post, 2).json()["body"] == "Doors open at ten."


def test_a_missing_revision_is_not_found(api, post):
    response = restore(api, post, 9)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_removed_entry_is_not_restored(api, post, editor):
    services.post_delete(actor=editor, post=post)

    response = restore(api, post, 1)

    assert response.status_code == 404
    assert Post.objects.get(pk=post.pk).deleted_at is not None


def test_the_document_describes_both_operations_and_every_answer(anonymous):
    paths = anonymous.get("/api/schema/").json()["paths"]
    base = "/api/v1/events/{slug}/posts/{post_id}/revisions/"

    listed = paths[base]["get"]["responses"]
    restored = paths[base + "{number}/restore/"]["post"]["responses"]

    assert {"200", "400", "401", "403", "404"} <= set(listed)
    assert {"200", "400", "401", "403", "404", "409", "429"} <= set(restored)
    assert restored["409"]["content"]["application/json"]["schema"]["$ref"].endswith("PostConflict")
