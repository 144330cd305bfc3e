"""The site's brand (models.SiteSettings): what makes an accent colour safe to show text in,
the colours derived from it, and the check of an uploaded logo.

The contrast ratio is WCAG 2.x's own definition (relative luminance of sRGB), a few lines
of arithmetic from the specification: no library of the project's size does only this.
"""

import io
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

from liveblog.blog.models import SiteSettings

# WCAG 2.x AA for normal text. The accent colours text (entry times) and is the background
# of text (the Live badge, primary buttons, the Breaking label).
MIN_CONTRAST = 4.5
# The light theme's backgrounds the accent sits on (site.css --bg and --card): the ratio
# must hold against the darker of them.
LIGHT_BACKGROUNDS = ("#ffffff", "#f6f6f6")
LIGHT_TEXT = "#ffffff"
# The dark theme's (site.css dark --bg and --card).
DARK_BACKGROUNDS = ("#121212", "#1e1e1e")


def _channels(hex_colour: str) -> tuple[float, float, float]:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def luminance(hex_colour: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def accent_problem(accent: str) -> str | None:
    """Why `accent` cannot be the light theme's accent, or None when it can."""
    worst = min(contrast(accent, background) for background in LIGHT_BACKGROUNDS)
    if worst >= MIN_CONTRAST:
        return None
    return (
        f"The accent colour {accent} has a contrast of {worst:.1f}:1 with the page background; "
        f"text in it needs at least {MIN_CONTRAST}:1 (WCAG AA). Choose a darker colour."
    )


def _mix(colour: str, other: str, share: float) -> str:
    mixed = (
        round((1 - share) * c * 255 + share * o * 255)
        for c, o in zip(_channels(colour), _channels(other), strict=True)
    )
    return "#" + "".join(f"{c:02x}" for c in mixed)


def dark_accent(accent: str) -> str:
    """The accent lightened (mixed with white) just enough to pass AA on the dark theme's
    backgrounds: a dark red stays recognisably the brand's red, and readable."""
    for step in range(21):
        candidate = _mix(accent, "#ffffff", step / 20)
        if min(contrast(candidate, bg) for bg in DARK_BACKGROUNDS) >= MIN_CONTRAST:
            return candidate
    return "#ffffff"


@dataclass(frozen=True)
class Brand:
    """What the pages need of the settings (no logo bytes): small, cached, picklable."""

    name: str
    accent: str
    accent_dark: str
    logo_type: str
    logo_width: int
    logo_height: int
    version: int
    updated_at: datetime | None = None

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_type)

    @property
    def is_custom(self) -> bool:
        """An accent other than site.css's own (which has its own dark shade)."""
        return self.accent != SiteSettings.DEFAULT_ACCENT

    @property
    def logo_extension(self) -> str:
        return self.logo_type.rpartition("/")[2]

    @classmethod
    def of(cls, settings: SiteSettings) -> "Brand":
        return cls(
            name=settings.name,
            accent=settings.accent.lower(),
            accent_dark=dark_accent(settings.accent.lower()),
            logo_type=settings.logo_type,
            logo_width=settings.logo_width,
            logo_height=settings.logo_height,
            version=settings.version,
            updated_at=settings.updated_at,
        )


@dataclass(frozen=True)
class Logo:
    content: bytes
    content_type: str
    width: int
    height: int


def logo_checked(content: bytes) -> Logo:
    """The uploaded logo, opened and verified by Pillow, or a ValidationError on `logo` that
    says what is wrong. SVG is refused: it can carry script."""
    if len(content) > SiteSettings.MAX_LOGO_BYTES:
        raise ValidationError(
            {"logo": [f"The logo is {len(content) // 1024:,} KiB; at most "
                      f"{SiteSettings.MAX_LOGO_BYTES // 1024} KiB."]}
        )  # fmt: skip
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind, size = image.format, image.size
            image.verify()
    # ValueError: Pillow's PNG reader for a short header (found by fuzzing; it was a 500).
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            {"logo": ["This is not a PNG, JPEG or WebP picture (or it is damaged). SVG is "
                      "not accepted: it can carry script."]}
        ) from None  # fmt: skip
    if kind not in SiteSettings.LOGO_TYPES:
        raise ValidationError({"logo": [f"A {kind} logo is not accepted: PNG, JPEG or WebP."]})
    if max(size) > SiteSettings.MAX_LOGO_SIDE:
        raise ValidationError(
            {"logo": [f"The logo is {size[0]} x {size[1]} pixels; at most "
                      f"{SiteSettings.MAX_LOGO_SIDE} on a side."]}
        )  # fmt: skip
    return Logo(content, SiteSettings.LOGO_TYPES[kind], *size)
