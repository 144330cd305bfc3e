import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_url_setting_points_at_the_editor_login():
    assert resolve_url(settings.LOGIN_URL) == "/editor/login/"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("editor:home", []),
        ("editor:compose", ["event-x"]),
        ("editor:post_edit", ["event-x", 1]),
        ("editor:post_delete", ["event-x", 1]),
        ("editor:event_settings", ["event-x"]),
    ],
)
def test_pages_redirect_anonymous_users_to_login(client, name, args):
    url = reverse(name, args=args)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{resolve_url(settings.LOGIN_URL)}?next={url}"


def test_anonymous_preview_and_publish_change_nothing(client, event):
    compose = reverse("editor:compose", args=[event.slug])

    response = client.post(compose, {"body": "Hello", "action": "publish"})

    assert response.status_code == 302
    assert not event.posts.exists()


def test_login_page_signs_in_and_goes_to_the_editor(client, reporter):
    page = client.get(reverse("editor:login"))
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content

    response = client.post(
        reverse("editor:login"),
        {"username": reporter.username, "password": "correct horse battery staple"},
    )

    assert response.status_code == 302
    assert response.url == reverse("editor:home")


def test_wrong_password_shows_an_error(client, reporter):
    response = client.post(
        reverse("editor:login"), {"username": reporter.username, "password": "nope"}
    )

    assert response.status_code == 200
    assert b'role="alert"' in response.content


def test_logout_is_a_post(client_for, reporter):
    client = client_for(reporter)

    assert client.get(reverse("editor:logout")).status_code == 405
    client.post(reverse("editor:logout"))

    assert client.get(reverse("editor:home")).status_code == 302


def test_home_lists_my_events_only(client_for, event, reporter, outsider):
    from tests.factories import EventFactory

    other = EventFactory(title="Somebody else's event")

    response = client_for(reporter).get(reverse("editor:home"))

    assert event.title in response.content.decode()
    assert other.title not in response.content.decode()
    assert client_for(outsider).get(reverse("editor:home")).status_code == 200


def test_admin_home_lists_all_events(client_for, event, admin):
    response = client_for(admin).get(reverse("editor:home"))

    assert event.title in response.content.decode()
    assert reverse("editor:compose", args=[event.slug]) in response.content.decode()
