import pytest

from liveblog.blog import broadcast


@pytest.fixture
def sent(monkeypatch):
    """What the services pushed to the channel layer, in order."""
    messages: list[dict] = []
    monkeypatch.setattr(broadcast, "send_now", lambda group, msg: messages.append(msg))
    return messages
