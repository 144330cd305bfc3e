"""POST /api/v1/events/<slug>/images/ and images on posts (SPEC §6). Every response is also
checked against /api/schema/ (tests/conftest.py)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from liveblog.api import errors
from liveblog.blog.models import Image, Post
from tests import pictures
from tests.api.helpers import url
from tests.factories import EventFactory


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def send(api, slug, data: bytes | None, name="photo.jpg", **fields):
    """A multipart upload, as a browser's FormData or `curl -F` sends it."""
    form = {"alt": "Delegates applaud", **fields}
    if data is not None:
        form["file"] = SimpleUploadedFile(name, data, content_type="image/jpeg")
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    return api.client.post(url(slug, "images"), form, headers=headers)


def test_a_member_uploads_a_photo_and_gets_the_image(event, reporter, api_for):
    response = send(
        api_for(reporter), event.slug, pictures.photo(2000, 1000), caption="Day one", credit="AFP"
    )
    assert response.status_code == 201
    body = response.json()
    image = Image.objects.get()
    assert body["id"] == image.pk
    assert (body["width"], body["height"]) == (2000, 1000)
    assert (body["alt"], body["caption"], body["credit"]) == ("Delegates applaud", "Day one", "AFP")
    assert [r["width"] for r in body["renditions"]] == [480, 960, 1600, 2000]
    assert body["url"] == body["renditions"][-1]["url"]
    for rendition in body["renditions"]:
        assert rendition["url"].startswith(f"/media/images/{event.pk}/")
        served = Client().get(rendition["url"])
        assert served.status_code == 200 and served["Content-Type"] == "image/webp"
        assert b"".join(served.streaming_content)[8:12] == b"WEBP"


REFUSED = {
    "not an image": b"GIF89a but then nothing of a picture",
    "truncated JPEG": pictures.truncated(),
    "decompression bomb": pictures.bomb(),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_a_bad_file_is_a_400_naming_file_and_stores_nothing(
    kind, event, reporter, api_for, media_storage
):
    response = send(api_for(reporter), event.slug, REFUSED[kind])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and list(body["fields"]) == ["file"]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def test_an_image_without_alt_is_a_400_naming_alt(event, reporter, api_for, media_storage):
    response = send(api_for(reporter), event.slug, pictures.photo(), alt="")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["alt"]
    assert stored_files(media_storage) == [] and Image.objects.count() == 0


def test_a_decorative_image_may_go_without_alt(event, reporter, api_for):
    response = send(
        api_for(reporter), event.slug, pictures.photo(600, 300), alt="", decorative="true"
    )
    assert response.status_code == 201 and response.json()["alt"] == ""


def test_a_missing_file_is_a_400_naming_file(event, reporter, api_for):
    response = send(api_for(reporter), event.slug, None)
    assert response.status_code == 400 and list(response.json()["fields"]) == ["file"]


def test_a_file_over_the_image_limit_is_a_400_naming_file(
    event, reporter, api_for, settings, media_storage
):
    settings.LIVEBLOG_MAX_IMAGE_BYTES = 100_000
    data = pictures.noise(320, 320)
    assert 100_000 < len(data) < errors.upload_limit()
    response = send(api_for(reporter), event.slug, data)
    assert response.status_code == 400
    assert "larger than the limit" in response.json()["fields"]["file"][0]
    assert stored_files(media_storage) == []


def test_a_request_over_the_upload_limit_is_a_413_before_reading(
    event, reporter, api_for, settings, media_storage
):
    settings.LIVEBLOG_MAX_IMAGE_BYTES = 10_000
    data = pictures.noise(400, 300)
    assert len(data) > errors.upload_limit()
    response = send(api_for(reporter), event.slug, data)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "0.00953674 MiB" in response.json()["detail"]
    assert stored_files(media_storage) == []


def test_uploads_over_the_json_body_limit_are_accepted(event, reporter, api_for, settings):
    data = pictures.noise(1100, 1000)
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert send(api_for(reporter), event.slug, data).status_code == 201


def test_upload_needs_a_login_and_membership(event, outsider, anonymous, api_for, media_storage):
    assert send(anonymous, event.slug, pictures.photo()).status_code == 401
    assert send(api_for(outsider), event.slug, pictures.photo()).status_code == 403
    assert stored_files(media_storage) == []


def test_upload_to_an_unknown_event_is_a_404(reporter, api_for):
    assert send(api_for(reporter), "no-such-event", pictures.photo()).status_code == 404


def test_uploads_are_rate_limited(event, reporter, api_for, rate_limits):
    api = api_for(reporter)
    codes = [send(api, event.slug, pictures.photo(500, 300)).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]


def test_the_upload_is_documented_as_multipart(anonymous):
    document = anonymous.get("/api/schema/").json()
    operation = document["paths"]["/api/v1/events/{slug}/images/"]["post"]
    content = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "alt", "caption", "credit", "decorative"} <= set(content["properties"])
    assert {"201", "400", "401", "403", "413", "429"} <= set(operation["responses"])


# --- images on posts ----------------------------------------------------------------------


@pytest.fixture
def uploaded(event, reporter, api_for):
    api = api_for(reporter)
    return [send(api, event.slug, pictures.photo(1000 + n, 500)).json() for n in range(3)]


def test_a_post_shows_its_images_in_the_order_given(event, reporter, api_for, uploaded):
    ids = [uploaded[2]["id"], uploaded[0]["id"]]
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "Photos", "images": ids})
    assert response.status_code == 201
    assert [i["id"] for i in response.json()["images"]] == ids
    assert response.json()["images"][0] == uploaded[2]
    listed = api_for(reporter).get(url(event.slug, "posts")).json()["results"][0]
    assert [i["id"] for i in listed["images"]] == ids


def test_a_patch_changes_the_images_and_is_pushed_live(
    event, reporter, api_for, uploaded, sent, django_capture_on_commit_callbacks
):
    api = api_for(reporter)
    created = api.post(url(event.slug, "posts"), {"body": "Photos", "images": [uploaded[0]["id"]]})
    post_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            url(event.slug, "posts", post_id), {"images": [uploaded[1]["id"], uploaded[0]["id"]]}
        )
    assert response.status_code == 200
    assert [i["id"] for i in response.json()["images"]] == [uploaded[1]["id"], uploaded[0]["id"]]
    [frame] = [json.loads(m["frame"]) for m in sent]
    assert frame["type"] == "post.updated"
    assert [i["id"] for i in frame["post"]["images"]] == [uploaded[1]["id"], uploaded[0]["id"]]
    assert uploaded[1]["renditions"][0]["url"] in frame["html"]
    assert api.patch(url(event.slug, "posts", post_id), {"images": []}).json()["images"] == []


def test_an_image_of_another_event_is_refused_naming_images(event, reporter, api_for):
    other = EventFactory()
    foreign = Image.objects.create(
        event=other, uploaded_by=reporter, alt="x", width=1, height=1, renditions=[]
    )
    response = api_for(reporter).post(
        url(event.slug, "posts"), {"body": "Photos", "images": [foreign.pk]}
    )
    assert response.status_code == 400 and list(response.json()["fields"]) == ["images"]
    assert not Post.objects.exists()


def test_the_same_image_twice_is_refused(event, reporter, api_for, uploaded):
    twice = [uploaded[0]["id"], uploaded[0]["id"]]
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "x", "images": twice})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["images"]


def test_images_must_be_a_list_of_ids(event, reporter, api_for):
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "x", "images": ["a"]})
    assert response.status_code == 400 and list(response.json()["fields"]) == ["images"]


def test_the_editor_uploads_with_its_session_and_csrf_token(event, reporter):
    from django.conf import settings
    from django.middleware.csrf import _get_new_csrf_string

    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    form = {"file": SimpleUploadedFile("p.jpg", pictures.photo(600, 300)), "alt": "A photo"}
    assert client.post(url(event.slug, "images"), form).status_code == 403  # no token
    secret = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    form["file"].seek(0)
    response = client.post(url(event.slug, "images"), form, headers={"X-CSRFToken": secret})
    assert response.status_code == 201


def test_an_oversized_upload_is_refused_before_anything_else(event, anonymous, settings):
    settings.LIVEBLOG_MAX_IMAGE_BYTES = 10_000
    response = send(anonymous, event.slug, pictures.noise(400, 300))
    assert response.status_code == 413 and response.json()["error"] == "too_large"
