"""The live connection of a reader (SPEC §7). Thin and read-only: look the event up, join
its group, say hello, replay what the reader missed, then forward live frames.

Ordering argument: the consumer joins the group *before* reading the event's last seq H.
Every change committed after that read reaches the group after we joined, and every change
up to H is in the change log and replayed; live frames are forwarded only above H, so the
boundary has neither a gap nor a duplicate.
"""

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from liveblog.blog import selectors
from liveblog.blog.broadcast import group_for

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400


def _parse_since(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("since")
    if not values:
        return None
    since = int(values[0])
    if since < 0:
        raise ValueError("since must not be negative")
    return since


@database_sync_to_async
def _event_id(slug: str) -> int | None:
    event = selectors.event_by_slug(slug)
    return event.pk if event else None


@database_sync_to_async
def _catch_up(event_id: int, since: int, upto: int) -> list[dict[str, Any]] | None:
    """Changes since < seq ≤ upto, or None when more are missing than we replay."""
    limit = settings.LIVEBLOG_CATCHUP_LIMIT
    if upto - since > limit:
        return None
    event = selectors.Event(pk=event_id)
    return [c for c in selectors.changes_since(event, since, limit=limit) if c["seq"] <= upto]


class EventConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    hello_seq = 0

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        try:
            since = _parse_since(self.scope.get("query_string", b""))
        except ValueError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        event_id = await _event_id(slug)
        if event_id is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = group_for(event_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        hello_seq = await database_sync_to_async(selectors.last_seq)(event_id)
        await self.accept()
        await self._send_json({"type": "hello", "seq": hello_seq})
        self.hello_seq = hello_seq
        if since is None or since == hello_seq:
            return
        changes = None if since > hello_seq else await _catch_up(event_id, since, hello_seq)
        if changes is None:
            await self._send_json({"type": "reset", "seq": hello_seq})
            return
        for change in changes:
            await self.send(text_data=json.dumps(change, separators=(",", ":")))

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Readers are read-only; anything they send is ignored."""

    async def live_change(self, message: dict[str, Any]) -> None:
        # Up to hello_seq the reader has it from the page or the replay. Above it, frames
        # are forwarded as they come: two processes' publishes may reach Redis out of seq
        # order, and the client orders, de-duplicates and fills gaps by seq.
        if message["seq"] > self.hello_seq:
            await self.send(text_data=message["frame"])

    async def _send_json(self, data: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(data, separators=(",", ":")))
