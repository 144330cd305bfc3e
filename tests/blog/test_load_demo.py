"""`make run`'s demo (SPEC §2): an event with entries and an editor whose credentials, and the
links, are printed with the address the server really answers on."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from liveblog.blog.models import Event

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
    assert event.posts.count() == 4
    assert Client().get("/events/opening-ceremony/").status_code == 200
    signed_in = Client().post("/editor/login/", {"username": "editor", "password": "liveblog-demo"})
    assert signed_in.status_code == 302 and signed_in.url == "/editor/"
