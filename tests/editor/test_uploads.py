"""The editor's photos through Django's test client: the upload route the composer's script
calls (editor.views.image_upload: at once, before alt is typed), the ordered `images` of the
entry form with each photo's alt, caption and credit, alt required to publish (beside the
field, and by the service), a foreign event's photo refused, remove and reorder on edit."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Change, Image, Post
from tests import pictures
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def jpeg(name="photo.jpg", data=None):
    return SimpleUploadedFile(name, data or pictures.photo(1200, 800), "image/jpeg")


def upload(client, event, file):
    return client.post(reverse("editor:image_upload", args=[event.slug]), {"file": file}, **JSON)


def uploaded(client, event) -> int:
    response = upload(client, event, jpeg())
    assert response.status_code == 201, response.content
    return response.json()["id"]


def texts(pk, alt="", caption="", credit="", decorative=False):
    fields = {f"image-{pk}-alt": alt, f"image-{pk}-caption": caption}
    fields[f"image-{pk}-credit"] = credit
    if decorative:
        fields[f"image-{pk}-decorative"] = "on"
    return fields


def compose(client, event, data, **headers):
    return client.post(reverse("editor:compose", args=[event.slug]), data, **headers)


def entry(ids, *described, body="Photos from the hall.", action="publish"):
    data = {"body": body, "action": action, "images": [str(pk) for pk in ids]}
    for fields in described:
        data.update(fields)
    return data


# --- the upload route ----------------------------------------------------------------------


def test_an_upload_without_alt_is_kept_and_answers_its_form_item(client_for, event, reporter):
    response = upload(client_for(reporter), event, jpeg())

    image = Image.objects.get()
    answer = response.json()
    assert response.status_code == 201
    assert answer["id"] == image.pk and image.alt == "" and not image.decorative
    html = answer["html"]
    assert f'<input type="hidden" name="images" value="{image.pk}">' in html
    assert f'name="image-{image.pk}-alt"' in html and f'for="id_image-{image.pk}-alt"' in html
    assert f'name="image-{image.pk}-decorative"' in html
    assert image.renditions[0]["name"].split("/")[-1] in html  # the narrowest as thumbnail
    assert AuditEntry.objects.filter(action="image.uploaded").count() == 1


def test_a_refused_file_answers_the_servers_sentence_and_stores_nothing(
    client_for, event, reporter, media_storage
):
    response = upload(client_for(reporter), event, jpeg("notes.jpg", b"%PDF-1.7 not a picture"))

    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "invalid"
    assert "not an image we accept" in answer["detail"]
    assert "not an image we accept" in answer["fields"]["file"][0]
    assert Image.objects.count() == 0
    assert not [p for p in media_storage.rglob("*") if p.is_file()]


def test_an_upload_with_no_file_names_the_field(client_for, event, reporter):
    response = client_for(reporter).post(
        reverse("editor:image_upload", args=[event.slug]), {}, **JSON
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"file": ["Choose a photo to upload."]}


def test_an_outsider_cannot_upload(client_for, event, outsider):
    response = upload(client_for(outsider), event, jpeg())

    assert response.status_code == 403
    assert Image.objects.count() == 0


def test_an_anonymous_upload_is_sent_to_the_login(client, event):
    response = upload(client, event, jpeg())

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert Image.objects.count() == 0


# --- the entry's photos --------------------------------------------------------------------


def test_the_entry_gets_its_photos_in_the_order_of_the_form(client_for, event, reporter):
    client = client_for(reporter)
    first, second, third = (uploaded(client, event) for _ in range(3))

    response = compose(
        client,
        event,
        entry(
            [third, first, second],
            texts(first, alt="The hall", caption="Doors open", credit="Ann Photo"),
            texts(second, alt="The stage"),
            texts(third, decorative=True),
        ),
        **JSON,
    )

    assert response.status_code == 201, response.content
    post = Post.objects.get(event=event)
    assert [image.pk for image in post.ordered_images] == [third, first, second]
    hall = Image.objects.get(pk=first)
    assert (hall.alt, hall.caption, hall.credit) == ("The hall", "Doors open", "Ann Photo")
    assert Image.objects.get(pk=third).decorative
    payload = Change.objects.get(post=post).payload
    assert [image["alt"] for image in payload["post"]["images"]] == ["", "The hall", "The stage"]
    assert 'alt="The hall"' in payload["html"] and "Ann Photo" in payload["html"]


def test_a_plain_post_attaches_the_photos_too(client_for, event, reporter):
    client = client_for(reporter)
    pk = uploaded(client, event)

    response = compose(client, event, entry([pk], texts(pk, alt="The hall")))

    assert response.status_code == 302
    assert [i.pk for i in Post.objects.get(event=event).ordered_images] == [pk]


def test_publishing_a_photo_without_alt_is_refused_beside_its_field(client_for, event, reporter):
    client = client_for(reporter)
    described, bare = uploaded(client, event), uploaded(client, event)

    response = compose(
        client, event, entry([described, bare], texts(described, alt="Hall"), texts(bare)), **JSON
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert list(fields) == [f"image-{bare}-alt"]
    assert "Alt text is required to publish" in fields[f"image-{bare}-alt"][0]
    assert Post.objects.count() == 0
    assert Image.objects.get(pk=described).alt == ""  # nothing kept of a refused entry


def test_the_refused_form_shows_the_photos_again_with_what_was_typed(client_for, event, reporter):
    client = client_for(reporter)
    pk = uploaded(client, event)

    response = compose(client, event, entry([pk], texts(pk, caption="Doors open")))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'name="images" value="{pk}"' in page
    assert 'value="Doors open"' in page
    assert "Alt text is required to publish" in page


def test_a_draft_may_keep_a_photo_without_alt(client_for, event, reporter):
    client = client_for(reporter)
    pk = uploaded(client, event)

    response = compose(client, event, entry([pk], texts(pk), action="draft"), **JSON)

    assert response.status_code == 201
    assert Post.objects.get().status == "draft"


def test_the_service_refuses_to_publish_a_photo_without_alt(event, reporter):
    pk = uploaded_directly(event, reporter)

    with pytest.raises(services.ValidationError) as refused:
        services.post_publish(event=event, author=reporter, body="Photo", images=[pk])

    assert "alt text is required to publish" in refused.value.message_dict["images"][0]
    assert Post.objects.count() == 0


def uploaded_directly(event, actor) -> int:
    image = services.image_upload(actor=actor, event=event, file=jpeg().open(), describe_later=True)
    return image.pk


def test_a_photo_of_another_event_is_refused(client_for, event, reporter):
    elsewhere = EventFactory()
    MembershipFactory(event=elsewhere, user=reporter, role="reporter")
    client = client_for(reporter)
    foreign = uploaded(client, elsewhere)

    response = compose(client, event, entry([foreign], texts(foreign, alt="Elsewhere")), **JSON)

    assert response.status_code == 400
    assert f"Not an image of this event: {foreign}." in response.json()["detail"]
    assert Post.objects.count() == 0
    assert Image.objects.get(pk=foreign).alt == ""


def test_an_image_id_that_is_not_a_number_is_refused(client_for, event, reporter):
    response = compose(
        client_for(reporter),
        event,
        {"body": "x", "action": "publish", "images": ["1; drop"]},
        **JSON,
    )

    assert response.status_code == 400
    assert "not valid" in response.json()["detail"]


def test_another_writers_photo_cannot_be_described_by_a_reporter(
    client_for, event, reporter, other_reporter
):
    theirs = uploaded(client_for(other_reporter), event)

    response = compose(
        client_for(reporter), event, entry([theirs], texts(theirs, alt="Mine now")), **JSON
    )

    # Refused before anything is described: an unpublished photo of someone else's is not
    # one a reporter may use at all (services._usable).
    assert response.status_code == 400
    assert "Not an image you uploaded" in str(response.json())
    assert Image.objects.get(pk=theirs).alt == "" and Post.objects.count() == 0


# --- editing ---------------------------------------------------------------------------------


def edit_url(event, post):
    return reverse("editor:post_edit", args=[event.slug, post.pk])


@pytest.fixture
def with_photos(client_for, event, reporter):
    client = client_for(reporter)
    ids = [uploaded(client, event) for _ in range(3)]
    data = entry(ids, *(texts(pk, alt=f"Photo {n}") for n, pk in enumerate(ids, 1)))
    assert compose(client, event, data, **JSON).status_code == 201
    return client, Post.objects.get(event=event), ids


def test_the_edit_form_shows_the_entrys_photos_in_order(event, with_photos):
    client, post, ids = with_photos

    page = client.get(edit_url(event, post)).content.decode()

    positions = [page.index(f'name="images" value="{pk}"') for pk in ids]
    assert positions == sorted(positions)
    assert 'value="Photo 2"' in page
    assert f'<label for="id_image-{ids[0]}-caption">Caption' in page
    assert f'<label for="id_image-{ids[0]}-credit">Credit' in page


def test_editing_removes_and_reorders_photos_and_tells_readers(event, with_photos):
    client, post, (one, two, three) = with_photos

    data = entry([three, one], texts(three, alt="Photo 3"), texts(one, alt="Photo 1, corrected"))
    response = client.post(edit_url(event, post), data)

    assert response.status_code == 302
    post.refresh_from_db()
    assert [image.pk for image in post.ordered_images] == [three, one]
    assert Image.objects.get(pk=one).alt == "Photo 1, corrected"
    update = Change.objects.filter(post=post, kind="post.updated").get()
    assert [i["alt"] for i in update.payload["post"]["images"]] == ["Photo 3", "Photo 1, corrected"]
    assert post.corrected_at is not None
    assert Image.objects.filter(pk=two).exists()  # kept for the audit trail


def test_a_changed_caption_alone_updates_the_entry(event, with_photos):
    client, post, ids = with_photos
    described = [texts(pk, alt=f"Photo {n}") for n, pk in enumerate(ids, 1)]
    described[1][f"image-{ids[1]}-caption"] = "The second, captioned"
    audited = AuditEntry.objects.filter(action="image.updated")
    before = audited.count()

    response = client.post(edit_url(event, post), entry(ids, *described))

    assert response.status_code == 302
    update = Change.objects.get(post=post, kind="post.updated")
    assert "The second, captioned" in update.payload["html"]
    assert audited.count() == before + 1
    assert audited.first().detail == {"image": ids[1], "fields": ["caption"]}


def test_an_unchanged_edit_saves_nothing(event, with_photos):
    client, post, ids = with_photos
    described = [texts(pk, alt=f"Photo {n}") for n, pk in enumerate(ids, 1)]

    response = client.post(edit_url(event, post), entry(ids, *described), follow=True)

    assert "No changes to save." in response.content.decode()
    assert not Change.objects.filter(post=post, kind="post.updated").exists()


def test_clearing_an_alt_on_a_published_entry_is_refused(event, with_photos):
    client, post, ids = with_photos
    described = [texts(pk, alt=f"Photo {n}") for n, pk in enumerate(ids, 1)]
    described[0] = texts(ids[0])

    response = client.post(edit_url(event, post), entry(ids, *described))

    assert response.status_code == 200
    assert "Alt text is required to publish" in response.content.decode()
    assert Image.objects.get(pk=ids[0]).alt == "Photo 1"


def test_a_file_over_the_limit_is_refused_with_the_limit_named(
    client_for, event, reporter, settings
):
    settings.LIVEBLOG_MAX_IMAGE_BYTES = 1024

    response = upload(client_for(reporter), event, jpeg(data=pictures.noise(200, 200)))

    assert response.status_code == 400
    assert "larger than the limit" in response.json()["fields"]["file"][0]
    assert Image.objects.count() == 0


def test_what_is_typed_of_a_photo_is_shown_as_text_never_as_markup(event, with_photos):
    client, post, ids = with_photos
    script = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    described = [texts(pk, alt=f"Photo {n}") for n, pk in enumerate(ids, 1)]
    described[0][f"image-{ids[0]}-caption"] = script
    client.post(edit_url(event, post), entry(ids, *described))

    page = client.get(edit_url(event, post)).content.decode()
    fragment = Change.objects.get(post=post, kind="post.updated").payload["html"]

    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
