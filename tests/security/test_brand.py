"""Red team (issue 10) on the site's brand: the logo check, the accent stylesheet."""

import pytest
from django.core.exceptions import ValidationError

from liveblog.blog import branding, services
from liveblog.blog.models import SiteSettings
from tests import pictures

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_logo_with_a_truncated_header_is_refused_naming_logo_not_a_server_error(admin):
    """Found by fuzzing 370,000 mutated logos: Pillow raises ValueError for a short IHDR."""
    damaged = PNG + pictures.png_chunk(b"IHDR", bytes(5)) + pictures.png_chunk(b"IEND", b"")
    with pytest.raises(ValidationError) as refused:
        branding.logo_checked(damaged)
    assert list(refused.value.message_dict) == ["logo"]
    with pytest.raises(ValidationError):
        services.site_settings_update(actor=admin, logo=damaged)
    assert not SiteSettings.objects.exclude(logo_type="").exists()


@pytest.mark.parametrize(
    "accent", ["#000000;}*{x:y", "#00000g", "red", "#0000001", "#000\n", " #000000;", "#00000"]
)
def test_an_accent_that_is_not_six_hex_digits_never_reaches_the_stylesheet(admin, accent, client):
    with pytest.raises(ValidationError) as refused:
        services.site_settings_update(actor=admin, accent=accent)
    assert "accent" in refused.value.message_dict
    brand = client.get("/brand/1.css").content.decode()
    assert ";}" not in brand and "x:y" not in brand
