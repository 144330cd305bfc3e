"""`make run`'s demo (SPEC §2): an event with entries of every kind (photos, quotes, embeds,
breaking news, key points) and an editor whose credentials, and the links, are printed with
the address the server really answers on."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from liveblog.blog.management.commands.load_demo import ENTRIES
from liveblog.blog.models import Event, Image, Post

pytestmark = pytest.mark.django_db


def load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def test_demo_links_carry_the_port_it_serves_on():
    printed = load_demo("--base-url=http://0.0.0.0:8110")
    links = re.findall(r"https?://\S+", printed)
    assert links == [
        "http://0.0.0.0:8110/events/opening-ceremony/",
        "http://0.0.0.0:8110/editor/",
    ]
    assert "username: editor" in printed and "password: liveblog-demo" in printed


def test_demo_is_served_and_its_editor_signs_in():
    load_demo("--migrate")  # as `make run` does (a no-op migrate here)
    again = load_demo()  # idempotent: `make run` loads it at every start
    assert "http://127.0.0.1:8000/events/opening-ceremony/" in again
    event = Event.objects.get(slug="opening-ceremony")
    assert event.posts.public().count() == len(ENTRIES) == 8
    assert event.posts.count() == 9  # and one submission waiting for the editor
    assert Image.objects.filter(event=event).count() == 3  # not uploaded twice
    assert Client().get("/events/opening-ceremony/").status_code == 200
    signed_in = Client().post("/editor/login/", {"username": "editor", "password": "liveblog-demo"})
    assert signed_in.status_code == 302 and signed_in.url == "/editor/"


def test_demo_has_a_contributor_whose_entry_waits_for_approval():
    printed = load_demo()
    assert "username: contributor" in printed
    [waiting] = Post.objects.filter(event__slug="opening-ceremony", status=Post.Status.SUBMITTED)
    assert waiting.author.username == "contributor"
    html = Client().get("/events/opening-ceremony/").content.decode()
    assert waiting.body[:40] not in html
    signed_in = Client().post(
        "/editor/login/", {"username": "contributor", "password": "liveblog-demo"}
    )
    assert signed_in.status_code == 302


def test_demo_shows_photos_a_quote_embeds_a_breaking_entry_and_key_points(media_storage):
    load_demo()
    html = Client().get("/events/opening-ceremony/").content.decode()
    photos = Image.objects.filter(event__slug="opening-ceremony")
    for photo in photos:  # stored through the image service: renditions on the storage
        assert photo.alt and len(photo.renditions) >= 3
        assert all((media_storage / r["name"]).is_file() for r in photo.renditions)
        assert f'alt="{photo.alt}"' in html
    assert html.count('<figure class="entry__image"><img ') == 3
    assert '<figure class="quote"><blockquote>' in html and "Liu Yunshan</figcaption>" in html
    assert 'class="embed embed--youtube"' in html and 'class="embed embed--x"' in html
    assert "youtube-nocookie.com/embed/aqz-KE-bpKQ" in html  # the card's frame, on a click
    assert "entry--breaking" in html
    assert "A 40-million-euro research fund" in html and "key-points" in html
