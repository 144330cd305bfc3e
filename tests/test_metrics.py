"""Prometheus metrics of the live path (issue 5: observability)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from liveblog.asgi import application
from liveblog.blog import services
from tests.factories import EventFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_event():
    event = EventFactory()
    return event, MembershipFactory(event=event, role="editor").user


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")


async def test_metrics_count_readers_and_publish_to_send_latency(live_event):
    event, author = live_event
    before = await sync_to_async(lambda: Client().get("/metrics").content.decode())()
    reader = WebsocketCommunicator(
        application, f"/ws/events/{event.slug}/", headers=[(b"origin", b"http://localhost")]
    )
    assert (await reader.connect(timeout=5))[0]
    await reader.receive_json_from(timeout=5)
    await sync_to_async(services.post_publish)(event=event, author=author, body="Counted")
    await reader.receive_json_from(timeout=5)
    text = await sync_to_async(lambda: Client().get("/metrics").content.decode())()
    await reader.disconnect()
    assert metric(text, f'liveblog_readers{{event="{event.pk}"}}') == 1
    assert metric(text, "liveblog_publish_to_send_seconds_count") == (
        metric(before, "liveblog_publish_to_send_seconds_count") + 1
    )
    assert metric(text, "liveblog_frames_sent_total") >= 1


def test_metrics_token_is_required_when_set(settings):
    settings.METRICS_TOKEN = "s3cret"
    assert Client().get("/metrics").status_code == 401
    response = Client().get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    assert b"liveblog_readers" in response.content


def test_metrics_are_closed_in_production_without_a_token(settings):
    """Issue 14, reproduction 6: with DEBUG=0 and no METRICS_TOKEN, /metrics was public."""
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = False
    response = Client().get("/metrics")
    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content
    assert b"liveblog_readers" not in response.content


def test_metrics_can_be_opened_for_an_internal_network(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = True
    assert b"liveblog_readers" in Client().get("/metrics").content
