"""The reader pages' strings are translatable; French is shipped. The site speaks its
newsroom's language (LANGUAGE_CODE), the language its entries are written in."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from liveblog.blog import services

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale/fr/LC_MESSAGES/django.po"


def test_reader_page_in_french(event, editor):
    services.post_publish(
        event=event, author=editor, body="Ouverture", is_key_event=True, headline="Ouverture"
    )
    with translation.override("fr"):
        html = Client().get(f"/events/{event.slug}/").content.decode()
    assert '<html lang="fr">' in html
    for text in ("Temps forts", "Copier le lien", "Plus récentes", "En direct"):
        assert text in html, text
    assert 'data-copied="Lien copié."' in html


def test_compiled_catalog_matches_the_sources(tmp_path):
    if not shutil.which("msgfmt"):
        pytest.skip("gettext's msgfmt is not installed (make messages installs it)")
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO)], check=True)
    assert compiled.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run `make messages`"


def test_every_string_is_translated():
    entries = PO.read_text(encoding="utf-8").split("\n\n")[1:]
    untranslated = [e for e in entries if e.rstrip().endswith('msgstr ""') or "#, fuzzy" in e]
    assert not untranslated


def test_unknown_language_stops_start_up_naming_the_variable():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), LANGUAGE_CODE="xx")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "LANGUAGE_CODE='xx'" in result.stderr


def msgids(po: Path) -> set[str]:
    """The catalogue's source strings, multi-line ones joined (not the `#|` old ones)."""
    found = re.findall(r'^msgid ((?:".*"\n)+)msgstr', po.read_text(encoding="utf-8"), re.M)
    return {"".join(re.findall(r'"(.*)"', lines)) for lines in found} - {""}


def test_the_catalogue_holds_every_string_the_sources_mark(tmp_path):
    """`make messages` was run after the last translatable string was added: a marked string
    missing from the catalogue would be shown in English to a French newsroom."""
    if not shutil.which("xgettext"):
        pytest.skip("gettext's xgettext is not installed (make messages installs it)")
    for part in ("liveblog", "templates", "static", "locale"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "manage.py", tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--all", "--no-obsolete"],
        cwd=tmp_path,
        env={**env, "DEBUG": "1"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    extracted = tmp_path / "locale/fr/LC_MESSAGES/django.po"
    assert sorted(msgids(extracted) - msgids(PO)) == [], "run `make messages` and translate"
