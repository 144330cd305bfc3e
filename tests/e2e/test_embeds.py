"""Click-to-load embeds in a real browser (Debian's Chromium, static/js/embeds.js): before a
click the page asks nothing of any host but its own; a click (or Enter) puts the provider's
sandboxed frame in the card's place, loaded from the origin the policy allows, with no
violation; entries that arrive live work the same. The providers are routed to a stub page
(this machine is offline), so that a frame really loads."""

import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests.browser import ARTIFACTS, off_the_browser_loop
from tests.e2e.recording import SANDBOX, Recorded
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42"
X_POST = "https://x.com/jack/status/20"
SPOTIFY = "https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPWqT"


@pytest.fixture
def newsroom():
    event = EventFactory(slug="summit", title="Live: the summit")
    reporter = UserFactory(username="rita")
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    return event, reporter


def test_a_card_loads_nothing_before_the_click_and_its_sandboxed_frame_after(browser, newsroom):
    event, reporter = newsroom
    body = f"The summit opens.\n\n{YOUTUBE}\n\nAnd the reaction:\n\n{X_POST}"
    off_the_browser_loop(services.post_publish, event=event, author=reporter, body=body)
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        reader = Recorded(context)
        reader.page.goto(f"{server.url}/events/{event.slug}/")
        reader.page.wait_for_selector("[data-live][data-connected=true]")
        card = reader.page.locator("figure.embed--youtube")
        button = card.get_by_role("button", name="Load the video from YouTube")
        button.wait_for(state="visible")
        ARTIFACTS.mkdir(exist_ok=True)
        card.screenshot(path=str(ARTIFACTS / "embed-before-click.png"))

        assert reader.hosts() == {server.url}
        assert reader.page.locator("iframe").count() == 0

        button.click()
        frame = card.locator("iframe")
        frame.wait_for(state="attached")
        assert (
            frame.get_attribute("src")
            == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=42"
        )
        assert frame.get_attribute("sandbox") == SANDBOX
        assert frame.get_attribute("referrerpolicy") == "strict-origin-when-cross-origin"
        assert frame.get_attribute("title") == "Video from YouTube"
        assert reader.page.evaluate("document.activeElement.tagName") == "IFRAME"
        reader.wait_until(lambda: any("youtube-nocookie" in f.url for f in reader.page.frames))
        stub = next(f for f in reader.page.frames if "youtube-nocookie" in f.url)
        stub.wait_for_selector("text=A provider's player (stub).")
        card.screenshot(path=str(ARTIFACTS / "embed-after-click.png"))
        assert reader.hosts() == {server.url, "https://www.youtube-nocookie.com"}

        # The keyboard: Enter on the X card's button.
        reader.page.locator("figure.embed--x [data-embed-load]").focus()
        reader.page.keyboard.press("Enter")
        reader.page.locator("figure.embed--x iframe").wait_for(state="attached")
        reader.wait_until(lambda: "https://platform.twitter.com" in reader.hosts())

        # An entry that arrives live: the same listener loads it (at the top of the page, so
        # that it is shown at once rather than held behind "1 new update").
        reader.page.evaluate("scrollTo(0, 0)")
        off_the_browser_loop(
            services.post_publish, event=event, author=reporter, body=f"Now playing:\n\n{SPOTIFY}"
        )
        live = reader.page.locator("figure.embed--spotify")
        live.get_by_role("button", name="Load the audio from Spotify").click()
        live.locator("iframe").wait_for(state="attached")
        reader.wait_until(lambda: "https://open.spotify.com" in reader.hosts())

        reader.page.screenshot(path=str(ARTIFACTS / "embed-reader-page.png"), full_page=True)
        assert reader.violations() == []
    context.close()


def test_the_embed_and_permalink_pages_offer_the_card_and_load_nothing_before_a_click(
    browser, newsroom
):
    event, reporter = newsroom
    post, _ = off_the_browser_loop(
        services.post_publish, event=event, author=reporter, body=f"Watch:\n\n{YOUTUBE}"
    )
    context = browser.new_context()
    with asgi_servers(1) as (server,):
        reader = Recorded(context)
        for path in (f"/events/{event.slug}/embed/", f"/events/{event.slug}/posts/{post.id}/"):
            reader.page.goto(server.url + path)
            button = reader.page.locator("figure.embed--youtube [data-embed-load]")
            button.wait_for(state="visible")
            assert reader.hosts() == {server.url}, path
            button.click()
            reader.page.locator("figure.embed--youtube iframe").wait_for(state="attached")
            reader.wait_until(lambda: "https://www.youtube-nocookie.com" in reader.hosts())
            assert reader.violations() == [], path
            reader.requests.clear()
    context.close()


def test_without_javascript_a_card_is_a_link_and_shows_no_dead_button(browser, newsroom):
    event, reporter = newsroom
    off_the_browser_loop(services.post_publish, event=event, author=reporter, body=YOUTUBE)
    context = browser.new_context(java_script_enabled=False)
    with asgi_servers(1) as (server,):
        reader = Recorded(context)
        reader.page.goto(f"{server.url}/events/{event.slug}/")
        card = reader.page.locator("figure.embed--youtube")
        assert card.get_by_role("link", name=YOUTUBE).get_attribute("href") == YOUTUBE
        assert not card.locator("[data-embed-load]").is_visible()
        assert not card.locator(".embed__note").is_visible()  # it explains a missing button
        assert reader.hosts() == {server.url}
    context.close()
