from io import StringIO

import pytest
from django.core.management import CommandError, call_command

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
