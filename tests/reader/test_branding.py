"""The site's name, logo and accent colour, set by an admin (SiteSettings): checked by the
service, shown on every page and the embed, and part of every page's ETag."""

import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from liveblog.blog import branding, selectors, services
from liveblog.blog.models import AuditEntry, Event, SiteSettings

pytestmark = pytest.mark.django_db


def picture(kind: str = "PNG", size: tuple[int, int] = (120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (179, 0, 27)).save(out, kind)
    return out.getvalue()


def update(actor, **changes):
    return services.site_settings_update(actor=actor, **changes)


# --- the service ---------------------------------------------------------------------------


def test_an_admin_sets_name_and_accent_audited(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = update(admin, name="Daily Courier", accent="#0B5394")
    assert (row.name, row.accent, row.version) == ("Daily Courier", "#0b5394", 1)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.SITE_SETTINGS_CHANGED)
    assert entry.actor == admin
    assert entry.detail == {"fields": ["name", "accent"], "version": 1}
    assert selectors.site_brand().name == "Daily Courier"  # the cached brand was forgotten


def test_only_admins_change_the_brand(editor):
    with pytest.raises(PermissionDenied):
        update(editor, name="Mine")
    assert not SiteSettings.objects.exists()


@pytest.mark.parametrize("colour", ["red", "#12345", "#gggggg", "b3001b", "#b3001b;}"])
def test_a_malformed_colour_is_refused_naming_the_field(admin, colour):
    with pytest.raises(ValidationError) as refused:
        update(admin, accent=colour)
    assert "accent" in refused.value.message_dict
    assert "# and six hex digits" in refused.value.message_dict["accent"][0]


def test_a_colour_text_cannot_be_read_in_is_refused_with_its_ratio(admin):
    with pytest.raises(ValidationError) as refused:
        update(admin, accent="#ffcc00")
    (message,) = refused.value.message_dict["accent"]
    assert "contrast of 1.4:1" in message and "4.5:1 (WCAG AA)" in message
    assert not SiteSettings.objects.exists()  # nothing stored


def test_wcag_contrast_matches_known_values():
    assert branding.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert branding.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert branding.accent_problem("#767676") is not None  # 4.5 on white, not on the card grey
    assert branding.accent_problem("#b3001b") is None


def test_the_dark_theme_gets_a_readable_shade_of_the_accent():
    for accent in ("#b3001b", "#0b5394", "#000000", "#1a5e20"):
        dark = branding.dark_accent(accent)
        assert all(branding.contrast(dark, bg) >= 4.5 for bg in branding.DARK_BACKGROUNDS)


def test_a_logo_is_verified_and_kept_with_its_size(admin):
    row = update(admin, logo=picture("WEBP"))
    assert (row.logo_type, row.logo_width, row.logo_height) == ("image/webp", 120, 40)


def test_removing_the_logo_leaves_the_name_alone(admin, commit):
    commit(update, admin, name="Courier", logo=picture())
    row = commit(update, admin, remove_logo=True)
    assert (row.name, row.logo_type, bytes(row.logo)) == ("Courier", "", b"")
    assert '<img class="site-header__logo"' not in Client().get("/").content.decode()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
        (b"GIF89a not really", "not a PNG, JPEG or WebP"),
        (picture("PNG")[:60], "damaged"),
        (picture("GIF"), "A GIF logo is not accepted"),
        (picture("PNG", (2400, 10)), "at most 2000 on a side"),
        (b"\x89PNG" + b"0" * (SiteSettings.MAX_LOGO_BYTES + 1), "at most 256 KiB"),
    ],
)
def test_a_bad_logo_is_refused_with_a_clear_message(admin, content, words):
    with pytest.raises(ValidationError) as refused:
        update(admin, name="Kept?", logo=content)
    assert words in refused.value.message_dict["logo"][0]
    assert not SiteSettings.objects.exists()  # nothing stored, the name neither


# --- the pages -----------------------------------------------------------------------------


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_the_brand_is_on_the_pages_and_the_embed(event, admin, commit):
    commit(update, admin, name="Daily Courier", accent="#0b5394", logo=picture())
    client = Client()
    home = client.get("/").content.decode()
    assert "<span>Daily Courier</span>" in home
    logo = re.search(r'<img class="site-header__logo" src="([^"]+)" width="120" height="40"', home)
    assert logo, home[:2000]
    for url in (f"/events/{event.slug}/", f"/events/{event.slug}/embed/"):
        html = client.get(url).content.decode()
        sheet = re.search(r'<link rel="stylesheet" href="(/brand/(\d+)\.css)">', html)
        assert sheet and sheet.group(2) == str(selectors.site_brand().version), url
        assert "<style" not in html and " style=" not in html  # the CSP allows neither
    css = client.get(sheet.group(1))
    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in css["Cache-Control"]
    text = css.content.decode()
    assert ":root { --accent: #0b5394; }" in text
    assert f"--accent: {branding.dark_accent('#0b5394')};" in text
    event_html = client.get(f"/events/{event.slug}/").content.decode()
    assert '<meta property="og:site_name" content="Daily Courier">' in event_html
    served = client.get(logo.group(1))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert "immutable" in served["Cache-Control"]
    assert served.content == picture()


def test_the_default_accent_needs_no_stylesheet(event):
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert "/brand/" not in html


def test_an_old_brand_stylesheet_answers_the_current_colours_briefly(admin, commit):
    commit(update, admin, accent="#0b5394")
    commit(update, admin, accent="#1a5e20")
    old = Client().get("/brand/1.css")
    assert "#1a5e20" in old.content.decode() and "immutable" not in old["Cache-Control"]


def test_an_old_logo_address_is_gone_after_a_change(admin, commit):
    commit(update, admin, logo=picture())
    old = f"/brand/logo/{selectors.site_brand().version}.png"
    assert Client().get(old).status_code == 200
    commit(update, admin, logo=picture("JPEG"))
    assert Client().get(old).status_code == 404
    brand = selectors.site_brand()
    assert Client().get(f"/brand/logo/{brand.version}.jpeg").status_code == 200


def test_changing_the_brand_changes_every_pages_etag(event, admin, commit):
    client = Client()
    urls = [f"/events/{event.slug}/", f"/events/{event.slug}/embed/"]
    before = {url: client.get(url)["ETag"] for url in urls}
    again = {url: client.get(url, headers={"if-none-match": before[url]}) for url in urls}
    assert all(r.status_code == 304 for r in again.values())
    commit(update, admin, accent="#0b5394")
    for url in urls:
        response = client.get(url, headers={"if-none-match": before[url]})
        assert response.status_code == 200, url  # not the cached copy of the old brand
        assert response["ETag"] != before[url]
        assert "/brand/1.css" in response.content.decode()


def test_a_cache_revalidating_by_date_gets_the_new_brand(event, admin, commit):
    # An event last changed an hour ago (HTTP dates count whole seconds).
    Event.objects.filter(pk=event.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    client = Client()
    url = f"/events/{event.slug}/"
    modified = client.get(url)["Last-Modified"]
    assert client.get(url, headers={"if-modified-since": modified}).status_code == 304
    commit(update, admin, accent="#0b5394")
    response = client.get(url, headers={"if-modified-since": modified})
    assert response.status_code == 200, "a page of the old brand kept by date"


# --- the admin -----------------------------------------------------------------------------


def test_the_admin_edits_the_one_row_through_the_service(admin, client_for):
    client = client_for(admin)
    listing = client.get("/admin/blog/sitesettings/")
    assert listing.status_code == 302 and listing["Location"].endswith("/sitesettings/1/change/")
    form = client.get(listing["Location"])
    assert form.status_code == 200 and "Live blog" in form.content.decode()
    response = client.post(
        listing["Location"],
        {
            "name": "Courier",
            "accent": "#0B5394",
            "logo_file": SimpleUploadedFile("l.png", picture()),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    row = SiteSettings.objects.get()
    assert (row.name, row.accent, row.logo_type, row.version) == (
        "Courier",
        "#0b5394",
        "image/png",
        1,
    )
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SITE_SETTINGS_CHANGED).count() == 1


def test_the_admin_shows_a_refused_colour_and_svg_next_to_their_fields(admin, client_for):
    svg = SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    response = client_for(admin).post(
        "/admin/blog/sitesettings/1/change/",
        {"name": "Courier", "accent": "#ffcc00", "logo_file": svg},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "4.5:1 (WCAG AA)" in html and "SVG" in html
    assert not SiteSettings.objects.exists()
