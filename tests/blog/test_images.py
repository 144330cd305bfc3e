"""blog/images.py and the image_upload service: what is refused (and leaves nothing), what
is kept of an accepted photo (no metadata), and how it is stored."""

import io
import struct
import zlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from PIL import Image as PILImage
from PIL import ImageCms, ImageFile, features

from liveblog.blog import images, services
from liveblog.blog.models import AuditEntry, Image
from tests import pictures
from tests.factories import MembershipFactory


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def upload(actor, event, data: bytes, **fields):
    fields.setdefault("alt", "The minister at the lectern")
    return services.image_upload(actor=actor, event=event, file=io.BytesIO(data), **fields)


def opened(name: str) -> PILImage.Image:
    with default_storage.open(name, "rb") as handle:
        picture = PILImage.open(io.BytesIO(handle.read()))
        picture.load()
    return picture


REFUSED = {
    "not an image": (b"%PDF-1.7 not a picture at all", "not an image we accept"),
    "truncated JPEG": (pictures.truncated(), "damaged or truncated"),
    "decompression bomb": (pictures.bomb(), "too many pixels"),
    "HEIC": (pictures.heic_header(), "HEIC images are not accepted"),
    "empty file": (b"", "empty"),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_a_bad_file_is_refused_naming_file_and_nothing_is_stored(
    kind, reporter, event, media_storage
):
    data, words = REFUSED[kind]
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, data)
    assert list(refused.value.message_dict) == ["file"]
    assert words in refused.value.message_dict["file"][0]
    assert stored_files(media_storage) == []
    assert Image.objects.count() == 0
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMAGE_UPLOADED).exists()


def test_a_file_over_the_byte_limit_is_refused_with_the_limit_named(
    reporter, event, media_storage, settings
):
    settings.LIVEBLOG_MAX_IMAGE_BYTES = 50_000
    data = pictures.photo(2000, 1500, quality=95)
    assert len(data) > 50_000
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, data)
    assert "larger than the limit of 0.0476837 MiB" in refused.value.message_dict["file"][0]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def test_an_image_over_the_pixel_limit_is_refused_with_its_size(
    reporter, event, media_storage, settings
):
    settings.LIVEBLOG_MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, pictures.photo(2000, 1000))
    assert (
        "2000 x 1000 pixels, over the limit of 1 megapixels"
        in (refused.value.message_dict["file"][0])
    )
    assert stored_files(media_storage) == []


def test_an_image_without_alt_is_refused_naming_alt_and_nothing_is_stored(
    reporter, event, media_storage
):
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, pictures.photo(), alt="   ")
    assert list(refused.value.message_dict) == ["alt"]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def test_a_decorative_image_needs_no_alt(reporter, event):
    image = upload(reporter, event, pictures.photo(600, 400), alt="", decorative=True)
    assert image.decorative and image.alt == ""


def test_a_truncated_image_is_refused_even_if_a_library_turned_truncated_loading_on(
    reporter, event, monkeypatch, media_storage
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        upload(reporter, event, pictures.truncated())
    assert stored_files(media_storage) == []


def test_no_exif_gps_or_xmp_survives_in_any_rendition(reporter, event):
    source = PILImage.open(io.BytesIO(pictures.with_gps()))
    assert source.getexif().get_ifd(pictures.GPS_IFD)  # the upload does carry a position
    assert "xmp" in source.info
    image = upload(reporter, event, pictures.with_gps())
    assert len(image.renditions) >= 3
    for rendition in image.renditions:
        stored = opened(rendition["name"])
        assert dict(stored.getexif()) == {}
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile"} & set(stored.info)
        with default_storage.open(rendition["name"], "rb") as handle:
            raw = handle.read()
        assert b"Camera model" not in raw and b"Exif" not in raw and b"xmpmeta" not in raw


def test_the_exif_orientation_is_applied(reporter, event):
    image = upload(reporter, event, pictures.rotated(6))
    assert (image.width, image.height) == (600, 1200)
    full = opened(image.renditions[-1]["name"])
    assert full.size == (600, 1200)
    # The red left half of the landscape is the top once turned 90° clockwise.
    top, bottom = (
        full.convert("RGB").getpixel((300, 100)),
        full.convert("RGB").getpixel((300, 1100)),
    )
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


def test_renditions_are_stored_in_three_widths_and_never_upscaled(reporter, event):
    image = upload(reporter, event, pictures.photo(2000, 1000))
    assert [(r["width"], r["height"]) for r in image.renditions] == [
        (480, 240),
        (960, 480),
        (1600, 800),
        (2000, 1000),
    ]
    assert (image.width, image.height) == (2000, 1000)
    for rendition in image.renditions:
        assert rendition["name"].startswith(f"images/{event.pk}/")
        assert rendition["name"].endswith(f"/{rendition['width']}.webp")
        stored = opened(rendition["name"])
        assert stored.format == "WEBP" and stored.width == rendition["width"]


def test_a_small_image_gets_only_the_widths_it_has(reporter, event):
    image = upload(reporter, event, pictures.photo(700, 350))
    assert [r["width"] for r in image.renditions] == [480, 700]
    tiny = upload(reporter, event, pictures.photo(300, 200))
    assert [r["width"] for r in tiny.renditions] == [300]


def test_a_very_wide_image_is_stored_at_most_at_the_widest_width(reporter, event):
    image = upload(reporter, event, pictures.photo(4000, 1000))
    assert [r["width"] for r in image.renditions] == [480, 960, 1600, 2400]
    assert (image.width, image.height) == (2400, 600)


def test_cmyk_is_converted_to_rgb(reporter, event):
    image = upload(reporter, event, pictures.cmyk())
    stored = opened(image.renditions[-1]["name"])
    assert stored.mode == "RGB"
    red, green, blue = stored.getpixel((10, 10))
    assert red > 200 and green < 80 and blue < 80


def test_16_bit_greys_are_scaled_to_8_bits_not_clipped(reporter, event):
    image = upload(reporter, event, pictures.grey_16bit(value=32768))
    stored = opened(image.renditions[-1]["name"]).convert("L")
    assert 120 <= stored.getpixel((5, 5)) <= 136  # half-way, not 255


def test_48_bit_png_is_accepted_as_8_bit_rgb(reporter, event):
    image = upload(reporter, event, pictures.png_48bit())
    stored = opened(image.renditions[-1]["name"]).convert("RGB")
    red, green, blue = stored.getpixel((5, 5))
    assert red > 240 and 110 < green < 145 and blue < 15


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animation_is_kept_as_its_first_frame(fmt, reporter, event):
    image = upload(reporter, event, pictures.animated(fmt))
    stored = opened(image.renditions[-1]["name"])
    assert getattr(stored, "n_frames", 1) == 1
    red, green, blue = stored.convert("RGB").getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60


def test_transparency_is_kept(reporter, event):
    image = upload(reporter, event, pictures.transparent())
    stored = opened(image.renditions[-1]["name"])
    assert stored.mode == "RGBA" and stored.getpixel((5, 5))[3] == 0


def test_avif_is_accepted_because_this_pillow_decodes_it(reporter, event):
    from PIL import features

    assert features.check("avif")
    image = upload(reporter, event, pictures.photo(800, 400, fmt="AVIF"))
    assert image.width == 800


def test_a_failure_midway_deletes_what_was_already_stored(
    reporter, event, media_storage, monkeypatch
):
    real_save, calls = FileSystemStorage.save, []

    def failing_save(self, name, content, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(self, name, content, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        upload(reporter, event, pictures.photo(2000, 1000))
    assert len(calls) == 2
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def test_a_failed_row_deletes_the_stored_files(reporter, event, media_storage, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Image.objects, "create", broken)
    with pytest.raises(RuntimeError):
        upload(reporter, event, pictures.photo(1000, 500))
    assert stored_files(media_storage) == []


def test_upload_is_for_members_only(outsider, event, media_storage):
    with pytest.raises(PermissionDenied):
        upload(outsider, event, pictures.photo())
    assert stored_files(media_storage) == []


def test_upload_cleans_its_text_and_is_audited(reporter, event):
    image = upload(
        reporter,
        event,
        pictures.photo(600, 300),
        alt=" The\x07 minister ",
        caption="At the\x0bopening",
        credit="Photo: AFP",
    )
    assert (image.alt, image.caption, image.credit) == (
        "The minister",
        "At the\nopening",
        "Photo: AFP",
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMAGE_UPLOADED)
    assert entry.actor == reporter and entry.event == event
    assert entry.detail == {"image": image.pk, "width": 600, "height": 300}


def test_overlong_alt_is_refused_naming_alt(reporter, event, settings, media_storage):
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, pictures.photo(600, 300), alt="x" * 501)
    assert list(refused.value.message_dict) == ["alt"]
    assert stored_files(media_storage) == []


def test_widths_follow_the_setting(settings):
    settings.LIVEBLOG_IMAGE_WIDTHS = (100, 200)
    assert images.widths(150) == [100, 150]
    assert images.widths(5000) == [100, 200]


# --- the rendered entry (templates/blog/_images.html) ---------------------------------------


def test_the_entry_shows_its_images_with_srcset_sizes_and_captions(reporter, event):
    from django.test import Client

    photo = upload(reporter, event, pictures.photo(2000, 1000), caption="Day one", credit="AFP")
    plain = upload(reporter, event, pictures.photo(600, 300), alt="", decorative=True)
    services.post_publish(event=event, author=reporter, body="Photos", images=[photo.pk, plain.pk])
    for _ in range(2):  # newer entries: the photos are below the first screen, loaded lazily
        services.post_publish(event=event, author=reporter, body="Later")
    html = Client().get(f"/events/{event.slug}/").content.decode()
    urls = [f"/media/{r['name']}" for r in photo.renditions]
    srcset = ", ".join(f"{u} {r['width']}w" for u, r in zip(urls, photo.renditions, strict=True))
    assert (
        f'<figure class="entry__image"><img src="{urls[1]}" srcset="{srcset}" '
        'sizes="(min-width: 60rem) 40rem, 100vw" width="2000" height="1000" '
        'alt="The minister at the lectern" loading="lazy" decoding="async">'
        '<figcaption><span class="entry__caption">Day one</span> '
        '<span class="entry__credit">AFP</span></figcaption></figure>'
    ) in html
    assert srcset.count("w,") >= 2  # three widths or more
    assert 'width="600" height="300" alt="" loading="lazy"' in html
    assert html.index(urls[0]) < html.index(f"/media/{plain.renditions[0]['name']}")


def test_a_page_may_load_its_first_images_eagerly(reporter, event):
    from django.template.loader import render_to_string

    photo = upload(reporter, event, pictures.photo(1000, 500))
    post, _ = services.post_publish(event=event, author=reporter, body="x", images=[photo.pk])
    eager = render_to_string(
        "blog/_post.html", {"post": post, "event": event, "eager_images": True}
    )
    lazy = render_to_string("blog/_post.html", {"post": post, "event": event})
    assert "<img " in eager and 'loading="lazy"' not in eager
    assert 'loading="lazy"' in lazy


def test_image_text_is_escaped_in_the_entry(reporter, event):
    from django.template.loader import render_to_string

    photo = upload(reporter, event, pictures.photo(600, 300), alt='"><script>x</script>')
    post, _ = services.post_publish(event=event, author=reporter, body="x", images=[photo.pk])
    html = render_to_string("blog/_post.html", {"post": post, "event": event})
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html


# --- images on entries (post_publish, post_update) -------------------------------------------


def test_changing_a_published_entrys_images_is_logged_audited_and_pushed(
    reporter, event, sent, django_capture_on_commit_callbacks
):
    import json

    from liveblog.blog.models import Change

    first, second = (upload(reporter, event, pictures.photo(600, 300)) for _ in range(2))
    post, _ = services.post_publish(event=event, author=reporter, body="x", images=[first.pk])
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.post_update(
            actor=reporter, post=post, changes={"images": [second.pk, first.pk]}
        )
    change = Change.objects.filter(post=post).order_by("seq").last()
    assert change.kind == Change.Kind.POST_UPDATED
    assert [i["id"] for i in change.payload["post"]["images"]] == [second.pk, first.pk]
    assert [json.loads(m["frame"])["type"] for m in sent] == ["post.updated"]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.POST_UPDATED, post=post).get()
    assert entry.detail == {"fields": ["images"]}
    assert [i.pk for i in changed.ordered_images] == [second.pk, first.pk]
    fresh = type(post).objects.get(pk=post.pk)
    assert [i.pk for i in fresh.ordered_images] == [second.pk, first.pk]


def test_the_same_images_again_change_nothing_readers_see(reporter, event, sent):
    image = upload(reporter, event, pictures.photo(600, 300))
    post, _ = services.post_publish(event=event, author=reporter, body="x", images=[image.pk])
    services.post_update(actor=reporter, post=post, changes={"images": [image.pk]})
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.POST_UPDATED, post=post).get()
    assert entry.detail == {"fields": []}


def test_an_image_of_another_event_is_refused_and_nothing_is_written(reporter, event):
    from liveblog.blog.models import Post
    from tests.factories import EventFactory, MembershipFactory

    other = EventFactory()
    MembershipFactory(event=other, user=reporter)
    foreign = upload(reporter, other, pictures.photo(600, 300))
    with pytest.raises(ValidationError) as refused:
        services.post_publish(event=event, author=reporter, body="x", images=[foreign.pk])
    assert list(refused.value.message_dict) == ["images"]
    assert str(foreign.pk) in refused.value.message_dict["images"][0]
    assert not Post.objects.exists()


# --- describing a photo after its upload (the composer's way: image_update) ---------------


def described_later(actor, event):
    return services.image_upload(
        actor=actor, event=event, file=io.BytesIO(pictures.photo(800, 600)), describe_later=True
    )


def test_a_photo_uploaded_to_be_described_later_is_kept_without_alt(reporter, event):
    image = described_later(reporter, event)

    assert image.alt == "" and not image.decorative and Image.objects.count() == 1


def test_image_update_changes_the_texts_and_audits_which(reporter, event):
    image = described_later(reporter, event)

    services.image_update(
        actor=reporter,
        image=image,
        alt=" The hall ",
        caption="Doors open",
        credit="",
        decorative=False,
    )

    image.refresh_from_db()
    assert (image.alt, image.caption, image.credit) == ("The hall", "Doors open", "")
    entry = AuditEntry.objects.get(action="image.updated")
    assert entry.detail == {"image": image.pk, "fields": ["alt", "caption"]}


def test_image_update_with_nothing_new_writes_nothing(reporter, event):
    image = upload(reporter, event, pictures.photo(800, 600))
    fields = {"alt": image.alt, "caption": "", "credit": "", "decorative": False}

    services.image_update(actor=reporter, image=image, **fields)

    assert not AuditEntry.objects.filter(action="image.updated").exists()


def test_image_update_refuses_texts_over_their_limits(reporter, event, settings):
    image = described_later(reporter, event)
    too_long = "x" * (settings.LIVEBLOG_MAX_CREDIT_CHARS + 1)

    with pytest.raises(ValidationError) as refused:
        services.image_update(
            actor=reporter, image=image, alt="Hall", caption="", credit=too_long, decorative=False
        )

    assert list(refused.value.message_dict) == ["credit"]
    image.refresh_from_db()
    assert image.alt == ""


def test_only_the_uploader_or_an_editor_may_describe_a_photo(reporter, editor, event):
    other = MembershipFactory(event=event, role="reporter").user
    image = described_later(reporter, event)
    fields = {"alt": "Hall", "caption": "", "credit": "", "decorative": False}

    with pytest.raises(PermissionDenied):
        services.image_update(actor=other, image=image, **fields)
    services.image_update(actor=editor, image=image, **fields)

    image.refresh_from_db()
    assert image.alt == "Hall"


def test_publishing_needs_alt_on_every_photo_but_a_draft_does_not(reporter, event):
    bare = described_later(reporter, event)
    decorative = upload(reporter, event, pictures.photo(800, 600), alt="", decorative=True)

    with pytest.raises(ValidationError) as refused:
        services.post_publish(
            event=event, author=reporter, body="x", images=[decorative.pk, bare.pk]
        )
    draft, _ = services.post_publish(
        event=event, author=reporter, body="x", images=[bare.pk], status="draft"
    )

    assert "Photo 2: alt text is required" in refused.value.message_dict["images"][0]
    with pytest.raises(ValidationError):
        services.post_update(actor=reporter, post=draft, changes={"status": "published"})
    services.image_update(
        actor=reporter, image=bare, alt="Hall", caption="", credit="", decorative=False
    )
    published = services.post_update(actor=reporter, post=draft, changes={"status": "published"})
    assert published.is_public


def test_an_entry_has_at_most_the_photo_limit(reporter, event, settings):
    settings.LIVEBLOG_MAX_IMAGES_PER_POST = 1
    first, second = (upload(reporter, event, pictures.photo(600, 400)) for _ in range(2))

    with pytest.raises(ValidationError) as refused:
        services.post_publish(event=event, author=reporter, body="x", images=[first.pk, second.pk])

    assert refused.value.message_dict["images"] == ["At most 1 photos in an entry."]


# --- red team (issue 10): what held, kept as tests ----------------------------------------


def _gif_screen(width: int, height: int) -> bytes:
    """A GIF whose logical screen is width x height, with one 1 x 1 frame: 35 bytes."""
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(3) + b"\xff" * 3
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame + b"\x3b"


def _webp_header(width: int, height: int) -> bytes:
    """A lossless WebP's header declaring width x height, and no picture after it."""
    payload = b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + bytes(16)
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _png_with(kind: bytes, data: bytes) -> bytes:
    """A small PNG with one more chunk before its pixels."""
    png = pictures.photo(100, 60, fmt="PNG")
    return png[:33] + pictures.png_chunk(kind, data) + png[33:]


BOMBS = {
    "GIF screen of 4 gigapixels": (_gif_screen(65535, 65535), "too many pixels"),
    "GIF screen over the limit": (_gif_screen(9000, 9000), "over the limit of 50 megapixels"),
    "WebP header of 268 megapixels": (_webp_header(16384, 16384), "too many pixels"),
    "PNG text chunk inflating to 200 MB": (
        _png_with(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * 200_000_000, 9)),
        "damaged or truncated",
    ),
    "PNG colour profile inflating to 200 MB": (
        _png_with(b"iCCP", b"p\x00\x00" + zlib.compress(bytes(200_000_000), 9)),
        "damaged or truncated",
    ),
}


@pytest.mark.parametrize("kind", BOMBS)
def test_a_bomb_in_any_format_is_refused_before_it_is_decoded(kind, reporter, event, media_storage):
    data, words = BOMBS[kind]
    assert len(data) < 300_000
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, data)
    assert words in refused.value.message_dict["file"][0]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def _jpeg_with_comment(text: bytes) -> bytes:
    jpeg = pictures.photo(300, 200)
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


SCRIPT = b"<html><script>alert(document.cookie)</script>"
POLYGLOTS = {
    "JPEG with an HTML comment": _jpeg_with_comment(SCRIPT),
    "JPEG followed by HTML": pictures.photo(300, 200) + SCRIPT,
    "GIF with a script comment": (
        _gif_screen(10, 10)[:19] + b"\x21\xfe" + bytes([len(SCRIPT)]) + SCRIPT + b"\x00"
        + _gif_screen(10, 10)[19:]
    ),
    "PNG with a script text chunk": _png_with(b"tEXt", b"Comment\x00" + SCRIPT),
    "PNG with a colour profile": _png_with(
        b"iCCP", b"sRGB\x00\x00" + zlib.compress(ImageCms.ImageCmsProfile(
            ImageCms.createProfile("sRGB")).tobytes())
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", POLYGLOTS)
def test_a_polyglot_is_stored_as_its_pixels_alone(kind, reporter, event):
    """A picture that is also HTML or script keeps nothing but its pixels: the renditions
    are new WebP files with no ICC, EXIF or XMP chunk (and /media/ sends nosniff)."""
    image = upload(reporter, event, POLYGLOTS[kind])
    for rendition in image.renditions:
        with default_storage.open(rendition["name"], "rb") as handle:
            raw = handle.read()
        assert raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"
        assert b"script" not in raw and b"html" not in raw
        assert not {b"ICCP", b"EXIF", b"XMP "} & _webp_chunks(raw)


def _webp_chunks(raw: bytes) -> set[bytes]:
    chunks, at = set(), 12
    while at + 8 <= len(raw):
        kind, size = raw[at : at + 4], struct.unpack("<I", raw[at + 4 : at + 8])[0]
        chunks.add(kind)
        at += 8 + size + size % 2
    return chunks


def _scans(jpeg: bytes) -> list[bytes]:
    """Each scan of a JPEG: its SOS segment and the entropy-coded data after it."""
    found, at = [], jpeg.index(b"\xff\xda")
    while at < len(jpeg) - 2:
        end = at + 2 + struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
        while not (jpeg[end] == 0xFF and jpeg[end + 1] not in (0, *range(0xD0, 0xD8))):
            end += 1
        found.append(jpeg[at:end])
        at = jpeg.find(b"\xff\xda", end)
        at = len(jpeg) if at < 0 else at
    return found


def _progressive_with_scans(total: int) -> bytes:
    """A progressive JPEG whose shortest refinement scan is repeated to make `total` scans:
    libjpeg decodes every scan over the whole picture, so the work grows with the count (a
    2.5 MB file of 20,000 scans at 7000 x 7000 took 10.8 s of CPU; 20 MiB, about 7 min)."""
    jpeg = pictures.photo(1200, 800, quality=30, progressive=True)
    scans = _scans(jpeg)
    shortest = min(scans, key=len)
    return jpeg[:-2] + shortest * (total - len(scans)) + jpeg[-2:]


def test_a_progressive_jpeg_of_too_many_scans_is_refused_before_it_is_decoded(
    reporter, event, media_storage, settings
):
    data = _progressive_with_scans(images.MAX_JPEG_SCANS + 1)
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, data)
    assert f"{images.MAX_JPEG_SCANS + 1} scans" in refused.value.message_dict["file"][0]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def test_a_progressive_jpeg_as_cameras_and_editors_write_it_is_accepted(reporter, event):
    data = pictures.photo(1200, 800, progressive=True)
    assert 5 <= len(_scans(data)) <= 20
    assert upload(reporter, event, data).width == 1200


def test_a_jpeg_of_a_hundred_thousand_empty_segments_is_refused_before_it_is_parsed(
    reporter, event, media_storage, monkeypatch
):
    """Pillow reads a JPEG's segments up to its first scan in Python, twice (verify, then
    open): 5 million empty comments (20 MiB) cost about 5 s of CPU."""
    jpeg = pictures.photo(300, 200)
    data = jpeg[:2] + b"\xff\xfe\x00\x02" * (images.MAX_JPEG_MARKERS + 1) + jpeg[2:]
    opened: list[bytes] = []
    monkeypatch.setattr(images, "_open", lambda data: opened.append(data))
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, data)
    assert "segments" in refused.value.message_dict["file"][0]
    assert opened == [] and stored_files(media_storage) == []


FLOODS = {
    # 1 million empty comments (2.9 MB) took Pillow's GIF reader 13 s of CPU.
    "GIF of empty comments": _gif_screen(10, 10)[:19]
    + b"\x21\xfe\x00" * (images.MAX_BLOCKS + 1)
    + _gif_screen(10, 10)[19:],
    "GIF comment of one-byte blocks": _gif_screen(10, 10)[:19]
    + b"\x21\xfe"
    + b"\x01a" * (images.MAX_BLOCKS + 1)
    + b"\x00"
    + _gif_screen(10, 10)[19:],
    # 300,000 empty chunks (3.4 MB) took Pillow's PNG reader 1.2 s.
    "PNG of empty chunks": _png_with(b"raNd", b"")[:33]
    + pictures.png_chunk(b"raNd", b"") * (images.MAX_BLOCKS + 1)
    + _png_with(b"raNd", b"")[33:],
}


@pytest.mark.parametrize("kind", FLOODS)
def test_a_flood_of_tiny_blocks_is_refused_before_it_is_parsed(
    kind, reporter, event, media_storage, monkeypatch
):
    opened: list[bytes] = []
    monkeypatch.setattr(images, "_open", lambda data: opened.append(data))
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, FLOODS[kind])
    assert f"more than {images.MAX_BLOCKS:,}" in refused.value.message_dict["file"][0]
    assert opened == [] and stored_files(media_storage) == []


def _flat_png(width: int, height: int) -> bytes:
    return pictures.encode(PILImage.new("RGB", (width, height), (200, 10, 10)), "PNG")


def test_a_tall_screenshot_is_stored_as_wide_as_webp_allows_not_refused_with_an_error(
    reporter, event
):
    """A phone's scrolling screenshot (1080 x 20000) made WebP's encoder fail (16,383 px a
    side at most): a ValueError, so a 500, for a picture within every limit."""
    image = upload(reporter, event, _flat_png(1080, 20000))
    assert [(r["width"], r["height"]) for r in image.renditions] == [(480, 8889), (884, 16370)]
    assert (image.width, image.height) == (884, 16370)
    assert opened(image.renditions[-1]["name"]).size == (884, 16370)


def _turned_png(width: int, height: int) -> bytes:
    """width x height, stored with EXIF orientation 6: shown as height x width."""
    exif = PILImage.Exif()
    exif[pictures.ORIENTATION] = 6
    picture = PILImage.new("RGB", (width, height), (200, 10, 10))
    return pictures.encode(picture, "PNG", exif=exif.tobytes())


@pytest.mark.parametrize(
    ("data", "shown"), [(_flat_png(1, 40000), "1 x 40000"), (_turned_png(40000, 1), "1 x 40000")]
)
def test_a_picture_too_thin_for_any_webp_is_refused_naming_its_shape(
    data, shown, reporter, event, media_storage
):
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, data)
    assert shown in refused.value.message_dict["file"][0]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def _damaged_avif(where: bytes) -> bytes:
    """A real AVIF whose bytes after the box named `where` are zeroed (16 bytes of its
    item locations, or all of its coded picture)."""
    avif = pictures.photo(64, 48, fmt="AVIF")
    at = avif.find(where) + 4
    end = at + 16 if where == b"iloc" else len(avif)
    return avif[:at] + bytes(end - at) + avif[end:]


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow decodes no AVIF")
@pytest.mark.parametrize("box", [b"iloc", b"mdat"])
def test_a_damaged_avif_is_refused_not_a_server_error(box, reporter, event, media_storage):
    """Pillow's AVIF plugin raises RuntimeError for damage (found by fuzzing 14,000 mutated
    files of every accepted format: the only exception that escaped as a 500)."""
    with pytest.raises(ValidationError) as refused:
        upload(reporter, event, _damaged_avif(box))
    assert "damaged or truncated" in refused.value.message_dict["file"][0]
    assert stored_files(media_storage) == []
