"""Real picture files made with Pillow for the image tests: photos with EXIF and GPS, an
orientation tag, CMYK, 16-bit, animations, transparency, and the files that must be refused
(a truncated JPEG, a decompression bomb)."""

import io
import os
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
GPS_LATITUDE_REF, GPS_LATITUDE = 1, 2


def encode(picture: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return out.getvalue()


def photo(width: int = 2000, height: int = 1000, fmt: str = "JPEG", **options) -> bytes:
    """A photo-like gradient (compresses as a photo does, unlike one flat colour); the left
    half red, the right half blue, so orientation can be checked."""
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    left = Image.new("RGB", (width // 2, height), (220, 30, 30))
    picture.paste(left, (0, 0))
    right = Image.new("RGB", (width - width // 2, height), (30, 30, 220))
    picture.paste(right, (width // 2, 0))
    return encode(picture, fmt, **options)


def noise(width: int, height: int, quality: int = 95) -> bytes:
    """A JPEG that does not compress: its size grows with its pixels (about 1 byte each)."""
    picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    return encode(picture, "JPEG", quality=quality)


def with_gps(width: int = 1200, height: int = 800) -> bytes:
    """A JPEG whose EXIF has a camera, a GPS position (IFD 0x8825) and an XMP packet."""
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x0110] = "Camera model"  # Model
    exif.get_ifd(GPS_IFD).update({GPS_LATITUDE_REF: "N", GPS_LATITUDE: (48.0, 51.0, 24.0)})
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    return photo(width, height, exif=exif.tobytes(), xmp=xmp)


def rotated(orientation: int = 6) -> bytes:
    """A 1200x600 landscape stored with an EXIF orientation: 6 means "rotate 90° clockwise to
    view", so it shows as a 600x1200 portrait."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return photo(1200, 600, exif=exif.tobytes())


def truncated() -> bytes:
    whole = photo(1200, 800)
    return whole[: len(whole) * 2 // 3]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb(side: int = 100_000) -> bytes:
    """A decompression bomb: a PNG of side x side pixels (10 gigapixels), one bit deep, whose
    few kilobytes inflate to over a gigabyte. Made by hand, as Pillow refuses to make one."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(200)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def png_48bit(width: int = 64, height: int = 32) -> bytes:
    """An RGB PNG with 16 bits per channel (48-bit), written by hand."""
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    row = b"\x00" + struct.pack(">HHH", 65535, 32768, 0) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row * height))
        + png_chunk(b"IEND", b"")
    )


def grey_16bit(width: int = 64, height: int = 32, value: int = 32768) -> bytes:
    return encode(Image.new("I;16", (width, height), value), "PNG")


def cmyk(width: int = 800, height: int = 400) -> bytes:
    return encode(Image.new("CMYK", (width, height), (0, 255, 255, 0)), "JPEG")  # red


def animated(fmt: str = "GIF") -> bytes:
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("red", "green", "blue")]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def transparent(width: int = 300, height: int = 200) -> bytes:
    return encode(Image.new("RGBA", (width, height), (255, 0, 0, 0)), "PNG")


def heic_header() -> bytes:
    """The start of an iPhone HEIC file (an ISO BMFF `ftyp` box of brand heic)."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic" + b"\x00" * 64
