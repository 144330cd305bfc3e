"""The admin's event times are entered and shown in the event's own zone, and its zone is
picked from the editor's list (blog.zones)."""

from datetime import UTC, datetime

import lxml.html
import pytest
from django.urls import reverse

from liveblog.blog import zones
from liveblog.blog.models import Event
from liveblog.editor.forms import EventSettingsForm
from tests.blog.test_admin import browser_form, change_url
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin, client_for):
    return client_for(admin)


def test_a_new_events_start_is_read_in_the_zone_chosen(staff):
    data = browser_form(staff, reverse("admin:blog_event_add"))
    data.update(
        {
            "title": "Shanghai opening",
            "slug": "shanghai",
            "timezone": "Asia/Shanghai",
            "starts_at_0": "2026-12-01",
            "starts_at_1": "10:30:00",
        }
    )

    assert staff.post(reverse("admin:blog_event_add"), data).status_code == 302

    event = Event.objects.get(slug="shanghai")
    assert event.starts_at == datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


def test_an_events_times_are_shown_in_its_zone_and_saved_untouched(staff):
    event = EventFactory(
        timezone="Asia/Shanghai", starts_at=datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    )

    data = browser_form(staff, change_url(event))
    assert (data["starts_at_0"], data["starts_at_1"]) == ("2026-12-01", "10:30:00")
    assert staff.post(change_url(event), data).status_code == 302

    event.refresh_from_db()
    assert event.starts_at == datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    assert event.version == 1, "an untouched form changes nothing"


def test_a_changed_time_is_read_in_the_events_zone(staff):
    event = EventFactory(
        timezone="Asia/Shanghai", starts_at=datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    )
    data = browser_form(staff, change_url(event))
    data["starts_at_1"] = "11:00:00"

    staff.post(change_url(event), data)

    event.refresh_from_db()
    assert event.starts_at == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def test_the_list_shows_the_start_in_the_events_zone(staff):
    EventFactory(timezone="Asia/Shanghai", starts_at=datetime(2026, 12, 1, 2, 30, tzinfo=UTC))

    html = staff.get(reverse("admin:blog_event_changelist")).content.decode()

    assert "2026-12-01 10:30" in html


def test_the_zone_field_is_the_editors_list(staff, event):
    page = lxml.html.fromstring(staff.get(change_url(event)).content)
    offered = page.xpath("//select[@name='timezone']/option/@value")

    editor_form = EventSettingsForm(event=event)
    assert offered == [value for value, _ in editor_form.fields["timezone"].choices]
    assert offered == list(zones.timezones())
