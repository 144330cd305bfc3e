import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from liveblog.api import schemas, urls, views
from liveblog.api.views import api
from liveblog.blog import services
from liveblog.blog.models import Change, Event, Membership, Post, max_length
from liveblog.editor import forms
from tests.api import openapi
from tests.api.helpers import url


def test_schema_is_a_valid_openapi_document():
    validate(json.loads(json.dumps(api.get_openapi_schema())))


def test_schema_is_served_as_json(db, anonymous):
    response = anonymous.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["openapi"].startswith("3.")
    assert response.json() == json.loads(json.dumps(api.get_openapi_schema()))


def test_every_route_is_described(db, anonymous):
    routes = {
        "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        for pattern in urls.urlpatterns
        if pattern.name not in ("not-found", "api-root")
    }

    assert routes == set(anonymous.get("/api/schema/").json()["paths"])


def test_limits_and_choices_come_from_the_models_and_settings(settings):
    schemas = api.get_openapi_schema()["components"]["schemas"]

    assert schemas["PostCreate"]["properties"]["body"]["maxLength"] == (
        settings.LIVEBLOG_MAX_BODY_CHARS
    )
    assert schemas["PostCreate"]["properties"]["headline"]["maxLength"] == (
        settings.LIVEBLOG_MAX_HEADLINE_CHARS
    )
    assert schemas["EventCreate"]["properties"]["status"]["enum"] == ["scheduled", "live", "ended"]
    assert schemas["MemberCreate"]["properties"]["role"]["enum"] == [
        "contributor",
        "reporter",
        "editor",
    ]


def test_schema_answers_only_reads(db, anonymous):
    response = anonymous.post("/api/schema/", {})

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_a_response_the_document_does_not_describe_fails_the_test(event, anonymous, monkeypatch):
    monkeypatch.setattr(views, "event_payload", lambda event: {"slug": event.slug})

    with pytest.raises(openapi.Undocumented, match="does not match the document"):
        anonymous.get(url(event.slug))


def test_an_undocumented_status_fails_the_test(event, anonymous, monkeypatch):
    monkeypatch.setattr(views, "event_payload", lambda event: views.JsonResponse({}))
    teapot = views.HttpResponse(status=418)
    monkeypatch.setattr(views, "JsonResponse", lambda *args, **kwargs: teapot)

    with pytest.raises(openapi.Undocumented, match="does not document this status"):
        anonymous.get(url(event.slug))


def test_patch_bodies_take_their_fields_from_the_services():
    # an event's PATCH and a post's may name the version they are based on (not a field)
    assert set(schemas.EventUpdate.model_fields) == {*services.EVENT_FIELDS, "version"}
    # and a post's PATCH may name the version it is based on (not a field to change)
    assert set(schemas.PostUpdate.model_fields) == {*services.POST_FIELDS, "version"}


def test_no_choice_or_limit_is_written_again_in_the_api_or_the_forms(settings):
    """They are read from the models' TextChoices and fields and from settings."""
    sources = [*Path(views.__file__).parent.glob("*.py"), Path(forms.__file__)]
    text = "\n".join(path.read_text() for path in sources)
    for choices in (Event.Status, Event.Order, Post.Status, Membership.Role, Change.Kind):
        for value in choices.values:
            assert f'"{value}"' not in text, value
    limits = {
        settings.LIVEBLOG_MAX_BODY_CHARS,
        settings.LIVEBLOG_MAX_HEADLINE_CHARS,
        max_length(Event, "title"),
        max_length(Event, "summary"),
    }
    for limit in limits:
        assert not re.search(rf"\b({limit}|{limit:_})\b", text), limit


def test_an_unknown_field_is_named_as_such(event, reporter, api_for):
    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "x", "author": "me"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"author": ["Unknown field."]}
