"""Publishers: how the bench puts an entry out, through our API or to the floor server.

Each entry's body carries `T0=<time.time_ns()>` taken just before the request is sent, and
readers subtract it from their receive time: publish-to-delivery latency, the publisher's
request included.
"""

import copy
import http.client
import json
import time
from typing import Any, Protocol

from websockets.sync.client import connect

from bench.fixtures import LOREM


def entry_body(number: int, t0: int) -> str:
    return f"Bench entry {number}. T0={t0}\n\n{LOREM}"


class Publisher(Protocol):
    def publish(self) -> float:
        """Publish one entry; return the publisher's wait in milliseconds."""

    def last_seq(self) -> int: ...


class ApiPublisher:
    def __init__(self, port: int, token: str, slug: str):
        self.port = port
        self.slug = slug
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Host": f"127.0.0.1:{port}",
        }
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.count = 0

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def publish(self) -> float:
        self.count += 1
        t0 = time.time_ns()
        body = json.dumps({"body": entry_body(self.count, t0)}).encode()
        status, data = self._request("POST", f"/api/v1/events/{self.slug}/posts/", body)
        elapsed = (time.time_ns() - t0) / 1e6
        if status != 201:
            raise RuntimeError(f"publish answered {status}: {data[:300]!r}")
        return elapsed

    def last_seq(self) -> int:
        status, data = self._request("GET", f"/api/v1/events/{self.slug}/")
        if status != 200:
            raise RuntimeError(f"event answered {status}: {data[:300]!r}")
        return int(json.loads(data)["last_seq"])


class FloorPublisher:
    """Sends the floor server frames shaped and sized like ours (a real change payload)."""

    def __init__(self, port: int, sample: dict[str, Any]):
        self.connection = connect(f"ws://127.0.0.1:{port}/publish", compression=None)
        self.sample = sample
        self.seq = 0

    def publish(self) -> float:
        self.seq += 1
        t0 = time.time_ns()
        payload = copy.deepcopy(self.sample)
        payload["seq"] = self.seq
        payload["post"]["body"] = entry_body(self.seq, t0)
        self.connection.send(json.dumps(payload, separators=(",", ":")))
        return (time.time_ns() - t0) / 1e6

    def last_seq(self) -> int:
        return self.seq


def sample_payload(slug: str) -> dict[str, Any]:
    """A real post.created message from the change log, to give the floor the same frames."""
    from liveblog.blog.models import Change

    change = Change.objects.filter(event__slug=slug, kind="post.created").order_by("-seq").first()
    assert change is not None
    payload = dict(change.payload)
    return {
        "type": payload["type"],
        "seq": 0,
        **{k: v for k, v in payload.items() if k not in ("type", "seq")},
    }
