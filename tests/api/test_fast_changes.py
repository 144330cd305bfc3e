"""The fast path of `/changes/` (liveblog/api/fast.py) answers exactly as the Django view
does, from Redis alone, and gives way to the view wherever it could not be exact.

Both paths are the real application (liveblog.asgi, the production entry point), on the
test database and Redis; a request is sent to it as an ASGI server would. Which path
answered is told by the process's own counter (liveblog_api_fast_total).
"""

import asyncio
import json
import re
import time

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from prometheus_client import REGISTRY

from liveblog.api import fast
from liveblog.blog import services
from liveblog.live import history
from tests.live.client import publish_now

pytestmark = pytest.mark.django_db(transaction=True)

RETRACTED = "The minister took a bribe"
CORRECTED = "The minister denied taking a bribe"


@pytest.fixture(autouse=True)
def _nothing_learned(monkeypatch):
    """Nothing learned before a test; and what a test learns holds for the whole test (a
    loaded machine can take more than LEARNED_FOR's second between two requests): the tests
    of expiry set the times back themselves."""
    monkeypatch.setattr(fast, "LEARNED_FOR", 60.0)
    monkeypatch.setattr(fast, "RENDERED_FOR", 60.0)
    fast.forget()
    yield
    fast.forget()


def _count(path: str) -> float:
    return REGISTRY.get_sample_value("liveblog_api_fast_total", {"path": path}) or 0.0


async def call(path: str, query: str = "", method: str = "GET", headers=()) -> dict:
    """One request to the ASGI application; what it sent back, and which path answered."""
    from liveblog.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # The client stays until the answer is out (Django stops a request whose client left).
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    before = _count("redis")
    await application(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return {
        "status": start["status"],
        "headers": {bytes(k).decode().lower(): bytes(v).decode() for k, v in start["headers"]},
        "body": body,
        "fast": _count("redis") > before,
    }


def _comparable(answer: dict) -> dict:
    """What must be the same: status, every header (the CSP nonce is random per response on
    both paths, so only its form is kept) and the JSON the body says."""
    headers = dict(answer["headers"])
    if "content-security-policy" in headers:
        headers["content-security-policy"] = re.sub(
            r"'nonce-[A-Za-z0-9+/=]{24}'", "'nonce-…'", headers["content-security-policy"]
        )
    headers.pop("content-length", None)  # the log's jsonb orders keys its own way
    if "x-accel-expires" in headers:  # the second it was made in: two answers may straddle one
        kept_until = headers["x-accel-expires"]
        assert re.fullmatch(r"@[0-9]+", kept_until), kept_until
        assert abs(int(kept_until[1:]) - time.time()) < 60, "the second it was made in"
        headers["x-accel-expires"] = "@…"
    body = json.loads(answer["body"]) if answer["body"] else None
    return {"status": answer["status"], "headers": headers, "body": body}


def _url(event) -> str:
    return f"/api/v1/events/{event.slug}/changes/"


async def both(event, query: str = "", **kwargs) -> tuple[dict, dict]:
    """The view's answer (nothing learned yet), then the same request again."""
    fast.forget()
    slow = await call(_url(event), query, **kwargs)
    again = await call(_url(event), query, **kwargs)
    if not again["fast"]:
        again["why"] = await _why_not_fast(event)
    return slow, again


async def _why_not_fast(event) -> str:
    """What the fast path had to go on, for a failure's message (a run once found the second
    poll not answered from Redis, and nothing said why)."""
    stamp = history.stamp_of(event.created_at)
    try:
        found = await history.changes_after(event.pk, stamp, 0, 1000)
        redis_said = None if found is None else f"last seq {found[0]}, {len(found[1])} frames"
    except history.Unavailable as exc:
        redis_said = f"unavailable: {exc.__cause__!r}"
    failures = REGISTRY.get_sample_value("liveblog_history_failures_total")
    return (
        f"learned {fast._events.get(event.slug)!r}, headers for {list(fast._headers)!r}, "
        f"now {time.monotonic():.1f}; Redis says {redis_said!r}; history write failures in "
        f"this process {failures}"
    )


def _history(event):
    """Five changes: a plain entry (1), one corrected (2, 3), one removed (4, 5)."""
    author = event.memberships.first().user
    kept = publish_now(event, author, "First")
    corrected = publish_now(event, author, RETRACTED)
    services.post_update(actor=author, post=corrected, changes={"body": CORRECTED})
    removed = publish_now(event, author, RETRACTED)
    services.post_delete(actor=author, post=removed)
    return kept, corrected, removed


@pytest.fixture
def states(live_event):
    event, _ = live_event
    _history(event)
    event.refresh_from_db()
    return event


@pytest.mark.parametrize("since", ["", "since=0", "since=2", "since=4", "since=5", "since=60"])
async def test_both_paths_answer_the_same(states, since):
    event = states
    slow, again = await both(event, since)

    assert not slow["fast"]
    assert again["fast"], f"the second poll is answered from Redis ({again.get('why')})"
    assert _comparable(again) == _comparable(slow)
    assert slow["status"] == 200
    assert slow["headers"]["cache-control"] == "public, max-age=1, s-maxage=1"
    assert "x-accel-expires" in slow["headers"] and "x-accel-expires" in again["headers"]
    assert json.loads(again["body"])["last_seq"] == event.last_seq == 5


async def test_replays_from_redis_carry_what_is_true_now(states):
    event = states
    _, again = await both(event, "since=0")

    assert again["fast"]
    changes = json.loads(again["body"])["changes"]
    assert [c["seq"] for c in changes] == [1, 2, 3, 4, 5]  # every seq once, in order
    assert RETRACTED not in again["body"].decode()
    assert [c["type"] for c in changes[3:]] == ["post.deleted", "post.deleted"]
    assert changes[3]["post"] == {"id": changes[4]["post"]["id"]}  # the id alone
    assert all(CORRECTED in c["post"]["body"] for c in changes[1:3])


async def test_a_matching_etag_is_a_304_on_both_paths(states):
    event = states
    first = await call(_url(event), "since=3")
    tag = first["headers"]["etag"]
    match = [(b"if-none-match", tag.encode())]
    fast._events.clear()  # the view answers next (its 200's headers stay learned)
    slow = await call(_url(event), "since=3", headers=match)
    again = await call(_url(event), "since=3", headers=match)

    assert slow["status"] == 304 and again["fast"]
    assert _comparable(again) == _comparable(slow)
    other = await call(_url(event), "since=4", headers=match)  # another resource, another tag
    assert other["status"] == 200


async def test_head_is_answered_as_get_without_a_body(states):
    event = states
    slow, again = await both(event, "since=1", method="HEAD")

    assert again["fast"] and again["body"] == b""
    assert {k: v for k, v in _comparable(again).items() if k != "body"} == {
        k: v for k, v in _comparable(slow).items() if k != "body"
    }


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/api/v1/events/no-such-event/changes/", "since=0", 404),
        (None, "since=-1", 400),
        (None, "since=abc", 400),
        (None, "since=9223372036854775808", 400),
        (None, "since=1&since=2", 200),
    ],
)
async def test_what_the_fast_path_cannot_answer_goes_to_the_view(states, path, query, status):
    event = states
    await both(event, "since=0")  # the event is known to the fast path
    answer = await call(path or _url(event), query)

    assert not answer["fast"]
    assert answer["status"] == status
    if status != 200:
        assert "error" in json.loads(answer["body"])
        assert answer["headers"]["cache-control"] == "no-cache"


async def test_requests_with_credentials_are_the_views_and_never_shared(states):
    event = states
    await both(event, "since=0")
    answer = await call(_url(event), "since=0", headers=[(b"authorization", b"Bearer nope")])

    assert not answer["fast"]
    assert answer["status"] == 401
    assert answer["headers"]["cache-control"] == "no-cache"
    assert "x-accel-expires" not in answer["headers"]


def _redis():
    return redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)


async def test_a_hole_in_redis_sends_the_poll_to_the_log(states):
    event = states
    key = history.key_for(event.pk, history.stamp_of(event.created_at))
    client = _redis()
    client.zremrangebyscore(key, 3, 3)
    client.close()
    slow, again = await both(event, "since=1")

    assert not again["fast"]
    assert _comparable(again) == _comparable(slow)
    assert [c["seq"] for c in json.loads(again["body"])["changes"]] == [2, 3, 4, 5]
    # A range after the hole is still Redis'.
    assert (await call(_url(event), "since=3"))["fast"]


async def test_redis_behind_postgresql_sends_the_poll_to_the_log(states):
    """The last change's write to Redis failed: Redis' own last seq is behind the event's."""
    event = states
    key = history.key_for(event.pk, history.stamp_of(event.created_at))
    client = _redis()
    client.zremrangebyscore(key, 5, 5)
    client.set(key + ":last", 4)
    client.close()
    _, again = await both(event, "since=3")

    assert not again["fast"]
    assert json.loads(again["body"])["last_seq"] == 5
    assert [c["seq"] for c in json.loads(again["body"])["changes"]] == [4, 5]


async def test_redis_down_sends_the_poll_to_the_log(states, settings, unused_tcp_port):
    event = states
    slow, _ = await both(event, "since=2")
    settings.LIVEBLOG_HISTORY_URL = f"redis://127.0.0.1:{unused_tcp_port}/0"
    history._loop_clients.clear()
    again = await call(_url(event), "since=2")

    assert not again["fast"]
    assert _comparable(again) == _comparable(slow)


async def test_a_new_change_is_in_the_next_fast_answer(states):
    event = states
    await both(event, "since=5")
    author = await sync_to_async(lambda: event.memberships.first().user)()

    await sync_to_async(publish_now)(event, author, "Later")
    # Redis is written just after the commit: poll for it, as a reader would.
    deadline = time.monotonic() + 10
    while True:
        answer = await call(_url(event), "since=5")
        body = json.loads(answer["body"])
        if body["last_seq"] == 6 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)

    assert answer["fast"]
    assert body["last_seq"] == 6 and [c["seq"] for c in body["changes"]] == [6]


# --- the posts list: its last rendering while the event's seq holds ---------------------


def _posts_url(event) -> str:
    return f"/api/v1/events/{event.slug}/posts/"


async def _posts_both(event, query: str = "", **kwargs) -> tuple[dict, dict]:
    fast.forget()
    slow = await call(_posts_url(event), query, **kwargs)
    again = await call(_posts_url(event), query, **kwargs)
    return slow, again


def _rendered_count() -> float:
    return _count("rendered")


@pytest.mark.parametrize("query", ["", "limit=1", "limit=2"])
async def test_the_posts_list_is_answered_the_same_from_its_rendering(states, query):
    event = states
    before = _rendered_count()
    slow, again = await _posts_both(event, query)

    assert _rendered_count() == before + 1, "the second is the kept rendering"
    assert _comparable(again) == _comparable(slow)
    assert slow["status"] == 200 and slow["headers"]["cache-control"] == "no-cache"
    # The removed entry is in neither; the corrected one has its current text.
    assert RETRACTED not in again["body"].decode()


async def test_the_posts_list_rendering_follows_the_cursor(states):
    event = states
    first = json.loads((await call(_posts_url(event), "limit=1"))["body"])
    cursor = first["next"].split("?", 1)[1]
    slow, again = await _posts_both(event, cursor)

    assert _comparable(again) == _comparable(slow)
    assert json.loads(again["body"])["results"][0]["id"] != first["results"][0]["id"]


async def test_a_posts_list_etag_is_a_304_from_the_rendering_too(states):
    event = states
    first = await call(_posts_url(event))
    match = [(b"if-none-match", first["headers"]["etag"].encode())]
    slow = await call(_posts_url(event), headers=match)  # the view: the 200 above is kept
    before = _rendered_count()
    again = await call(_posts_url(event), headers=match)

    assert slow["status"] == 304 and _rendered_count() == before + 1
    assert _comparable(again) == _comparable(slow)


async def test_a_change_makes_the_next_posts_list_the_views(states):
    event = states
    await _posts_both(event)
    author = await sync_to_async(lambda: event.memberships.first().user)()
    await sync_to_async(publish_now)(event, author, "Later")
    # Redis is told just after the commit: poll until the list has the new entry.
    deadline = time.monotonic() + 10
    while True:
        answer = await call(_posts_url(event))
        bodies = [p["body"] for p in json.loads(answer["body"])["results"]]
        if "Later" in bodies or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)

    assert bodies[0] == "Later"
    before = _rendered_count()
    again = await call(_posts_url(event))
    assert _rendered_count() == before + 1 and again["body"] == answer["body"]


async def test_the_posts_list_with_redis_down_is_the_views(states, settings, unused_tcp_port):
    event = states
    slow, _ = await _posts_both(event)
    settings.LIVEBLOG_HISTORY_URL = f"redis://127.0.0.1:{unused_tcp_port}/0"
    history._loop_clients.clear()
    before = _rendered_count()
    again = await call(_posts_url(event))

    assert _rendered_count() == before
    assert _comparable(again) == _comparable(slow)


async def test_a_posts_list_with_credentials_or_a_bad_query_is_never_kept(states):
    event = states
    for _ in range(2):
        bad = await call(_posts_url(event), "limit=0")
    assert bad["status"] == 400 and "error" in json.loads(bad["body"])
    before = _rendered_count()
    for _ in range(2):
        refused = await call(_posts_url(event), headers=[(b"authorization", b"Bearer nope")])
    assert refused["status"] == 401
    assert _rendered_count() == before


# --- no herd into the view --------------------------------------------------------------


async def test_one_poll_refreshes_what_was_learned_while_the_others_are_answered(states):
    event = states
    await both(event, "since=5")
    known = fast._events[event.slug]
    fast._events[event.slug] = (*known[:3], time.monotonic() - 0.1)  # just past its time
    before, before_redis = _count("django"), _count("redis")

    answers = await asyncio.gather(*(call(_url(event), "since=5") for _ in range(6)))

    # (Counted for the six together: `fast` of each answer reads a shared counter.)
    assert _count("django") == before + 1, "one poll went to the view"
    assert _count("redis") == before_redis + 5
    assert len({a["body"] for a in answers}) == 1


async def test_one_request_renders_a_changed_posts_list_while_the_others_wait(states):
    event = states
    await _posts_both(event)
    author = await sync_to_async(lambda: event.memberships.first().user)()
    await sync_to_async(publish_now)(event, author, "Later")
    client = _redis()
    key = history.key_for(event.pk, history.stamp_of(event.created_at)) + ":last"
    deadline = time.monotonic() + 10
    while int(client.get(key) or 0) < 6 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    client.close()
    before = _count("django")

    answers = await asyncio.gather(*(call(_posts_url(event)) for _ in range(6)))

    assert _count("django") == before + 1, "one request rendered the list"
    assert len({a["body"] for a in answers}) == 1
    assert json.loads(answers[0]["body"])["results"][0]["body"] == "Later"


async def test_a_removed_event_is_forgotten_by_the_first_answer_after_its_time(states):
    event = states
    await _posts_both(event)
    await call(_url(event), "since=0")  # the view's: the slug is learned
    assert (await call(_url(event), "since=0"))["fast"]
    await sync_to_async(event.delete)()
    # What was learned runs out (LEARNED_FOR, RENDERED_FOR): made to have run out already.
    fast._events[event.slug] = (*fast._events[event.slug][:3], time.monotonic() - 0.1)
    for key, kept in list(fast._rendered.items()):
        fast._rendered[key] = (*kept[:3], kept[3] - fast.RENDERED_FOR - 1, *kept[4:])

    for _ in range(2):
        gone = await call(_url(event), "since=0")
        assert gone["status"] == 404 and not gone["fast"]
        listed = await call(_posts_url(event))
        assert listed["status"] == 404 and "error" in json.loads(listed["body"])
