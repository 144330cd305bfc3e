"""The frames of the live protocol (SPEC §7) and their one text encoding.

Every frame a reader receives is built here: `hello` and `reset` by the consumer and the
hub, changes by the domain's services (stored in the change log as they are built, so a
replay from the log sends the same frame), and the channel-layer message that carries a
change between processes. Knows no model: callers pass the public payloads.
"""

import json
import time
from typing import Any
from urllib.parse import parse_qs

# The channel-layer message type the hub receives changes as.
LIVE_MESSAGE_TYPE = "live.change"

POST_CREATED = "post.created"
POST_UPDATED = "post.updated"
POST_DELETED = "post.deleted"
EVENT_UPDATED = "event.updated"
CHANGE_TYPES = (POST_CREATED, POST_UPDATED, POST_DELETED, EVENT_UPDATED)


def group_for(event_id: int) -> str:
    """The channel-layer group of an event's changes (one subscription per process)."""
    return f"event.{event_id}"


def encode_frame(payload: dict[str, Any]) -> str:
    """The one text encoding of a live frame, shared by every path to readers."""
    return json.dumps(payload, separators=(",", ":"))


def since_value(text: str) -> int:
    """A `since` as the protocol takes it (SPEC §7): a whole number, zero or more; ValueError
    otherwise."""
    since = int(text)
    if since < 0:
        raise ValueError("since must not be negative")
    return since


def parse_since(query_string: bytes) -> int | None:
    """The connection's `?since=`, None without one; ValueError if it is not a `since`."""
    values = parse_qs(query_string.decode("latin-1")).get("since")
    return since_value(values[0]) if values else None


def hello(seq: int) -> dict[str, Any]:
    """The first frame: the event's last seq when the connection joined."""
    return {"type": "hello", "seq": seq}


def reset(seq: int) -> dict[str, Any]:
    """Too much is missing (or `since` is ahead): the client reloads the page."""
    return {"type": "reset", "seq": seq}


def change(
    kind: str,
    seq: int,
    *,
    post: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    html: str | None = None,
) -> dict[str, Any]:
    """A change frame: `post.*` with the post's payload (`post.deleted`: its id alone) or
    `event.updated` with the event's, and the rendered fragment where readers show one."""
    if kind not in CHANGE_TYPES:
        raise ValueError(f"{kind!r} is not a change type of the live protocol")
    frame: dict[str, Any] = {"type": kind, "seq": seq}
    if kind == EVENT_UPDATED:
        frame["event"] = event
    elif kind == POST_DELETED:
        assert post is not None
        frame["post"] = {"id": post["id"]}
    else:
        frame["post"] = post
    if html is not None and kind != POST_DELETED:
        frame["html"] = html
    return frame


def retold(earlier: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """An earlier frame of a post (or of the event) as it is to be replayed once `now` (a
    later frame of the same post, or the event's latest) has happened (SPEC §7: replays
    carry what is true now). Removed since: its seq says `post.deleted`, the id alone.
    Changed since: its seq carries the current content. The seq and the type of the
    earlier change stay, so a reader still gets every seq once."""
    if earlier["type"] == EVENT_UPDATED:
        return change(EVENT_UPDATED, earlier["seq"], event=now["event"], html=now.get("html"))
    if earlier["type"] == POST_DELETED:
        return earlier
    if now["type"] == POST_DELETED:
        return change(POST_DELETED, earlier["seq"], post={"id": earlier["post"]["id"]})
    return change(earlier["type"], earlier["seq"], post=now["post"], html=now.get("html"))


def live_message(
    event_id: int, frame: dict[str, Any], replaces: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A committed change on the channel layer: the frame is encoded once, here, and every
    process forwards the text as it is. It names what it is about (`subject`: a post by its
    id, or the event itself) and carries that subject's earlier frames retold (`replaces`),
    for the caches that keep frames to replay."""
    post = frame.get("post")
    subject = f"post:{post['id']}" if post else ("event" if frame["type"] == EVENT_UPDATED else "")
    return {
        "type": LIVE_MESSAGE_TYPE,
        "event": event_id,
        "seq": frame["seq"],
        "at": time.time(),  # the commit, for the publish-to-send latency metric
        "frame": encode_frame(frame),
        "subject": subject,
        "replaces": [[f["seq"], encode_frame(f)] for f in replaces or ()],
    }
