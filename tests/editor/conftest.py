import pytest

from liveblog.blog import services
from liveblog.blog.models import Membership
from tests.factories import MembershipFactory


@pytest.fixture
def other_reporter(event):
    return MembershipFactory(event=event, role=Membership.Role.REPORTER).user


@pytest.fixture
def publish(event):
    """Publish through the service, as the editor pages and the API do."""

    def make(author, body="An entry.", **kwargs):
        post, _created = services.post_publish(event=event, author=author, body=body, **kwargs)
        return post

    return make


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Rate limits share Redis with other test runs; only their own tests turn them on
    (tests/editor/test_rate_limits.py), as in tests/api."""
    settings.LIVEBLOG_RATE_LIMITS = False
