"""What the reader page marks on entries and the event: breaking entries, "Updated" on
corrected ones, date lines when entries span days, the key-points box, and the layout's
landmarks. Server-rendered (no JS); live.js's part is in tests/e2e/test_reader_layout.py."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Change, Post
from liveblog.blog.templatetags.liveblog_tags import event_clock
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def page(event, **query) -> str:
    response = Client().get(f"/events/{event.slug}/", query)
    assert response.status_code == 200
    return response.content.decode()


def entry_html(html: str, post: Post) -> str:
    match = re.search(rf'<article[^>]* id="post-{post.pk}".*?</article>', html, re.S)
    assert match, f"entry {post.pk} is on the page"
    return match.group(0)


# --- breaking ------------------------------------------------------------------------------


def test_a_reporter_publishes_a_breaking_entry_with_a_text_label(event, reporter):
    post, _ = services.post_publish(
        event=event, author=reporter, body="The minister resigns.", is_breaking=True
    )
    html = entry_html(page(event), post)
    assert "entry--breaking" in html
    assert '<p class="entry__breaking">Breaking</p>' in html  # text, not only a colour
    frame = Change.objects.get(post=post).payload
    assert frame["post"]["is_breaking"] is True
    assert "entry__breaking" in frame["html"]


def test_an_ordinary_entry_has_no_breaking_label(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="Applause.")
    assert "entry__breaking" not in entry_html(page(event), post)


def test_breaking_is_set_and_cleared_through_the_api(event, reporter, client_for):
    client = client_for(reporter)
    created = client.post(
        f"/api/v1/events/{event.slug}/posts/",
        {"body": "Fire alarm in hall B.", "is_breaking": True},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["is_breaking"] is True
    changed = client.patch(
        f"/api/v1/events/{event.slug}/posts/{created.json()['id']}/",
        {"is_breaking": False},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["is_breaking"] is False


def test_a_reporter_marks_breaking_in_the_composer_and_unmarks_it(event, reporter, client_for):
    client = client_for(reporter)
    compose = f"/editor/events/{event.slug}/"
    form = client.get(compose).content.decode()
    assert 'name="is_breaking"' in form
    assert not re.search(r'name="is_breaking"[^>]*disabled', form)  # not a moderation flag
    client.post(compose, {"body": "Evacuation.", "is_breaking": "on", "action": "publish"})
    post = Post.objects.get(event=event)
    assert post.is_breaking
    edit = client.get(f"/editor/events/{event.slug}/posts/{post.pk}/edit/").content.decode()
    assert re.search(r'name="is_breaking"[^>]*checked', edit)


# --- "Updated 10:52 a.m." ------------------------------------------------------------------


def test_correcting_a_published_body_marks_the_entry_updated(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="3,000 people.")
    assert post.corrected_at is None
    before = timezone.now()
    post = services.post_update(actor=reporter, post=post, changes={"body": "4,000 people."})
    assert post.corrected_at is not None and post.corrected_at >= before
    html = entry_html(page(event), post)
    stamp = post.corrected_at.astimezone(event.tz).isoformat(timespec="seconds")
    clock = event_clock(post.corrected_at, event)  # "4:20 p.m.", "noon": Django's P format
    expected = f'<p class="entry__updated">Updated <time datetime="{stamp}"'
    assert expected in html, html
    assert f">{clock}</time></p>" in html
    frame = Change.objects.filter(post=post).order_by("-seq").first().payload
    assert frame["type"] == "post.updated"
    assert "entry__updated" in frame["html"]
    assert frame["post"]["corrected_at"] == post.corrected_at.isoformat()


def test_a_headline_correction_marks_it_too(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="Speech", headline="Xi")
    post = services.post_update(actor=reporter, post=post, changes={"headline": "Liu"})
    assert post.corrected_at is not None


def test_pinning_or_marking_a_key_event_is_no_correction(event, editor):
    post, _ = services.post_publish(event=event, author=editor, body="Doors open.")
    post = services.post_update(
        actor=editor, post=post, changes={"is_pinned": True, "is_key_event": True}
    )
    assert post.corrected_at is None
    assert "entry__updated" not in entry_html(page(event), post)


def test_editing_a_draft_is_no_correction(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="Draft", status="draft")
    post = services.post_update(actor=reporter, post=post, changes={"body": "Draft 2"})
    assert post.corrected_at is None
    post = services.post_update(actor=reporter, post=post, changes={"status": "published"})
    assert post.corrected_at is None  # first publication: nothing was corrected


def test_the_same_text_again_is_no_correction(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="Same")
    post = services.post_update(actor=reporter, post=post, changes={"body": "Same"})
    assert post.corrected_at is None


# --- date lines ----------------------------------------------------------------------------


@pytest.fixture
def two_days(event):
    """Entries either side of midnight in Shanghai (UTC+8): 15:30 and 16:30 UTC on 30
    November are 23:30 on Monday 30 November and 00:30 on Tuesday 1 December there."""
    assert event.timezone == "Asia/Shanghai"
    late = PostFactory(event=event, published_at=datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    early = PostFactory(event=event, published_at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    later = PostFactory(event=event, published_at=datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    return late, early, later


DATE_LINE = re.compile(r'<p class="date-line" data-day="([\d-]+)"><time datetime="\1">([^<]+)<')


def test_a_date_line_opens_each_day_in_the_events_zone(event, two_days):
    late, early, later = two_days
    html = page(event, order="oldest")
    assert DATE_LINE.findall(html) == [
        ("2026-11-30", "Monday 30 November"),
        ("2026-12-01", "Tuesday 1 December"),
    ]
    # Each line stands right before the first entry of its day, in reading order.
    ids = re.findall(r'date-line" data-day="([\d-]+)"|<article[^>]* id="post-(\d+)"', html)
    order = [day or int(pk) for day, pk in ids]
    assert order == ["2026-11-30", late.pk, "2026-12-01", early.pk, later.pk]


def test_newest_first_puts_the_newest_day_first(event, two_days):
    late, early, later = two_days
    html = page(event)
    ids = re.findall(r'date-line" data-day="([\d-]+)"|<article[^>]* id="post-(\d+)"', html)
    order = [day or int(pk) for day, pk in ids]
    assert order == ["2026-12-01", later.pk, early.pk, "2026-11-30", late.pk]


def test_the_same_instants_in_utc_fall_on_one_day(event, two_days):
    event.timezone = "UTC"
    event.save()
    assert [day for day, _ in DATE_LINE.findall(page(event))] == ["2026-11-30"]


def test_a_permalink_shows_the_entrys_full_date(event, two_days):
    _, early, _ = two_days
    html = Client().get(early.get_absolute_url()).content.decode()
    assert (
        '<p class="post-page__date"><time datetime="2026-12-01T00:30:00+08:00">'
        "Tuesday 1 December 2026</time></p>"
    ) in html


def test_older_pages_carry_date_lines_too(event):
    for i in range(55):
        PostFactory(event=event, published_at=timezone.now() - timedelta(days=2, minutes=i))
    html = Client().get(f"/events/{event.slug}/entries/", {"after": ""}).content.decode()
    assert DATE_LINE.search(html)


# --- the key-points box --------------------------------------------------------------------


def test_key_points_are_rendered_sanitised_in_the_aside(event, editor):
    services.event_update(
        actor=editor,
        event=event,
        changes={"key_points": "- Fund of **40 million**\n- <script>alert(1)</script>Protest"},
    )
    html = page(event)
    aside = re.search(r"<aside .*?</aside>", html, re.S).group(0)
    assert 'aria-label="Summary and key events"' in aside
    assert "<strong>40 million</strong>" in aside
    assert "<script>alert" not in html
    header = re.search(r"<header class=\"event-layout__header\".*?</header>", html, re.S).group(0)
    assert "key-points" not in header  # once, in the aside


def test_key_points_change_is_pushed_with_the_header(event, editor):
    services.event_update(actor=editor, event=event, changes={"key_points": "Doors at 9."})
    frame = Change.objects.filter(event=event).order_by("-seq").first().payload
    assert frame["type"] == "event.updated"
    assert frame["event"]["key_points"] == "Doors at 9."
    assert "<p>Doors at 9.</p>" in frame["event"]["key_points_html"]
    assert "data-key-points" in frame["html"] and "Doors at 9." in frame["html"]


def test_key_points_over_the_limit_are_refused_naming_the_field(event, editor, client_for):
    response = client_for(editor).patch(
        f"/api/v1/events/{event.slug}/",
        {"key_points": "x" * 5001},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "key_points" in response.json()["fields"]


def test_key_points_are_edited_in_the_event_settings(event, editor, client_for):
    client = client_for(editor)
    form = client.get(f"/editor/events/{event.slug}/settings/").content.decode()
    assert 'name="key_points"' in form
    response = client.post(
        f"/editor/events/{event.slug}/settings/",
        {
            "title": event.title,
            "summary": event.summary,
            "key_points": "- One\n- Two",
            "status": event.status,
            "timezone": event.timezone,
            "order": event.order,
        },
    )
    assert response.status_code in (200, 302)
    event.refresh_from_db()
    assert event.key_points == "- One\n- Two"
    assert "<li>One</li>" in event.key_points_html


def test_no_key_points_no_box(event):
    assert "data-key-points " not in page(event) and "key-points__title" not in page(event)


# --- layout --------------------------------------------------------------------------------


def test_the_page_has_a_main_with_a_labelled_aside_and_valid_heading_order(event, reporter):
    services.post_publish(
        event=event, author=reporter, body="x", headline="First", is_key_event=False
    )
    html = page(event)
    assert html.count("<main") == 1
    assert re.search(r'<main[^>]*>.*<aside class="event-aside" aria-label="[^"]+">', html, re.S)
    levels = [int(n) for n in re.findall(r"<h([1-6])", html)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
