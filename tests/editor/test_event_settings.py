import pytest
from django.urls import reverse

from liveblog.blog.models import Change, Event, Membership

pytestmark = pytest.mark.django_db


def settings_url(event):
    return reverse("editor:event_settings", args=[event.slug])


def shown(event, moment):
    """A time as the settings form shows it: in the event's zone, to the minute."""
    return moment.astimezone(event.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def form_data(event, **changes):
    """The settings form as a browser sends it back untouched."""
    data = {
        "title": event.title,
        "summary": event.summary,
        "status": event.status,
        "timezone": event.timezone,
        "order": event.order,
        "starts_at": shown(event, event.starts_at),
        "ends_at": shown(event, event.ends_at),
        "version": event.version,
    }
    return {**data, **changes}


def test_reporter_cannot_open_or_change_settings(client_for, event, reporter):
    client = client_for(reporter)

    assert client.get(settings_url(event)).status_code == 403
    response = client.post(settings_url(event), form_data(event, status="ended"))

    event.refresh_from_db()
    assert response.status_code == 403
    assert event.status == Event.Status.LIVE
    assert not Change.objects.filter(event=event).exists()


def test_composer_links_settings_for_editors_only(client_for, event, reporter, editor):
    url = settings_url(event).encode()

    assert url not in client_for(reporter).get(reverse("editor:compose", args=[event.slug])).content
    assert url in client_for(editor).get(reverse("editor:compose", args=[event.slug])).content


def test_editor_ends_the_event(client_for, event, editor):
    response = client_for(editor).post(
        settings_url(event), form_data(event, status="ended", title="Final title"), follow=True
    )

    event.refresh_from_db()
    assert (event.status, event.title) == ("ended", "Final title")
    assert event.ends_at is not None
    assert Change.objects.filter(event=event, kind="event.updated").count() == 1
    assert "Event settings saved." in response.content.decode()


def test_unchanged_settings_write_nothing(client_for, event, editor):
    client_for(editor).post(settings_url(event), form_data(event))

    assert not Change.objects.filter(event=event).exists()


def test_bad_settings_show_errors_and_keep_input(client_for, event, editor):
    response = client_for(editor).post(
        settings_url(event), form_data(event, title="", summary="Kept summary", timezone="Mars/X")
    )

    html = response.content.decode()
    event.refresh_from_db()
    assert response.status_code == 200
    assert 'id="id_title_error"' in html
    assert 'id="id_timezone_error"' in html
    assert "Kept summary</textarea>" in html
    assert event.title != ""


def test_admin_can_change_any_event(client_for, event, admin):
    client_for(admin).post(settings_url(event), form_data(event, order="oldest"))

    event.refresh_from_db()
    assert event.order == "oldest"


def test_editor_adds_a_member(client_for, event, editor, outsider):
    response = client_for(editor).post(
        reverse("editor:member_add", args=[event.slug]),
        {"username": outsider.username, "role": "reporter"},
        follow=True,
    )

    assert Membership.objects.get(event=event, user=outsider).role == "reporter"
    assert f"{outsider.username} added as reporter." in response.content.decode()


def test_unknown_username_is_a_field_error(client_for, event, editor):
    response = client_for(editor).post(
        reverse("editor:member_add", args=[event.slug]), {"username": "ghost", "role": "editor"}
    )

    assert response.status_code == 200
    assert 'id="id_username_error"' in response.content.decode()


def test_reporter_cannot_add_members(client_for, event, reporter, outsider):
    response = client_for(reporter).post(
        reverse("editor:member_add", args=[event.slug]),
        {"username": outsider.username, "role": "editor"},
    )

    assert response.status_code == 403
    assert not Membership.objects.filter(user=outsider).exists()
