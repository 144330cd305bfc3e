"""The only place that pushes to live readers (Zulip's send_event_on_commit idea).

A change is sent after its transaction commits, so a rolled-back change reaches nobody.
The frame is serialised once here; consumers forward the text as it is.
If the channel layer is down the change is still stored: readers converge through the
change log (the live hub's watch, `since` on reconnect, gap detection in the client).
"""

import asyncio
import json
import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from liveblog import metrics
from liveblog.blog import history

logger = logging.getLogger(__name__)

LIVE_MESSAGE_TYPE = "live.change"
PUBLISH_TIMEOUT = 2.0


def group_for(event_id: int) -> str:
    return f"event.{event_id}"


def encode_frame(payload: dict[str, Any]) -> str:
    """The one text encoding of a live frame (SPEC §7), shared by every path to readers."""
    return json.dumps(payload, separators=(",", ":"))


def live_message(event_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": LIVE_MESSAGE_TYPE,
        "event": event_id,
        "seq": payload["seq"],
        "at": time.time(),  # the commit, for the publish-to-send latency metric
        "frame": encode_frame(payload),
    }


def send_change_on_commit(*, event_id: int, stamp: int, payload: dict[str, Any]) -> None:
    """`stamp`: the event's history stamp (`history.stamp_of(event.created_at)`)."""
    transaction.on_commit(lambda: _push(event_id, stamp, payload))


def _push(event_id: int, stamp: int, payload: dict[str, Any]) -> None:
    message = live_message(event_id, payload)
    # Into the recent history first: a reader that gets the push and reconnects at once
    # finds it there.
    history.record(event_id, stamp, message["seq"], message["frame"])
    send_now(group_for(event_id), message)


async def _publish(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        # Bounded: a hung Redis must not hold the reporter's request.
        await asyncio.wait_for(layer.group_send(group, message), timeout=PUBLISH_TIMEOUT)


def send_now(group: str, message: dict[str, Any]) -> None:
    try:
        async_to_sync(_publish)(group, message)
    except Exception:
        # The change is committed; never fail the reporter's request for the fast path.
        metrics.PUBLISH_FAILURES.inc()
        logger.warning("live push of seq %s to %s failed", message.get("seq"), group, exc_info=True)
