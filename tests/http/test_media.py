"""/media/<name> (liveblog/http/media.py): the app serves stored images itself, with long
cache headers, and nothing outside images/."""

import io

import pytest
from django.test import Client

from liveblog.blog import services
from tests import pictures


@pytest.fixture
def image(event, reporter):
    return services.image_upload(
        actor=reporter, event=event, file=io.BytesIO(pictures.photo(1000, 500)), alt="A photo"
    )


def media_url(image, n=0):
    return "/media/" + image.renditions[n]["name"]


def test_a_stored_rendition_is_served_with_long_cache_headers(image, media_storage):
    response = Client().get(media_url(image))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == (media_storage / image.renditions[0]["name"]).read_bytes()
    assert response["Content-Type"] == "image/webp"
    assert response["Content-Length"] == str(len(body))
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["ETag"].startswith('"')


def test_a_known_etag_is_answered_304(image):
    etag = Client().get(media_url(image))["ETag"]
    again = Client().get(media_url(image), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["Cache-Control"] == "public, max-age=31536000, immutable"


def test_head_is_answered_and_post_is_not_allowed(image):
    assert Client().head(media_url(image)).status_code == 200
    assert Client().post(media_url(image)).status_code == 405


def test_an_unknown_name_is_a_plain_404(db):
    response = Client().get("/media/images/1/0123/480.webp")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "path",
    [
        "/media/images/../../liveblog/settings.py",
        "/media/images/%2e%2e/%2e%2e/pyproject.toml",
        "/media/images/..%2F..%2Fpyproject.toml",
        "/media//etc/passwd",
        "/media/images//x.webp",
        "/media/images\\..\\x",
        "/media/secret.txt",
    ],
)
def test_no_path_leaves_the_images_folder(path, media_storage, db):
    (media_storage / "secret.txt").parent.mkdir(parents=True, exist_ok=True)
    (media_storage / "secret.txt").write_text("not public")
    response = Client().get(path)
    assert response.status_code == 404
    assert b"not public" not in b"".join(getattr(response, "streaming_content", [response.content]))
