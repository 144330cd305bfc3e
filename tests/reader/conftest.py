import pytest

from tests.factories import EventFactory, MembershipFactory


@pytest.fixture
def live_event():
    """An event and an editor of it, committed (for tests that cross threads or loops)."""
    event = EventFactory()
    author = MembershipFactory(event=event, role="editor").user
    return event, author
