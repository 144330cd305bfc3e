import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def preview_url(event):
    return reverse("editor:preview", args=[event.slug])


def test_preview_renders_markdown_and_removes_script(client_for, event, reporter):
    response = client_for(reporter).post(
        preview_url(event),
        {"body": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html


def test_preview_is_csrf_protected(event, reporter):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)

    assert client.post(preview_url(event), {"body": "Hi"}).status_code == 403


def test_preview_needs_a_member(client, client_for, event, outsider):
    assert client.post(preview_url(event), {"body": "Hi"}).status_code == 302
    assert client_for(outsider).post(preview_url(event), {"body": "Hi"}).status_code == 403


def test_preview_is_post_only(client_for, event, reporter):
    assert client_for(reporter).get(preview_url(event)).status_code == 405
