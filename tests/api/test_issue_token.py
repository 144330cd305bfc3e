from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from liveblog.blog.models import ApiToken
from tests.api.helpers import Api, url


def test_issue_token_prints_the_key_alone_and_it_works(event, reporter):
    out = StringIO()
    call_command("issue_token", reporter.username, "--name", "ingest", stdout=out)

    key = out.getvalue().strip()
    assert out.getvalue() == key + "\n"
    token = ApiToken.objects.get(user=reporter)
    assert token.name == "ingest"
    assert token.key_hash == ApiToken.hash(key)
    assert key not in (token.key_hash, token.prefix)
    assert Api(token=key).post(url(event.slug, "posts"), {"body": "x"}).status_code == 201


def test_issue_token_for_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="ghost"):
        call_command("issue_token", "ghost", stdout=StringIO())

    assert ApiToken.objects.count() == 0


def test_issue_token_with_an_expiry(event, reporter):
    out = StringIO()
    call_command("issue_token", reporter.username, "--expires-in-days", "7", stdout=out)

    key = out.getvalue().strip()
    assert out.getvalue() == key + "\n"
    token = ApiToken.objects.get(user=reporter)
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert Api(token=key).get(url(event.slug)).status_code == 200


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_issue_token_refuses_an_expiry_out_of_range(reporter, days):
    with pytest.raises(CommandError, match="Between 1 and"):
        call_command("issue_token", reporter.username, "--expires-in-days", days, stdout=StringIO())

    assert ApiToken.objects.count() == 0
