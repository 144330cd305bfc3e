"""docker-compose.yml's topology from its committed configs, driven through nginx only:
deploy/nginx.conf routes, caches and balances as it says, and the application works through
deploy/pgbouncer/pgbouncer.ini's transaction pooling (SPEC §6, §7, §8)."""

import asyncio
import http.client
import json
import re
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from typing import Any

import pytest
from django.conf import settings

from liveblog.blog.models import Post
from liveblog.http import ratelimit
from tests.api import openapi
from tests.faults.client import LiveClient, http_json
from tests.servers import Server

# A process's per-address write limit in the topology (the default a minute per user, for
# ADDRESS_SHARE users an address).
ADDRESS_LIMIT = settings.LIVEBLOG_RATE_LIMIT_WRITES_PER_MINUTE * ratelimit.ADDRESS_SHARE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def get(url: str) -> tuple[int, Message, bytes]:
    with urllib.request.urlopen(url, timeout=15) as response:
        raw = response.read()
        openapi.check_urllib("GET", url, response, raw)
        return response.status, response.headers, raw


def readers_on(server: Server, event_pk: int) -> int:
    """The `liveblog_readers` gauge of one process for one event (0 when it has none),
    scraped from the process itself with the token, as Prometheus would."""
    request = urllib.request.Request(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {server.env['METRICS_TOKEN']}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    found = re.search(rf'^liveblog_readers{{event="{event_pk}"}} (\S+)$', text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def assert_routed_by_pool(topology) -> None:
    """Every request nginx has passed on went to its pool: /ws/ to `live`, all else to `web`
    (a POST answered by a `live` process would wait behind its fan-out: docs/scaling.md)."""
    web = {server.port for server in topology.web}
    live = {server.port for server in topology.live}
    for method, path, _status, tried in topology.nginx.routed():
        pool = live if path.startswith(("/ws/", "/sse/")) else web
        assert set(tried) <= pool, f"{method} {path} went to {tried}"


class Reader(LiveClient):
    """The reference client, also keeping every change frame it was sent, duplicates
    included (the client itself drops them, which would hide a server's double send)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[int] = []

    async def receive(self, server, message: dict[str, Any]) -> None:
        if "seq" in message and message["type"] != "hello":
            self.frames.append(message["seq"])
        await super().receive(server, message)


async def publish(topology, newsroom, body: str, key: str | None = None) -> tuple[int, Any]:
    url = f"{topology.nginx.url}/api/v1/events/{newsroom.event.slug}/posts/"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {newsroom.token}"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        url, data=json.dumps({"body": body}).encode(), method="POST", headers=headers
    )

    def send() -> tuple[int, Any]:
        with urllib.request.urlopen(request, timeout=15) as response:
            location = response.headers["Location"]
            raw = response.read()
            openapi.check_urllib("POST", url, response, raw)
            return response.status, {**json.loads(raw), "location": location}

    return await asyncio.to_thread(send)


async def connect(topology, newsroom, count: int) -> tuple[list[Reader], list[asyncio.Task]]:
    readers = [Reader([topology.nginx], newsroom.event.slug) for _ in range(count)]
    tasks = [asyncio.create_task(reader.run()) for reader in readers]
    for reader in readers:
        await asyncio.wait_for(reader.connected.wait(), timeout=15)
    return readers, tasks


async def wait_until(check, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout} s: {check.__doc__}")
        await asyncio.sleep(0.05)


def test_nginx_does_not_forward_metrics(topology):
    """Issue 14, reproduction 6: /metrics was public through the shipped nginx."""
    for path in ("/metrics", "/metrics/", "/metrics?format=text"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(topology.nginx.url + path)
        assert refused.value.code == 404, path
    passed_on = [r for r in topology.nginx.routed() if r[1].startswith("/metrics") and r[3]]
    assert not passed_on, "nginx answered /metrics itself, asking no upstream"


def test_health_pages_and_static_files_through_nginx(topology, newsroom):
    nginx = topology.nginx
    status, _, body = get(f"{nginx.url}/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"

    page = f"{nginx.url}/events/{newsroom.event.slug}/"
    status, first, html = get(page)
    assert status == 200 and first["X-Cache"] == "MISS"
    status, second, again = get(page)
    assert status == 200 and second["X-Cache"] == "HIT", "the micro-cache serves the second"
    assert again == html
    assert "Set-Cookie" not in first and "Set-Cookie" not in second
    # Absolute URLs the application builds name the address the client used (Host kept).
    canonical = re.search(rb'<link rel="canonical" href="([^"]+)">', html)
    assert canonical and canonical.group(1).decode() == page, "the address the client used"

    script = re.search(rb'src="(/static/[^"]+\.js)"', html)
    assert script, "the page loads its script"
    status, headers, _ = get(nginx.url + script.group(1).decode())
    assert status == 200 and "max-age=315360000" in headers["Cache-Control"]
    assert headers["Expires"] == "Thu, 31 Dec 2037 23:55:55 GMT", "nginx's `expires max`"

    assert_routed_by_pool(topology)


def test_a_page_built_for_another_port_is_never_served_from_the_cache(topology, newsroom):
    """Django accepts any port in Host; the page it builds links to that port, so the
    micro-cache must keep it apart from the page everyone else gets."""
    nginx = topology.nginx
    path = f"/events/{newsroom.event.slug}/?poison=1"
    request = urllib.request.Request(f"{nginx.url}{path}", headers={"Host": "127.0.0.1:6666"})
    with urllib.request.urlopen(request, timeout=15) as response:
        assert b"127.0.0.1:6666" in response.read()
    status, _, html = get(f"{nginx.url}{path}")
    assert status == 200 and b"127.0.0.1:6666" not in html


def test_readers_spread_over_the_live_pool_and_get_every_entry_once(topology, newsroom):
    nginx, slug, pk = topology.nginx, newsroom.event.slug, newsroom.event.pk
    count = 8

    async def scenario() -> list[Reader]:
        readers, tasks = await connect(topology, newsroom, 6)
        per_process = [readers_on(server, pk) for server in topology.live]
        assert per_process == [3, 3], "least_conn, counted across nginx's workers"
        assert [readers_on(server, pk) for server in topology.web] == [0, 0]

        created = [await publish(topology, newsroom, f"Entry {i}") for i in range(count)]
        assert [status for status, _ in created] == [201] * count
        location = created[0][1]["location"]
        assert location.startswith(f"{nginx.url}/api/v1/events/{slug}/posts/"), location
        for reader in readers:
            await reader.wait_for_seq(count, timeout=15)
        for task in tasks:
            task.cancel()
        return readers

    readers = asyncio.run(scenario())
    for reader in readers:
        assert reader.frames == list(range(1, count + 1)), "every entry once, in seq order"
        assert reader.applied == list(range(1, count + 1))
        assert reader.gap_fills == 0 and reader.connections == 1

    routed = nginx.routed()
    assert [row[:3] for row in routed if row[0] == "POST" and slug in row[1]] == [
        ("POST", f"/api/v1/events/{slug}/posts/", "201")
    ] * count
    assert_routed_by_pool(topology)


def test_idempotency_key_retries_through_pgbouncer_return_the_first_post(topology, newsroom):
    async def scenario() -> None:
        status, first = await publish(topology, newsroom, "Only once", key="retry-1")
        assert status == 201
        status, again = await publish(topology, newsroom, "Only once", key="retry-1")
        assert (status, again["id"]) == (200, first["id"])
        # Concurrent first attempts, through both web processes and several server
        # connections: the unique constraint decides, inside each request's transaction.
        results = await asyncio.gather(
            *(publish(topology, newsroom, "Raced", key="race-1") for _ in range(6))
        )
        assert sorted(status for status, _ in results) == [200] * 5 + [201]
        assert len({post["id"] for _, post in results}) == 1

    asyncio.run(scenario())
    assert Post.objects.filter(event=newsroom.event).count() == 2
    status, changes = http_json(
        "GET", f"{topology.nginx.url}/api/v1/events/{newsroom.event.slug}/changes/?since=0"
    )
    assert status == 200 and [c["seq"] for c in changes["changes"]] == [1, 2]
    assert_routed_by_pool(topology)


def test_readers_of_a_stopped_live_process_reconnect_through_nginx_and_miss_nothing(
    topology, newsroom
):
    pk = newsroom.event.pk
    doomed, survivor = topology.live

    async def scenario() -> tuple[list[Reader], int]:
        readers, tasks = await connect(topology, newsroom, 6)
        await publish(topology, newsroom, "Before the restart")
        for reader in readers:
            await reader.wait_for_seq(1, timeout=10)
        moved = readers_on(doomed, pk)
        assert moved >= 1
        for reader in readers:
            reader.online.clear()  # they reconnect only once entries were published meanwhile
        await asyncio.to_thread(doomed.stop, signal.SIGTERM)

        def dropped() -> bool:
            """the stopped process's readers, and only they, are disconnected"""
            return sum(not r.connected.is_set() for r in readers) == moved

        await wait_until(dropped)

        for i in range(3):
            await publish(topology, newsroom, f"While they were away {i}")
        for reader in readers:
            reader.online.set()
        for reader in readers:
            await reader.wait_for_seq(4, timeout=15)

        def all_on_survivor() -> bool:
            """every reader is on the surviving live process"""
            return readers_on(survivor, pk) == 6

        await wait_until(all_on_survivor)
        await publish(topology, newsroom, "After the restart")
        for reader in readers:
            await reader.wait_for_seq(5, timeout=10)
        for task in tasks:
            task.cancel()
        return readers, moved

    try:
        readers, moved = asyncio.run(scenario())
    finally:
        if doomed.process is None:
            doomed.restart()  # the next test gets the whole pool back
    for reader in readers:
        assert reader.frames == [1, 2, 3, 4, 5], "replayed with since, no gap, no duplicate"
        assert reader.gap_fills == 0, "the server replayed what was missed, not the client"
    assert sorted(r.connections for r in readers) == [1] * (6 - moved) + [2] * moved
    assert_routed_by_pool(topology)


def _writes_until_limited(port: int, source: str, *, spoof: bool) -> int | None:
    """POSTs with a forged token from `source` until one is rate limited (429): how many
    it took, or None if none was. Each request claims another client in X-Forwarded-For
    when `spoof`. The per-address limit is counted before authentication (SPEC §6)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=15, source_address=(source, 0)
    )
    try:
        for n in range(1, 3 * ADDRESS_LIMIT + 2):  # a minute's window may roll over once
            headers = {"Authorization": "Bearer forged", "Content-Type": "application/json"}
            if spoof:
                headers["X-Forwarded-For"] = f"203.0.113.{n % 250}, 198.51.100.{n % 250}"
            connection.request("POST", "/api/v1/events/", body=b"{}", headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 429:
                return n
            assert response.status == 401, response.status
    finally:
        connection.close()
    return None


def _loopback_client() -> str:
    """An address of this machine's own that no other test writes from: its rate-limit
    counters start at zero."""
    return (
        f"127.{secrets.randbelow(200) + 20}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 2}"
    )


def test_a_client_cannot_escape_the_address_limit_with_x_forwarded_for(topology):
    """Issue 14, reproduction 3: the production command trusted any client's X-Forwarded-For
    (`--forwarded-allow-ips '*'`), even behind the shipped nginx, so every write could claim
    a new address. Through nginx, and straight to a process, the limit holds."""
    through_nginx = _writes_until_limited(topology.nginx.port, _loopback_client(), spoof=True)
    assert through_nginx is not None, "through nginx, spoofed addresses escaped the limit"
    straight = _writes_until_limited(topology.web[0].port, _loopback_client(), spoof=True)
    assert straight is not None, "a process believed a client that is not the proxy"


def test_an_uploaded_photo_is_served_by_nginx_from_the_media_volume(topology, newsroom):
    """Issue 10: the upload goes through nginx (over the 1 MiB body limit of the rest), the
    web process writes the renditions to the shared volume, and nginx serves them itself
    with a year's cache; a name not on the volume goes to the application."""
    import urllib3

    from tests import pictures

    nginx = topology.nginx
    body, content_type = urllib3.encode_multipart_formdata(
        {"file": ("photo.jpg", pictures.noise(1100, 1000), "image/jpeg"), "alt": "A photo"}
    )
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    request = urllib.request.Request(
        f"{nginx.url}/api/v1/events/{newsroom.event.slug}/images/",
        data=body,
        headers={"Authorization": f"Bearer {newsroom.token}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        image = json.loads(response.read())
    assert len(image["renditions"]) >= 3
    for rendition in image["renditions"]:
        status, headers, served = get(nginx.url + rendition["url"])
        assert status == 200
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert headers["Content-Type"] == "image/webp"
        on_volume = nginx.media_root / rendition["url"].removeprefix("/media/")
        assert served == on_volume.read_bytes()
    from_volume = nginx.routed_for(image["renditions"][0]["url"])
    assert from_volume and from_volume[-1][3] == [], "nginx served it, asking no upstream"

    missing = f"/media/images/{newsroom.event.pk}/{'0' * 32}/480.webp"
    with pytest.raises(urllib.error.HTTPError) as not_found:
        get(nginx.url + missing)
    assert not_found.value.code == 404
    fallback = nginx.routed_for(missing)
    assert fallback and fallback[-1][3], "a name not on the volume is asked of the application"


def test_a_scheduled_entry_reaches_a_reader_through_nginx_from_the_worker(topology, newsroom):
    """docker-compose.yml's `worker` publishes through pgbouncer; the reader, connected to
    a `live` process through nginx, receives the entry's post.created once."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.ops.test_worker import Reader
    from tests.ops.workers import wait_until

    nginx, slug = topology.nginx, newsroom.event.slug
    with Reader(f"{nginx.ws}/ws/events/{slug}/", nginx.url) as reader:
        when = (timezone.now() + timedelta(seconds=2)).isoformat()
        status, body = http_json(
            "POST",
            f"{nginx.url}/api/v1/events/{slug}/posts/",
            newsroom.token,
            {"body": "On the hour.", "published_at": when, "status": "scheduled"},
        )
        assert status == 201 and body["status"] == "scheduled"
        wait_until(lambda: reader.created(body["id"]), what="the entry through nginx")
    assert len(reader.created(body["id"])) == 1
    assert f"published entry {body['id']} " in topology.worker.output()


async def test_an_event_stream_reaches_a_reader_through_nginx(topology, newsroom):
    """A reader whose proxy refuses WebSockets gets the live protocol as Server-Sent Events
    from a `live` process through nginx, each change as it comes, its seq as the id."""
    nginx, slug = topology.nginx, newsroom.event.slug
    connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=15)
    connection.request(
        "GET", f"/sse/events/{slug}/?since=0", headers={"Accept": "text/event-stream"}
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"

    def message() -> dict[str, str]:
        fields: dict[str, str] = {}
        while (line := response.fp.readline().decode()) not in ("\n", ""):
            name, _, value = line.rstrip("\n").partition(":")
            fields[name or "comment"] = value.strip()
        return fields

    try:
        hello = await asyncio.to_thread(message)
        assert json.loads(hello["data"])["type"] == "hello"
        status, post = await publish(topology, newsroom, "Through the stream")
        assert status == 201
        while "data" not in (frame := await asyncio.to_thread(message)):
            pass
        change = json.loads(frame["data"])
        assert change["type"] == "post.created" and change["post"]["id"] == post["id"]
        assert frame["id"] == str(change["seq"])
    finally:
        connection.close()
    assert_routed_by_pool(topology)


def _origin_polls(topology) -> float:
    """The change-log polls the `web` processes answered (fast path or view), read from
    each process's own counter: what reached the origin, whatever nginx says."""
    total = 0.0
    for server in topology.web:
        request = urllib.request.Request(
            f"{server.url}/metrics",
            headers={"Authorization": f"Bearer {server.env['METRICS_TOKEN']}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
        for value in re.findall(r"^liveblog_api_fast_total\{[^}]*\} (\S+)$", text, re.MULTILINE):
            total += float(value)
    return total


def _poll(url: str) -> tuple[int, dict[str, Any], str]:
    with urllib.request.urlopen(url, timeout=15) as response:
        return response.status, json.loads(response.read()), response.headers["X-Cache"]


async def test_identical_polls_of_the_change_log_cost_the_origin_one_request(topology, newsroom):
    """Issue 13: readers without WebSockets poll `/changes/?since=<last>`; N of them at one
    state make one request to the application a second (nginx keeps an answer until the end
    of the second it was made in: X-Accel-Expires), and a change is theirs within a second
    or two."""
    await publish(topology, newsroom, "Before the crowd")
    url = f"{topology.nginx.url}/api/v1/events/{newsroom.event.slug}/changes/?since=1"
    before = _origin_polls(topology)
    crowd = 40
    # A thread each, released together. The crowd may straddle the end of a second (a loaded
    # machine takes a while to start 40 threads): then the entry is refreshed once more.
    barrier = threading.Barrier(crowd)
    spans: list[tuple[float, float]] = []

    def one(_: int) -> tuple[int, dict[str, Any], str]:
        barrier.wait(timeout=30)
        started = time.time()
        answer = _poll(url)
        spans.append((started, time.time()))
        return answer

    with ThreadPoolExecutor(max_workers=crowd) as pool:
        answers = await asyncio.to_thread(lambda: list(pool.map(one, range(crowd))))

    assert all(status == 200 for status, _, _ in answers)
    assert all(body == {"changes": [], "last_seq": 1} for _, body, _ in answers)
    seconds = int(max(end for _, end in spans)) - int(min(start for start, _ in spans)) + 1
    upstream = _origin_polls(topology) - before
    assert 1 <= upstream <= seconds, f"{upstream} requests upstream in {seconds} s for {crowd}"
    assert sum(cache == "MISS" for _, _, cache in answers) == 1

    loop = asyncio.get_running_loop()
    await publish(topology, newsroom, "While they poll")
    published = loop.time()
    while True:
        _, body, _ = await asyncio.to_thread(_poll, url)
        if body["last_seq"] == 2 or loop.time() - published > 10:
            break
        await asyncio.sleep(0.05)
    visible_after = loop.time() - published
    assert body["last_seq"] == 2 and [c["seq"] for c in body["changes"]] == [2]
    assert visible_after < 2.0, f"the change took {visible_after:.2f} s to reach the pollers"


def test_polls_with_credentials_are_never_answered_from_the_cache(topology, newsroom):
    url = f"{topology.nginx.url}/api/v1/events/{newsroom.event.slug}/changes/?since=0"
    _poll(url)  # in the cache now
    request = urllib.request.Request(url, headers={"Authorization": "Bearer not-a-token"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 401
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {newsroom.token}"})
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.headers["X-Cache"] == "BYPASS"
        assert response.headers["Cache-Control"] == "no-cache"
