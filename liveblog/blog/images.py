"""Photos: every upload verified by Pillow, re-encoded without its metadata, stored in
several widths through Django's storage API (files or S3, settings.STORAGES["default"]).

What is refused, each with a sentence naming the problem (ImageRefused, field "file"): a
file that is not a picture in a format we decode, a truncated one, a decompression bomb, one
over LIVEBLOG_MAX_IMAGE_BYTES or LIVEBLOG_MAX_IMAGE_PIXELS, HEIC, a JPEG whose scans or
segments cost far more than its pixels (MAX_JPEG_SCANS, MAX_JPEG_MARKERS), a PNG or GIF of
more than MAX_BLOCKS chunks or blocks.

Deliberate choices:
- Output is WebP (quality 82): one format keeps transparency (graphics, logos) and is
  25-35 % smaller than JPEG at the same quality; every browser we support shows it. So
  RGBA/P/LA stay transparent and nothing is flattened.
- Animated GIF/WebP/PNG: the first frame, stored as a still. Re-encoding every frame
  multiplies the work and the decompression risk by the frame count, and the feed and the
  JSON-LD want a still anyway; a reporter who needs motion embeds a video.
- HEIC is refused with a message saying to export JPEG: Pillow cannot read it without
  pillow-heif, a binding to libheif whose HEVC decoder is patent-encumbered and a large
  attack surface for one format phones export as JPEG on sharing. AVIF is accepted: the
  Pillow wheel here decodes it (features.check("avif")).
- CMYK, and RGB with an embedded ICC profile, are converted to sRGB through the profile
  (littlecms): then no ICC is kept, like every other piece of metadata.
- 16-bit greys (I;16) are scaled to 8 bits (Pillow's convert("L") would clip, not scale);
  Pillow itself reads 48/64-bit PNGs as 8-bit RGB/RGBA.
"""

import io
import struct
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from PIL import ImageCms, ImageFile, ImageOps, UnidentifiedImageError, features

# The decoders an upload may use: formats people upload photos in. Anything else (PSD, TGA,
# EPS, which calls Ghostscript, ...) is "not a picture" instead of more attack surface.
# AVIF where this Pillow decodes it (its wheels do since 11.2).
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", *(("AVIF",) if features.check("avif") else ()))
EXTENSION = "webp"
CONTENT_TYPE = "image/webp"
WEBP_QUALITY = 82
# libwebp's limit on either side: a taller rendition is made narrower to fit (a phone's
# scrolling screenshot, 1080 x 20000, made the encoder fail: a 500 for a valid picture).
WEBP_MAX_SIDE = 16383
# libjpeg decodes each scan of a progressive JPEG over the whole picture, so a file of many
# tiny scans costs its pixels times its scans: 20,000 scans of 26 bytes at 7000 x 7000 (2.5
# MB) took 10.8 s of CPU, 20 MiB of them would take minutes. Encoders write about 10; 256 is
# NVIDIA nvImageCodec's default limit for the same attack (after Cure53's libjpeg-turbo audit).
MAX_JPEG_SCANS = 256
# Pillow reads the segments before the first scan in Python (1 µs each): 5 million empty
# comments in 20 MiB took 5 s. A camera's JPEG has a few dozen; its EXIF, ICC or XMP may hold
# some 0xFF bytes (1 in 256 of random data): counting every 0xFF before the first scan, this
# bound refuses no header under 25 MB, and what it lets through costs Pillow 0.2 s.
MAX_JPEG_MARKERS = 100_000
# Pillow walks a PNG's chunks and a GIF's blocks before its first picture in Python, a dozen
# µs each: 1 million empty GIF comments (2.9 MB) took 13 s, 300,000 empty PNG chunks (3.4
# MB) 1.2 s. Encoders write a few dozen (a 20 MiB PNG in 8 KiB IDAT chunks: 2,560), and
# 10,000 cost Pillow about 0.1 s. Counted by _blocks, which stops at the bound.
MAX_BLOCKS = 10_000
# What Pillow's decoders raise for a damaged file; the AVIF plugin raises RuntimeError
# (tests/blog/test_images.py: found by fuzzing, a 500 until it was named here).
DAMAGE = (OSError, SyntaxError, ValueError, RuntimeError)
# ISO BMFF brands of HEIC/HEIF files, to refuse them by name rather than as "not a picture".
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_SRGB = ImageCms.createProfile("sRGB")


class ImageRefused(ValueError):
    """An upload that is not kept: `message` is the sentence for the uploader."""

    field = "file"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Stored:
    """What was stored for one upload: the renditions, narrowest first (the last is full)."""

    width: int
    height: int
    renditions: list[dict[str, Any]]


def store(*, event_id: int, file: IO[bytes]) -> Stored:
    """Verify `file`, re-encode it and store its renditions under images/<event>/<uuid>/.
    Raises ImageRefused with nothing stored; on any other failure midway, what was stored is
    deleted before the error goes on."""
    picture = decode(file)
    folder = f"images/{event_id}/{uuid.uuid4().hex}"
    saved: list[str] = []
    try:
        renditions = _renditions(folder, picture, saved)
    except BaseException:
        delete(saved)
        raise
    full = renditions[-1]
    return Stored(width=full["width"], height=full["height"], renditions=renditions)


def delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def widths(full: int, height: int = 1) -> list[int]:
    """The widths stored for a picture `full` x `height` pixels: each configured width it is
    wider than, and its own (at most the widest configured, and narrow enough for WebP's
    WEBP_MAX_SIDE in height): never upscaled."""
    top = min(settings.LIVEBLOG_IMAGE_WIDTHS[-1], full, WEBP_MAX_SIDE * full // height)
    return [w for w in settings.LIVEBLOG_IMAGE_WIDTHS if w < top] + [top]


def _renditions(folder: str, picture: PILImage.Image, saved: list[str]) -> list[dict[str, Any]]:
    """Widest first, each resized from the next wider one: the full picture (up to
    LIVEBLOG_MAX_IMAGE_PIXELS, whatever its bytes) is resized once, not once a width: a
    35-byte GIF of 49 megapixels cost 2.0 s of CPU, 1.5 of them in four full-size resizes;
    now 1.1 s (tests/security/test_uploads.py)."""
    stored: list[dict[str, Any]] = []
    source = picture
    for width in reversed(widths(picture.width, picture.height)):
        height = max(1, round(picture.height * width / picture.width))
        source = _sized(source, width, height)
        name = default_storage.save(f"{folder}/{width}.{EXTENSION}", ContentFile(_encode(source)))
        saved.append(name)
        stored.append({"width": width, "height": height, "name": name})
    return stored[::-1]


def _sized(picture: PILImage.Image, width: int, height: int) -> PILImage.Image:
    if picture.size == (width, height):
        return picture
    # reducing_gap: an integer box reduction first, then Lanczos on what is left; Pillow's
    # documentation: from 3.0 on, "indistinguishable from fair resampling in most cases".
    return picture.resize((width, height), PILImage.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(picture: PILImage.Image) -> bytes:
    out = io.BytesIO()
    # Nothing from the upload's metadata is passed on: no exif, no xmp, no icc_profile.
    picture.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


# --- decoding -----------------------------------------------------------------------------


def decode(file: IO[bytes]) -> PILImage.Image:
    """The upload as a clean 8-bit sRGB (or RGBA) picture, upright, with no metadata."""
    data = _read(file)
    with _bombs_refused():
        _check_jpeg(data)
        _check_blocks(data)
        picture = _open(data)
        _check_pixels(picture)
        try:
            picture.load()
            # Broken EXIF is damage too (Pillow raises from its parser, with several types).
            # In place: otherwise an upright picture is copied whole for nothing.
            ImageOps.exif_transpose(picture, in_place=True)
        except (*DAMAGE, TypeError, KeyError, struct.error) as exc:
            raise ImageRefused(f"This image is damaged or truncated ({exc}).") from None
        _check_shape(picture)
    return _clean(picture)


def _read(file: IO[bytes]) -> bytes:
    limit = settings.LIVEBLOG_MAX_IMAGE_BYTES
    data = file.read(limit + 1)
    if len(data) > limit:
        raise ImageRefused(f"This file is larger than the limit of {limit / 2**20:g} MiB.")
    if not data:
        raise ImageRefused("This file is empty.")
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        raise ImageRefused("HEIC images are not accepted: export the photo as JPEG and retry.")
    return data


def _open(data: bytes) -> PILImage.Image:
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Set by some library for the whole process, it would pass half-images as whole.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay off.")
    try:
        # verify() checks the structure (and PNG checksums) but leaves the image unusable:
        # it is opened again to be decoded.
        PILImage.open(io.BytesIO(data), formats=FORMATS).verify()
        picture = PILImage.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        accepted = ", ".join(FORMATS)
        raise ImageRefused(f"This file is not an image we accept ({accepted}).") from None
    except DAMAGE as exc:
        raise ImageRefused(f"This image is damaged or truncated ({exc}).") from None
    return picture


def _check_pixels(picture: PILImage.Image) -> None:
    width, height = picture.size
    limit = settings.LIVEBLOG_MAX_IMAGE_PIXELS
    if width * height > limit:
        raise ImageRefused(
            f"This image is {width} x {height} pixels, over the limit of "
            f"{limit / 1e6:g} megapixels."
        )


def _check_shape(picture: PILImage.Image) -> None:
    """Upright (after the EXIF orientation), so a rotated picture is judged as shown."""
    width, height = picture.size
    if WEBP_MAX_SIDE * width < height:
        raise ImageRefused(
            f"This image is {width} x {height} pixels: more than {WEBP_MAX_SIDE:,} times as "
            "tall as it is wide, which no stored size can show."
        )


def _check_jpeg(data: bytes) -> None:
    """Refuse, before Pillow parses it, a JPEG whose segments or scans cost far more than
    its bytes and pixels (MAX_JPEG_MARKERS, MAX_JPEG_SCANS). Counted with bytes.count (C):
    an 0xFF in entropy-coded data is followed by 0x00, so no scan marker is counted twice."""
    if not data.startswith(b"\xff\xd8\xff"):
        return
    first_scan = data.find(b"\xff\xda")
    if data.count(b"\xff", 0, first_scan if first_scan > 0 else len(data)) > MAX_JPEG_MARKERS:
        raise ImageRefused(
            f"This JPEG has more than {MAX_JPEG_MARKERS:,} segments before its picture: save "
            "it again from a photo editor."
        )
    scans = data.count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS:
        raise ImageRefused(
            f"This JPEG is made of {scans} scans, more than the {MAX_JPEG_SCANS} we decode: "
            "save it again as a baseline or ordinary progressive JPEG."
        )


def _check_blocks(data: bytes) -> None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind, count = "chunks", _png_chunks(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        kind, count = "blocks before its picture", _gif_blocks(data)
    else:
        return
    if count > MAX_BLOCKS:
        raise ImageRefused(
            f"This image has more than {MAX_BLOCKS:,} {kind}: save it again from an image editor."
        )


def _png_chunks(data: bytes) -> int:
    """The PNG's chunks, counted up to MAX_BLOCKS + 1 (damage is for Pillow to name)."""
    at, count = 8, 0
    while at + 8 <= len(data) and count <= MAX_BLOCKS:
        at += 12 + int.from_bytes(data[at : at + 4], "big")
        count += 1
    return count


def _gif_blocks(data: bytes) -> int:
    """The GIF's extension sub-blocks before its first image descriptor, counted up to
    MAX_BLOCKS + 1 (GIF89a: header, screen, colour table, then 0x21 label size data ... 0)."""
    flags = data[10] if len(data) > 10 else 0
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    count = 0
    while at + 2 < len(data) and data[at] == 0x21 and count <= MAX_BLOCKS:
        at += 2
        while at < len(data) and count <= MAX_BLOCKS:
            size = data[at]
            at += 1 + size
            count += 1
            if size == 0:
                break
    return count


@contextmanager
def _bombs_refused() -> Iterator[None]:
    """Pillow's own guard (MAX_IMAGE_PIXELS: a warning, then an error at twice as many) as a
    refusal, in case a decoder meets more pixels than the header said."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            yield
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
            raise ImageRefused("This image decompresses to too many pixels.") from None


def _clean(picture: PILImage.Image) -> PILImage.Image:
    icc = picture.info.get("icc_profile")
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Scaled, not clipped: 16-bit 0-65535 to 8-bit 0-255.
        picture = picture.convert("I").point(lambda v: v / 256).convert("L")
    elif picture.mode == "P":
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
    elif picture.mode == "LA":
        picture = picture.convert("RGBA")
    if icc and picture.mode in ("RGB", "RGBA", "CMYK"):
        picture = _to_srgb(picture, icc)
    if picture.mode not in ("RGB", "RGBA", "L"):
        picture = picture.convert("RGB")
    # A new image of the pixels only: no EXIF (GPS), XMP, ICC or comment can follow it.
    clean = PILImage.new(picture.mode, picture.size)
    clean.paste(picture)
    return clean


def _to_srgb(picture: PILImage.Image, icc: bytes) -> PILImage.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if picture.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(picture, source, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        converted = None  # a broken profile: the pixels are taken as they are
    if converted is None:
        return picture if picture.mode != "CMYK" else picture.convert("RGB")
    return converted
