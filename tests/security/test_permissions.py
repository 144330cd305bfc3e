"""SPEC §4 cell by cell: every role, action and channel, tried from outside.

`ALLOWED` below is SPEC §4's table, one line per action naming the roles that may do it;
every other role is refused. Each (role, action, channel) is a test of its own:

- roles: `anonymous` (reader), `outsider` (logged in, no membership), `reporter` and
  `editor` (members of the event), `other_member` (editor of *another* event only: cross-event
  access) and `admin` (staff, member of nothing). The outsider and the other event's member
  wrote a published entry and a draft in the event while they were members (their "own"
  entries): authorship alone gives no access. The anonymous reader owns nothing; their "own"
  entries are a colleague's.
- channels: `page` (editor pages, reader pages and the admin site through Django's test
  client, logged in with `force_login`), `api` (bearer tokens from `services.token_issue`,
  spoken to over HTTP only: the API is being rewritten) and `socket` (the live protocol of
  SPEC §7 through `WebsocketCommunicator` on `liveblog.asgi.application`, with the role's
  session cookie).

What a refusal looks like (SPEC §4, §6): pages send the anonymous to `/editor/login/` (the
admin site to `/admin/login/`), and answer 403 to a logged-in user; the API answers 401 or
403 in the error shape `{"error", "detail", "fields"}`, and 404 where the thing is hidden (a
draft one may not see: its existence is not confirmed). After every refused request no
Event, Post, Change or Membership row was added, removed or modified (SPEC §4: "Nothing is
changed by a refused request"). Sockets are read-only: anyone may follow a published event,
nobody ever receives a draft's frame, and nothing said on a socket writes anything.

The admin site is Django's: a logged-in user without staff status is sent to its login page
(302) rather than answered 403. Those cells say so instead of pretending otherwise.

TODO (contributor role, issue 11): `Membership.Role` has no `contributor` yet, so that column
is not here (a test of a role that cannot be created would fail for the wrong reason). Once
it exists, add "contributor" to ROLES and to these lines of ALLOWED:
  - see_own_draft (own only, like a reporter), write_draft;
  - publish: a contributor's publish creates a `submitted` post (201 `"status":
    "submitted"` in the API), which readers and sockets never see; write that cell;
  - not: see_others_draft, edit_own/delete_own of a published post, anything an editor does;
and the actions that come with it: submit for approval, upload images (contributors and up),
approve / send back / reject submissions and see and restore revisions (editors and up).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from liveblog.asgi import application
from liveblog.blog import services
from liveblog.blog.models import Change, Event, Membership, Post
from tests.factories import AdminFactory, EventFactory, MembershipFactory, PostFactory, UserFactory

ANONYMOUS, OUTSIDER, REPORTER, EDITOR, OTHER_MEMBER, ADMIN = (
    "anonymous",
    "outsider",
    "reporter",
    "editor",
    "other_member",
    "admin",
)
ROLES = (ANONYMOUS, OUTSIDER, REPORTER, EDITOR, OTHER_MEMBER, ADMIN)
EVERYONE = frozenset(ROLES)
MEMBERS = frozenset({REPORTER, EDITOR, ADMIN})
EDITORS = frozenset({EDITOR, ADMIN})

# SPEC §4, line by line.
ALLOWED: dict[str, frozenset[str]] = {
    "read_public": EVERYONE,  # event page, permalink, feed, embed, API GETs
    "see_own_draft": MEMBERS,
    "see_others_draft": EDITORS,
    "write_draft": MEMBERS,
    "publish": MEMBERS,
    "edit_own": MEMBERS,
    "delete_own": MEMBERS,
    "edit_others": EDITORS,
    "delete_others": EDITORS,
    # Others' drafts are others' posts, and a draft is hidden from whoever may not see it.
    "edit_others_draft": EDITORS,
    "delete_others_draft": EDITORS,
    "pin": EDITORS,
    "mark_key_event": EDITORS,
    "change_event": EDITORS,
    "manage_members": EDITORS,
    "create_event": frozenset({ADMIN}),
    "admin_site": frozenset({ADMIN}),
    "manage_users": frozenset({ADMIN}),
}

# Sockets are the readers' (SPEC §7): one table of their own, whoever is logged in.
SOCKET_ALLOWED: dict[str, frozenset[str]] = {
    "read_public": EVERYONE,
    "see_drafts": frozenset(),
    "write": frozenset(),
}


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Rate limits share Redis with other test runs; only their own tests turn them on."""
    settings.LIVEBLOG_RATE_LIMITS = False


# --- the world: one event, its people and their entries ---------------------------------


@dataclass
class World:
    event: Event
    users: dict[str, Any]  # role -> user (None for the anonymous reader)
    published: dict[str, Post]  # author role (or "colleague") -> a published entry in event
    drafts: dict[str, Post]
    candidate: Any  # an active user nobody has added yet (manage members)
    clients: dict[str, Client] = field(default_factory=dict)

    def own(self, role: str, kind: str = "published") -> Post:
        posts = self.published if kind == "published" else self.drafts
        return posts.get(role, posts["colleague"])

    def client(self, role: str) -> Client:
        if role not in self.clients:
            client = Client()
            if self.users[role] is not None:
                client.force_login(self.users[role])
            self.clients[role] = client
        return self.clients[role]


def build_world() -> World:
    event = EventFactory(slug="the-event")
    other_event = EventFactory(slug="another-event")
    users: dict[str, Any] = {
        ANONYMOUS: None,
        OUTSIDER: UserFactory(username="outsider"),
        REPORTER: MembershipFactory(event=event, role="reporter", user__username="reporter").user,
        EDITOR: MembershipFactory(event=event, role="editor", user__username="editor").user,
        OTHER_MEMBER: MembershipFactory(
            event=other_event, role="editor", user__username="other_member"
        ).user,
        ADMIN: AdminFactory(username="admin"),
    }
    colleague = MembershipFactory(event=event, role="reporter", user__username="colleague").user
    authors = {**{r: u for r, u in users.items() if u is not None}, "colleague": colleague}
    published = {
        role: PostFactory(event=event, author=user, body=f"Published by {role}.")
        for role, user in authors.items()
    }
    drafts = {
        role: PostFactory(event=event, author=user, body=f"Draft by {role}.", status="draft")
        for role, user in authors.items()
    }
    return World(event, users, published, drafts, UserFactory(username="candidate"))


@pytest.fixture
def world(db) -> World:
    return build_world()


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row a write could add, change or remove."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Event, Post, Change, Membership)
    }


def marker(role: str, action: str, channel: str = "") -> str:
    return f"{action} by {role}" + (f" via {channel}" if channel else "")


# --- cells: what each (action, channel) sends, and what it did when allowed ------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    data: dict[str, Any] | None = None


Check = Callable[[World, str, Any], None]


@dataclass(frozen=True)
class Cell:
    call: Callable[[World, str], Call]
    done: Check  # asserted when the role is allowed
    # Whom a refusal answers with `hidden_status` (not found; for a list, the list without
    # the hidden thing) rather than 401/403: the thing's existence is not confirmed.
    hidden: frozenset[str] = frozenset()
    hidden_status: int = 404
    hidden_check: Check | None = None


def _editor(world: World, *parts: object) -> str:
    return f"/editor/events/{world.event.slug}/" + "".join(f"{p}/" for p in parts)


def _api(world: World, *parts: object) -> str:
    return f"/api/v1/events/{world.event.slug}/" + "".join(f"{p}/" for p in parts)


def _reader(world: World, *parts: object) -> str:
    return f"/events/{world.event.slug}/" + "".join(f"{p}/" for p in parts)


def _refreshed(post: Post) -> Post:
    return Post.objects.get(pk=post.pk)


def _created(world: World, role: str, status: str, body: str) -> None:
    post = Post.objects.get(body=body)
    assert (post.event_id, post.author_id, post.status) == (
        world.event.pk,
        world.users[role].pk,
        status,
    )
    logged = Change.objects.filter(post=post, kind=Change.Kind.POST_CREATED).exists()
    assert logged == (status == Post.Status.PUBLISHED)


def _edited(target: Callable[[World, str], Post], body: str) -> Check:
    def check(world: World, role: str, response: Any) -> None:
        assert _refreshed(target(world, role)).body == body

    return check


def _deleted(target: Callable[[World, str], Post]) -> Check:
    def check(world: World, role: str, response: Any) -> None:
        post = _refreshed(target(world, role))
        assert post.deleted_at is not None and post.deleted_by_id == world.users[role].pk

    return check


def _flag(name: str) -> Check:
    def check(world: World, role: str, response: Any) -> None:
        assert getattr(_refreshed(world.published[REPORTER]), name) is True

    return check


def _shows(body: Callable[[World, str], str], present: bool) -> Check:
    def check(world: World, role: str, response: Any) -> None:
        assert (body(world, role) in response.content.decode()) is present

    return check


def _own_published(world: World, role: str) -> Post:
    return world.own(role)


def _others_published(world: World, role: str) -> Post:
    return world.published["colleague"]


def _others_draft(world: World, role: str) -> Post:
    return world.drafts["colleague"]


def _pin_target(world: World, role: str) -> Post:
    # The reporter's own entry: a reporter may edit it, so only the pin rule refuses them.
    return world.published[REPORTER]


def _title_changed(world: World, role: str, response: Any) -> None:
    assert Event.objects.get(pk=world.event.pk).title == marker(role, "change_event")


def _member_added(world: World, role: str, response: Any) -> None:
    membership = Membership.objects.get(event=world.event, user=world.candidate)
    assert membership.role == Membership.Role.REPORTER


def _event_created(world: World, role: str, response: Any) -> None:
    created = Event.objects.get(title=marker(role, "create_event"))
    assert Membership.objects.filter(event=created, user=world.users[role], role="editor").exists()


def _no_draft_anywhere(world: World, role: str, response: Any) -> None:
    text = response.content.decode()
    assert all(draft.body not in text for draft in world.drafts.values())


def _post_form(post: Post, **extra: str) -> dict[str, str]:
    return {"body": post.body, "headline": post.headline, "action": "publish", **extra}


def _settings_form(title: str) -> dict[str, str]:
    return {"title": title, "summary": "", "status": "live", "timezone": "UTC", "order": "newest"}


def _admin_event_form(title: str) -> dict[str, str]:
    return {
        "title": title,
        "slug": "",
        "summary": "",
        "status": "scheduled",
        "timezone": "UTC",
        "order": "newest",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }


READER_PAGES = ("", "posts/{post}/", "feed/", "embed/")
API_READS = ("/api/v1/events/", "", "posts/", "posts/{post}/", "changes/?since=0")

PAGE_CELLS: dict[str, Cell] = {
    # read_public is a test of its own (several addresses): test_reading_public_pages.
    "see_own_draft": Cell(
        call=lambda w, r: Call("get", _editor(w)),
        done=_shows(lambda w, r: w.own(r, "draft").body, present=True),
    ),
    "see_others_draft": Cell(
        call=lambda w, r: Call("get", _editor(w)),
        done=_shows(lambda w, r: w.drafts["colleague"].body, present=True),
        # A reporter's composer lists their own drafts only.
        hidden=frozenset({REPORTER}),
        hidden_status=200,
        hidden_check=_shows(lambda w, r: w.drafts["colleague"].body, present=False),
    ),
    "write_draft": Cell(
        call=lambda w, r: Call(
            "post", _editor(w), {"body": marker(r, "write_draft", "page"), "action": "draft"}
        ),
        done=lambda w, r, _: _created(w, r, "draft", marker(r, "write_draft", "page")),
    ),
    "publish": Cell(
        call=lambda w, r: Call(
            "post", _editor(w), {"body": marker(r, "publish", "page"), "action": "publish"}
        ),
        done=lambda w, r, _: _created(w, r, "published", marker(r, "publish", "page")),
    ),
    "edit_own": Cell(
        call=lambda w, r: Call(
            "post",
            _editor(w, "posts", w.own(r).pk, "edit"),
            _post_form(w.own(r), body="edited own via page"),
        ),
        done=_edited(_own_published, "edited own via page"),
    ),
    "delete_own": Cell(
        call=lambda w, r: Call("post", _editor(w, "posts", w.own(r).pk, "delete")),
        done=_deleted(_own_published),
    ),
    "edit_others": Cell(
        call=lambda w, r: Call(
            "post",
            _editor(w, "posts", w.published["colleague"].pk, "edit"),
            _post_form(w.published["colleague"], body="edited others' via page"),
        ),
        done=_edited(_others_published, "edited others' via page"),
    ),
    "delete_others": Cell(
        call=lambda w, r: Call("post", _editor(w, "posts", w.published["colleague"].pk, "delete")),
        done=_deleted(_others_published),
    ),
    "edit_others_draft": Cell(
        call=lambda w, r: Call(
            "post",
            _editor(w, "posts", w.drafts["colleague"].pk, "edit"),
            {**_post_form(w.drafts["colleague"], body="edited draft via page"), "action": "draft"},
        ),
        done=_edited(_others_draft, "edited draft via page"),
        hidden=frozenset({REPORTER}),  # other refusals come first: not a member, not logged in
    ),
    "delete_others_draft": Cell(
        call=lambda w, r: Call("post", _editor(w, "posts", w.drafts["colleague"].pk, "delete")),
        done=_deleted(_others_draft),
        hidden=frozenset({REPORTER}),
    ),
    "pin": Cell(
        call=lambda w, r: Call(
            "post",
            _editor(w, "posts", _pin_target(w, r).pk, "edit"),
            _post_form(_pin_target(w, r), is_pinned="on"),
        ),
        done=_flag("is_pinned"),
    ),
    "mark_key_event": Cell(
        call=lambda w, r: Call(
            "post",
            _editor(w, "posts", _pin_target(w, r).pk, "edit"),
            _post_form(_pin_target(w, r), is_key_event="on"),
        ),
        done=_flag("is_key_event"),
    ),
    "change_event": Cell(
        call=lambda w, r: Call(
            "post", _editor(w, "settings"), _settings_form(marker(r, "change_event"))
        ),
        done=_title_changed,
    ),
    "manage_members": Cell(
        call=lambda w, r: Call(
            "post", _editor(w, "members"), {"username": "candidate", "role": "reporter"}
        ),
        done=_member_added,
    ),
    "create_event": Cell(
        call=lambda w, r: Call(
            "post", "/admin/blog/event/add/", _admin_event_form(marker(r, "create_event"))
        ),
        done=_event_created,
    ),
    "admin_site": Cell(
        call=lambda w, r: Call("get", "/admin/"),
        done=lambda w, r, response: None,
    ),
    "manage_users": Cell(
        call=lambda w, r: Call("get", "/admin/auth/user/"),
        done=_shows(lambda w, r: "candidate", present=True),
    ),
}

API_CELLS: dict[str, Cell] = {
    "see_own_draft": Cell(
        call=lambda w, r: Call("get", _api(w, "posts", w.own(r, "draft").pk)),
        done=lambda w, r, response: _json_post_is(response, w.own(r, "draft")),
        hidden=EVERYONE,
    ),
    "see_others_draft": Cell(
        call=lambda w, r: Call("get", _api(w, "posts", w.drafts["colleague"].pk)),
        done=lambda w, r, response: _json_post_is(response, w.drafts["colleague"]),
        hidden=EVERYONE,
    ),
    "write_draft": Cell(
        call=lambda w, r: Call(
            "post", _api(w, "posts"), {"body": marker(r, "write_draft", "api"), "status": "draft"}
        ),
        done=lambda w, r, _: _created(w, r, "draft", marker(r, "write_draft", "api")),
    ),
    "publish": Cell(
        call=lambda w, r: Call("post", _api(w, "posts"), {"body": marker(r, "publish", "api")}),
        done=lambda w, r, _: _created(w, r, "published", marker(r, "publish", "api")),
    ),
    "edit_own": Cell(
        call=lambda w, r: Call(
            "patch", _api(w, "posts", w.own(r).pk), {"body": "edited own via api"}
        ),
        done=_edited(_own_published, "edited own via api"),
    ),
    "delete_own": Cell(
        call=lambda w, r: Call("delete", _api(w, "posts", w.own(r).pk)),
        done=_deleted(_own_published),
    ),
    "edit_others": Cell(
        call=lambda w, r: Call(
            "patch", _api(w, "posts", w.published["colleague"].pk), {"body": "edited via api"}
        ),
        done=_edited(_others_published, "edited via api"),
    ),
    "delete_others": Cell(
        call=lambda w, r: Call("delete", _api(w, "posts", w.published["colleague"].pk)),
        done=_deleted(_others_published),
    ),
    "edit_others_draft": Cell(
        call=lambda w, r: Call(
            "patch", _api(w, "posts", w.drafts["colleague"].pk), {"body": "edited draft via api"}
        ),
        done=_edited(_others_draft, "edited draft via api"),
        hidden=EVERYONE - {ANONYMOUS},  # writes ask for a login first
    ),
    "delete_others_draft": Cell(
        call=lambda w, r: Call("delete", _api(w, "posts", w.drafts["colleague"].pk)),
        done=_deleted(_others_draft),
        hidden=EVERYONE - {ANONYMOUS},
    ),
    "pin": Cell(
        call=lambda w, r: Call(
            "patch", _api(w, "posts", _pin_target(w, r).pk), {"is_pinned": True}
        ),
        done=_flag("is_pinned"),
    ),
    "mark_key_event": Cell(
        call=lambda w, r: Call(
            "patch", _api(w, "posts", _pin_target(w, r).pk), {"is_key_event": True}
        ),
        done=_flag("is_key_event"),
    ),
    "change_event": Cell(
        call=lambda w, r: Call("patch", _api(w), {"title": marker(r, "change_event")}),
        done=_title_changed,
    ),
    "manage_members": Cell(
        call=lambda w, r: Call(
            "post", _api(w, "members"), {"username": "candidate", "role": "reporter"}
        ),
        done=_member_added,
    ),
    "create_event": Cell(
        call=lambda w, r: Call("post", "/api/v1/events/", {"title": marker(r, "create_event")}),
        done=_event_created,
    ),
}


def _json_post_is(response: Any, post: Post) -> None:
    assert (response.json()["id"], response.json()["body"]) == (post.pk, post.body)


# --- sending ------------------------------------------------------------------------------


def send_page(world: World, role: str, call: Call) -> Any:
    client = world.client(role)
    return getattr(client, call.method)(call.path, call.data or {})


def send_api(world: World, role: str, call: Call, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if call.data is not None:
        kwargs.update(data=call.data, content_type="application/json")
    # A client of its own: no session cookie, the token alone says who is calling.
    return getattr(Client(), call.method)(call.path, **kwargs)


def token_of(world: World, role: str) -> str | None:
    user = world.users[role]
    return None if user is None else services.token_issue(user=user, name="matrix")


def describe(call: Call, response: Any) -> str:
    body = response.content.decode(errors="replace")[:300]
    location = f" -> {response['Location']}" if response.has_header("Location") else ""
    request = f"{call.method.upper()} {call.path} {call.data or ''}"
    return f"{request}: {response.status_code}{location} {body}"


def expected_status(channel: str, action: str, call: Call) -> int:
    if channel == "page":
        return 200 if call.method == "get" else 302
    if call.method == "delete":
        return 204
    return 201 if call.method == "post" else 200


def assert_page_refusal(role: str, action: str, call: Call, response: Any) -> None:
    info = describe(call, response)
    if call.path.startswith("/admin/"):
        # Django's admin sends anyone without staff status to its own login page.
        assert response.status_code == 302, info
        assert response["Location"] == f"/admin/login/?next={call.path}", info
    elif role == ANONYMOUS:
        assert response.status_code == 302, info
        assert response["Location"] == f"/editor/login/?next={call.path}", info
    else:
        assert response.status_code == 403, info


def assert_api_refusal(role: str, hidden: bool, call: Call, response: Any) -> None:
    info = describe(call, response)
    if hidden:
        status = 404
    elif role == ANONYMOUS:
        status = 401
    else:
        status = 403
    assert response.status_code == status, info
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}, info
    assert isinstance(body["detail"], str) and body["detail"], info


def _cells(table: dict[str, Cell]) -> list[Any]:
    return [pytest.param(role, action, id=f"{role}-{action}") for action in table for role in ROLES]


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "action"), _cells(PAGE_CELLS))
def test_page(world, role, action):
    cell = PAGE_CELLS[action]
    call = cell.call(world, role)
    before = snapshot()

    response = send_page(world, role, call)

    info = describe(call, response)
    if role in ALLOWED[action]:
        assert response.status_code == expected_status("page", action, call), info
        if response.status_code == 302:
            assert "/login/" not in response["Location"], info
        cell.done(world, role, response)
    elif role in cell.hidden:
        assert response.status_code == cell.hidden_status, info
        if cell.hidden_check is not None:
            cell.hidden_check(world, role, response)
        assert snapshot() == before, info
    else:
        assert_page_refusal(role, action, call, response)
        assert snapshot() == before, info


@pytest.mark.parametrize("role", ROLES)
def test_page_read_public(world, role):
    """The reader's pages answer everyone alike, and show no draft to anyone, editors included."""
    post = world.published["colleague"]
    before = snapshot()
    for address in READER_PAGES:
        call = Call("get", _reader(world) + address.format(post=post.pk))
        response = send_page(world, role, call)
        assert response.status_code == 200, describe(call, response)
        _no_draft_anywhere(world, role, response)
    assert post.body in send_page(world, role, Call("get", _reader(world))).content.decode()
    assert snapshot() == before


# --- the API --------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "action"), _cells(API_CELLS))
def test_api(world, role, action):
    cell = API_CELLS[action]
    call = cell.call(world, role)
    token = token_of(world, role)
    before = snapshot()

    response = send_api(world, role, call, token)

    info = describe(call, response)
    if role in ALLOWED[action]:
        assert response.status_code == expected_status("api", action, call), info
        cell.done(world, role, response)
    else:
        assert_api_refusal(role, role in cell.hidden, call, response)
        assert snapshot() == before, info


@pytest.mark.parametrize("role", ROLES)
def test_api_read_public(world, role):
    """Every GET of SPEC §6 answers everyone, and lists no draft to anyone, editors included."""
    post = world.published["colleague"]
    token = token_of(world, role)
    before = snapshot()
    for address in API_READS:
        path = address if address.startswith("/") else _api(world) + address.format(post=post.pk)
        call = Call("get", path)
        response = send_api(world, role, call, token)
        assert response.status_code == 200, describe(call, response)
        _no_draft_anywhere(world, role, response)
    listed = send_api(world, role, Call("get", _api(world, "posts")), token).json()["results"]
    assert post.pk in {entry["id"] for entry in listed}
    assert snapshot() == before


# --- the live socket --------------------------------------------------------------------------

ORIGIN = (b"origin", b"http://localhost")


async def _open(world: World, role: str, query: str = "") -> tuple[WebsocketCommunicator, bool]:
    """A socket on the event bearing the role's session cookie (the anonymous have none)."""
    headers = [ORIGIN]
    client = await sync_to_async(world.client)(role)
    cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
    if cookie is not None:
        headers.append((b"cookie", f"{cookie.key}={cookie.value}".encode()))
    path = f"/ws/events/{world.event.slug}/{query}"
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect(timeout=5)
    return socket, connected


async def _connect(world: World, role: str) -> WebsocketCommunicator:
    socket, connected = await _open(world, role)
    assert connected, f"{role} could not follow {world.event.slug}"
    hello = await socket.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return socket


@pytest.fixture
def live_world(transactional_db) -> World:
    return build_world()


def _publish(world: World, body: str, status: str = "published") -> Post:
    author = world.users[EDITOR]
    return services.post_publish(event=world.event, author=author, body=body, status=status)[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_socket_read_public(live_world, role):
    if role not in SOCKET_ALLOWED["read_public"]:
        socket, connected = await _open(live_world, role)
        assert not connected
        return
    socket = await _connect(live_world, role)

    post = await sync_to_async(_publish)(live_world, f"Live for {role}.")

    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["post"]["id"]) == ("post.created", post.pk)
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_socket_see_drafts(live_world, role):
    """Whoever's session a socket bears (editors' included), it carries no draft: not when
    written, not when changed, and not as a replay."""
    world = live_world
    socket = await _connect(world, role)

    draft = await sync_to_async(_publish)(world, "A secret draft.", status="draft")
    await sync_to_async(services.post_update)(
        actor=world.users[EDITOR], post=draft, changes={"body": "Still a secret draft."}
    )
    after = await sync_to_async(_publish)(world, "Published after the draft.")

    frames = [await socket.receive_json_from(timeout=5)]
    while frames[-1].get("post", {}).get("id") != after.pk:
        frames.append(await socket.receive_json_from(timeout=5))
    assert await socket.receive_nothing(timeout=0.1)
    await socket.disconnect()
    replay = await _frames_since_zero(world, role)
    sent = {frame.get("post", {}).get("id") for frame in frames + replay}
    assert (draft.pk in sent) == (role in SOCKET_ALLOWED["see_drafts"]), frames + replay


async def _frames_since_zero(world: World, role: str) -> list[dict[str, Any]]:
    """Everything a reconnect with ?since=0 replays, up to its hello's seq."""
    socket, connected = await _open(world, role, "?since=0")
    assert connected
    hello = await socket.receive_json_from(timeout=5)
    frames = [await socket.receive_json_from(timeout=5) for _ in range(hello["seq"])]
    await socket.disconnect()
    return frames


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_socket_write(live_world, role):
    """A socket is read-only: what a client sends on it writes nothing and is sent to no one."""
    assert role not in SOCKET_ALLOWED["write"]  # there is no socket write to allow
    world = live_world
    socket = await _connect(world, role)
    watcher = await _connect(world, ANONYMOUS)
    before = await sync_to_async(snapshot)()

    await socket.send_json_to(
        {"type": "post.created", "post": {"body": "Forged over the socket."}, "status": "published"}
    )
    await socket.send_to(text_data="publish: forged")

    assert await watcher.receive_nothing(timeout=0.2)  # time enough for a write to happen
    assert await sync_to_async(snapshot)() == before
    await socket.disconnect()
    await watcher.disconnect()


# --- access ends at once ------------------------------------------------------------------------


def _compose(world: World, role: str, body: str) -> Call:
    return Call("post", _editor(world), {"body": body, "action": "publish"})


@pytest.mark.parametrize("role", [REPORTER, EDITOR, ADMIN])
def test_deactivated_users_session_stops_at_once(world, role):
    client, user = world.client(role), world.users[role]
    assert client.get(_editor(world)).status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])

    before = snapshot()
    for call in (Call("get", _editor(world)), _compose(world, role, "After deactivation.")):
        response = send_page(world, role, call)
        assert response.status_code == 302, describe(call, response)
        assert response["Location"] == f"/editor/login/?next={call.path}"
    assert snapshot() == before


@pytest.mark.parametrize("role", [REPORTER, EDITOR, ADMIN])
def test_deactivated_users_token_stops_at_once(world, role):
    token, user = token_of(world, role), world.users[role]
    draft = world.own(role, "draft")
    first = send_api(world, role, Call("get", _api(world, "posts", draft.pk)), token)
    assert first.status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])

    before = snapshot()
    calls = (
        Call("get", _api(world, "posts", draft.pk)),
        Call("post", _api(world, "posts"), {"body": "After deactivation."}),
        Call("patch", _api(world, "posts", world.own(role).pk), {"body": "After."}),
    )
    for call in calls:
        response = send_api(world, role, call, token)
        assert response.status_code == 401, describe(call, response)
        assert set(response.json()) == {"error", "detail", "fields"}
    assert snapshot() == before


@pytest.mark.parametrize("role", [REPORTER, EDITOR])
def test_removed_member_loses_editor_pages_at_once(world, role):
    client, user = world.client(role), world.users[role]
    assert client.get(_editor(world)).status_code == 200

    services.membership_remove(actor=world.users[ADMIN], event=world.event, user=user)

    before = snapshot()
    own = world.own(role)
    calls = (
        Call("get", _editor(world)),
        _compose(world, role, "After removal."),
        Call("post", _editor(world, "posts", own.pk, "edit"), _post_form(own, body="After.")),
        Call("post", _editor(world, "posts", own.pk, "delete")),
        Call("get", _editor(world, "settings")),
    )
    for call in calls:
        response = send_page(world, role, call)
        assert response.status_code == 403, describe(call, response)
    assert snapshot() == before


@pytest.mark.parametrize("role", [REPORTER, EDITOR])
def test_removed_member_loses_api_access_at_once(world, role):
    token, user = token_of(world, role), world.users[role]
    draft = world.own(role, "draft")
    first = send_api(world, role, Call("get", _api(world, "posts", draft.pk)), token)
    assert first.status_code == 200

    services.membership_remove(actor=world.users[ADMIN], event=world.event, user=user)

    before = snapshot()
    refusals = (
        (Call("get", _api(world, "posts", draft.pk)), 404),  # their draft is hidden now
        (Call("post", _api(world, "posts"), {"body": "After removal."}), 403),
        (Call("patch", _api(world, "posts", world.own(role).pk), {"body": "After."}), 403),
        (Call("delete", _api(world, "posts", world.own(role).pk)), 403),
        (Call("patch", _api(world), {"title": "After removal"}), 403),
    )
    for call, status in refusals:
        response = send_api(world, role, call, token)
        assert response.status_code == status, describe(call, response)
        assert set(response.json()) == {"error", "detail", "fields"}
    assert snapshot() == before


# Issue 14, reproduction 10: the API made a deactivated user a member (201); it now looks
# people up through selectors.user_by_username, as the editor does.
@pytest.mark.parametrize("channel", ["page", "api"])
def test_deactivated_user_cannot_be_made_a_member(world, channel):
    """A deactivated account is as good as gone (SPEC §4): no way in adds it back."""
    world.candidate.is_active = False
    world.candidate.save(update_fields=["is_active"])
    before = snapshot()
    data = {"username": "candidate", "role": "reporter"}

    if channel == "page":
        response = send_page(world, EDITOR, Call("post", _editor(world, "members"), data))
        assert response.status_code == 200  # the form again, its error next to the field
        assert "No active user has this username." in response.content.decode()
    else:
        call = Call("post", _api(world, "members"), data)
        response = send_api(world, EDITOR, call, token_of(world, EDITOR))
        assert response.status_code == 400, describe(call, response)
        assert "username" in response.json()["fields"]
    assert snapshot() == before
