"""The editor page's desk socket (issue 11, presence) over the real Redis channel layer,
Redis tally and PostgreSQL: who may connect (SPEC §4: every member, no one else), who is
closed when, what is forwarded, and the team's presence and reader count across
processes."""

import asyncio
import contextlib
import json
import time

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from liveblog.asgi import application
from liveblog.blog import services
from liveblog.blog.models import Membership
from liveblog.live import desk, desk_consumer, presence
from tests.factories import AdminFactory, EventFactory, MembershipFactory, PostFactory, UserFactory
from tests.live.client import ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10  # seconds a frame may take at most before the test fails


@pytest.fixture(autouse=True)
def _quick(monkeypatch):
    """Ticks of a tenth of a second: the tests wait for what they expect, never for a tick."""
    monkeypatch.setattr(desk_consumer, "TICK", 0.1)
    monkeypatch.setattr(desk_consumer, "MIN_GAP", 0.05)
    monkeypatch.setattr(presence, "READERS_EVERY", 0.1)
    presence._tallies.clear()
    yield
    presence._tallies.clear()


@sync_to_async
def cookie_of(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def open_desk(slug, user=None, *, origin=ORIGIN):
    headers = [origin]
    if user is not None:
        headers.append((b"cookie", (await cookie_of(user)).encode()))
    communicator = WebsocketCommunicator(application, f"/ws/editor/events/{slug}/", headers=headers)
    connected, code = await communicator.connect(timeout=WAIT)
    return communicator, connected, code


async def seated(slug, user):
    communicator, connected, code = await open_desk(slug, user)
    assert connected, code
    return communicator


async def frame_where(communicator, check, timeout=WAIT):
    """The first frame that passes `check` (those before it are skipped)."""

    async def look():
        while True:
            frame = await communicator.receive_json_from(timeout=timeout)
            if check(frame):
                return frame

    return await asyncio.wait_for(look(), timeout)


async def frames_for(communicator, seconds):
    """Every frame that comes within `seconds` (for what must NOT come)."""
    frames = []
    deadline = time.monotonic() + seconds
    # Not receive_output's timeout: it cancels the application when it expires.
    while (left := deadline - time.monotonic()) > 0:
        if await communicator.receive_nothing(timeout=left, interval=0.02):
            break
        frames.append(await communicator.receive_json_from())
    return frames


def names(frame):
    return [person["name"] for person in frame["people"]]


def presence_of(*expected):
    return lambda f: f["type"] == "desk.presence" and sorted(names(f)) == sorted(expected)


async def closed_with(communicator, timeout=WAIT):
    async def look():
        while True:
            output = await communicator.receive_output(timeout=timeout)
            if output["type"] == "websocket.close":
                return output.get("code")

    return await asyncio.wait_for(look(), timeout)


def member(event, role, name):
    first, last = name.split()
    user = UserFactory(first_name=first, last_name=last)
    MembershipFactory(event=event, user=user, role=role)
    return user


# --- who may connect (SPEC §4, the presence-connect row) -----------------------------------


async def test_anonymous_is_refused():
    event = await sync_to_async(EventFactory)()
    _, connected, code = await open_desk(event.slug)
    assert not connected and code == desk_consumer.CLOSE_SIGNED_OUT


async def test_non_member_is_refused():
    event = await sync_to_async(EventFactory)()
    outsider = await sync_to_async(UserFactory)()
    _, connected, code = await open_desk(event.slug, outsider)
    assert not connected and code == desk_consumer.CLOSE_FORBIDDEN


async def test_member_of_another_event_is_refused():
    event, other = await sync_to_async(EventFactory)(), await sync_to_async(EventFactory)()
    elsewhere = await sync_to_async(member)(other, Membership.Role.EDITOR, "Elsa Where")
    _, connected, code = await open_desk(event.slug, elsewhere)
    assert not connected and code == desk_consumer.CLOSE_FORBIDDEN


async def test_deactivated_member_is_refused():
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, Membership.Role.REPORTER, "Dee Active")
    cookie = await cookie_of(user)
    user.is_active = False
    await sync_to_async(user.save)()
    communicator = WebsocketCommunicator(
        application,
        f"/ws/editor/events/{event.slug}/",
        headers=[ORIGIN, (b"cookie", cookie.encode())],
    )
    connected, code = await communicator.connect(timeout=WAIT)
    assert not connected and code in (desk_consumer.CLOSE_SIGNED_OUT, desk_consumer.CLOSE_FORBIDDEN)


async def test_foreign_origin_is_refused_even_when_signed_in():
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, Membership.Role.EDITOR, "Ed Itor")
    _, connected, _ = await open_desk(event.slug, user, origin=(b"origin", b"https://evil.example"))
    assert not connected


async def test_unknown_event_is_refused():
    user = await sync_to_async(AdminFactory)()
    _, connected, code = await open_desk("no-such-event", user)
    assert not connected and code == desk_consumer.CLOSE_NOT_FOUND


@pytest.mark.parametrize("role", list(Membership.Role.values))
async def test_every_member_is_let_in_and_listed_with_their_role(role):
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, role, "Mem Ber")
    communicator = await seated(event.slug, user)
    frame = await frame_where(communicator, lambda f: f["type"] == "desk.presence")
    assert frame["people"] == [
        {"user_id": user.pk, "name": "Mem Ber", "role": role, "doing": "idle", "post": None}
    ]
    await communicator.disconnect()


async def test_an_admin_who_is_no_member_is_let_in_as_admin():
    event = await sync_to_async(EventFactory)()
    admin = await sync_to_async(AdminFactory)(first_name="Ada", last_name="Min")
    communicator = await seated(event.slug, admin)
    frame = await frame_where(communicator, lambda f: f["type"] == "desk.presence")
    assert [(p["name"], p["role"]) for p in frame["people"]] == [("Ada Min", "admin")]
    await communicator.disconnect()


# --- losing access ------------------------------------------------------------------------


async def test_a_removed_member_is_closed_at_once_and_the_others_stay():
    event = await sync_to_async(EventFactory)()
    editor = await sync_to_async(member)(event, Membership.Role.EDITOR, "Eve Editor")
    removed = await sync_to_async(member)(event, Membership.Role.REPORTER, "Rob Removed")
    stays = await seated(event.slug, editor)
    goes = await seated(event.slug, removed)
    await frame_where(stays, presence_of("Eve Editor", "Rob Removed"))

    await sync_to_async(services.membership_remove)(actor=editor, event=event, user=removed)

    assert await closed_with(goes) == desk_consumer.CLOSE_FORBIDDEN
    await frame_where(stays, presence_of("Eve Editor"))
    await sync_to_async(desk.changed)(event.pk, what="member", by=editor.username)
    assert (await frame_where(stays, lambda f: f["type"] == "desk.changed"))["what"] == "member"
    await stays.disconnect()


async def test_a_revoke_for_someone_else_closes_no_one():
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, Membership.Role.REPORTER, "Kay Stays")
    communicator = await seated(event.slug, user)
    await sync_to_async(desk.revoke)(event.pk, user.pk + 1000)
    await sync_to_async(desk.changed)(event.pk, what="draft", by="someone")
    assert (await frame_where(communicator, lambda f: f["type"] == "desk.changed"))["what"]
    await communicator.disconnect()


async def test_a_member_deactivated_while_connected_is_closed_by_the_recheck(monkeypatch):
    monkeypatch.setattr(desk_consumer, "RECHECK", 0.2)
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, Membership.Role.CONTRIBUTOR, "Carl Contrib")
    communicator = await seated(event.slug, user)
    user.is_active = False
    await sync_to_async(user.save)()
    assert await closed_with(communicator) == desk_consumer.CLOSE_FORBIDDEN


async def test_a_logged_out_session_is_closed_by_the_recheck(monkeypatch):
    monkeypatch.setattr(desk_consumer, "RECHECK", 0.2)
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, Membership.Role.REPORTER, "Lou Gout")
    communicator = await seated(event.slug, user)
    from django.contrib.sessions.models import Session

    await sync_to_async(Session.objects.all().delete)()
    assert await closed_with(communicator) == desk_consumer.CLOSE_SIGNED_OUT


# --- what the desk receives ---------------------------------------------------------------


async def test_desk_changed_frames_reach_editors_as_sent():
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, Membership.Role.EDITOR, "Fay Forward")
    communicator = await seated(event.slug, user)
    await sync_to_async(desk.changed)(
        event.pk, what="submission", by="carl", post_id=7, status="submitted"
    )
    frame = await frame_where(communicator, lambda f: f["type"] == "desk.changed")
    assert frame == {
        "type": "desk.changed",
        "what": "submission",
        "post_id": 7,
        "status": "submitted",
        "by": "carl",
    }
    await communicator.disconnect()


@pytest.mark.parametrize("role", [Membership.Role.CONTRIBUTOR, Membership.Role.REPORTER])
async def test_other_members_hear_that_something_changed_not_whose_or_which(role):
    """SPEC §4: a contributor or reporter sees only their own submissions and drafts. The
    nudge says what kind of thing changed (their page re-reads its own lists), never the
    entry, its status or who acted."""
    event = await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(event, role, "Cy Nosy")
    communicator = await seated(event.slug, user)
    await sync_to_async(desk.changed)(
        event.pk, what="submission", by="carl", post_id=7, status="submitted"
    )
    frame = await frame_where(communicator, lambda f: f["type"] == "desk.changed")
    assert frame == {"type": "desk.changed", "what": "submission"}
    await communicator.disconnect()


async def test_another_events_desk_hears_nothing_of_this_one():
    event, other = await sync_to_async(EventFactory)(), await sync_to_async(EventFactory)()
    user = await sync_to_async(member)(other, Membership.Role.REPORTER, "Oth Er")
    communicator = await seated(other.slug, user)
    await frame_where(communicator, lambda f: f["type"] == "desk.presence")
    await sync_to_async(desk.changed)(event.pk, what="post", by="x")
    assert all(f["type"] != "desk.changed" for f in await frames_for(communicator, 0.5))
    await communicator.disconnect()


# --- presence -----------------------------------------------------------------------------


def typing_by(name):
    return lambda f: (
        f["type"] == "desk.presence"
        and any(p["name"] == name and p["doing"] == "typing" for p in f["people"])
    )


async def test_typing_and_editing_are_seen_by_the_others():
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Typist")
    bob = await sync_to_async(member)(event, Membership.Role.EDITOR, "Bob Watcher")
    post = await sync_to_async(PostFactory)(event=event, author=ann)
    writer, watcher = await seated(event.slug, ann), await seated(event.slug, bob)
    await frame_where(watcher, presence_of("Ann Typist", "Bob Watcher"))

    await writer.send_json_to({"type": "presence", "doing": "typing", "post": None})
    await frame_where(watcher, typing_by("Ann Typist"))
    await writer.send_json_to({"type": "presence", "doing": "editing", "post": post.pk})
    frame = await frame_where(
        watcher, lambda f: any(p["doing"] == "editing" for p in f.get("people", ()))
    )
    assert [(p["name"], p["doing"], p["post"]) for p in frame["people"]] == [
        ("Ann Typist", "editing", post.pk),
        ("Bob Watcher", "idle", None),
    ]

    await writer.disconnect()
    await frame_where(watcher, presence_of("Bob Watcher"))
    await watcher.disconnect()


@pytest.mark.parametrize(
    "junk",
    [
        "not json",
        "[]",
        '{"type": "presence", "doing": "dancing", "post": null}',
        '{"type": "presence", "doing": "typing"}',
        '{"type": "presence", "doing": "typing", "post": 3}',
        '{"type": "presence", "doing": "editing", "post": null}',
        '{"type": "presence", "doing": "editing", "post": true}',
        '{"type": "presence", "doing": "editing", "post": "12"}',
        '{"type": "presence", "doing": "editing", "post": -4}',
        '{"type": "presence", "doing": "typing", "post": null, "name": "Mallory"}',
        '{"type": "desk.revoke", "user_id": 1}',
        '{"type": "desk.changed", "what": "post"}',
    ],
)
def test_anything_but_a_well_formed_presence_frame_is_junk(junk):
    assert desk_consumer.parse_presence(junk) is None


def test_well_formed_presence_frames_are_read():
    parse = desk_consumer.parse_presence
    assert parse('{"type": "presence", "doing": "typing", "post": null}') == ("typing", None)
    assert parse('{"type":"presence","doing":"editing","post":12}') == ("editing", 12)
    assert parse('{"post": null, "doing": "idle", "type": "presence"}') == ("idle", None)


async def test_junk_is_ignored_and_an_entry_of_another_event_is_not_claimed():
    event, other = await sync_to_async(EventFactory)(), await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Junk")
    foreign = await sync_to_async(PostFactory)(event=other, author=ann)
    communicator = await seated(event.slug, ann)
    first = await frame_where(communicator, lambda f: f["type"] == "desk.presence")
    for text in ("junk", '{"type": "presence", "doing": "dancing", "post": null}'):
        await communicator.send_to(text_data=text)
    await communicator.send_json_to({"type": "presence", "doing": "editing", "post": foreign.pk})
    await communicator.send_to(text_data=json.dumps({"type": "desk.revoke", "user_id": ann.pk}))
    # Still open, and what it shows has not changed.
    assert all(f["type"] == "desk.readers" for f in await frames_for(communicator, 0.5))
    await communicator.send_json_to({"type": "presence", "doing": "typing", "post": None})
    later = await frame_where(communicator, typing_by("Ann Junk"))
    assert later["rev"] > first["rev"]
    await communicator.disconnect()


async def test_an_oversized_frame_closes_the_socket():
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Big")
    communicator = await seated(event.slug, ann)
    await communicator.send_to(text_data="x" * (desk_consumer.MAX_FRAME + 1))
    assert await closed_with(communicator) == desk_consumer.CLOSE_TOO_BIG


def test_the_allowance_is_a_burst_then_so_many_a_second(monkeypatch):
    monkeypatch.setattr(desk_consumer, "RATE", 0.0)
    allowance = desk_consumer._Allowance()
    assert [allowance.take() for _ in range(desk_consumer.BURST + 2)] == [True] * (
        desk_consumer.BURST
    ) + [False, False]


async def test_frames_beyond_the_allowance_are_not_looked_at(monkeypatch):
    monkeypatch.setattr(desk_consumer, "RATE", 0.0)  # no refill while the test runs
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Flood")
    bob = await sync_to_async(member)(event, Membership.Role.REPORTER, "Bob Sees")
    flooder, watcher = await seated(event.slug, ann), await seated(event.slug, bob)
    await frame_where(watcher, presence_of("Ann Flood", "Bob Sees"))
    for _ in range(desk_consumer.BURST):
        await flooder.send_json_to({"type": "presence", "doing": "idle", "post": None})
    await flooder.send_json_to({"type": "presence", "doing": "typing", "post": None})
    await sync_to_async(desk.changed)(event.pk, what="post", by="x")  # after the flood
    await frame_where(flooder, lambda f: f["type"] == "desk.changed")
    seen = await frames_for(watcher, 0.5)
    assert not any(typing_by("Ann Flood")(f) for f in seen)
    await flooder.disconnect()
    await watcher.disconnect()


async def test_quick_changes_are_written_now_and_then_the_last_word_winning(monkeypatch):
    monkeypatch.setattr(desk_consumer, "MIN_GAP", 0.3)
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Quick")
    bob = await sync_to_async(member)(event, Membership.Role.REPORTER, "Bob Sees")
    writer, watcher = await seated(event.slug, ann), await seated(event.slug, bob)
    await frame_where(watcher, presence_of("Ann Quick", "Bob Sees"))
    for doing in ("typing", "idle", "typing", "idle", "typing"):
        await writer.send_json_to({"type": "presence", "doing": doing, "post": None})
    await frame_where(watcher, typing_by("Ann Quick"))
    seen = [f for f in await frames_for(watcher, 1.0) if f["type"] == "desk.presence"]
    assert all(typing_by("Ann Quick")(f) for f in seen)  # it stays at the last word
    await writer.disconnect()
    await watcher.disconnect()


async def test_presence_is_kept_in_redis_for_every_process_to_see():
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Shared")
    communicator = await seated(event.slug, ann)
    await frame_where(communicator, lambda f: f["type"] == "desk.presence")
    client = redis.Redis.from_url(settings.LIVEBLOG_HISTORY_URL)
    key = f"{settings.LIVEBLOG_HISTORY_PREFIX}:desk:{event.pk}:people"
    kept = [json.loads(value) for value in client.hvals(key)]
    assert [(e["name"], e["doing"]) for e in kept] == [("Ann Shared", "idle")]
    assert 0 < client.ttl(key) <= presence.KEY_TTL
    await communicator.disconnect()
    await asyncio.sleep(0)  # the drop is the disconnect's last await
    assert client.hvals(key) == []
    client.close()


async def test_two_desks_in_two_processes_see_each_other():
    """Two consumers, each with a layer and a tally of its own (as two server processes
    have), meet through Redis alone."""
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann First")
    bob = await sync_to_async(member)(event, Membership.Role.REPORTER, "Bob Second")
    first = await seated(event.slug, ann)
    await frame_where(first, presence_of("Ann First"))
    presence._tallies.clear()  # the second "process" opens its own Redis connections
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    second = await seated(event.slug, bob)
    await frame_where(second, presence_of("Ann First", "Bob Second"))
    await frame_where(first, presence_of("Ann First", "Bob Second"))
    await second.send_json_to({"type": "presence", "doing": "typing", "post": None})
    await frame_where(first, typing_by("Bob Second"))
    await second.disconnect()
    await frame_where(first, presence_of("Ann First"))
    await first.disconnect()


async def test_the_people_of_a_killed_process_leave_the_list_when_their_heartbeat_stops(
    monkeypatch,
):
    monkeypatch.setattr(presence, "BEAT", 0.2)
    # Not stale while Ann's desk opens (a loaded machine took more than a second: the ghost
    # was gone before her first list, which the test waited for in vain); then 1 s.
    monkeypatch.setattr(presence, "STALE", 60.0)
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.REPORTER, "Ann Alive")
    # What a process killed a moment ago left behind: an entry nobody will refresh.
    ghost = {"user_id": 999_999, "name": "Gus Ghost", "role": "reporter",
             "doing": "typing", "post": None, "at": 0}  # fmt: skip
    await presence.put(event.pk, "specific.killed-process!socket", ghost)
    communicator = await seated(event.slug, ann)
    await frame_where(communicator, presence_of("Ann Alive", "Gus Ghost"))
    monkeypatch.setattr(presence, "STALE", 1.0)
    await frame_where(communicator, presence_of("Ann Alive"))  # the heartbeat pruned it
    await communicator.disconnect()


def test_several_pages_of_one_person_are_one_line_doing_the_busiest_thing():
    entries = [
        {"user_id": 1, "name": "Ann", "role": "reporter", "doing": "idle", "post": None, "at": 9},
        {"user_id": 1, "name": "Ann", "role": "reporter", "doing": "editing", "post": 4, "at": 1},
        {"user_id": 2, "name": "bob", "role": "editor", "doing": "idle", "post": None, "at": 5},
    ]
    assert presence.people(entries) == [
        {"user_id": 1, "name": "Ann", "role": "reporter", "doing": "editing", "post": 4},
        {"user_id": 2, "name": "bob", "role": "editor", "doing": "idle", "post": None},
    ]


# --- readers now --------------------------------------------------------------------------


async def test_the_desk_sees_the_readers_of_every_process_added_up(monkeypatch):
    event = await sync_to_async(EventFactory)()
    ann = await sync_to_async(member)(event, Membership.Role.EDITOR, "Ann Counts")
    communicator = await seated(event.slug, ann)
    first = await frame_where(communicator, lambda f: f["type"] == "desk.readers")
    assert first["count"] == 0

    # A reader here (this process's hub counts it) and 41 in another process.
    reader = WebsocketCommunicator(application, f"/ws/events/{event.slug}/", headers=[ORIGIN])
    assert (await reader.connect(timeout=WAIT))[0]
    # The other process reports as a hub does, on every tick: one report alone may be lost
    # (a 1 s timeout on a loaded machine) and a real process reports again 2 s later.
    elsewhere = presence.Audience()

    async def report_elsewhere():
        while True:
            elsewhere.last = float("-inf")
            await elsewhere.report({event.pk: 41})
            await asyncio.sleep(0.5)

    reporting = asyncio.create_task(report_elsewhere())
    try:
        await frame_where(communicator, lambda f: f == {"type": "desk.readers", "count": 42})
    finally:
        reporting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporting

    # The other process stops reporting (killed): its readers stop counting. Reports go
    # stale sooner, and this process's hub reports on every tick (1 s) so that its own
    # report stays fresh however late a loaded machine runs the tick: the count is 1, never
    # 0, once the other report is older than the window.
    monkeypatch.setattr(presence, "READERS_EVERY", 0.0)
    monkeypatch.setattr(presence, "READERS_STALE", 2.5)
    await frame_where(communicator, lambda f: f == {"type": "desk.readers", "count": 1})
    await reader.disconnect()
    await communicator.disconnect()


async def test_readers_are_counted_per_process_without_a_redis_write_per_reader(monkeypatch):
    event = await sync_to_async(EventFactory)()
    writes = []
    real = presence._RedisTally.report

    async def counting(self, process, counts):
        writes.append(dict(counts))
        await real(self, process, counts)

    monkeypatch.setattr(presence._RedisTally, "report", counting)
    monkeypatch.setattr(presence, "READERS_EVERY", 3600.0)  # one report at most
    readers = []
    for _ in range(20):
        reader = WebsocketCommunicator(application, f"/ws/events/{event.slug}/", headers=[ORIGIN])
        assert (await reader.connect(timeout=WAIT))[0]
        readers.append(reader)

    async def reported():
        while not writes:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reported(), WAIT)
    assert len(writes) == 1 and sum(writes[0].values()) <= 20
    for reader in readers:
        await reader.disconnect()


# --- without Redis (`make run`'s embedded default) ----------------------------------------


async def test_without_redis_the_tally_is_this_processs_memory(settings, monkeypatch):
    settings.LIVEBLOG_HISTORY_URL = None
    monkeypatch.setattr(presence, "_memory", presence._MemoryTally())
    entry = {"user_id": 1, "name": "Ann", "role": "editor", "doing": "idle", "post": None}
    came = await presence.put(5, "one", entry)
    again = await presence.put(5, "one", entry)  # a heartbeat: nothing new
    assert came.changed and not again.changed and again.rev == came.rev
    await presence.Audience().report({5: 3})
    assert await presence.readers(5) == 3
    gone = await presence.drop(5, "one")
    assert gone.changed and gone.rev > came.rev and gone.entries == []
    monkeypatch.setattr(presence, "STALE", -1.0)  # every heartbeat is too old now
    await presence.put(5, "two", entry)
    assert (await presence.look(5)).entries == []
