"""The editor's "API tokens" page (issue 14, "what else to build"): each user lists, creates
and revokes their own tokens; a new token's key is shown once; nobody sees or revokes
someone else's; an expired or a deactivated user's token is refused by the API at once."""

import hashlib
import re
from datetime import timedelta

import lxml.html
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import ApiToken
from tests.api.helpers import Api, url

pytestmark = pytest.mark.django_db

TOKENS = reverse("editor:tokens")
KEY = re.compile(r"lb_[A-Za-z0-9_-]{40,}")


def revoke_url(token: ApiToken) -> str:
    return reverse("editor:token_revoke", args=[token.pk])


def page(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.content)


def test_the_page_is_linked_from_the_editor_s_header(client_for, reporter):
    home = page(client_for(reporter).get(reverse("editor:home")))

    assert home.xpath(f"//nav[@aria-label='Editor']//a[@href='{TOKENS}']")


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(TOKENS)

    assert response.status_code == 302 and reverse("editor:login") in response["Location"]


def test_the_list_shows_my_tokens_only(client_for, reporter, other_reporter):
    mine, _ = services.token_create(user=reporter, name="ingest", expires_in_days=30)
    services.token_create(user=reporter, name="forever")
    theirs, _ = services.token_create(user=other_reporter, name="their-secret-script")

    response = client_for(reporter).get(TOKENS)

    assert response.status_code == 200
    rows = page(response).xpath("//table[contains(@class, 'tokens')]/tbody/tr")
    cells = [[" ".join(c.text_content().split()) for c in row.xpath("th|td")] for row in rows]
    assert [row[0] for row in cells] == ["forever", "ingest"]  # newest first
    assert cells[1][1] == f"{mine.prefix}…"
    assert cells[1][3] == "Never"  # not used yet
    assert cells[0][4] == "Never"  # no expiry
    assert mine.expires_at is not None
    assert cells[1][4] == timezone.localtime(mine.expires_at).strftime("%-d %b %Y, %H:%M")
    html = response.content.decode()
    assert "their-secret-script" not in html and theirs.prefix not in html
    assert revoke_url(theirs) not in html


def test_creating_a_token_shows_its_key_once_and_stores_only_its_hash(client_for, reporter):
    client = client_for(reporter)

    response = client.post(TOKENS, {"name": "ingest", "expires_in_days": "30"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [key] = set(KEY.findall(response.content.decode()))
    [shown] = page(response).xpath("//input[@id='token-key']/@value")
    assert shown == key
    token = ApiToken.objects.get(user=reporter)
    assert token.name == "ingest"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert key not in str(dict(client.session))
    assert not KEY.search(client.get(TOKENS).content.decode()), "shown once only"
    event = reporter.memberships.get().event
    assert Api(token=key).post(url(event.slug, "posts"), {"body": "x"}).status_code == 201


def test_a_token_without_expiry_lasts_until_revoked(client_for, reporter):
    client_for(reporter).post(TOKENS, {"name": "forever", "expires_in_days": ""})

    assert ApiToken.objects.get(user=reporter).expires_at is None


def test_the_form_works_without_javascript_and_is_labelled(client_for, reporter):
    html = page(client_for(reporter).get(TOKENS))

    [form] = html.xpath("//form[.//button[normalize-space()='Create token']]")
    assert form.get("method") == "post" and form.get("action") == TOKENS
    assert form.xpath(".//input[@name='csrfmiddlewaretoken']")
    for name in ("name", "expires_in_days"):
        [field] = form.xpath(f".//*[@name='{name}']")
        assert html.xpath(f"//label[@for='{field.get('id')}']"), name
    assert html.xpath("//main") and html.xpath("//h1[normalize-space()='API tokens']")


def test_a_token_needs_a_name(client_for, reporter):
    response = client_for(reporter).post(TOKENS, {"name": "", "expires_in_days": "7"})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_expiry_not_offered_is_refused(client_for, reporter):
    response = client_for(reporter).post(TOKENS, {"name": "x", "expires_in_days": "100000"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_asks_first_then_revokes_and_the_token_stops(client_for, event, reporter):
    token, key = services.token_create(user=reporter, name="ingest")
    client = client_for(reporter)

    confirm = client.get(revoke_url(token))
    assert confirm.status_code == 200
    [form] = page(confirm).xpath("//form[.//button[normalize-space()='Revoke']]")
    assert form.get("method") == "post" and form.xpath(".//input[@name='csrfmiddlewaretoken']")
    assert ApiToken.objects.filter(pk=token.pk).exists(), "a GET changes nothing"

    response = client.post(revoke_url(token))

    assert response.status_code == 302 and response["Location"] == TOKENS
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert Api(token=key).get(url(event.slug)).status_code == 401


def test_revoking_needs_the_csrf_token(event, reporter):
    token, _key = services.token_create(user=reporter, name="ingest")
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)

    assert client.post(revoke_url(token)).status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_someone_else_s_token_is_a_404(client_for, reporter, other_reporter, admin):
    theirs, _key = services.token_create(user=other_reporter, name="theirs")

    for user in (reporter, admin):  # admins revoke others' tokens in the admin, not here
        client = client_for(user)
        assert client.get(revoke_url(theirs)).status_code == 404
        assert client.post(revoke_url(theirs)).status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_an_expired_token_is_refused_by_the_api_with_a_sentence_saying_so(event, reporter):
    token, key = services.token_create(user=reporter, name="old", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = Api(token=key).post(url(event.slug, "posts"), {"body": "x"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert body["error"] == "not_authenticated" and body["fields"] == {}
    assert "expired" in body["detail"]


def test_an_expired_token_is_marked_in_the_list(client_for, reporter):
    token, _key = services.token_create(user=reporter, name="old", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    html = client_for(reporter).get(TOKENS).content.decode()

    assert "expired" in html


def test_a_deactivated_user_s_token_is_refused_at_once(client_for, event, reporter):
    created = client_for(reporter).post(TOKENS, {"name": "ingest", "expires_in_days": ""})
    [key] = set(KEY.findall(created.content.decode()))
    api = Api(token=key)
    assert api.post(url(event.slug, "posts"), {"body": "Before."}).status_code == 201

    reporter.is_active = False
    reporter.save()

    assert api.post(url(event.slug, "posts"), {"body": "After."}).status_code == 401
    assert api.get(url(event.slug)).status_code == 401
