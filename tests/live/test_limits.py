"""What a socket can cost us (issue 14, reproduction 8): every unknown slug a socket asked
for was cached for good (2,400 distinct 7.9 KB slugs: +12.6 MiB, never freed), unrouted
socket paths answered 500 with a traceback at ERROR, and one address could open any number
of sockets."""

import logging

import pytest
from channels.testing import WebsocketCommunicator

from liveblog.asgi import application
from liveblog.live import hub as hub_module
from tests.live.client import ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)


async def _refused(path: str, client: tuple[str, int] | None = None) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    if client is not None:
        communicator.scope["client"] = client
    connected, _ = await communicator.connect(timeout=5)
    if connected:
        await communicator.disconnect()
    return not connected


@pytest.mark.parametrize(
    "path", ["/ws/", "/ws/events/a/b/", "/ws/events/%C3%A9/", "/ws/elsewhere", "/ws/events/"]
)
async def test_an_unrouted_socket_is_refused_cleanly(path, caplog):
    with caplog.at_level(logging.ERROR):
        assert await _refused(path)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback"


async def test_unknown_slugs_do_not_pile_up_in_memory(live_event, monkeypatch):
    monkeypatch.setattr(hub_module, "SLUG_CACHE", 20)
    event, _ = live_event
    for n in range(50):
        assert await _refused(f"/ws/events/no-such-event-{n}/")
    assert not await _refused(f"/ws/events/{event.slug}/")
    hub = hub_module.current_hub()
    assert len(hub.unknown) == 20 and list(hub.slugs) == [event.slug]


async def test_a_slug_longer_than_any_event_s_is_refused_without_a_query(monkeypatch):
    def refuse(slug):
        raise AssertionError("looked up")

    monkeypatch.setattr(hub_module.selectors, "live_keys", refuse)
    assert await _refused("/ws/events/" + "a" * 7900 + "/")


async def test_one_address_may_hold_only_so_many_sockets(live_event, settings):
    settings.LIVEBLOG_SOCKETS_PER_ADDRESS = 3
    event, _ = live_event
    path = f"/ws/events/{event.slug}/"
    held = []
    for _ in range(3):
        communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
        communicator.scope["client"] = ("198.51.100.7", 50000)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        held.append(communicator)
    assert await _refused(path, ("198.51.100.7", 50001)), "a fourth from the same address"
    assert not await _refused(path, ("198.51.100.8", 50000)), "another address still gets in"
    await held.pop().disconnect()
    assert not await _refused(path, ("198.51.100.7", 50002)), "room again once one left"
    for communicator in held:
        await communicator.disconnect()
