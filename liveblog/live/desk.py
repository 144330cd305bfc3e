"""The newsroom's own live channel (the editor page's socket), beside the readers' one.

Services tell an event's desk that something its team sees has changed (a submission, a
draft, an entry's status, a member), after their transaction commits, as `live.publish`
does for readers. The desk consumer (liveblog.live.desk_consumer) forwards these frames to
every open editor page of the event; none of this ever reaches a reader's group.

Frames (JSON, `type` first):
- {"type": "desk.changed", "what": "submission" | "draft" | "post" | "event" | "member",
   "post_id": <id or null>, "status": <post status or null>, "by": <username>}
- {"type": "desk.revoke", "user_id": <id>}: that user lost access to the event (removed
   member, deactivated user); their open desk sockets close at once.
"""

from typing import Any

from django.db import transaction

from liveblog.live import publish


def desk_group(event_id: int) -> str:
    return f"desk-{event_id}"


def send_on_commit(event_id: int, message: dict[str, Any]) -> None:
    """Send `message` to the event's desk once the current transaction commits (at once
    outside one). A channel layer that is down loses the nudge only: the desk pages re-read
    what they show when they reconnect."""
    transaction.on_commit(lambda: _send(desk_group(event_id), message))


def changed(
    event_id: int, *, what: str, by: str, post_id: int | None = None, status: str | None = None
) -> None:
    send_on_commit(
        event_id,
        {"type": "desk.changed", "what": what, "post_id": post_id, "status": status, "by": by},
    )


def revoke(event_id: int, user_id: int) -> None:
    send_on_commit(event_id, {"type": "desk.revoke", "user_id": user_id})


def _send(group: str, message: dict[str, Any]) -> None:
    try:
        publish.send_now(group, message)
    except Exception:  # a lost nudge must not fail the committed write
        publish.logger.warning("desk: could not send %s to %s", message["type"], group)
