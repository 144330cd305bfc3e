import pytest

from liveblog.blog import broadcast


@pytest.fixture
def sent(monkeypatch):
    """What the services pushed to the channel layer, in order."""
    messages: list[dict] = []

    async def publish(group, message):
        messages.append(message)

    monkeypatch.setattr(broadcast, "_publish", publish)
    return messages
