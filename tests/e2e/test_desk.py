"""Issue 10, acceptance 1: the whole desk in Debian's Chromium. A reporter publishes through
the composer a text entry, a quote with its speaker, photos picked with the file picker,
dropped on the form and pasted into the entry, a YouTube link and an X link alone on a line;
a reader in a second browser context sees each arrive live, in its place, rendered as it
should be, with no request to any host but the site's before a click (the request log), and
the provider's frame after clicking the YouTube card (the providers' hosts are routed to a
stub page: this machine is offline)."""

import base64

import pytest

from liveblog.blog.models import Membership, Post
from tests import pictures
from tests.browser import ARTIFACTS
from tests.e2e.recording import SANDBOX, Recorded
from tests.e2e.test_csp import WATCH
from tests.e2e.test_live_loop import PASSWORD, log_in, wait_for
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
X_POST = "https://x.com/jack/status/20"
QUOTE = "> We will open our doors wider.\n> — Liu Yunshan"


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The servers run in other processes with the real hashers (as tests/e2e)."""


@pytest.fixture
def desk():
    event = EventFactory(slug="plenary", title="Live: the plenary session", order="newest")
    reporter = UserFactory(username="rita", first_name="Rita", last_name="Reporter")
    reporter.set_password(PASSWORD)
    reporter.save()
    Membership.objects.create(event=event, user=reporter, role=Membership.Role.REPORTER)
    return event, reporter


def jpeg(width: int, height: int) -> str:
    return base64.b64encode(pictures.photo(width, height)).decode()


# A File built in the page from the bytes the test passes, in a DataTransfer, as a browser
# builds one for a drop or a paste.
TRANSFER = """
  (files) => {
    const transfer = new DataTransfer();
    for (const {name, type, data} of files) {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, {type}));
    }
    return transfer;
  }
"""

DROP = f"""(files) => {{
  const transfer = ({TRANSFER})(files);
  const form = document.querySelector("[data-post-form]");
  const at = {{bubbles: true, cancelable: true, dataTransfer: transfer}};
  form.dispatchEvent(new DragEvent("dragenter", at));
  form.dispatchEvent(new DragEvent("dragover", at));
  return form.dispatchEvent(new DragEvent("drop", at));
}}"""

PASTE = f"""(files) => {{
  const transfer = ({TRANSFER})(files);
  const body = document.querySelector("[data-body]");
  body.focus();
  const init = {{clipboardData: transfer, bubbles: true, cancelable: true}};
  return body.dispatchEvent(new ClipboardEvent("paste", init));
}}"""


class Composer:
    def __init__(self, page, reader):
        self.page = page
        self.reader = reader
        self.body = page.get_by_role("textbox", name="Entry")
        self.photos = page.locator("[data-upload-list] > [data-upload]")

    def uploaded(self, count: int) -> None:
        self.page.wait_for_function(
            "n => document.querySelectorAll('[data-upload-list] > [data-upload]').length === n"
            " && !document.querySelector('[data-pending]')",
            arg=count,
        )

    def describe(self, n: int, alt: str, caption: str = "", credit: str = "") -> None:
        photo = self.photos.nth(n)
        photo.get_by_label("Alt text").fill(alt)
        photo.get_by_label("Caption").fill(caption)
        photo.get_by_label("Credit").fill(credit)

    def publish(self, text: str | None = None) -> Post:
        """Publish what the form holds (with `text` as its body) and wait until the reader
        shows it first: the newest entry of the event, live, with no reload."""
        before = Post.objects.count()
        if text is not None:
            self.body.fill(text)
        self.page.get_by_role("button", name="Publish").click()
        self.page.get_by_role("status").filter(has_text="Published.").wait_for()
        wait_for(lambda: Post.objects.count() == before + 1)
        post = Post.objects.order_by("-id").first()
        self.reader.page.locator(f"[data-stream] article.entry#post-{post.pk}").wait_for()
        first = self.reader.page.locator("[data-stream] article.entry").first
        assert first.get_attribute("id") == f"post-{post.pk}"
        assert self.photos.count() == 0  # the form is empty for the next entry
        return post


def test_the_desk_publishes_every_kind_of_entry_and_a_reader_sees_each_live(
    browser, desk, media_storage
):
    event, reporter = desk
    ARTIFACTS.mkdir(exist_ok=True)
    with asgi_servers(1, MEDIA_ROOT=str(media_storage)) as (server,):
        reader = Recorded(browser.new_context(viewport={"width": 1280, "height": 900}))
        reader.page.goto(f"{server.url}/events/{event.slug}/")
        reader.page.wait_for_selector("[data-live][data-connected=true]")
        writer = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = writer.new_page()
        page.add_init_script(WATCH)
        log_in(page, server.url, reporter.username)
        page.goto(f"{server.url}/editor/events/{event.slug}/")
        page.wait_for_selector("[data-live][data-connected=true]")
        page.evaluate("window.__sameDocument = true")
        composer = Composer(page, reader)

        # (1) Text.
        text = composer.publish("The plenary session opens in the Great Hall.")

        # (2) A quote with its speaker.
        quote = composer.publish(QUOTE)

        # (3) Two photos picked with the file picker; the second moved up; Publish refused
        # until each has alt text, the message beside the field.
        page.get_by_label("Add photos").set_input_files(
            [
                {
                    "name": "hall.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": base64.b64decode(jpeg(1600, 900)),
                },
                {
                    "name": "stage.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": base64.b64decode(jpeg(1200, 800)),
                },
            ]
        )
        composer.uploaded(2)
        composer.body.fill("Delegates take their seats.")
        composer.describe(0, "Delegates in the hall", "The hall fills up", "Photo: Ann Lee")
        page.get_by_role("button", name="Publish").click()
        alt = composer.photos.nth(1).get_by_label("Alt text")
        assert "Alt text is required to publish" in composer.photos.nth(1).inner_text()
        assert alt.get_attribute("aria-invalid") == "true"
        assert page.evaluate("document.activeElement.name") == alt.get_attribute("name")
        assert Post.objects.count() == 2  # nothing sent
        composer.describe(1, "The stage, seen from the press seats")
        composer.photos.nth(1).get_by_role("button", name="Move up").click()
        page.screenshot(path=str(ARTIFACTS / "desk-composer-photos.png"), full_page=True)
        picked = composer.publish()

        # (4) A photo dropped on the form, with a file that is not a picture beside it: its
        # refusal, the server's sentence, shows next to its name and keeps what is typed.
        composer.body.fill("The premier arrives.")
        dropped_files = [
            {"name": "premier.jpg", "type": "image/jpeg", "data": jpeg(1000, 1000)},
            {
                "name": "notes.jpg",
                "type": "image/jpeg",
                "data": base64.b64encode(b"%PDF-1.7").decode(),
            },
        ]
        assert page.evaluate(DROP, dropped_files) is False  # handled: the browser opens nothing
        composer.uploaded(1)
        refusal = page.locator(".upload--refused")
        refusal.wait_for()
        assert "notes.jpg" in refusal.inner_text()
        assert "not an image we accept" in refusal.inner_text()
        assert composer.body.input_value() == "The premier arrives."
        composer.describe(0, "The premier at the door")
        refusal.get_by_role("button", name="Dismiss").click()
        dropped = composer.publish()

        # (5) A photo pasted into the entry: uploaded, and nothing pasted as text.
        composer.body.fill("The vote, by show of hands.")
        assert (
            page.evaluate(
                PASTE, [{"name": "image.png", "type": "image/jpeg", "data": jpeg(900, 600)}]
            )
            is False
        )
        composer.uploaded(1)
        assert composer.body.input_value() == "The vote, by show of hands."
        composer.describe(0, "Hands raised for the vote", "The vote")
        pasted = composer.publish()

        # (6) and (7): a YouTube link and an X link alone on a line.
        video = composer.publish(f"The speech in full:\n\n{YOUTUBE}")
        social = composer.publish(f"The reaction:\n\n{X_POST}")

        # The reader saw all of them, newest first, each rendered as it should be.
        stream = reader.page.locator("[data-stream] article.entry")
        published = [social, video, pasted, dropped, picked, quote, text]
        ids = stream.evaluate_all("els => els.map(e => e.id)")
        assert ids == [f"post-{post.pk}" for post in published]
        assert "Great Hall" in reader.page.locator(f"#post-{text.pk}").inner_text()
        said = reader.page.locator(f"#post-{quote.pk} figure blockquote")
        assert "We will open our doors wider." in said.inner_text()
        speaker = reader.page.locator(f"#post-{quote.pk} figure figcaption")
        assert "Liu Yunshan" in speaker.inner_text()

        def photos_of(post):
            return reader.page.locator(f"#post-{post.pk} figure.entry__image img").evaluate_all(
                "els => els.map(i => [i.alt, i.getAttribute('srcset') || '', i.width > 0])"
            )

        shown = photos_of(picked)
        assert [alt for alt, _s, _w in shown] == [
            "The stage, seen from the press seats",
            "Delegates in the hall",
        ]
        assert all(srcset.count("w,") >= 1 and visible for _a, srcset, visible in shown)
        caption = reader.page.locator(f"#post-{picked.pk} figure.entry__image figcaption").last
        assert "The hall fills up" in caption.inner_text() and "Ann Lee" in caption.inner_text()
        assert [a for a, _s, _w in photos_of(dropped)] == ["The premier at the door"]
        assert [a for a, _s, _w in photos_of(pasted)] == ["Hands raised for the vote"]
        assert all(s for _a, s, _w in photos_of(pasted))
        youtube = reader.page.locator(f"#post-{video.pk} figure.embed--youtube")
        x_card = reader.page.locator(f"#post-{social.pk} figure.embed--x")
        assert youtube.count() == 1 and x_card.count() == 1
        reader.page.wait_for_function(
            "[...document.querySelectorAll('.entry__image img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        reader.page.screenshot(path=str(ARTIFACTS / "desk-reader.png"), full_page=True)

        # Nothing but the site itself before the click; the provider's frame after it.
        assert reader.hosts() == {server.url}
        assert reader.page.locator("iframe").count() == 0
        youtube.get_by_role("button", name="Load the video from YouTube").click()
        frame = youtube.locator("iframe")
        frame.wait_for(state="attached")
        assert frame.get_attribute("sandbox") == SANDBOX
        # Waited for through Playwright (which keeps its events flowing while it waits).
        player = youtube.frame_locator("iframe").get_by_text("A provider's player (stub).")
        player.wait_for()
        assert any("youtube-nocookie.com/embed/" in f.url for f in reader.page.frames)
        assert reader.hosts() == {server.url, "https://www.youtube-nocookie.com"}
        assert reader.violations() == []
        assert page.evaluate("window.__violations") == []
        assert page.evaluate("window.__sameDocument") is True  # seven entries, no reload
        writer.close()
        reader.page.context.close()
