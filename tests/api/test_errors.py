import json

import pytest
from django.test import Client

from liveblog.api import errors
from liveblog.blog import selectors
from liveblog.blog.models import Post
from liveblog.http import ratelimit
from tests.api.helpers import Api, url
from tests.factories import UserFactory


def _is_error_shape(response) -> bool:
    body = response.json()
    return (
        response["Content-Type"] == "application/json"
        and set(body) == {"error", "detail", "fields"}
        and isinstance(body["detail"], str)
        and isinstance(body["fields"], dict)
    )


@pytest.mark.parametrize("path", ["/api/", "/api/v2/", "/api/v1/events/a/b/c/", "/api/v1/x"])
def test_unknown_api_address_is_a_json_404(db, anonymous, path):
    response = anonymous.get(path)

    assert response.status_code == 404
    assert _is_error_shape(response)


def test_missing_trailing_slash_gets_a_hint(event, anonymous):
    response = anonymous.post(f"/api/v1/events/{event.slug}/posts", {"body": "x"})

    assert response.status_code == 404
    assert f"/api/v1/events/{event.slug}/posts/" in response.json()["detail"]


def test_wrong_method_is_a_json_405_with_allow(event, anonymous):
    response = anonymous.call("put", url(event.slug), {"title": "x"})

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, PATCH"
    assert _is_error_shape(response)


def test_head_answers_like_get(event, anonymous):
    assert anonymous.call("head", url(event.slug)).status_code == 200


def test_unexpected_failure_is_a_json_500(event, anonymous, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "stream_page", broken)

    response = anonymous.get(url(event.slug, "posts"))

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert "fire" not in response.json()["detail"]  # internals stay in the logs


@pytest.mark.parametrize(
    "response_of",
    [
        lambda ev, api: api.post(url(ev.slug, "posts"), {"body": 1}),
        lambda ev, api: Api().post(url(ev.slug, "posts"), {"body": "x"}),
        lambda ev, api: Api(token=api.token).post(url(), {"title": "x"}),
        lambda ev, api: api.get(url("nope")),
        lambda ev, api: api.call("put", url(ev.slug), {}),
        lambda ev, api: api.call("post", url(ev.slug, "posts"), "x" * 2**21),
    ],
    ids=["400", "401", "403", "404", "405", "413"],
)
def test_every_refusal_has_the_error_shape(event, reporter, api_for, response_of):
    assert _is_error_shape(response_of(event, api_for(reporter)))


# --- rate limits ------------------------------------------------------------------------


def test_writes_over_the_limit_are_a_429_with_retry_after(event, reporter, api_for, rate_limits):
    api = api_for(reporter)
    statuses = [api.post(url(event.slug, "posts"), {"body": f"{n}"}).status_code for n in range(4)]

    assert statuses == [201, 201, 201, 429]
    refused = api.post(url(event.slug, "posts"), {"body": "again"})
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Post.objects.count() == 3


def test_rate_limit_is_per_user(event, reporter, editor, api_for, rate_limits):
    for n in range(3):
        api_for(reporter).post(url(event.slug, "posts"), {"body": f"{n}"})

    assert api_for(editor).post(url(event.slug, "posts"), {"body": "mine"}).status_code == 201
    assert api_for(reporter).post(url(event.slug, "posts"), {"body": "x"}).status_code == 429


def test_reads_are_not_rate_limited(event, anonymous, rate_limits):
    statuses = {anonymous.get(url(event.slug, "posts")).status_code for _ in range(10)}

    assert statuses == {200}


def test_one_address_is_limited_across_users(event, api_for, rate_limits):
    limit = 3 * ratelimit.ADDRESS_SHARE
    forged = Api(token="lb_forged")
    statuses = [
        forged.post(url(event.slug, "posts"), {"body": "x"}).status_code for _ in range(limit)
    ]
    assert set(statuses) == {401}

    fresh_user = api_for(UserFactory())
    assert fresh_user.post(url(event.slug, "posts"), {"body": "x"}).status_code == 429


def test_rate_limits_can_be_turned_off(event, reporter, api_for, rate_limits):
    rate_limits.LIVEBLOG_RATE_LIMITS = False
    api = api_for(reporter)

    statuses = {api.post(url(event.slug, "posts"), {"body": f"{n}"}).status_code for n in range(6)}

    assert statuses == {201}


def test_writes_go_through_when_the_rate_limit_cache_is_down(
    event, reporter, api_for, rate_limits, monkeypatch
):
    class Down:
        def add(self, *args, **kwargs):
            raise ConnectionError("redis is restarting")

    monkeypatch.setattr(ratelimit, "cache", Down())

    response = api_for(reporter).post(url(event.slug, "posts"), {"body": "still published"})

    assert response.status_code == 201


def test_server_error_handler_answers_json_under_api_only(rf):
    api = errors.server_error(rf.get("/api/v1/events/"))
    page = errors.server_error(rf.get("/events/x/"))

    assert api.status_code == page.status_code == 500
    assert json.loads(api.content)["error"] == "server_error"
    assert page["Content-Type"].startswith("text/html")


def test_csrf_failure_answers_json_under_api_only(rf):
    api = errors.csrf_failure(rf.post("/api/v1/events/"), reason="CSRF cookie not set.")
    page = errors.csrf_failure(rf.post("/editor/"), reason="CSRF cookie not set.")

    assert api.status_code == page.status_code == 403
    assert json.loads(api.content)["error"] == "csrf_failed"
    assert page["Content-Type"].startswith("text/html")


def test_post_to_an_unknown_api_address_is_a_json_404_even_without_csrf(db):
    response = Api(Client(enforce_csrf_checks=True)).post("/api/v1/nothing/", {"x": 1})

    assert response.status_code == 404
    assert _is_error_shape(response)


def test_an_empty_body_is_malformed_json(event, reporter, api_for):
    api = api_for(reporter)
    response = api.client.post(
        url(event.slug, "posts"), b"", content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events/{slug}/posts/not-a-number/",  # an id that is not a number
        "/api/v1/events/{slug}/posts/1%0A/",  # a newline in the path
        "/api/v1/events/%0A/",
    ],
)
def test_odd_addresses_under_api_answer_json(event, anonymous, path):
    """Issue 14, reproduction 9: these answered Django's HTML pages."""
    response = anonymous.get(path.format(slug=event.slug))
    assert response.status_code == 404
    assert _is_error_shape(response)


def test_a_session_write_without_its_csrf_token_answers_json(event, reporter):
    """Issue 14, reproduction 9: a request carrying a session cookie but no CSRF token got
    Django's HTML 403 page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    response = client.post(
        url(event.slug, "posts"), data=json.dumps({"body": "x"}), content_type="application/json"
    )
    assert response.status_code == 403
    assert _is_error_shape(response) and response.json()["error"] == "csrf_failed"
    assert not Post.objects.exists()


def test_a_host_we_do_not_serve_is_refused_in_json_under_api(db, settings):
    """Review finding: with DEBUG off, a request naming another Host answered Django's HTML
    400 page under /api/."""
    settings.DEBUG = False
    api = Client().get("/api/v1/events/", headers={"Host": "evil.example"})
    page = Client().get("/", headers={"Host": "evil.example"})
    assert api.status_code == page.status_code == 400
    assert api["Content-Type"] == "application/json" and api.json()["error"] == "bad_request"
    assert page["Content-Type"].startswith("text/html")
