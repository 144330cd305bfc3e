"""Photos on the reader page in Debian's Chromium against a real server process: the browser
picks a rendition from srcset and shows it at its aspect ratio, the box is reserved before the
file arrives (width and height), and an entry with a photo arriving live shows it too."""

import io

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests import pictures
from tests.browser import off_the_browser_loop
from tests.e2e.test_reader_page import wait_until
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LOADED = (
    "[...document.querySelectorAll('.entry__image img')]"
    ".every(i => i.complete && i.naturalWidth > 0)"
)


def test_photos_show_from_srcset_and_arrive_live(browser, screenshot, media_storage):
    event = EventFactory(title="Opening ceremony")
    author = UserFactory(username="photographer")
    Membership.objects.create(event=event, user=author, role=Membership.Role.REPORTER)

    def upload(data: bytes, **fields):
        fields.setdefault("alt", "Delegates applaud the opening speech")
        return services.image_upload(actor=author, event=event, file=io.BytesIO(data), **fields)

    first = upload(pictures.photo(2000, 1000), caption="The hall at 10 a.m.", credit="Photo: AFP")
    off_the_browser_loop(
        services.post_publish,
        event=event,
        author=author,
        body="The hall fills up.",
        images=[first.pk],
    )
    with asgi_servers(1, MEDIA_ROOT=str(media_storage)) as (server,):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server.url}/events/{event.slug}/")
        wait_until(page, LOADED)
        box = page.eval_on_selector(
            ".entry__image img",
            "i => ({w: i.clientWidth, h: i.clientHeight, src: i.currentSrc})",
        )
        assert abs(box["w"] / box["h"] - 2.0) < 0.02, box
        assert box["src"].endswith(("/960.webp", "/1600.webp", "/2000.webp")), box
        caption = page.inner_text(".entry__image figcaption")
        assert "The hall at 10 a.m." in caption and "Photo: AFP" in caption

        second = upload(pictures.rotated(6), alt="The speaker, standing")
        off_the_browser_loop(
            services.post_publish,
            event=event,
            author=author,
            body="The minister speaks.",
            images=[second.pk],
        )
        wait_until(page, "document.querySelectorAll('.entry__image img').length === 2")
        wait_until(page, LOADED)
        portrait = page.eval_on_selector(
            "img[alt='The speaker, standing']", "i => i.naturalHeight > i.naturalWidth"
        )
        assert portrait, "the EXIF orientation was applied"
        path = screenshot(page, "reader-photos")
        assert path.exists()
        assert errors == []
