"""A reference live client in Python, doing what static/js/live.js does: connect with
`since`, apply each change once in seq order, fetch gaps from /changes/, reconnect (to the
next server, as a load balancer would send it) with `since` after any disconnect."""

import asyncio
import json
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import websockets

from tests.api import openapi
from tests.servers import Server


def http_json(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw = response.read()
            openapi.check_urllib(method, url, response, raw)
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        openapi.check_urllib(method, url, error, raw)
        return error.code, json.loads(raw or b"null")


def page_state(server: Server, slug: str) -> dict[int, str]:
    """What a fresh load of the reader page shows: entry id -> its text."""
    with urllib.request.urlopen(f"{server.url}/events/{slug}/", timeout=15) as response:
        html = response.read().decode()
    articles = re.findall(r'<article[^>]* id="post-(\d+)"[^>]*>(.*?)</article>', html, re.S)
    return {int(pk): _text(body) for pk, body in articles}


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass
class LiveClient:
    servers: list[Server]
    slug: str
    seq: int = 0
    applied: list[int] = field(default_factory=list)
    state: dict[int, str] = field(default_factory=dict)
    connections: int = 0
    gap_fills: int = 0
    server_index: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    # Cleared, the client does not reconnect until it is set again (a phone out of signal).
    online: asyncio.Event = field(default_factory=_set_event)
    _stop: bool = False

    async def run(self) -> None:
        while not self._stop:
            server = self.servers[self.server_index % len(self.servers)]
            url = f"{server.ws}/ws/events/{self.slug}/?since={self.seq}"
            try:
                async with websockets.connect(
                    url, additional_headers={"Origin": server.url}, open_timeout=5
                ) as ws:
                    self.connections += 1
                    async for raw in ws:
                        await self.receive(server, json.loads(raw))
                        if self._stop:
                            return
            except (TimeoutError, OSError, websockets.WebSocketException):
                pass
            self.connected.clear()
            self.server_index += 1  # the load balancer sends us elsewhere
            await asyncio.sleep(0.2)
            await self.online.wait()

    def stop(self) -> None:
        self._stop = True

    async def receive(self, server: Server, message: dict[str, Any]) -> None:
        if message["type"] == "hello":
            self.connected.set()
            return
        if message["type"] == "reset":
            raise AssertionError("the server asked for a reset")
        if message["seq"] <= self.seq:
            return
        if message["seq"] > self.seq + 1:
            await self.fill_gap(server)
            if message["seq"] <= self.seq:
                return
        self.apply(message)

    async def fill_gap(self, server: Server) -> None:
        self.gap_fills += 1
        url = f"{server.url}/api/v1/events/{self.slug}/changes/?since={self.seq}"
        status, data = await asyncio.to_thread(http_json, "GET", url)
        assert status == 200
        for change in data["changes"]:
            if change["seq"] == self.seq + 1:
                self.apply(change)

    def apply(self, message: dict[str, Any]) -> None:
        assert message["seq"] == self.seq + 1
        self.seq = message["seq"]
        self.applied.append(message["seq"])
        if message["type"] == "post.deleted":
            self.state.pop(message["post"]["id"], None)
        elif message["type"] in ("post.created", "post.updated"):
            article = re.search(r"<article[^>]*>(.*)</article>", message["html"], re.S)
            self.state[message["post"]["id"]] = _text(article.group(1) if article else "")

    async def wait_for_seq(self, seq: int, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.seq < seq:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"client stuck at seq {self.seq}, expected {seq}")
            await asyncio.sleep(0.05)
