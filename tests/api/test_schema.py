import re

from openapi_spec_validator import validate

from liveblog.api import urls
from liveblog.api.schema import SCHEMA


def test_schema_is_a_valid_openapi_document():
    validate(SCHEMA)


def test_schema_is_served_as_json(db, anonymous):
    response = anonymous.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["openapi"].startswith("3.")


def test_every_route_is_described():
    routes = {
        "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        for pattern in urls.urlpatterns
        if pattern.name != "not-found"
    }

    assert routes == set(SCHEMA["paths"])
