"""The composer in Debian's Chromium (issue 10, "a composer built for a live event"):
Publish in view without scrolling with a 10-line entry typed, at 1280x800 and 375x740; the
Markdown toolbar, its shortcuts and paste as Markdown (GitHub's vendored components, run
under the page's nonce-based CSP with no violation); publishing and saving drafts without a
reload; the compact published list; axe finds nothing."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests import pictures
from tests.browser import ARTIFACTS, off_the_browser_loop
from tests.e2e.test_csp import Watched
from tests.e2e.test_live_loop import PASSWORD, log_in, wait_for
from tests.e2e.test_reader_a11y import AXE, audit
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

TEN_LINES = [f"Line {n}: the minister takes questions from the floor." for n in range(1, 11)]
LONG = "\n\n".join(
    f"Paragraph {n} of a long entry, with enough words to fill a line." for n in range(8)
)


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def newsroom():
    event = EventFactory(
        slug="speech", title="Live: the minister's speech", summary="Questions from the floor."
    )
    reporter = UserFactory(username="rita", first_name="Rita", last_name="Reporter")
    reporter.set_password(PASSWORD)
    reporter.save()
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    for n in range(6):
        off_the_browser_loop(
            services.post_publish,
            event=event,
            author=reporter,
            body=LONG if n == 5 else f"Entry {n}: earlier.",
            published_at=timezone.now() - timedelta(minutes=30 - n),
        )
    return event, reporter


@pytest.fixture
def server():
    with asgi_servers(1) as (server,):
        yield server


def open_composer(browser, server, event, reporter, **context):
    watched = Watched(browser.new_context(**context))
    log_in(watched.page, server.url, reporter.username)
    watched.page.goto(f"{server.url}/editor/events/{event.slug}/")
    watched.page.wait_for_selector("[data-live][data-connected=true]")
    # Set on this document only: a full reload would lose it.
    watched.page.evaluate("window.__sameDocument = true")
    return watched


def body_of(page):
    return page.get_by_role("textbox", name="Entry")


def publish_button_is_in_view(page) -> bool:
    return page.evaluate(
        """() => {
        const button = [...document.querySelectorAll("button[value=publish]")][0];
        const box = button.getBoundingClientRect();
        const inside = box.top >= 0 && box.left >= 0
          && box.bottom <= innerHeight && box.right <= innerWidth;
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return inside && button.contains(hit);
    }"""
    )


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (375, 740)])
def test_publish_is_in_view_with_ten_lines_typed(
    browser, server, newsroom, screenshot, width, height
):
    event, reporter = newsroom
    composer = open_composer(
        browser, server, event, reporter, viewport={"width": width, "height": height}
    )
    page = composer.page
    assert page.evaluate("scrollY") == 0
    assert publish_button_is_in_view(page)

    body_of(page).click()
    page.keyboard.type("\n".join(TEN_LINES))

    assert body_of(page).input_value().count("\n") == 9
    assert publish_button_is_in_view(page)
    path = screenshot(page, f"composer-{width}x{height}")
    page.screenshot(path=str(path).replace(".png", "-viewport.png"))
    assert composer.violations() == []
    composer.page.context.close()


def test_toolbar_shortcuts_and_paste_write_markdown(browser, server, newsroom):
    event, reporter = newsroom
    composer = open_composer(browser, server, event, reporter)
    page = composer.page
    body = body_of(page)
    toolbar = page.get_by_role("toolbar", name="Formatting")
    assert toolbar.is_visible()
    for name in ["Heading", "Bold", "Italic", "Link", "Bulleted list", "Numbered list", "Quote"]:
        assert toolbar.get_by_role("button", name=name, exact=True).is_visible(), name

    body.fill("Mayor")
    body.press("Control+a")
    body.press("Control+b")
    assert body.input_value() == "**Mayor**"
    body.press("Control+a")
    body.press("Control+i")
    assert body.input_value() == "_**Mayor**_"

    body.fill("one\ntwo")
    body.press("Control+a")
    toolbar.get_by_role("button", name="Bulleted list").click()
    assert body.input_value() == "- one\n- two"

    body.fill("We will cut taxes.")
    body.press("Control+a")
    toolbar.get_by_role("button", name="Quote with speaker").click()
    page.keyboard.type("The minister")
    assert body.input_value() == "> We will cut taxes.\n> — The minister"

    # A URL pasted over selected words links them; a link copied from a page stays a link.
    body.fill("the budget")
    body.press("Control+a")
    paste(page, {"text/plain": "https://example.org/budget"})
    assert body.input_value() == "[the budget](https://example.org/budget)"
    body.fill("")
    paste(page, {"text/html": '<p>See <a href="https://example.org/p">the plan</a></p>',
                 "text/plain": "See the plan"})  # fmt: skip
    assert body.input_value() == "See [the plan](https://example.org/p)"
    body.fill("")
    # As a spreadsheet or a page puts a table on the clipboard: <meta charset> first.
    cells = "<tr><th>Session</th><th>Room</th></tr><tr><td>Keynote</td><td>Hall</td></tr>"
    table = f'<meta charset="utf-8"><table>{cells}</table>'
    paste(page, {"text/html": table, "text/plain": "Session\tRoom\nKeynote\tHall"})
    assert body.input_value().strip().splitlines() == [
        "Session | Room",
        "-- | --",
        "Keynote | Hall",
    ]

    body.fill("Results")
    body.press("Control+a")
    toolbar.get_by_role("button", name="Heading").click()
    assert body.input_value() == "### Results"
    assert composer.violations() == []
    composer.page.context.close()


def paste(page, data: dict[str, str]) -> None:
    page.evaluate(
        """(data) => {
        const transfer = new DataTransfer();
        for (const [type, value] of Object.entries(data)) transfer.setData(type, value);
        const body = document.querySelector("[data-body]");
        body.focus();
        const init = {clipboardData: transfer, bubbles: true, cancelable: true};
        body.dispatchEvent(new ClipboardEvent("paste", init));
    }""",
        data,
    )


def test_publish_and_save_draft_without_a_reload(browser, server, newsroom, screenshot):
    event, reporter = newsroom
    composer = open_composer(browser, server, event, reporter)
    page = composer.page
    body = body_of(page)
    stream = page.locator("[data-stream] article.entry")
    before = stream.count()

    body.fill("The minister **resigns**.")
    page.get_by_role("button", name="Publish").click()

    page.get_by_role("status").filter(has_text="Published.").wait_for()
    stream.filter(has_text="The minister resigns.").wait_for()
    assert stream.count() == before + 1
    assert body.input_value() == ""
    assert page.evaluate("document.activeElement === document.querySelector('[data-body]')")
    assert page.evaluate("window.__sameDocument") is True

    body.fill("A second one, straight after.")
    body.press("Control+Enter")
    stream.filter(has_text="A second one").wait_for()
    assert Post.objects.filter(event=event, status="published").count() == 8

    body.fill("Not yet: check the figure.")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("status").filter(has_text="Draft saved.").wait_for()
    draft = Post.objects.get(event=event, status="draft")
    page.locator(f"#draft-{draft.pk}").wait_for()
    assert page.locator("[data-drafts-count]").inner_text() == "1"
    assert page.locator("[data-drafts-empty]").is_hidden()

    screenshot(page, "composer-published-in-place")
    assert page.evaluate("window.__sameDocument") is True
    assert composer.violations() == []
    composer.page.context.close()


def test_an_error_shows_beside_the_field_and_loses_nothing(browser, server, newsroom):
    event, reporter = newsroom
    composer = open_composer(browser, server, event, reporter)
    page = composer.page
    page.get_by_label("Headline").fill("Kept")
    body_of(page).fill("Every word I typed.")
    page.get_by_label("Time").fill("half past ten")

    page.get_by_role("button", name="Publish").click()

    error = page.locator("#id_published_at_error")
    error.wait_for()
    assert "Type a time such as 10:30" in error.inner_text()
    time_input = page.get_by_label("Time")
    assert time_input.get_attribute("aria-invalid") == "true"
    assert "id_published_at_error" in time_input.get_attribute("aria-describedby")
    assert page.evaluate("document.activeElement.name") == "published_at"
    assert body_of(page).input_value() == "Every word I typed."
    assert page.get_by_label("Headline").input_value() == "Kept"
    assert not Post.objects.filter(body="Every word I typed.").exists()

    time_input.fill("")
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("status").filter(has_text="Published.").wait_for()
    assert page.locator("#id_published_at_error").count() == 0
    assert time_input.get_attribute("aria-invalid") is None
    wait_for(lambda: Post.objects.filter(body="Every word I typed.").exists())
    composer.page.context.close()


def test_without_javascript_the_form_posts_and_redirects(browser, server, newsroom):
    event, reporter = newsroom
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, server.url, reporter.username)
    page.goto(f"{server.url}/editor/events/{event.slug}/")
    assert page.get_by_role("toolbar").count() == 0  # hidden: its buttons need the script
    assert page.locator("[data-stream] .entry__body").first.evaluate(
        "el => el.scrollHeight <= el.clientHeight + 1"
    )  # no clamp without the Expand button

    body_of(page).fill("Posted by the browser itself.")
    page.get_by_label("Time").fill("2025-03-01 10:30")
    with page.expect_navigation():
        page.get_by_role("button", name="Publish").click()

    assert page.get_by_text("Published.").is_visible()
    post = Post.objects.get(body="Posted by the browser itself.")
    assert post.published_at.isoformat() == "2025-03-01T02:30:00+00:00"
    context.close()


def test_published_list_is_compact_with_an_expand_toggle(browser, server, newsroom):
    event, reporter = newsroom
    composer = open_composer(browser, server, event, reporter)
    page = composer.page
    long_entry = page.locator("[data-stream] article.entry", has_text="Paragraph 0")
    body = long_entry.locator(".entry__body")
    clipped = "el => el.scrollHeight > el.clientHeight + 1"
    assert body.evaluate(clipped)
    expand = long_entry.get_by_role("button", name="Expand")
    assert expand.get_attribute("aria-expanded") == "false"
    assert long_entry.get_by_role("link", name="Edit").is_visible()

    expand.click()

    assert expand.get_attribute("aria-expanded") == "true"
    assert not body.evaluate(clipped)
    assert "Paragraph 7" in body.inner_text()
    short = page.locator("[data-stream] article.entry", has_text="Entry 0: earlier.")
    assert short.get_by_role("button", name="Expand").is_hidden()  # nothing more to show

    snippet = page.locator("details.embed-snippet")
    assert snippet.get_attribute("open") is None
    assert page.locator("#embed-code").is_hidden()
    page.get_by_text("Embed on another site").click()
    assert page.locator("#embed-code").is_visible()
    composer.page.context.close()


def test_a_photo_entry_is_thumbnails_in_the_published_list_until_expanded(
    browser, newsroom, media_storage
):
    event, reporter = newsroom
    photo = services.image_upload(
        actor=reporter,
        event=event,
        file=io.BytesIO(pictures.photo(1600, 900)),
        alt="Delegates in the hall",
        caption="The hall fills up",
    )
    off_the_browser_loop(
        services.post_publish, event=event, author=reporter, body="Seats.", images=[photo.pk]
    )
    with asgi_servers(1, MEDIA_ROOT=str(media_storage)) as (server,):
        composer = open_composer(browser, server, event, reporter)
        entry = composer.page.locator("[data-stream] article.entry", has_text="Seats.")
        image = entry.locator(".entry__image img")
        image.wait_for()
        assert image.evaluate("i => i.getBoundingClientRect().height") < 100
        assert entry.locator(".entry__image figcaption").is_hidden()
        expand = entry.get_by_role("button", name="Expand")

        expand.click()

        assert image.evaluate("i => i.getBoundingClientRect().height") > 200
        assert entry.locator(".entry__image figcaption").is_visible()
        composer.page.context.close()


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (375, "light"), (375, "dark")])
def test_axe_finds_no_violation_on_the_composer(browser, server, newsroom, width, scheme):
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs it (npm ci)")
    event, reporter = newsroom
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    log_in(page, server.url, reporter.username)
    page.goto(f"{server.url}/editor/events/{event.slug}/")
    page.wait_for_selector("[data-live][data-connected=true]")
    page.get_by_text("Embed on another site").click()

    page.screenshot(path=str(ARTIFACTS / f"composer-axe-{width}-{scheme}.png"))
    assert audit(page, AXE) == []
    overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the composer scrolls sideways by {overflow}px at {width}px"
    context.close()
