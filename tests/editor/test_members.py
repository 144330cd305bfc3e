"""The members page: find people to add (JSON search, active accounts only), change a
member's role, remove one (confirmed); a removed member's pages lose the event at once."""

import pytest
from django.urls import reverse

from liveblog.blog.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def search(client, event, q):
    return client.get(reverse("editor:member_search", args=[event.slug]), {"q": q})


def test_search_matches_usernames_and_names_of_active_accounts(client_for, event, editor, reporter):
    UserFactory(username="wang.li", first_name="Li", last_name="Wang")
    UserFactory(username="wangfei", first_name="Fei", last_name="Zhang", is_active=False)
    UserFactory(username="zoe", first_name="Zoe", last_name="Wangari")

    found = search(client_for(editor), event, "wang").json()["results"]

    assert [r["username"] for r in found] == ["wang.li", "zoe"]
    assert found[0]["display_name"] == "Li Wang" and found[0]["role"] is None


def test_search_says_who_is_already_a_member(client_for, event, editor, reporter):
    [found] = search(client_for(editor), event, reporter.username).json()["results"]

    assert found["role"] == "reporter"


def test_search_needs_two_characters(client_for, event, editor):
    assert search(client_for(editor), event, "u").json() == {"results": []}


def test_only_editors_may_search_people(client_for, event, reporter):
    response = search(client_for(reporter), event, "user")

    assert response.status_code == 403


def test_the_page_offers_the_search_and_works_by_typing_a_username(
    client_for, event, editor, outsider
):
    client = client_for(editor)
    html = client.get(reverse("editor:event_settings", args=[event.slug])).content.decode()
    assert 'list="member-suggestions"' in html and "<datalist" in html

    client.post(
        reverse("editor:member_add", args=[event.slug]),
        {"username": outsider.username, "role": "contributor"},
    )
    assert Membership.objects.get(event=event, user=outsider).role == "contributor"


def test_an_editor_changes_a_role(client_for, event, editor, reporter):
    response = client_for(editor).post(
        reverse("editor:member_role", args=[event.slug, reporter.pk]),
        {"role": "editor"},
        follow=True,
    )

    assert Membership.objects.get(event=event, user=reporter).role == "editor"
    assert f"{reporter.username} is now editor." in response.content.decode()


def test_the_last_editor_is_told_they_cannot_step_down(client_for, event, editor):
    response = client_for(editor).post(
        reverse("editor:member_role", args=[event.slug, editor.pk]),
        {"role": "reporter"},
        follow=True,
    )

    assert Membership.objects.get(event=event, user=editor).role == "editor"
    assert "keeps at least one editor" in response.content.decode()


def test_reporters_cannot_change_roles_or_remove(client_for, event, reporter, editor):
    client = client_for(reporter)

    assert (
        client.post(
            reverse("editor:member_role", args=[event.slug, editor.pk]), {"role": "reporter"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("editor:member_remove", args=[event.slug, editor.pk])).status_code
        == 403
    )
    assert Membership.objects.get(event=event, user=editor).role == "editor"


def test_removing_asks_first_then_removes(client_for, event, editor, reporter):
    client = client_for(editor)
    url = reverse("editor:member_remove", args=[event.slug, reporter.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200 and b"loses access to the event at once" in confirm.content
    assert Membership.objects.filter(event=event, user=reporter).exists()

    client.post(url)
    assert not Membership.objects.filter(event=event, user=reporter).exists()


def test_a_removed_reporters_open_editor_page_is_refused_on_its_next_save(
    client_for, event, editor, reporter
):
    mine = client_for(reporter)
    assert mine.get(reverse("editor:compose", args=[event.slug])).status_code == 200

    client_for(editor).post(reverse("editor:member_remove", args=[event.slug, reporter.pk]))
    response = mine.post(
        reverse("editor:compose", args=[event.slug]), {"body": "Still here?", "action": "publish"}
    )

    assert response.status_code == 403
    assert not event.posts.exists()


def test_someone_not_a_member_is_404(client_for, event, editor, outsider):
    url = reverse("editor:member_remove", args=[event.slug, outsider.pk])

    assert client_for(editor).get(url).status_code == 404


def test_with_two_editors_one_may_remove_the_other(client_for, event, editor):
    other = MembershipFactory(event=event, role="editor").user

    client_for(editor).post(reverse("editor:member_remove", args=[event.slug, other.pk]))

    assert not Membership.objects.filter(event=event, user=other).exists()
