"""The presence bar's place on the editor pages (issue 11, presence): the composer and an
entry's edit page hold it, with the desk socket's address; only the edit page names its
entry (its presence is "editing" that one). What it shows: tests/e2e/test_presence.py."""

import re

import pytest

pytestmark = pytest.mark.django_db


def bar_of(html: str) -> str:
    found = re.search(r"<section class=\"presence\"[^>]*>", html)
    assert found, "no presence bar"
    return found.group(0)


def test_the_composer_holds_the_presence_bar_and_its_script(client_for, event, reporter):
    html = client_for(reporter).get(f"/editor/events/{event.slug}/").content.decode()
    bar = bar_of(html)
    assert f'data-ws="/ws/editor/events/{event.slug}/"' in bar
    assert f'data-me="{reporter.pk}"' in bar and "data-post" not in bar
    assert " hidden" in bar  # until the socket has said who is here
    assert re.search(r'<script nonce="[^"]+" type="module" src="/static/js/desk\.js"', html)


def test_an_edit_page_names_the_entry_being_edited(client_for, event, reporter, publish):
    post = publish(reporter)
    html = client_for(reporter).get(f"/editor/events/{event.slug}/posts/{post.pk}/edit/")
    assert f'data-post="{post.pk}"' in bar_of(html.content.decode())


def test_the_bar_adds_no_html_error_to_either_page(client_for, event, reporter, publish, tmp_path):
    from tests.reader.test_html_validity import describe, vnu_errors

    post = publish(reporter)
    client = client_for(reporter)
    paths = []
    for name, url in (
        ("compose", f"/editor/events/{event.slug}/"),
        ("edit", f"/editor/events/{event.slug}/posts/{post.pk}/edit/"),
    ):
        path = tmp_path / f"{name}.html"
        path.write_bytes(client.get(url).content)
        paths.append(path)
    # (Both pages have an error of their own, older than the bar: a checkbox's
    # aria-describedby names help text that is not rendered.)
    errors = [e for e in vnu_errors(paths) if "presence" in e.get("extract", "")]
    assert not errors, describe(errors)
