"""Every page's Content-Security-Policy and Permissions-Policy (SPEC §8), and the endpoint the
browsers report violations to (issue 14: reproduction 10 and the CSP bullet)."""

import json
import logging
import re
import secrets

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from liveblog.blog import embeds, services
from liveblog.ops import CSP_REPORT_MAX_BYTES
from tests.factories import PostFactory
from tests.test_settings import settings_print

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")
SCRIPT = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
TEMPLATE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def nonce_of(response) -> str:
    (script_src,) = [d for d in response["Content-Security-Policy"].split(";") if "script-src" in d]
    match = NONCE.search(script_src)
    assert match, f"no nonce in {script_src!r}"
    return match.group(1)


def pages(event, post, editor_client):
    """(name, client, path) for every kind of page we serve."""
    anonymous = Client()
    return [
        ("home", anonymous, "/"),
        ("event", anonymous, f"/events/{event.slug}/"),
        ("permalink", anonymous, f"/events/{event.slug}/posts/{post.pk}/"),
        ("embed", anonymous, f"/events/{event.slug}/embed/"),
        ("feed", anonymous, f"/events/{event.slug}/feed/"),
        ("editor login", anonymous, "/editor/login/"),
        ("editor compose", editor_client, f"/editor/events/{event.slug}/"),
        ("admin login", anonymous, "/admin/login/"),
    ]


@pytest.fixture
def every_page(event, editor, client_for):
    post = PostFactory(event=event, author=editor)
    return pages(event, post, client_for(editor))


def test_every_page_sends_the_policy_with_exact_directives(every_page):
    for name, client, path in every_page:
        response = client.get(path)
        assert response.status_code == 200, name
        policy = directives(response)
        script_src = policy["script-src"]
        if name == "admin login":  # Django 5.2's admin puts no nonce on its scripts
            assert script_src == ["'self'"], name
        else:
            assert len(script_src) == 1 and script_src[0].startswith("'nonce-"), name
        assert policy["default-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'self'"], name
        assert policy["form-action"] == ["'self'"], name
        assert policy["style-src"] == ["'self'"], name
        # Reproduction 10: no image from anywhere, no socket to any host.
        assert policy["img-src"] == ["'self'", "data:"], name
        assert policy["connect-src"] == ["'self'", "ws://testserver"], name
        # Frames: exactly the embeds' providers, loaded when a reader clicks a card.
        assert policy["frame-src"] == embeds.frame_origins(
            settings.LIVEBLOG_EMBED_MASTODON_INSTANCES
        ), name
        assert all(o.startswith("https://") and "*" not in o for o in policy["frame-src"])
        assert policy["report-uri"] == ["/csp-report"], name
        assert policy["report-to"] == ["csp"], name
        assert response["Reporting-Endpoints"] == 'csp="/csp-report"', name
        assert "upgrade-insecure-requests" not in policy, name  # DEBUG is on in tests
        expected_ancestors = ["*"] if name == "embed" else ["'none'"]
        assert policy["frame-ancestors"] == expected_ancestors, name


def test_only_the_embed_page_may_be_framed(every_page):
    for name, client, path in every_page:
        response = client.get(path)
        if name == "embed":
            assert "X-Frame-Options" not in response
        else:
            assert response["X-Frame-Options"] == "DENY", name


def test_every_script_carries_the_responses_nonce(every_page):
    for name, client, path in every_page:
        response = client.get(path)
        html = response.content.decode()
        scripts = SCRIPT.findall(html)
        if name in ("event", "permalink", "embed", "editor compose"):
            assert scripts, f"{name} has no script to check"
        if name == "admin login":
            continue
        for tag in scripts:
            assert f'nonce="{nonce_of(response)}"' in tag, (name, tag)


def test_the_secure_socket_origin_is_named_over_https(event):
    response = Client().get(f"/events/{event.slug}/", secure=True)
    assert directives(response)["connect-src"] == ["'self'", "wss://testserver"]


def test_pages_without_a_cached_state_draw_a_new_nonce_per_response(every_page):
    for name, client, path in every_page:
        if name in ("home", "editor login", "editor compose"):
            assert nonce_of(client.get(path)) != nonce_of(client.get(path)), name


def test_a_public_pages_nonce_belongs_to_its_state(event, reporter):
    """A cached copy, a render-cache hit and a 304 all name the nonce their body carries (a
    browser takes a 304's policy over the one it stored); any change makes a new one."""
    url = f"/events/{event.slug}/"
    first = Client().get(url)
    hit = Client().get(url)  # served from the render cache: no template rendered
    assert first.content == hit.content
    assert nonce_of(hit) == nonce_of(first)
    revalidated = Client().get(url, headers={"if-none-match": first["ETag"]})
    assert revalidated.status_code == 304
    assert nonce_of(revalidated) == nonce_of(first)

    services.post_publish(event=event, author=reporter, body="Fresh news")
    changed = Client().get(url)
    assert changed["ETag"] != first["ETag"]
    assert nonce_of(changed) != nonce_of(first)
    assert f'nonce="{nonce_of(changed)}"' in changed.content.decode()


def test_a_public_pages_nonce_differs_by_address_and_cannot_be_guessed(event, settings):
    first = nonce_of(Client().get(f"/events/{event.slug}/"))
    other_query = nonce_of(Client().get(f"/events/{event.slug}/?order=oldest"))
    assert first != other_query
    cache.clear()
    settings.SECRET_KEY = "another deployment's secret"
    assert nonce_of(Client().get(f"/events/{event.slug}/")) != first


def test_no_inline_event_handler_in_any_template():
    from django.conf import settings

    offenders = []
    for path in (settings.BASE_DIR / "templates").rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if TEMPLATE_HANDLER.search(line) or "javascript:" in line:
                offenders.append(f"{path}:{number}: {line.strip()}")
    assert offenders == []


def test_permissions_policy_on_every_response(every_page):
    for name, client, path in [*every_page, ("health", Client(), "/healthz")]:
        header = client.get(path)["Permissions-Policy"]
        features = dict(item.split("=", 1) for item in header.split(", "))
        for denied in ("camera", "microphone", "geolocation", "payment", "usb",
                       "interest-cohort", "browsing-topics", "display-capture"):  # fmt: skip
            assert features[denied] == "()", (name, denied)
        assert features["clipboard-write"] == "(self)", name  # copy link on entries
        assert "web-share" not in features, name  # its default: this site only


@pytest.mark.parametrize(
    ("env", "upgrade"),
    [
        ({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50)}, "True"),
        ({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "SECURE_SSL_REDIRECT": "0"},
         "False"),
        ({"DEBUG": "1"}, "False"),
    ],
)  # fmt: skip
def test_insecure_requests_are_upgraded_in_production(env, upgrade):
    directive = 's.CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"]'
    assert settings_print(directive, **env) == upgrade


# Reproduction 10: an entry's image from elsewhere loads nothing (a tracking pixel).


def test_an_image_from_another_site_is_shown_as_a_link(event, reporter):
    post, _ = services.post_publish(
        event=event, author=reporter, body="Look ![a pixel](https://example.invalid/pixel.gif)"
    )
    html = Client().get(f"/events/{event.slug}/").content.decode()
    assert "<img" not in post.body_html
    assert '<a href="https://example.invalid/pixel.gif"' in post.body_html
    assert 'src="https://example.invalid' not in html


def test_an_image_this_site_serves_stays_an_image(event, reporter):
    post, _ = services.post_publish(
        event=event, author=reporter, body="![Our logo](/static/img/icon.svg)"
    )
    assert '<img src="/static/img/icon.svg" alt="Our logo">' in post.body_html


@pytest.mark.parametrize(
    "src",
    ["//example.invalid/p.gif", "http://example.invalid/p.gif", "HTTPS://EXAMPLE.INVALID/p.gif",
     "https://testserver.example.invalid/p.gif", "data:image/gif;base64,R0lGODlhAQABAAAAACw="],
)  # fmt: skip
def test_no_foreign_image_survives_rendering(src):
    from liveblog.blog.rendering import markdown_to_html

    html = markdown_to_html(f"![x]({src}) and [![y]({src})](https://example.org)")
    assert "<img" not in html


# The report endpoint.

CSP2_REPORT = {
    "csp-report": {
        "document-uri": "https://live.example/events/a/",
        "effective-directive": "img-src",
        "violated-directive": "img-src",
        "blocked-uri": "https://example.invalid/pixel.gif",
        "disposition": "enforce",
        "original-policy": "default-src 'self'",
    }
}
REPORTING_API = [
    {
        "type": "csp-violation",
        "age": 10,
        "url": "https://live.example/events/a/",
        "body": {
            "documentURL": "https://live.example/events/a/",
            "effectiveDirective": "script-src-elem",
            "blockedURL": "inline",
            "disposition": "enforce",
            "lineNumber": 3,
            "sample": "alert(1)\n\x1b[31m",
        },
    },
    {"type": "deprecation", "body": {"id": "x"}},
]


def post_report(body, content_type="application/csp-report", client=None, **extra):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return (client or Client()).post("/csp-report", data=data, content_type=content_type, **extra)


def test_a_csp_report_is_logged_and_answered_204(caplog):
    with caplog.at_level(logging.WARNING, logger="liveblog.csp"):
        response = post_report(CSP2_REPORT)
    assert response.status_code == 204
    (record,) = [r for r in caplog.records if r.name == "liveblog.csp"]
    assert record.csp["directive"] == "img-src"
    assert record.csp["blocked"] == "https://example.invalid/pixel.gif"
    assert record.csp["document"] == "https://live.example/events/a/"
    assert "img-src blocked https://example.invalid/pixel.gif" in record.getMessage()


def test_reporting_api_batches_are_logged_without_control_characters(caplog):
    with caplog.at_level(logging.WARNING, logger="liveblog.csp"):
        response = post_report(REPORTING_API, content_type="application/reports+json")
    assert response.status_code == 204
    (record,) = [r for r in caplog.records if r.name == "liveblog.csp"]
    assert record.csp["directive"] == "script-src-elem"
    assert record.csp["line"] == "3"
    assert record.csp["sample"] == "alert(1)??[31m"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"not json", "application/csp-report", 400),
        (b"\xff\xfe\x00", "application/reports+json", 400),
        (b"[1, 2, null]", "application/reports+json", 204),
        (b'{"csp-report": 5}', "application/csp-report", 400),
        (b'{"csp-report": {"blocked-uri": {"deep": [1]}}}', "application/csp-report", 204),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
        (b"{}", "text/plain", 415),
        (b"", "application/csp-report", 400),
    ],
)
def test_garbage_is_refused_cleanly(body, content_type, status):
    response = post_report(body, content_type=content_type)
    # The test client sends no Content-Type with an empty body.
    assert response.status_code == (415 if body == b"" else status)


def test_only_post_is_taken():
    assert Client().get("/csp-report").status_code == 405


def test_an_oversize_report_is_refused_413():
    huge = {"csp-report": {"blocked-uri": "x" * CSP_REPORT_MAX_BYTES}}
    assert post_report(huge).status_code == 413


def test_a_flood_from_one_address_is_limited(settings):
    settings.LIVEBLOG_RATE_LIMITS = True
    settings.CSP_REPORTS_PER_MINUTE = 5
    statuses = [post_report(CSP2_REPORT).status_code for _ in range(7)]
    assert statuses == [204] * 5 + [429] * 2
    flooded = post_report(CSP2_REPORT)
    assert 1 <= int(flooded["Retry-After"]) <= 60
    other = post_report(CSP2_REPORT, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 204
