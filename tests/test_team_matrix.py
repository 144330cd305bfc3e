"""SPEC §4 cell by cell for the team's new actions (issue 11): schedule, approve, see and
restore revisions, and connecting to the editor's live socket (presence) — for every role,
on the editor's pages, through the API and on the socket.

(tests/blog/test_permission_matrix.py holds the approval workflow's full table through the
services and the API; this one adds the pages and the socket, and schedule and restore.)

Each table is in what the page, the API or the socket answers: a refusal is 401 (API) or a
redirect to the login page (pages) when not logged in, 403 when logged in but not allowed
(or 404 where the entry is one the person may not see at all); a refused request changes
nothing.
"""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liveblog.asgi import application
from liveblog.blog import services
from liveblog.blog.models import Change, Post, Revision
from tests.api.helpers import Api, url
from tests.factories import AdminFactory, EventFactory, MembershipFactory, PostFactory, UserFactory
from tests.live.client import ORIGIN

ROLES = ("anonymous", "non-member", "contributor", "reporter", "editor", "admin")
LOGIN = "login"  # a page's answer to the anonymous reader: a redirect to the login page


def row(*cells):
    """One line of a table: the answer of each role, in ROLES' order."""
    return dict(zip(ROLES, cells, strict=True))


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.LIVEBLOG_RATE_LIMITS = False


def people(event):
    return {
        "anonymous": None,
        "non-member": UserFactory(),
        "contributor": MembershipFactory(event=event, role="contributor").user,
        "reporter": MembershipFactory(event=event, role="reporter").user,
        "editor": MembershipFactory(event=event, role="editor").user,
        "admin": AdminFactory(),
    }


def page_client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_client(user):
    if user is None:
        return Api()
    return Api(token=services.token_create(actor=user, user=user, name="matrix")[1])


def page_answer(response):
    if response.status_code == 302 and "/editor/login/" in response["Location"]:
        return LOGIN
    return response.status_code


def later():
    return timezone.now() + timedelta(hours=3)


# --- schedule: a published entry dated ahead --------------------------------------------

#                       anonymous non-member contributor   reporter     editor       admin
SCHEDULE_API = row(401, 403, "submitted", "scheduled", "scheduled", "scheduled")
SCHEDULE_PAGE = row(LOGIN, 403, "submitted", "scheduled", "scheduled", "scheduled")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_schedule_through_the_api(role):
    event = EventFactory(status="live")
    user = people(event)[role]
    answer = api_client(user).post(
        url(event.slug, "posts"), {"body": "Ahead.", "published_at": later().isoformat()}
    )
    expected = SCHEDULE_API[role]
    if isinstance(expected, int):
        assert answer.status_code == expected
        assert not Post.objects.exists()
    else:
        assert answer.status_code == 201 and answer.json()["status"] == expected
        assert Post.objects.get().status == expected
    assert not Change.objects.exists()  # nothing reached readers, whoever asked


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_schedule_through_the_composer(role):
    event = EventFactory(status="live", timezone="UTC")
    user = people(event)[role]
    when = later().strftime("%Y-%m-%d %H:%M")
    answer = page_client(user).post(
        reverse("editor:compose", args=[event.slug]),
        {"body": "Ahead.", "published_at": when, "action": "publish"},
    )
    expected = SCHEDULE_PAGE[role]
    if expected in (LOGIN, 403):
        assert page_answer(answer) == expected
        assert not Post.objects.exists()
    else:
        assert answer.status_code == 302
        assert Post.objects.get().status == expected
    assert not Change.objects.exists()


#                       anonymous non-member contributor reporter editor admin
RESCHEDULE_PAGE = row(LOGIN, 403, 403, 302, 302, 302)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_reschedule_a_colleagues_scheduled_entry_on_the_page(role):
    """The Scheduled panel: a reporter may change their own (the author here is a reporter,
    so the reporter row is that author's)."""
    event = EventFactory(status="live", timezone="UTC")
    users = people(event)
    author = users["reporter"]
    ahead = later().replace(second=0, microsecond=0)  # the panel's field is to the minute
    post = PostFactory(event=event, author=author, status="scheduled", published_at=ahead)
    before = post.published_at
    answer = page_client(users[role]).post(
        reverse("editor:scheduled_change", args=[event.slug, post.pk]),
        {
            "action": "reschedule",
            "published_at": (before + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert page_answer(answer) in _refusal_or(RESCHEDULE_PAGE[role])
    post.refresh_from_db()
    if RESCHEDULE_PAGE[role] == 302:
        assert post.published_at == before + timedelta(hours=1)
    else:
        assert post.published_at == before


# --- approve on the page (the API's cells are in tests/blog/test_permission_matrix.py) -----

#                     anonymous non-member contributor reporter editor admin
APPROVE_PAGE = row(LOGIN, 403, 403, 403, 302, 302)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_approve_on_the_queue_page(role):
    event = EventFactory(status="live")
    users = people(event)
    waiting = PostFactory(event=event, author=users["contributor"], status="submitted")
    answer = page_client(users[role]).post(
        reverse("editor:queue_approve", args=[event.slug, waiting.pk])
    )
    assert page_answer(answer) in _refusal_or(APPROVE_PAGE[role])
    waiting.refresh_from_db()
    approved = APPROVE_PAGE[role] == 302
    assert waiting.status == ("published" if approved else "submitted")
    assert Change.objects.exists() == approved


def _refusal_or(expected):
    """A refusal may also be 404: the entry is one that person may not see at all."""
    return {expected, 404} if expected == 403 else {expected}


# --- revisions: see and restore -----------------------------------------------------------

#                       anonymous non-member contributor reporter editor admin
REVISIONS_API = row(401, 403, 403, 403, 200, 200)
REVISIONS_PAGE = row(LOGIN, 403, 403, 403, 200, 200)
RESTORE_API = row(401, 403, 403, 403, 200, 200)
RESTORE_PAGE = row(LOGIN, 403, 403, 403, 302, 302)


def corrected_twice(event, users):
    """An entry by the reporter (so that the reporter's cells are about their own entry)."""
    post, _ = services.post_publish(event=event, author=users["reporter"], body="First words.")
    return services.post_update(actor=users["editor"], post=post, changes={"body": "Second."})


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_see_revisions(role):
    event = EventFactory(status="live")
    users = people(event)
    post = corrected_twice(event, users)
    api = api_client(users[role]).get(url(event.slug, "posts", post.pk, "revisions"))
    assert api.status_code == REVISIONS_API[role]
    if api.status_code == 200:
        assert [r["body"] for r in api.json()["results"]] == ["Second.", "First words."]
    page = page_client(users[role]).get(reverse("editor:post_history", args=[event.slug, post.pk]))
    assert page_answer(page) == REVISIONS_PAGE[role]
    if page.status_code == 200:
        assert "First" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_restore_through_the_api(role):
    event = EventFactory(status="live")
    users = people(event)
    post = corrected_twice(event, users)
    answer = api_client(users[role]).post(
        url(event.slug, "posts", post.pk, "revisions", 1, "restore"), {}
    )
    assert answer.status_code == RESTORE_API[role]
    post.refresh_from_db()
    restored = RESTORE_API[role] == 200
    assert post.body == ("First words." if restored else "Second.")
    assert Revision.objects.filter(post=post).count() == (3 if restored else 2)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_restore_on_the_history_page(role):
    event = EventFactory(status="live")
    users = people(event)
    post = corrected_twice(event, users)
    answer = page_client(users[role]).post(
        reverse("editor:post_restore", args=[event.slug, post.pk, 1])
    )
    assert page_answer(answer) == RESTORE_PAGE[role]
    post.refresh_from_db()
    assert post.body == ("First words." if RESTORE_PAGE[role] == 302 else "Second.")


# --- presence: the editor's live socket ---------------------------------------------------

#                     anonymous non-member contributor reporter editor admin
DESK_SOCKET = row(False, False, True, True, True, True)


@sync_to_async
def _cookie(user):
    client = page_client(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_connect_to_the_editors_socket(role):
    event = await sync_to_async(EventFactory)(status="live")
    user = (await sync_to_async(people)(event))[role]
    headers = [ORIGIN]
    if user is not None:
        headers.append((b"cookie", (await _cookie(user)).encode()))
    socket = WebsocketCommunicator(application, f"/ws/editor/events/{event.slug}/", headers=headers)
    connected, _code = await socket.connect(timeout=10)
    assert connected == DESK_SOCKET[role]
    await socket.disconnect()
