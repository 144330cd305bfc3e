"""The edit form's optimistic locking: a save based on an old version loses nothing."""

import pytest
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import Post
from liveblog.editor.views import CONFLICT_MESSAGE

pytestmark = pytest.mark.django_db


def edit_url(post):
    return reverse("editor:post_edit", args=[post.event.slug, post.pk])


def loaded_version(client, post):
    """What the edit page's hidden input carries, as a browser would send it back."""
    return client.get(edit_url(post)).context["form"]["version"].value()


def save(client, post, version, **fields):
    data = {"headline": "", "body": "", "action": "publish", "version": version, **fields}
    return client.post(edit_url(post), data)


@pytest.fixture
def post(editor, publish):
    return publish(editor, "Original text", headline="Original")


def test_edit_page_carries_the_version_it_was_loaded_at(client_for, editor, post):
    html = client_for(editor).get(edit_url(post)).content.decode()

    assert f'name="version" value="{post.version}"' in html


def test_a_save_based_on_an_old_version_is_refused_and_loses_nothing(
    client_for, editor, reporter, post
):
    a, b = client_for(editor), client_for(editor)
    # B is another editor: the same account in a second browser is the same race.
    version_a, version_b = loaded_version(a, post), loaded_version(b, post)

    assert save(a, post, version_a, headline="A's headline", body="A's text").status_code == 302
    response = save(b, post, version_b, headline="B's headline", body="B's text")

    post.refresh_from_db()
    html = response.content.decode()
    form = response.context["form"]
    assert response.status_code == 409
    assert (post.headline, post.body, post.version) == ("A's headline", "A's text", 2)
    assert CONFLICT_MESSAGE in form.non_field_errors()
    assert (form["headline"].value(), form["body"].value()) == ("B's headline", "B's text")
    assert "B&#x27;s text</textarea>" in html
    assert "A&#x27;s headline</h3>" in html and "<p>A's text</p>" in html
    assert f'name="version" value="{post.version}"' in html


def test_saving_again_after_a_conflict_overwrites_deliberately(client_for, editor, post):
    a, b = client_for(editor), client_for(editor)
    version_a, version_b = loaded_version(a, post), loaded_version(b, post)
    save(a, post, version_a, body="A's text")
    refused = save(b, post, version_b, body="B's text")

    again = save(b, post, refused.context["form"]["version"].value(), body="B's text")

    post.refresh_from_db()
    assert again.status_code == 302
    assert (post.body, post.version) == ("B's text", 3)


def test_the_refusal_names_who_changed_the_entry(client_for, editor, reporter, publish):
    post = publish(reporter, "Reporter's text")
    version = loaded_version(client_for(reporter), post)
    services.post_update(actor=editor, post=post, changes={"body": "Editor's fix"})

    response = save(client_for(reporter), post, version, body="Reporter's second thought")

    post.refresh_from_db()
    assert response.status_code == 409
    assert post.body == "Editor's fix"
    assert f"by {editor.get_username()}" in response.content.decode()
    assert response.context["form"]["body"].value() == "Reporter's second thought"


def test_the_composer_script_gets_409_with_the_current_entry(client_for, editor, post):
    client = client_for(editor)
    version = loaded_version(client, post)
    services.post_update(actor=editor, post=post, changes={"body": "Moved on"})

    response = client.post(
        edit_url(post),
        {"body": "Mine", "action": "publish", "version": version},
        headers={"accept": "application/json"},
    )

    answer = response.json()
    assert response.status_code == 409
    assert answer["error"] == "conflict"
    assert answer["version"] == Post.objects.get(pk=post.pk).version
    assert answer["current"]["body"] == "Moved on"


def test_a_version_that_is_not_a_number_is_refused_with_a_message(client_for, editor, post):
    response = save(client_for(editor), post, "x", body="Mine")

    post.refresh_from_db()
    assert response.status_code == 200
    assert post.body == "Original text"
    assert "reload the page" in response.content.decode()
