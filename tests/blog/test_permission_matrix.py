"""SPEC §4 cell by cell for the approval workflow: submit, publish, approve, send back, reject,
edit own and others' entries, for every role — the anonymous reader, a logged-in user who is
not a member (they wrote entries while they were one), a contributor, a reporter, an editor
and an admin (staff, member of nothing) — through the services and through the API.

`EXPECTED` is the table, one line per action, in API status codes; the services' column is
read from it: 2xx is done, 409 is services.NotSubmitted, every refusal (401, 403, and 404
where the API hides what one may not see) is PermissionDenied. A refused request changes
nothing (SPEC §4); a done one did what it says (asserted per action).

Targets: an "own" entry is the role's (the anonymous reader owns nothing: a colleague's); a
"submission" to decide on is another contributor's, waiting; "decided" is one an editor has
approved already.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from liveblog.blog import services
from liveblog.blog.models import AuditEntry, Change, Membership, Post, Revision
from tests.api.helpers import Api, url
from tests.factories import AdminFactory, EventFactory, MembershipFactory, PostFactory, UserFactory

ROLES = ("anonymous", "non-member", "contributor", "reporter", "editor", "admin")

# SPEC §4, in the API's answers.     anonymous non-member contributor reporter editor admin
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    "submit":                        (401,      403,       201,        201,     201,   201),
    "publish":                       (401,      403,       201,        201,     201,   201),
    "approve":                       (401,      404,       404,        404,     200,   200),
    "send back":                     (401,      404,       404,        404,     200,   200),
    "reject":                        (401,      404,       404,        404,     204,   204),
    "send back one decided already":   (401,      403,       403,        403,     409,   409),
    "edit own published entry":      (401,      403,       403,        200,     200,   200),
    "edit own submission":           (401,      404,       200,        200,     200,   200),
    "edit others' entry":            (401,      403,       403,        403,     200,   200),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.LIVEBLOG_RATE_LIMITS = False


@dataclass
class World:
    event: Any
    users: dict[str, Any]
    own_published: dict[str, Post]
    own_submission: dict[str, Post]
    submission: Post  # another contributor's, waiting
    decided: Post  # another contributor's, approved
    others: Post  # a colleague reporter's, published

    def own(self, kind: dict[str, Post], role: str) -> Post:
        return kind.get(role, self.others if kind is self.own_published else self.submission)


def build_world() -> World:
    event = EventFactory(slug="matrix")
    users: dict[str, Any] = {
        "anonymous": None,
        "non-member": UserFactory(username="former"),
        "contributor": MembershipFactory(event=event, role="contributor").user,
        "reporter": MembershipFactory(event=event, role="reporter").user,
        "editor": MembershipFactory(event=event, role="editor").user,
        "admin": AdminFactory(username="staff"),
    }
    authors = {role: user for role, user in users.items() if user is not None}
    colleague = MembershipFactory(event=event, role=Membership.Role.CONTRIBUTOR).user
    reporter_colleague = MembershipFactory(event=event, role=Membership.Role.REPORTER).user

    def entry(author, status, body):
        return PostFactory(event=event, author=author, status=status, body=body)

    return World(
        event=event,
        users=users,
        own_published={r: entry(u, "published", f"Published by {r}.") for r, u in authors.items()},
        own_submission={r: entry(u, "submitted", f"Submitted by {r}.") for r, u in authors.items()},
        submission=entry(colleague, "submitted", "A colleague's submission."),
        decided=entry(colleague, "published", "Approved already."),
        others=entry(reporter_colleague, "published", "A colleague's entry."),
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


def snapshot() -> dict[str, Any]:
    return {
        "posts": list(Post.objects.order_by("pk").values()),
        "changes": Change.objects.count(),
        "revisions": Revision.objects.count(),
        "audit": AuditEntry.objects.filter(action__startswith="post.").count(),
    }


# --- each action: its API request, its service call, and what it did when allowed ------


@dataclass(frozen=True)
class Action:
    target: Callable[[World, str], Post | None]
    api: Callable[[World, Post | None], tuple[str, str, dict[str, Any]]]
    service: Callable[[World, Any, Post | None], Any]
    done: Callable[[World, str, Post | None], None]


def _new(status: str):
    def api(world, _post):
        return "post", url(world.event.slug, "posts"), {"body": "New.", "status": status}

    def service(world, actor, _post):
        return services.post_publish(event=world.event, author=actor, body="New.", status=status)

    return api, service


def _created(expected: Callable[[str], str]):
    def check(world, role, _post):
        post = Post.objects.get(body="New.")
        assert post.author == world.users[role] and post.status == expected(role)

    return check


def _state(**wanted: Any):
    def check(world, role, post):
        post = Post.objects.get(pk=post.pk)
        for name, value in wanted.items():
            assert (
                (getattr(post, name) is not None) if value is ... else getattr(post, name) == value
            )

    return check


def _patch(changes: dict[str, Any]):
    return lambda world, post: ("patch", url(world.event.slug, "posts", post.pk), changes)


def _update(changes: dict[str, Any]):
    return lambda world, actor, post: services.post_update(actor=actor, post=post, changes=changes)


def _decide(path: str, fn: Callable[..., Any], **kwargs: Any):
    api = lambda world, post: ("post", url(world.event.slug, "posts", post.pk, path), kwargs)  # noqa: E731
    service = lambda world, actor, post: fn(actor=actor, post=post, **kwargs)  # noqa: E731
    return api, service


submit_api, submit_service = _new("submitted")
publish_api, publish_service = _new("published")
send_back_api, send_back_service = _decide("send-back", services.post_send_back, note="Why?")
reject_api, reject_service = _decide("reject", services.post_reject, note="No.")
EDIT = {"body": "Edited."}

ACTIONS: dict[str, Action] = {
    "submit": Action(
        lambda w, r: None, submit_api, submit_service, _created(lambda role: "submitted")
    ),
    # A contributor's publish is a submission (SPEC §6 workflow): 201, and it waits.
    "publish": Action(
        lambda w, r: None,
        publish_api,
        publish_service,
        _created(lambda role: "submitted" if role == "contributor" else "published"),
    ),
    "approve": Action(
        lambda w, r: w.submission,
        _patch({"status": "published"}),
        lambda w, actor, post: services.post_approve(actor=actor, post=post),
        _state(status="published"),
    ),
    "send back": Action(
        lambda w, r: w.submission, send_back_api, send_back_service, _state(status="draft")
    ),
    "reject": Action(lambda w, r: w.submission, reject_api, reject_service, _state(deleted_at=...)),
    "send back one decided already": Action(
        lambda w, r: w.decided, send_back_api, send_back_service, lambda w, r, p: None
    ),
    "edit own published entry": Action(
        lambda w, r: w.own(w.own_published, r), _patch(EDIT), _update(EDIT), _state(body="Edited.")
    ),
    "edit own submission": Action(
        lambda w, r: w.own(w.own_submission, r), _patch(EDIT), _update(EDIT), _state(body="Edited.")
    ),
    "edit others' entry": Action(
        lambda w, r: w.others, _patch(EDIT), _update(EDIT), _state(body="Edited.")
    ),
}
assert set(ACTIONS) == set(EXPECTED)

CELLS = [
    pytest.param(action, role, EXPECTED[action][n], id=f"{action} by {role}")
    for action in EXPECTED
    for n, role in enumerate(ROLES)
]


def _api_for(world: World, role: str) -> Api:
    user = world.users[role]
    return Api(token=services.token_issue(user=user, name="matrix")) if user else Api()


@pytest.mark.parametrize(("action", "role", "status"), CELLS)
def test_through_the_api(world, action, role, status):
    cell = ACTIONS[action]
    post = cell.target(world, role)
    method, path, data = cell.api(world, post)
    client = _api_for(world, role)
    before = snapshot()
    response = client.call(method, path, data)
    assert response.status_code == status, response.content
    if status < 300:
        cell.done(world, role, post)
    else:
        assert snapshot() == before, "a refused request changed something"
    if status == 409:
        assert response.json()["error"] == "not_submitted"


@pytest.mark.parametrize(("action", "role", "status"), CELLS)
def test_through_the_services(world, action, role, status):
    cell = ACTIONS[action]
    post = cell.target(world, role)
    actor = world.users[role] or AnonymousUser()
    before = snapshot()
    if status < 300:
        cell.service(world, actor, post)
        cell.done(world, role, post)
        return
    refusal = services.NotSubmitted if status == 409 else PermissionDenied
    with pytest.raises(refusal):
        cell.service(world, actor, post)
    assert snapshot() == before, "a refused call changed something"


def test_a_contributors_own_approval_by_patch_changes_nothing_readers_see(world):
    """The one cell where the API says 200 but nothing is published: a contributor asking
    to publish their own submission (SPEC §6: it stays `submitted`)."""
    mine = world.own_submission["contributor"]
    response = _api_for(world, "contributor").patch(
        url(world.event.slug, "posts", mine.pk), {"status": "published"}
    )
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert not Change.objects.exists()
