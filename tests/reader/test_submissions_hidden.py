"""SPEC §3, §4: readers never see a submitted entry, by any path — the event page, its
permalink, the older-entries fragment, the live socket, /changes/, the feed, the API, the
sitemap, the JSON-LD and the embed — while it waits, after it is sent back and after it is
rejected; and they do see it, everywhere, once an editor approves it."""

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests.factories import EventFactory, MembershipFactory
from tests.live.client import connect

SECRET = "Unconfirmed: the bridge has closed"

pytestmark = pytest.mark.django_db


@pytest.fixture
def newsroom(db):
    event = EventFactory(slug="harbour")
    contributor = MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user
    editor = MembershipFactory(event=event, role=Membership.Role.EDITOR).user
    reporter = MembershipFactory(event=event, role=Membership.Role.REPORTER).user
    # Something published, so that every list has an entry and is not empty by accident.
    services.post_publish(event=event, author=reporter, body="Ferries run as normal.")
    return event, contributor, editor


def submit(event, contributor):
    post, _ = services.post_publish(event=event, author=contributor, body=SECRET, headline="Bridge")
    return post


def reader_paths(event, post):
    """Every reader-facing address, and what each must (not) contain."""
    return {
        "event page": f"/events/{event.slug}/",
        "older entries fragment": f"/events/{event.slug}/entries/",
        "feed": f"/events/{event.slug}/feed/",
        "embed": f"/events/{event.slug}/embed/",
        "sitemap": "/sitemap-entries.xml",
        "API list": f"/api/v1/events/{event.slug}/posts/",
        "API changes": f"/api/v1/events/{event.slug}/changes/?since=0",
    }


def json_ld(html: str) -> list[dict]:
    blocks = re.findall(r"<script[^>]*application/ld\+json[^>]*>(.*?)</script>", html, re.S)
    return [json.loads(block) for block in blocks]


def assert_hidden(event, post, client: Client, *, anonymous: bool = True) -> None:
    for name, path in reader_paths(event, post).items():
        response = client.get(path)
        assert response.status_code == 200, name
        text = response.content.decode()
        assert SECRET not in text, f"the {name} shows a submission"
        assert f"/posts/{post.pk}/" not in text, f"the {name} links to a submission"
        assert f'"id": {post.pk},' not in text and f'"id":{post.pk},' not in text, name
    assert client.get(f"/events/{event.slug}/posts/{post.pk}/").status_code == 404
    if anonymous:  # its author reads their own through the API (SPEC §4: own submissions)
        assert client.get(f"/api/v1/events/{event.slug}/posts/{post.pk}/").status_code == 404
    page = client.get(f"/events/{event.slug}/").content.decode()
    data = json_ld(page)
    assert data, "the page carries its JSON-LD"
    assert SECRET not in json.dumps(data)


@pytest.mark.parametrize("viewer", ["anonymous", "its author, on the reader pages"])
def test_a_waiting_submission_is_on_no_reader_path(newsroom, viewer):
    event, contributor, _editor = newsroom
    post = submit(event, contributor)
    client = Client()
    if viewer != "anonymous":
        client.force_login(contributor)
    assert_hidden(event, post, client, anonymous=viewer == "anonymous")


def test_a_sent_back_submission_stays_hidden(newsroom):
    event, contributor, editor = newsroom
    post = submit(event, contributor)
    services.post_send_back(actor=editor, post=post, note="Confirm with the police.")
    assert_hidden(event, post, Client())


def test_a_rejected_submission_stays_hidden(newsroom):
    event, contributor, editor = newsroom
    post = submit(event, contributor)
    services.post_reject(actor=editor, post=post, note="Rumour.")
    assert_hidden(event, post, Client())


def test_an_approved_submission_is_on_every_reader_path(newsroom):
    """The same checks can fail: once approved, the entry is everywhere they looked."""
    event, contributor, editor = newsroom
    post = services.post_approve(actor=editor, post=submit(event, contributor))
    client = Client()
    for name in ("event page", "feed", "embed", "API list", "API changes"):
        text = client.get(reader_paths(event, post)[name]).content.decode()
        assert SECRET in text, name
    assert f"/posts/{post.pk}/" in client.get("/sitemap-entries.xml").content.decode()
    assert client.get(f"/events/{event.slug}/posts/{post.pk}/").status_code == 200
    assert client.get(f"/api/v1/events/{event.slug}/posts/{post.pk}/").status_code == 200
    page = client.get(f"/events/{event.slug}/").content.decode()
    assert SECRET in json.dumps(json_ld(page))


@pytest.mark.django_db(transaction=True)
async def test_the_live_socket_sends_no_frame_of_a_submission_until_it_is_approved():
    event = await sync_to_async(EventFactory)(slug="harbour-live")
    contributor = (
        await sync_to_async(MembershipFactory)(event=event, role=Membership.Role.CONTRIBUTOR)
    ).user
    editor = (await sync_to_async(MembershipFactory)(event=event, role=Membership.Role.EDITOR)).user
    reader = await connect(event.slug)
    assert (await reader.receive_json_from(timeout=5))["type"] == "hello"

    post = await sync_to_async(submit)(event, contributor)
    await sync_to_async(services.post_update)(
        actor=contributor, post=post, changes={"body": SECRET + " (updated)"}
    )
    post = await sync_to_async(services.post_send_back)(actor=editor, post=post, note="Source?")
    await sync_to_async(services.post_update)(
        actor=contributor, post=post, changes={"status": "published"}
    )
    assert await reader.receive_nothing(timeout=0.5), "a submission reached a reader"

    await sync_to_async(services.post_approve)(actor=editor, post=post)
    frame = await reader.receive_json_from(timeout=5)
    assert frame["type"] == "post.created" and frame["post"]["id"] == post.pk
    await reader.disconnect()
