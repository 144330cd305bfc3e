"""Helpers for tests of the live connection through the ASGI application, in-process."""

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from liveblog.asgi import application
from liveblog.blog import services

ORIGIN = (b"origin", b"http://localhost")


async def connect(slug: str, query: str = "") -> WebsocketCommunicator:
    path = f"/ws/events/{slug}/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


def publish_now(event, author, body="Entry"):
    return services.post_publish(event=event, author=author, body=body)[0]


publish = sync_to_async(publish_now)
