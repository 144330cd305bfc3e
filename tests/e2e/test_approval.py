"""Issue 11, acceptance 1 (approval) in Debian's Chromium: a contributor submits an entry
through the composer; an editor's open page shows it in its queue when the desk says so (the
"desk:message" event desk.js dispatches, dispatched here by the test: the desk socket is
another part's); the editor approves it; a reader's page, open all along, receives it live
without a reload. Three browser contexts: three people."""

import io

import pytest
from playwright.sync_api import expect

from liveblog.blog import services
from liveblog.blog.models import Membership, Post
from tests import pictures
from tests.browser import ARTIFACTS, off_the_browser_loop
from tests.e2e.test_live_loop import PASSWORD, log_in
from tests.e2e.test_reader_a11y import AXE, audit
from tests.factories import EventFactory, UserFactory
from tests.servers import asgi_servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

TEXT = "Fire crews have reached the warehouse on Dock Road."

# What desk.js dispatches for every frame of the editor page's socket (liveblog.live.desk).
DESK_NUDGE = """(postId) => window.dispatchEvent(new CustomEvent("desk:message", {detail: {
  type: "desk.changed", what: "submission", post_id: postId, status: "submitted", by: "cora"}}))"""


def person(username: str, first: str, last: str, event, role: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(event=event, user=user, role=role)
    return user


@pytest.fixture
def newsroom():
    event = EventFactory(slug="harbour-fire", title="Live: fire at the harbour", order="newest")
    person("cora", "Cora", "Kent", event, Membership.Role.CONTRIBUTOR)
    person("erin", "Erin", "Editor", event, Membership.Role.EDITOR)
    return event


def test_a_contributors_entry_is_approved_by_an_editor_and_reaches_readers_live(
    browser, newsroom, media_storage
):
    event = newsroom
    # Another contributor's photo entry already waits: the queue shows its photo too.
    dan = person("dan", "Dan", "Lee", event, Membership.Role.CONTRIBUTOR)
    photo = services.image_upload(
        actor=dan,
        event=event,
        file=io.BytesIO(pictures.photo(1200, 800)),
        alt="Smoke rises over the warehouse roofs",
    )
    off_the_browser_loop(
        services.post_publish,
        event=event,
        author=dan,
        body="Thick smoke over the east quay, seen from the ferry.",
        images=[photo.pk],
    )
    with asgi_servers(1, MEDIA_ROOT=str(media_storage)) as (server,):
        base = server.url
        compose = f"{base}/editor/events/{event.slug}/"

        reader = browser.new_context().new_page()
        reader.goto(f"{base}/events/{event.slug}/")
        reader.wait_for_selector("[data-live][data-connected=true]")
        reader.evaluate("window.__notReloaded = true")

        editor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        log_in(editor, base, "erin")
        editor.goto(compose)
        queue = editor.locator("[data-queue]")
        expect(queue.get_by_role("heading", name="Waiting for approval")).to_be_visible()
        expect(queue.locator(".submission")).to_have_count(1)
        expect(
            queue.get_by_role("img", name="Smoke rises over the warehouse roofs")
        ).to_be_visible()

        contributor = browser.new_context().new_page()
        log_in(contributor, base, "cora")
        contributor.goto(compose)
        contributor.get_by_label("Headline").fill("Warehouse fire")
        contributor.get_by_role("textbox", name="Entry").fill(TEXT)
        expect(contributor.get_by_role("button", name="Publish")).to_have_count(0)
        contributor.get_by_role("button", name="Submit for approval").click()
        expect(contributor.locator("[data-form-status]")).to_have_text(
            "Submitted for approval: an editor will publish it."
        )
        mine = contributor.locator("[data-queue] .submission", has_text=TEXT)
        expect(mine).to_contain_text("Waiting for approval")
        ARTIFACTS.mkdir(exist_ok=True)
        contributor.locator("[data-queue]").screenshot(path=str(ARTIFACTS / "approval-mine.png"))
        post = Post.objects.get(body=TEXT)
        assert post.status == Post.Status.SUBMITTED

        # Nothing reached the reader; the editor's queue got it by itself, through the desk
        # socket (no reload, no nudge).
        expect(reader.locator("article.entry", has_text=TEXT)).to_have_count(0)
        submission = queue.locator(f"#submission-{post.pk}")
        expect(submission).to_contain_text(TEXT)
        expect(submission.locator(".submission__author")).to_have_text("Cora Kent")
        expect(queue.locator("[data-queue-count]")).to_contain_text("2")
        ARTIFACTS.mkdir(exist_ok=True)
        queue.screenshot(path=str(ARTIFACTS / "approval-queue.png"))
        submission.locator("summary", has_text="Send back").click()
        queue.screenshot(path=str(ARTIFACTS / "approval-queue-send-back-open.png"))
        submission.locator("summary", has_text="Send back").click()

        submission.get_by_role("button", name="Approve").click()
        expect(queue.locator("[data-queue-status]")).to_have_text(
            "Approved: Cora Kent's entry is published."
        )
        expect(queue.locator(f"#submission-{post.pk}")).to_have_count(0)

        live = reader.locator(f"#post-{post.pk}")
        expect(live).to_contain_text(TEXT)
        expect(live).to_contain_text("Warehouse fire")
        assert reader.evaluate("window.__notReloaded") is True

        # The contributor's list, told by the desk, no longer shows it waiting.
        expect(mine).to_have_count(0)
        post.refresh_from_db()
        assert post.is_public and post.author.username == "cora"


def test_the_queue_works_without_javascript(browser, newsroom):
    """Forms post and redirect: an editor with JavaScript off sends a submission back."""
    event = newsroom
    Post.objects.create(
        event=event,
        author=Membership.objects.get(user__username="cora").user,
        body="Smoke seen from the bridge.",
        body_html="<p>Smoke seen from the bridge.</p>",
        status=Post.Status.SUBMITTED,
    )
    context = browser.new_context(java_script_enabled=False)
    with asgi_servers(1) as (server,):
        page = context.new_page()
        log_in(page, server.url, "erin")
        page.goto(f"{server.url}/editor/events/{event.slug}/")
        submission = page.locator(".submission", has_text="Smoke seen")
        submission.locator("summary", has_text="Send back").click()
        submission.get_by_label("What should Cora Kent change?").fill("Which bridge?")
        submission.get_by_role("button", name="Send back with this note").click()
        expect(page.locator(".messages")).to_contain_text("Sent back to Cora Kent with your note.")
        expect(page.locator(".submission", has_text="Smoke seen")).to_have_count(0)
    context.close()
    post = Post.objects.get(body="Smoke seen from the bridge.")
    assert (post.status, post.review_note) == (Post.Status.DRAFT, "Which bridge?")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_the_queue(browser, newsroom, media_storage, scheme):
    """The editor's queue (a photo, Send back and Reject opened) and the contributor's
    list (waiting, rejected with a note), in both colour schemes."""
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs it (npm ci)")
    event = newsroom
    cora = Membership.objects.get(user__username="cora").user
    editor = Membership.objects.get(user__username="erin").user
    photo = services.image_upload(
        actor=cora, event=event, file=io.BytesIO(pictures.photo(900, 600)), alt="The quay"
    )
    for body, images in (("Smoke over the quay.", [photo.pk]), ("Roads closed.", [])):
        off_the_browser_loop(
            services.post_publish, event=event, author=cora, body=body, images=images
        )
    rejected = off_the_browser_loop(
        services.post_publish, event=event, author=cora, body="A rumour."
    )[0]
    off_the_browser_loop(services.post_reject, actor=editor, post=rejected, note="Unsourced.")
    ARTIFACTS.mkdir(exist_ok=True)
    with asgi_servers(1, MEDIA_ROOT=str(media_storage)) as (server,):
        for username in ("erin", "cora"):
            context = browser.new_context(
                bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            log_in(page, server.url, username)
            page.goto(f"{server.url}/editor/events/{event.slug}/")
            queue = page.locator("[data-queue]")
            expect(queue.locator(".submission").first).to_be_visible()
            for summary in queue.locator("summary").all()[:2]:
                summary.click()
            queue.screenshot(path=str(ARTIFACTS / f"approval-queue-{username}-{scheme}.png"))
            assert audit(page, AXE) == []
            context.close()
