"""The photos of an entry in Debian's Chromium, on the edit page (static/js/uploads.js):
the entry's photos listed in order, removed, moved and re-described, then saved by the plain
POST of the edit form; without JavaScript the photos are kept and can be described; axe finds
nothing on a form with photos, light and dark, wide and at 375 px."""

import io

import pytest

from liveblog.blog import services
from liveblog.blog.models import Image, Post
from tests import pictures
from tests.browser import ARTIFACTS, off_the_browser_loop
from tests.e2e.test_csp import Watched
from tests.e2e.test_live_loop import log_in
from tests.e2e.test_reader_a11y import AXE, audit
from tests.editor.test_composer_browser import newsroom  # noqa: F401 - a fixture
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def server(media_storage):
    with asgi_servers(1, MEDIA_ROOT=str(media_storage)) as (server,):
        yield server


@pytest.fixture
def with_photos(newsroom):  # noqa: F811
    event, reporter = newsroom
    images = [
        services.image_upload(
            actor=reporter,
            event=event,
            file=io.BytesIO(pictures.photo(900 + 100 * n, 600)),
            alt=f"Photo {n}",
        )
        for n in (1, 2, 3)
    ]
    post, _ = off_the_browser_loop(
        services.post_publish,
        event=event,
        author=reporter,
        body="Three photos of the hall.",
        images=[image.pk for image in images],
    )
    return event, reporter, post, [image.pk for image in images]


def edit_page(browser, server, event, reporter, post, **context):
    watched = Watched(browser.new_context(**context))
    log_in(watched.page, server.url, reporter.username)
    watched.page.goto(f"{server.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
    return watched


def shown_ids(page) -> list[int]:
    ids = page.locator("[data-upload]").evaluate_all("els => els.map(e => e.dataset.imageId)")
    return [int(pk) for pk in ids]


def test_the_edit_page_removes_moves_and_describes_the_photos(browser, server, with_photos):
    event, reporter, post, (one, two, three) = with_photos
    editing = edit_page(browser, server, event, reporter, post)
    page = editing.page
    photos = page.locator("[data-upload]")
    assert shown_ids(page) == [one, two, three]
    assert photos.first.get_by_role("button", name="Move up").is_disabled()
    assert photos.last.get_by_role("button", name="Move down").is_disabled()

    photos.nth(1).get_by_role("button", name="Remove photo").click()
    assert shown_ids(page) == [one, three]
    assert page.evaluate("document.activeElement.textContent") == "Remove photo"
    photos.last.get_by_role("button", name="Move up").click()
    assert shown_ids(page) == [three, one]
    assert page.evaluate("document.activeElement.textContent") == "Move down"
    photos.first.get_by_label("Caption").fill("The hall, from the back")
    photos.last.get_by_label("Alt text").fill("")
    page.get_by_role("button", name="Update entry").click()

    # Refused here, beside the field; nothing sent.
    assert "Alt text is required to publish" in photos.last.inner_text()
    assert [i.pk for i in Post.objects.get(pk=post.pk).ordered_images] == [one, two, three]
    photos.last.get_by_label("Decorative").check()
    assert "Alt text is required" not in photos.last.inner_text()
    page.screenshot(path=str(ARTIFACTS / "edit-photos.png"), full_page=True)
    page.get_by_role("button", name="Update entry").click()
    page.wait_for_url(f"**/editor/events/{event.slug}/#post-{post.pk}")

    assert [i.pk for i in Post.objects.get(pk=post.pk).ordered_images] == [three, one]
    assert Image.objects.get(pk=three).caption == "The hall, from the back"
    assert Image.objects.get(pk=one).decorative
    assert editing.violations() == []
    page.context.close()


def test_without_javascript_the_photos_are_kept_and_can_be_described(browser, server, with_photos):
    event, reporter, post, ids = with_photos
    editing = edit_page(browser, server, event, reporter, post, java_script_enabled=False)
    page = editing.page
    assert shown_ids(page) == ids
    assert page.get_by_label("Add photos").is_hidden()  # it needs the script: not offered
    # Playwright turns scripts off after the parser (noscript stays raw text): its source.
    note = page.locator("[data-images] noscript").inner_html()
    assert "Adding photos needs JavaScript" in note
    assert page.get_by_role("button", name="Remove photo").first.is_hidden()

    page.locator("[data-upload]").nth(2).get_by_label("Credit").fill("Photo: Ann Lee")
    page.get_by_role("button", name="Update entry").click()
    page.wait_for_url(f"**/editor/events/{event.slug}/#post-{post.pk}")

    assert [i.pk for i in Post.objects.get(pk=post.pk).ordered_images] == ids
    assert Image.objects.get(pk=ids[2]).credit == "Photo: Ann Lee"
    page.context.close()


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (375, "dark")])
def test_axe_finds_no_violation_on_a_form_with_photos(browser, server, with_photos, width, scheme):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs it (npm ci)")
    event, reporter, post, _ids = with_photos
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    log_in(page, server.url, reporter.username)
    page.goto(f"{server.url}/editor/events/{event.slug}/posts/{post.pk}/edit/")
    page.locator("[data-upload]").first.get_by_label("Alt text").fill("")
    page.get_by_role("button", name="Update entry").click()  # an error beside a photo
    page.locator(".upload .errorlist").wait_for()

    page.screenshot(path=str(ARTIFACTS / f"edit-photos-axe-{width}-{scheme}.png"), full_page=True)
    assert audit(page, AXE) == []
    overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the form scrolls sideways by {overflow}px at {width}px"
    context.close()
