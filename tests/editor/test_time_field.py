"""The composer's time field (liveblog/editor/forms.py, EventTimeField): what a reporter types
is read in the event's zone, a time alone is today's, and a time in the future schedules the
entry for then (issue 11)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from liveblog.blog.models import Post

pytestmark = pytest.mark.django_db

# 14:00 in Asia/Shanghai, the factories' event zone (UTC+8, no daylight saving).
NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def post_time(client, event, when, **data):
    url = reverse("editor:compose", args=[event.slug])
    return client.post(
        url, {"body": "At the time.", "published_at": when, "action": "publish", **data}
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10:30", datetime(2026, 3, 1, 2, 30, tzinfo=UTC)),
        ("9:05", datetime(2026, 3, 1, 1, 5, tzinfo=UTC)),
        ("10:30 am", datetime(2026, 3, 1, 2, 30, tzinfo=UTC)),
        ("1:30 pm", datetime(2026, 3, 1, 5, 30, tzinfo=UTC)),
        ("1:30PM", datetime(2026, 3, 1, 5, 30, tzinfo=UTC)),
        ("1:30 p.m.", datetime(2026, 3, 1, 5, 30, tzinfo=UTC)),
        ("13:30", datetime(2026, 3, 1, 5, 30, tzinfo=UTC)),
        (" 13:59 ", datetime(2026, 3, 1, 5, 59, tzinfo=UTC)),
    ],
)
def test_a_time_alone_is_today_in_the_events_zone(
    client_for, event, reporter, frozen, typed, expected
):
    response = post_time(client_for(reporter), event, typed)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Post.objects.get(event=event).published_at == expected


def test_today_is_the_events_day_not_the_servers(client_for, event, reporter, monkeypatch):
    # 23:30 UTC on 28 February is already 1 March, 07:30, in Shanghai.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 2, 28, 23, 30, tzinfo=UTC))

    post_time(client_for(reporter), event, "07:00")

    assert Post.objects.get(event=event).published_at == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["2025-03-01 10:30", "2025-03-01T10:30", "2025-03-01 10:30:00"])
def test_a_date_and_time_is_read_in_the_events_zone(client_for, event, reporter, frozen, typed):
    post_time(client_for(reporter), event, typed)

    assert Post.objects.get(event=event).published_at == datetime(2025, 3, 1, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected", "said"),
    [
        ("10:30 pm", datetime(2026, 3, 1, 14, 30, tzinfo=UTC), "Scheduled for 10:30 p.m."),
        ("22:30", datetime(2026, 3, 1, 14, 30, tzinfo=UTC), "Scheduled for 10:30 p.m."),
        ("2026-03-02 09:00", datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "for Mon 2 Mar, 9 a.m."),
    ],
)
def test_a_time_in_the_future_schedules_the_entry_for_then(
    client_for, event, reporter, frozen, typed, expected, said
):
    client = client_for(reporter)
    response = post_time(client, event, typed, headline="Later")

    assert response.status_code == 302
    post = Post.objects.get(event=event)
    assert post.status == Post.Status.SCHEDULED and post.published_at == expected
    page = client.get(response["Location"]).content.decode()
    assert said in page


def test_any_time_ahead_typed_in_the_composer_is_a_schedule(client_for, event, reporter, frozen):
    """The services' tolerance is for fast device clocks; a reporter who types a time one
    minute ahead means that time."""
    soon = NOW + timedelta(minutes=1)

    post_time(client_for(reporter), event, timezone.localtime(soon, event.tz).strftime("%H:%M"))

    post = Post.objects.get(event=event)
    assert post.status == Post.Status.SCHEDULED and post.published_at == soon


def test_a_time_now_publishes_at_once(client_for, event, reporter, frozen):
    post_time(client_for(reporter), event, timezone.localtime(NOW, event.tz).strftime("%H:%M"))

    assert Post.objects.get(event=event).is_public


@pytest.mark.parametrize("typed", ["half past ten", "25:00", "10:75", "2025-13-01 10:30"])
def test_an_unreadable_time_is_an_error_that_says_what_to_type(
    client_for, event, reporter, frozen, typed
):
    response = post_time(client_for(reporter), event, typed)

    assert not Post.objects.exists()
    assert "Type a time such as 10:30 or 10:30 pm" in response.content.decode()


def test_an_empty_time_is_now(client_for, event, reporter, frozen):
    post_time(client_for(reporter), event, "")

    assert Post.objects.get(event=event).published_at == NOW


def test_the_time_input_takes_a_time_alone(client_for, event, reporter):
    """Chromium's datetime-local input sends "" until its date is filled in: "10:30" typed
    there published "now", silently. The input is text, read by the server."""
    html = client_for(reporter).get(reverse("editor:compose", args=[event.slug])).content.decode()

    assert 'type="datetime-local"' not in html
    assert 'name="published_at"' in html and "data-time" in html
    assert "10:30 pm" in html  # the help text says what may be typed


def test_editing_shows_the_stored_time_in_the_events_zone(client_for, event, reporter, publish):
    post = publish(reporter, "Backdated", published_at=datetime(2025, 3, 1, 2, 30, tzinfo=UTC))

    response = client_for(reporter).get(reverse("editor:post_edit", args=[event.slug, post.pk]))

    assert 'value="2025-03-01 10:30"' in response.content.decode()
