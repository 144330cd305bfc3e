"""Stored XSS (SPEC §8: no content a reporter or a reader supplies ever runs as script).

Every vector of xss_vectors.txt goes in through every input, the real way: an entry's body
and headline through the API (a reporter's bearer token) and through the editor's form
(saved as a draft; and published as a key event without a headline, so that the outputs
that fall back on the body's first words show it too), an event's title and summary through
the API's PATCH (its editor), the body through the editor's preview. Each vector gets an
event of its own, so an output can only show that vector. Then every output is read once
per event, as a reader, an editor or a socket gets it, parsed by an HTML5 parser, and
checked by html_checks: no script, no event handler, no script or data URL, no page-level
tag the same page without the vector lacks, JSON-LD that parses and is not closed early,
and the headlines and titles shown as the very characters typed.

The corpus is written and read once for the module (committed, so the socket's threads see
it; three vectors at a time) and removed after; the tests, one per vector, only look at
what was read.
"""

import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client, override_settings

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Change, Event, Membership, Post
from liveblog.live import history
from liveblog.reader import summaries
from tests.api.helpers import Api, url
from tests.live.client import connect
from tests.security.html_checks import (
    Vector,
    extra_page_level_tags,
    json_ld_blocks,
    load_vectors,
    offences,
    parse_document,
    parse_fragment,
    text_of,
)

# The database is set up only for modules that ask for it; the tests themselves only read
# what the module's corpus fixture wrote and read once.
pytestmark = pytest.mark.django_db

VECTORS = load_vectors()
CLEAN = Vector("clean", "A clean entry: **bold**, [a link](https://example.org/a?b=1&c=2).", 0)
ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_corpus_is_large_and_covers_every_family():
    families = {v.family for v in VECTORS}
    assert len(set(VECTORS)) == len(VECTORS) >= 100
    assert {
        "script", "event handler", "javascript URL", "data URL", "vbscript URL", "svg and math",
        "mutation XSS", "frames and page-level tags", "embed URL", "Markdown link",
        "Markdown image", "Markdown reference and autolink", "attribute breakout",
        "JSON-LD breakout", "template injection", "unicode",
    } <= families  # fmt: skip
    assert all(len(v.text) <= 300 for v in VECTORS)  # a headline's and a title's limit


@dataclass
class Output:
    name: str
    html: str
    page: bool  # a whole document (its own scripts allowed), else a fragment
    clean: "Output | None" = None  # the same output for CLEAN


@dataclass
class Read:
    """One vector's event, what its inputs answered and what its outputs showed."""

    vector: Vector
    event: Event
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)
    feed: bytes = b""
    api_posts: list[dict[str, Any]] = field(default_factory=list)


class Clients(threading.local):
    """Each thread's own test clients (a Client is not safe to share between threads)."""

    def __init__(self, editor: Any, editor_token: str, reporter_token: str) -> None:
        self.editor_api = Api(token=editor_token)
        self.reporter_api = Api(token=reporter_token)
        self.editor = Client()
        self.editor.force_login(editor)
        self.reader = Client()


class Writer:
    """The people who write: an admin who makes the events, their editor (form and token)
    and a reporter (token)."""

    def __init__(self) -> None:
        users = get_user_model().objects
        tag = uuid.uuid4().hex[:8]
        self.tag = tag
        self.admin = users.create_superuser(f"xss-admin-{tag}", password="x")
        self.editor = users.create_user(f"xss-editor-{tag}", first_name="Ed", password="x")
        self.reporter = users.create_user(f"xss-reporter-{tag}", password="x")
        self.clients = Clients(
            self.editor,
            services.token_issue(user=self.editor, name="xss"),
            services.token_issue(user=self.reporter, name="xss"),
        )

    def write_and_read(self, vector: Vector) -> Read:
        """In a thread of a pool: its database connection goes back to the pool after."""
        try:
            read = self.write(vector)
            self.read(read)
            return read
        finally:
            connections.close_all()

    def event(self, vector: Vector) -> Event:
        event = services.event_create(
            actor=self.admin,
            title=f"XSS {vector.number}",
            slug=f"xss-{self.tag}-{vector.number}",
            status=Event.Status.LIVE,
        )
        for user, role in ((self.editor, "editor"), (self.reporter, "reporter")):
            Membership.objects.update_or_create(event=event, user=user, defaults={"role": role})
        return event

    def write(self, vector: Vector) -> Read:
        """Every input takes the vector."""
        read = Read(vector, self.event(vector))
        slug, text = read.event.slug, vector.text
        patched = self.clients.editor_api.patch(url(slug), {"title": text, "summary": text})
        read.inputs["API: PATCH event title and summary"] = patched.status_code
        created = self.clients.reporter_api.post(
            url(slug, "posts"), {"body": text, "headline": text}
        )
        read.inputs["API: POST entry body and headline"] = created.status_code
        if created.status_code == 201:
            read.api_posts.append(created.json())
        compose = f"/editor/events/{slug}/"
        forms = {
            "editor: publish key event's body": {"is_key_event": "on", "action": "publish"},
            "editor: draft body and headline": {"headline": text, "action": "draft"},
        }
        for name, form in forms.items():
            answer = self.clients.editor.post(
                compose, {"body": text, "headline": "", "token": uuid.uuid4().hex, **form}
            )
            read.inputs[name] = answer.status_code
        return read

    def read(self, read: Read) -> None:
        """Every output shows it (the socket's frames are read later, for all at once)."""
        event = Event.objects.get(pk=read.event.pk)
        read.event = event
        posts = {p.status: p for p in Post.objects.filter(event=event).order_by("id")}
        read.stored = {"title": event.title, "summary": event.summary}
        out = read.outputs.append
        slug, text = event.slug, read.vector.text
        reader, editor = self.clients.reader, self.clients.editor

        def page(name: str, response: Any) -> None:
            assert response.status_code == 200, (name, response.status_code)
            out(Output(name, response.content.decode(), page=True))

        def fragment(name: str, html: str) -> None:
            out(Output(name, html, page=False))

        page("event page", reader.get(f"/events/{slug}/"))
        page("embed page", reader.get(f"/events/{slug}/embed/"))
        entries = reader.get(f"/events/{slug}/entries/")  # what "load older" inserts
        assert entries.status_code == 200
        fragment("entries fragment", entries.content.decode())
        published = Post.objects.filter(event=event, status=Post.Status.PUBLISHED).order_by("id")
        for post in published:
            read.stored[f"headline {post.pk}"] = post.headline
            read.stored[f"feed title {post.pk}"] = summaries.entry_title(post, event)
            if post.is_key_event:
                read.stored[f"key event {post.pk}"] = summaries.excerpt(post.body_html, 12)
            fragment(f"body_html in the database {post.pk}", post.body_html)
            page(f"permalink {post.pk}", reader.get(post.get_absolute_url()))
        feed = reader.get(f"/events/{slug}/feed/")
        assert feed.status_code == 200
        read.feed = feed.content
        for post in read.api_posts:
            fragment(f"API: POST response body_html {post['id']}", post["body_html"])
        if read.vector is CLEAN:  # the list's entries are the same payload: read once
            listing = reader.get(url(slug, "posts"))
            assert listing.status_code == 200
            for post in listing.json()["results"]:
                fragment(f"API: GET list body_html {post['id']}", post["body_html"])
        page_url = quote(f"http://testserver/events/{slug}/")
        oembed = reader.get(f"/oembed/?url={page_url}&format=json")
        assert oembed.status_code == 200
        # The app's own <iframe>, so counted against the clean event's as a page's tags are.
        out(Output("oEmbed html", oembed.json()["html"], page=True))
        for change in Change.objects.filter(event=event).order_by("seq"):
            if "html" in change.payload:
                fragment(f"Change {change.seq} payload html", change.payload["html"])
        page("editor: compose page", editor.get(f"/editor/events/{slug}/"))
        draft = posts.get(Post.Status.DRAFT)
        if draft is not None:
            page("editor: edit page", editor.get(f"/editor/events/{slug}/posts/{draft.pk}/edit/"))
        preview = editor.post(f"/editor/events/{slug}/preview/", {"body": text})
        read.inputs["editor: preview"] = preview.status_code
        if preview.status_code == 200:
            fragment("editor: preview response", preview.content.decode())


async def _socket_frames(slug: str) -> list[dict[str, Any]]:
    """What a reader connecting with ?since=0 receives: the hello, then every change."""
    reader = await connect(slug, "since=0")
    try:
        hello = await reader.receive_json_from(timeout=5)
        return [hello] + [await reader.receive_json_from(timeout=5) for _ in range(hello["seq"])]
    finally:
        await reader.disconnect()


@async_to_sync
async def _all_socket_frames(slugs: list[str]) -> dict[str, list[dict[str, Any]]]:
    return {slug: await _socket_frames(slug) for slug in slugs}


@pytest.fixture(scope="module")
def corpus(django_db_setup, django_db_blocker) -> Iterator[dict[int, Read]]:
    quick = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(LIVEBLOG_RATE_LIMITS=False, PASSWORD_HASHERS=quick),
    ):
        audited = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        writer = Writer()
        reads = {0: writer.write(CLEAN)}
        writer.read(reads[0])
        clients = writer.clients
        clean_lists = [clients.reader.get("/"), clients.editor.get("/editor/")]
        # Three at a time: the time goes into waiting for PostgreSQL, not into Python.
        with ThreadPoolExecutor(max_workers=3) as pool:
            reads.update((r.vector.number, r) for r in pool.map(writer.write_and_read, VECTORS))
        history._loop_clients.clear()
        frames = _all_socket_frames([r.event.slug for r in reads.values()])
        history._loop_clients.clear()
        for read in reads.values():
            for frame in frames[read.event.slug]:
                if "html" in frame:
                    name = f"socket frame {frame['seq']} {frame['type']} html"
                    read.outputs.append(Output(name, frame["html"], page=False))
        home = clients.reader.get("/")
        editor_home = clients.editor.get("/editor/")
        clean = {_kind(o.name): o for o in reads[0].outputs}
        for read in reads.values():
            for output in read.outputs:
                output.clean = clean.get(_kind(output.name))
        yield {
            **reads,
            -1: _listing("home page", home, clean_lists[0], reads),
            -2: _listing("editor: home page", editor_home, clean_lists[1], reads),
        }
        events = Event.objects.filter(slug__startswith=f"xss-{writer.tag}-")
        Post.objects.filter(event__in=events).delete()
        events.delete()
        get_user_model().objects.filter(username__endswith=writer.tag).delete()
        # Committed outside any test's transaction: leave no audit entry for the next tests.
        AuditEntry.objects.filter(pk__gt=audited).delete()


def _kind(name: str) -> str:
    """The output's name without ids: permalink 12 -> permalink, for the clean page."""
    return " ".join(word for word in name.split() if not word.isdigit())


def _listing(name: str, response: Any, clean: Any, reads: dict[int, Read]) -> Read:
    assert response.status_code == clean.status_code == 200
    listing = Read(CLEAN, reads[0].event)
    clean_output = Output(name, clean.content.decode(), page=True)
    listing.outputs.append(Output(name, response.content.decode(), page=True, clean=clean_output))
    listing.stored = {f"title {r.vector.number}": r.stored["title"] for r in reads.values()}
    return listing


def _problems(read: Read) -> list[str]:
    problems = []
    for output in read.outputs:
        root = parse_document(output.html) if output.page else parse_fragment(output.html)
        found = offences(root, page=output.page)
        if output.page:
            clean = output.clean
            assert clean is not None, output.name
            found += extra_page_level_tags(root, clean.html)
            _data, ld_problems = json_ld_blocks(output.html, root)
            found += ld_problems
        problems += [f"{output.name}: {problem}" for problem in found]
    return problems


def _by_class(root: Any, name: str) -> list[Any]:
    return [e for e in root.iter() if name in (e.attrib.get("class") or "").split()]


def _lines(value: str) -> str:
    """Text as an HTML parser hands it on: CR and CRLF become LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _check_text_survives(read: Read) -> list[str]:
    """The vector arrived, as text: what a reporter typed in a headline or title is shown
    as those characters, never as markup, and templates never evaluate it."""
    problems = []
    outputs = {o.name: o for o in read.outputs}
    event_page = parse_document(outputs["event page"].html)
    (title,) = _by_class(event_page, "event-header__title")
    if _lines(text_of(title)) != _lines(read.stored["title"]):
        problems.append(f"event page title shows {text_of(title)!r}")
    headlines = {k: v for k, v in read.stored.items() if k.startswith("headline ")}
    shown = sorted(_lines(text_of(h)) for h in _by_class(event_page, "entry__headline"))
    if shown != sorted(_lines(h) for h in headlines.values() if h):
        problems.append(f"event page headlines show {shown!r}")
    data, _problems = json_ld_blocks(outputs["event page"].html, event_page)
    if data and data[0]["headline"] != read.stored["title"][:110]:
        problems.append(f"JSON-LD headline is {data[0]['headline']!r}")
    (key_events,) = [e for e in event_page.iter("ol") if "data-key-events" in e.attrib]
    shown = sorted(_lines(text_of(a)) for a in key_events.iter("a"))
    if shown != sorted(_lines(v) for k, v in read.stored.items() if k.startswith("key event ")):
        problems.append(f"key events show {shown!r}")
    feed = ElementTree.fromstring(read.feed)  # noqa: S314 - the app's own feed
    titles = sorted(_lines(e.findtext(f"{ATOM}title") or "") for e in feed.iter(f"{ATOM}entry"))
    expected = sorted(_lines(v) for k, v in read.stored.items() if k.startswith("feed title "))
    if titles != expected:
        problems.append(f"feed titles are {titles!r}")
    return problems


def _feed_problems(read: Read) -> list[str]:
    try:
        feed = ElementTree.fromstring(read.feed)  # noqa: S314 - the app's own feed
    except ElementTree.ParseError as exc:
        return [f"feed is not XML: {exc}"]
    problems = []
    for entry in feed.iter(f"{ATOM}entry"):
        for part in ("content", "summary", "title"):
            element = entry.find(f"{ATOM}{part}")
            if element is None or element.get("type") != "html":
                continue
            found = offences(parse_fragment(element.text or ""))
            problems += [f"feed {part}: {problem}" for problem in found]
    return problems


def test_every_input_takes_or_refuses_each_vector(corpus):
    """Refusing a vector with a clear error is fine (SPEC §8); a 500 never is."""
    reads = [read for number, read in corpus.items() if number >= 0]
    for read in reads:
        for name, status in read.inputs.items():
            assert status < 500, (read.vector.id, name, status)
    for read in reads:
        assert read.inputs["API: POST entry body and headline"] in (201, 400), read.vector.id
        assert read.inputs["API: PATCH event title and summary"] in (200, 400), read.vector.id


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_no_vector_runs_as_script_in_any_output(corpus, vector):
    read = corpus[vector.number]
    problems = _problems(read) + _feed_problems(read)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_every_vector_reaches_the_outputs_as_text(corpus, vector):
    read = corpus[vector.number]
    if "\x00" in vector.text:
        # PostgreSQL cannot store NUL: the API refuses it (the editor's form too), naming
        # the field; without it the vector is another of the corpus.
        assert read.inputs["API: POST entry body and headline"] == 400
        assert read.inputs["API: PATCH event title and summary"] == 400
        assert read.inputs["editor: publish key event's body"] == 200  # the form, with errors
        assert not read.api_posts
        return
    assert read.inputs["API: POST entry body and headline"] == 201
    logged = [o for o in read.outputs if o.name.startswith("Change ")]
    received = [o for o in read.outputs if o.name.startswith("socket frame ")]
    assert len(received) == len(logged) == 3  # the event's PATCH and its two public entries
    assert len(read.api_posts) >= 1
    problems = _check_text_survives(read)
    assert not problems, "\n".join(problems)


def test_the_clean_event_passes_and_shows_every_output(corpus):
    read = corpus[0]
    assert not _problems(read) + _feed_problems(read)
    names = {_kind(o.name) for o in read.outputs}
    assert {
        "event page", "embed page", "entries fragment", "permalink", "oEmbed html",
        "API: POST response body_html", "API: GET list body_html",
        "editor: compose page", "editor: edit page", "editor: preview response",
        "Change payload html", "body_html in the database",
        "socket frame post.created html", "socket frame event.updated html",
    } <= names  # fmt: skip
    listed = [o for o in read.outputs if o.name.startswith("API: GET list")]
    assert len(listed) == 2  # the API's entry and the editor's; the draft is not public


@pytest.mark.parametrize("listing", [-1, -2], ids=["home page", "editor home page"])
def test_event_lists_show_every_title_as_text(corpus, listing):
    read = corpus[listing]
    (output,) = read.outputs
    root = parse_document(output.html)
    assert not offences(root, page=True)
    assert output.clean is not None
    assert not extra_page_level_tags(root, output.clean.html)
    shown = {_lines(text_of(e)) for e in root.iter("a")}
    missing = [t for t in read.stored.values() if _lines(t) not in shown]
    if output.name == "home page":
        assert not missing, missing


def test_json_ld_parses_for_every_vector(corpus):
    failures = []
    for read in corpus.values():
        for output in read.outputs:
            if not output.page or not output.name.startswith(("event page", "permalink")):
                continue
            data, problems = json_ld_blocks(output.html, parse_document(output.html))
            if problems or len(data) != 1:
                failures.append((read.vector.id, output.name, problems))
            else:
                json.dumps(data)
    assert not failures
