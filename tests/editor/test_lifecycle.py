"""The event's lifecycle from the editor: admins create events from /editor/; editors go
live, end (confirmed) and reopen from the composer; an ended event's composer says so."""

import lxml.html
import pytest
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import Event, Membership, Post
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def compose_url(event):
    return reverse("editor:compose", args=[event.slug])


def test_admins_see_new_event_and_others_get_403(client_for, admin, reporter):
    assert b"New event" in client_for(admin).get(reverse("editor:home")).content
    assert b"New event" not in client_for(reporter).get(reverse("editor:home")).content
    assert client_for(reporter).get(reverse("editor:event_new")).status_code == 403
    refused = client_for(reporter).post(reverse("editor:event_new"), {"title": "Mine"})
    assert refused.status_code == 403 and not Event.objects.filter(title="Mine").exists()


def test_an_admin_creates_an_event_whose_start_is_read_in_its_zone(client_for, admin):
    response = client_for(admin).post(
        reverse("editor:event_new"),
        {
            "title": "Opening ceremony",
            "slug": "",
            "summary": "Live.",
            "timezone": "Asia/Shanghai",
            "order": "oldest",
            "starts_at": "2026-12-02 10:30",
        },
    )

    event = Event.objects.get(title="Opening ceremony")
    assert response.status_code == 302 and response["Location"] == compose_url(event)
    assert (event.slug, event.status, event.order) == ("opening-ceremony", "scheduled", "oldest")
    assert event.starts_at.astimezone(event.tz).strftime("%H:%M") == "10:30"
    assert event.starts_at.strftime("%H:%M") == "02:30"  # UTC
    assert Membership.objects.get(event=event, user=admin).role == "editor"


def test_the_new_event_form_offers_the_settings_forms_zones(client_for, admin, event, editor):
    new = client_for(admin).get(reverse("editor:event_new")).context["form"]
    settings = client_for(editor).get(reverse("editor:event_settings", args=[event.slug]))

    zones = [value for value, _label in new.fields["timezone"].choices]
    assert zones == [value for value, _ in settings.context["form"].fields["timezone"].choices]


def test_a_taken_slug_is_a_field_error(client_for, admin, event):
    response = client_for(admin).post(
        reverse("editor:event_new"),
        {"title": "Again", "slug": event.slug, "timezone": "UTC", "order": "newest"},
    )

    assert response.status_code == 200
    assert 'id="id_slug_error"' in response.content.decode()


def offered(client, event) -> list[str]:
    """The lifecycle buttons the composer's header shows (not hidden)."""
    page = lxml.html.fromstring(client.get(compose_url(event)).content)
    return [f.text_content().strip() for f in page.xpath("//*[@data-lifecycle]/form[not(@hidden)]")]


def test_the_header_offers_the_one_step_that_fits(client_for, editor, event):
    client = client_for(editor)
    assert offered(client, event) == ["End event"]

    confirm = client.get(reverse("editor:event_end", args=[event.slug]))
    assert b"End \xe2\x80\x9c" in confirm.content
    client.post(reverse("editor:event_end", args=[event.slug]))

    event.refresh_from_db()
    assert event.status == "ended"
    assert offered(client, event) == ["Reopen"]


def test_reporters_see_no_lifecycle_buttons_and_cannot_step(client_for, reporter, event):
    html = client_for(reporter).get(compose_url(event)).content.decode()

    assert "data-lifecycle" not in html
    assert (
        client_for(reporter).post(reverse("editor:event_end", args=[event.slug])).status_code == 403
    )
    event.refresh_from_db()
    assert event.status == "live"


def test_go_live_and_reopen(client_for, editor):
    event = EventFactory(status="scheduled", starts_at=None)
    Membership.objects.create(event=event, user=editor, role="editor")
    client = client_for(editor)

    client.post(reverse("editor:event_go_live", args=[event.slug]))
    event.refresh_from_db()
    assert event.status == "live" and event.starts_at is not None

    client.post(reverse("editor:event_end", args=[event.slug]))
    response = client.post(reverse("editor:event_reopen", args=[event.slug]), follow=True)
    event.refresh_from_db()
    assert (event.status, event.ends_at) == ("live", None)
    assert "The event is live again" in response.content.decode()


def test_a_stale_step_is_told_and_changes_nothing(client_for, editor, event):
    response = client_for(editor).post(
        reverse("editor:event_go_live", args=[event.slug]), follow=True
    )

    assert "is live now: nothing was changed" in response.content.decode()


def test_an_ended_events_composer_shows_the_notice(client_for, editor, reporter, event):
    services.event_end(actor=editor, event=event)

    mine = client_for(reporter).get(compose_url(event)).content.decode()
    theirs = client_for(editor).get(compose_url(event)).content.decode()

    assert "This event has ended: it takes no new entries." in mine
    assert "An editor can reopen it." in mine and 'form="event-reopen"' not in mine
    assert 'form="event-reopen">Reopen</button>' in theirs


def test_the_notice_is_hidden_while_the_event_is_live(client_for, reporter, event):
    html = client_for(reporter).get(compose_url(event)).content.decode()

    assert "data-ended-notice hidden" in html


def test_publishing_from_a_stale_page_is_refused_with_the_message(
    client_for, editor, reporter, event
):
    client = client_for(reporter)
    form = client.get(compose_url(event)).context["form"]
    services.event_end(actor=editor, event=event)

    data = {"body": "Typed before the end.", "action": "publish", "token": form["token"].value()}
    as_script = client.post(compose_url(event), data, headers={"Accept": "application/json"})
    as_form = client.post(compose_url(event), data)

    assert as_script.status_code == 400
    assert "has ended: it takes no new entries" in as_script.json()["detail"]
    assert "has ended: it takes no new entries" in as_form.content.decode()
    assert "Typed before the end.</textarea>" in as_form.content.decode()
    assert not Post.objects.filter(event=event).exists()


def test_a_removed_reporters_open_page_is_refused_on_its_next_save(
    client_for, editor, reporter, event
):
    client = client_for(reporter)
    assert client.get(compose_url(event)).status_code == 200

    services.membership_remove(actor=editor, event=event, user=reporter)
    response = client.post(
        compose_url(event),
        {"body": "After removal.", "action": "publish"},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 403
    assert not Post.objects.filter(event=event).exists()


# --- settings: automatic end and optimistic locking --------------------------------------


def settings_url(event):
    return reverse("editor:event_settings", args=[event.slug])


def loaded(client, event):
    """The settings form as the page shows it, sent back as a browser would."""
    form = client.get(settings_url(event)).context["form"]
    return {name: form[name].value() or "" for name in form.fields if name != "key_points"} | {
        "key_points": form["key_points"].value() or ""
    }


def test_the_automatic_end_is_read_in_the_events_zone(client_for, editor, event):
    client = client_for(editor)
    data = loaded(client, event)
    data["ends_at"] = "2099-05-01 23:30"

    assert client.post(settings_url(event), data).status_code == 302

    event.refresh_from_db()
    assert event.ends_at.astimezone(event.tz).strftime("%Y-%m-%d %H:%M") == "2099-05-01 23:30"
    assert event.status == "live"


def test_an_automatic_end_in_the_past_is_a_field_error(client_for, editor, event):
    client = client_for(editor)
    data = loaded(client, event) | {"ends_at": "2000-01-01 10:00"}

    response = client.post(settings_url(event), data)

    assert response.status_code == 200
    assert 'id="id_ends_at_error"' in response.content.decode()


def test_a_stale_settings_form_is_refused_with_both_values_and_nothing_lost(
    client_for, editor, event
):
    a, b = client_for(editor), client_for(editor)
    form_a, form_b = loaded(a, event), loaded(b, event)
    assert a.post(settings_url(event), form_a | {"title": "A's title"}).status_code == 302

    response = b.post(settings_url(event), form_b | {"summary": "B's summary"})

    html = response.content.decode()
    event.refresh_from_db()
    assert response.status_code == 409
    assert (event.title, event.version) == ("A's title", 2)
    assert "Someone else changed this event&#x27;s settings" in html
    assert "A&#x27;s title</td>" in html  # theirs, beside
    assert "B&#x27;s summary</textarea>" in html  # mine, kept
    assert 'name="version" value="2"' in html


def test_saving_again_after_a_settings_conflict_overwrites(client_for, editor, event):
    a, b = client_for(editor), client_for(editor)
    form_a, form_b = loaded(a, event), loaded(b, event)
    a.post(settings_url(event), form_a | {"title": "A's title"})
    refused = b.post(settings_url(event), form_b | {"title": "B's title"})

    again = b.post(
        settings_url(event),
        form_b | {"title": "B's title", "version": refused.context["form"]["version"].value()},
    )

    event.refresh_from_db()
    assert again.status_code == 302 and event.title == "B's title"
