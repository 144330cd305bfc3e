"""Red-team findings on photo uploads (issue 10), each reproduced from outside.

A picture's cost is its pixels, not its bytes: a 35-byte GIF declaring a 7000 x 7000 screen
(49 megapixels, under the limit) took 2 s of CPU and 540 MB to decode, resize and store
four times, and a member could send 120 of them a minute (the writes' limit), enough to hold
every process's sync thread. Uploads now have a limit of their own, and the full-size
picture is resized once.

An image id is a small integer: a member could attach any image of the event to their own
draft and read it back (url, alt, caption), including a photo another member had uploaded
for an entry not yet published. A writer may now attach only what they uploaded, what is
already in the entry, or what readers already see; editors may attach any.
"""

import io
import struct
import time
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image as PILImage

from liveblog.blog import services
from liveblog.blog.models import Image, Membership, Post
from liveblog.http import ratelimit
from tests import pictures
from tests.factories import MembershipFactory, UserFactory


def gif_screen(width: int, height: int) -> bytes:
    """A GIF whose logical screen is width x height, with one 1 x 1 frame: 35 bytes."""
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(3) + b"\xff" * 3
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame + b"\x3b"


@pytest.fixture
def rate_limits(settings, monkeypatch):
    """Limits on, counted in a fresh namespace of the real cache, the clock mid-window."""
    mid_window = (time.time() // 60) * 60 + 30
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: mid_window))
    settings.LIVEBLOG_RATE_LIMITS = True
    cache = dict(django_settings.CACHES["default"], KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    settings.CACHES = {"default": cache}
    return settings


def upload_over_api(token: str, slug: str, data: bytes) -> int:
    form = {"alt": "A delegate", "file": SimpleUploadedFile("p.gif", data, "image/gif")}
    headers = {"Authorization": f"Bearer {token}"}
    return Client().post(f"/api/v1/events/{slug}/images/", form, headers=headers).status_code


def test_uploads_have_a_rate_limit_of_their_own_below_the_writes(event, reporter, rate_limits):
    rate_limits.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE = 100
    rate_limits.LIVEBLOG_RATE_LIMIT_UPLOADS_PER_MINUTE = 2
    token = services.token_issue(user=reporter)
    small = pictures.photo(300, 200)

    codes = [upload_over_api(token, event.slug, small) for _ in range(3)]

    assert codes == [201, 201, 429]
    assert Image.objects.count() == 2
    # Text entries are not held back by the photos.
    headers = {"Authorization": f"Bearer {token}"}
    posted = Client().post(
        f"/api/v1/events/{event.slug}/posts/",
        {"body": "Still writing"},
        content_type="application/json",
        headers=headers,
    )
    assert posted.status_code == 201


def test_the_upload_limit_is_documented_in_the_settings():
    assert django_settings.LIVEBLOG_RATE_LIMIT_UPLOADS_PER_MINUTE > 0
    assert (
        django_settings.LIVEBLOG_RATE_LIMIT_UPLOADS_PER_MINUTE
        < django_settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE
    )


def test_a_tiny_file_of_many_pixels_is_resized_at_full_size_once(reporter, event, monkeypatch):
    sources: list[tuple[int, int]] = []
    resize = PILImage.Image.resize

    def recording(self, size, *args, **kwargs):
        sources.append(self.size)
        return resize(self, size, *args, **kwargs)

    monkeypatch.setattr(PILImage.Image, "resize", recording)

    image = services.image_upload(
        actor=reporter, event=event, file=io.BytesIO(gif_screen(7000, 7000)), alt="A screen"
    )

    assert [r["width"] for r in image.renditions] == [480, 960, 1600, 2400]
    assert sources.count((7000, 7000)) == 1
    assert len(sources) == 3 + 1  # the widest from the full picture, each other from the next


# --- images of other members' unpublished entries ----------------------------------------


@pytest.fixture
def colleague(event):
    user = UserFactory()
    MembershipFactory(user=user, event=event, role=Membership.Role.REPORTER)
    return user


def uploaded(actor, event) -> Image:
    data = io.BytesIO(pictures.photo(600, 400))
    return services.image_upload(actor=actor, event=event, file=data, alt="Embargoed photo")


def test_a_writer_cannot_attach_a_colleagues_unpublished_image(event, reporter, colleague):
    theirs = uploaded(colleague, event)
    services.post_publish(
        author=colleague, event=event, body="Embargoed", status="draft", images=[theirs.pk]
    )

    with pytest.raises(ValidationError) as refused:
        services.post_publish(
            author=reporter, event=event, body="Mine", status="draft", images=[theirs.pk]
        )

    assert list(refused.value.message_dict) == ["images"]
    assert Post.objects.filter(author=reporter).count() == 0


def test_a_writer_cannot_read_a_colleagues_unused_upload_over_the_api(event, reporter, colleague):
    theirs = uploaded(colleague, event)
    token = services.token_issue(user=reporter)

    response = Client().post(
        f"/api/v1/events/{event.slug}/posts/",
        {"body": "Mine", "status": "draft", "images": [theirs.pk]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    assert "images" in response.json()["fields"]
    assert "Embargoed" not in response.content.decode()


def test_a_writer_cannot_add_a_colleagues_unpublished_image_by_editing(event, reporter, colleague):
    theirs = uploaded(colleague, event)
    mine, _ = services.post_publish(author=reporter, event=event, body="Mine", status="draft")

    with pytest.raises(ValidationError):
        services.post_update(actor=reporter, post=mine, changes={"images": [theirs.pk]})

    assert list(mine.placements.all()) == []


def test_a_writer_may_attach_own_uploads_and_images_readers_already_see(event, reporter, colleague):
    own = uploaded(reporter, event)
    public = uploaded(colleague, event)
    services.post_publish(author=colleague, event=event, body="Out", images=[public.pk])

    post, _ = services.post_publish(
        author=reporter, event=event, body="Both", images=[own.pk, public.pk]
    )

    assert [image.pk for image in post.ordered_images] == [own.pk, public.pk]


def test_an_editor_may_attach_any_image_of_the_event(event, editor, colleague):
    theirs = uploaded(colleague, event)

    post, _ = services.post_publish(author=editor, event=event, body="Desk", images=[theirs.pk])

    assert [image.pk for image in post.ordered_images] == [theirs.pk]


def test_an_author_keeps_the_images_an_editor_put_in_their_entry(event, reporter, editor):
    desk = uploaded(editor, event)
    post, _ = services.post_publish(author=reporter, event=event, body="Mine", status="draft")
    services.post_update(actor=editor, post=post, changes={"images": [desk.pk]})

    edited = services.post_update(
        actor=reporter, post=post, changes={"body": "Mine, corrected", "images": [desk.pk]}
    )

    assert [image.pk for image in edited.ordered_images] == [desk.pk]


def test_nothing_of_the_uploaded_file_name_is_kept(event, reporter):
    token = services.token_issue(user=reporter)
    name = "IMG_home-of-jane-doe_51.5N.jpg"
    form = {"alt": "A delegate", "file": SimpleUploadedFile(name, pictures.photo(), "image/jpeg")}
    response = Client().post(
        f"/api/v1/events/{event.slug}/images/", form, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 201
    assert "jane" not in response.content.decode()
    image = Image.objects.get()
    assert all("jane" not in rendition["name"] for rendition in image.renditions)
