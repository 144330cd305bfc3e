"""The audit log (issue 14, "what else to build"): every write and every security event,
who, what, when and from which address, in the transaction of the write, readable by admins
and never editable through the site."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liveblog.blog import audit, services
from liveblog.blog.models import ApiToken, AuditEntry, Membership, Post
from tests.api.helpers import Api, url
from tests.factories import AdminFactory, MembershipFactory, UserFactory

Action = AuditEntry.Action
ADDRESS = "203.0.113.7"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.LIVEBLOG_RATE_LIMITS = False


@pytest.fixture
def entries():
    """The entries written since the fixture was made (or since the last call), oldest first,
    as (action, username, event id, post id, address, detail)."""
    seen = {"last": AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0}

    def new() -> list[tuple]:
        rows = list(
            AuditEntry.objects.filter(id__gt=seen["last"])
            .order_by("id")
            .values_list("id", "action", "username", "event_id", "post_id", "address", "detail")
        )
        if rows:
            seen["last"] = rows[-1][0]
        return [row[1:] for row in rows]

    return new


@pytest.fixture
def published(event, reporter):
    post, _ = services.post_publish(event=event, author=reporter, body="First.")
    return post


# --- every service write leaves its entry ------------------------------------------------


def test_publishing_an_entry_is_recorded_with_actor_address_event_and_post(
    event, reporter, entries
):
    entries()
    with audit.address(ADDRESS):
        post, _ = services.post_publish(event=event, author=reporter, body="Breaking.")

    assert entries() == [
        (
            Action.POST_CREATED,
            reporter.username,
            event.pk,
            post.pk,
            ADDRESS,
            {"status": "published"},
        )
    ]
    entry = AuditEntry.objects.get(post=post)
    assert entry.actor == reporter
    assert abs(entry.created_at - timezone.now()) < timedelta(seconds=5)


def test_a_draft_is_recorded_as_created_with_its_status(event, reporter, entries):
    entries()
    with audit.address(ADDRESS):
        post, _ = services.post_publish(event=event, author=reporter, body="WIP", status="draft")

    assert entries() == [
        (Action.POST_CREATED, reporter.username, event.pk, post.pk, ADDRESS, {"status": "draft"})
    ]


def test_an_idempotent_replay_writes_nothing_and_records_nothing(event, reporter, entries):
    services.post_publish(event=event, author=reporter, body="Once.", idempotency_key="k1")
    entries()

    _post, created = services.post_publish(
        event=event, author=reporter, body="Once.", idempotency_key="k1"
    )

    assert not created
    assert entries() == []


def test_an_update_records_the_changed_field_names(event, reporter, published, entries):
    entries()
    with audit.address(ADDRESS):
        services.post_update(
            actor=reporter, post=published, changes={"body": "Fixed.", "headline": ""}
        )

    assert entries() == [
        (
            Action.POST_UPDATED,
            reporter.username,
            event.pk,
            published.pk,
            ADDRESS,
            {"fields": ["body"]},
        )
    ]


def test_publishing_a_draft_and_moving_it_back_are_recorded_as_such(event, editor, entries):
    draft, _ = services.post_publish(event=event, author=editor, body="WIP", status="draft")
    entries()

    services.post_update(actor=editor, post=draft, changes={"status": "published"})
    services.post_update(actor=editor, post=draft, changes={"status": "draft"})

    assert [(e[0], e[3], e[5]) for e in entries()] == [
        (Action.POST_PUBLISHED, draft.pk, {"fields": ["status"]}),
        (Action.POST_UNPUBLISHED, draft.pk, {"fields": ["status"]}),
    ]


def test_pinning_records_the_unpinned_entry_too(event, editor, entries):
    first, _ = services.post_publish(event=event, author=editor, body="One.", is_pinned=True)
    entries()

    second, _ = services.post_publish(event=event, author=editor, body="Two.", is_pinned=True)

    assert [(e[0], e[3]) for e in entries()] == [
        (Action.POST_CREATED, second.pk),
        (Action.POST_UPDATED, first.pk),
    ]


def test_a_delete_is_recorded(event, editor, published, entries):
    entries()
    with audit.address(ADDRESS):
        services.post_delete(actor=editor, post=published)

    assert entries() == [
        (
            Action.POST_DELETED,
            editor.username,
            event.pk,
            published.pk,
            ADDRESS,
            {"status": "published"},
        )
    ]
    services.post_delete(actor=editor, post=published)  # already removed: no write
    assert entries() == []


def test_creating_an_event_records_it_and_its_first_editor(admin, entries):
    entries()
    with audit.address("2001:db8::1"):
        event = services.event_create(actor=admin, title="Election night")

    assert entries() == [
        (Action.EVENT_CREATED, "admin", event.pk, None, "2001:db8::1", {"slug": event.slug}),
        (
            Action.MEMBERSHIP_ADDED,
            "admin",
            event.pk,
            None,
            "2001:db8::1",
            {"member": "admin", "role": "editor"},
        ),
    ]


def test_an_event_update_records_the_fields_that_changed(event, editor, entries):
    entries()
    with audit.address(ADDRESS):
        services.event_update(
            actor=editor, event=event, changes={"title": "New title", "order": event.order}
        )

    assert entries() == [
        (Action.EVENT_UPDATED, editor.username, event.pk, None, ADDRESS, {"fields": ["title"]})
    ]


def test_a_rename_is_recorded_with_the_old_and_new_slug(event, admin, entries):
    old = event.slug
    entries()

    services.event_update(actor=admin, event=event, changes={"slug": "renamed"})

    assert entries() == [
        (
            Action.EVENT_RENAMED,
            "admin",
            event.pk,
            None,
            None,
            {"fields": ["slug"], "from": old, "to": "renamed"},
        )
    ]


def test_membership_changes_are_recorded(event, editor, entries):
    newcomer = UserFactory(username="newcomer")
    entries()

    with audit.address(ADDRESS):
        services.membership_add(actor=editor, event=event, user=newcomer, role="reporter")
        services.membership_add(actor=editor, event=event, user=newcomer, role="reporter")
        services.membership_add(actor=editor, event=event, user=newcomer, role="editor")
        services.membership_remove(actor=editor, event=event, user=newcomer)
        services.membership_remove(actor=editor, event=event, user=newcomer)

    member = {"member": "newcomer"}
    assert entries() == [
        (
            Action.MEMBERSHIP_ADDED,
            editor.username,
            event.pk,
            None,
            ADDRESS,
            member | {"role": "reporter"},
        ),
        (
            Action.MEMBERSHIP_ROLE_CHANGED,
            editor.username,
            event.pk,
            None,
            ADDRESS,
            member | {"role": "editor", "from": "reporter"},
        ),
        (Action.MEMBERSHIP_REMOVED, editor.username, event.pk, None, ADDRESS, member),
    ]


def test_a_refused_write_records_nothing(event, reporter, outsider, entries):
    entries()

    with pytest.raises(ValidationError):
        services.post_publish(event=event, author=reporter, body="   ")
    with pytest.raises(Exception, match="member"):
        services.post_publish(event=event, author=outsider, body="Intruder.")

    assert entries() == []


def test_a_rolled_back_write_leaves_no_entry(event, reporter, entries):
    entries()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.post_publish(event=event, author=reporter, body="Never happened.")
        assert AuditEntry.objects.filter(action=Action.POST_CREATED).exists()
        raise Abort

    assert entries() == []
    assert not Post.objects.exists()


def test_an_entry_is_never_changed(event, reporter, published):
    entry = AuditEntry.objects.get(post=published)
    entry.username = "someone else"

    with pytest.raises(ValueError, match="never changed"):
        entry.save()


def test_deleting_the_actor_keeps_the_entry_and_the_name(event, entries):
    person = MembershipFactory(event=event, role=Membership.Role.EDITOR).user
    services.event_update(actor=person, event=event, changes={"title": "Changed"})
    name = person.username

    person.delete()

    entry = AuditEntry.objects.get(action=Action.EVENT_UPDATED)
    assert entry.actor is None and entry.username == name


def test_publishing_costs_one_insert_more_and_no_select(event, reporter, django_assert_num_queries):
    """Before the audit log a publish cost 5 queries here (savepoint, INSERT post, UPDATE
    event seq, INSERT change, release); the entry adds its INSERT and nothing else (and
    its first revision one INSERT: 7)."""
    services.post_publish(event=event, author=reporter, body="Warm the role cache.")

    with django_assert_num_queries(7) as queries:
        services.post_publish(event=event, author=reporter, body="An entry.")

    audit_sql = [q["sql"] for q in queries.captured_queries if "blog_auditentry" in q["sql"]]
    assert len(audit_sql) == 1 and audit_sql[0].startswith("INSERT")


# --- the address is the request's, as the server resolved it -----------------------------


def test_a_write_through_the_editor_records_the_request_address(event, reporter, entries):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(reporter)
    entries()

    response = client.post(
        reverse("editor:compose", args=[event.slug]), {"body": "From a form.", "action": "publish"}
    )

    assert response.status_code == 302
    [entry] = entries()
    assert entry[:2] == (Action.POST_CREATED, reporter.username) and entry[4] == ADDRESS


def test_a_client_s_own_forwarded_for_header_is_not_the_address(event, reporter, entries):
    key = services.token_issue(user=reporter)
    entries()

    response = Api(Client(REMOTE_ADDR=ADDRESS), token=key).post(
        url(event.slug, "posts"), {"body": "Via API."}, X_Forwarded_For="198.51.100.66"
    )

    assert response.status_code == 201
    assert {e[4] for e in entries()} == {ADDRESS}


def test_no_address_leaks_from_one_request_to_the_next(event, reporter):
    Client(REMOTE_ADDR=ADDRESS).get("/")

    assert audit.current_address() is None
    services.post_publish(event=event, author=reporter, body="From a script.")
    assert AuditEntry.objects.get(action=Action.POST_CREATED).address is None


# --- logins, failures, lock-outs, logouts -------------------------------------------------


@pytest.fixture
def person(db):
    return UserFactory(username="alice", password=PASSWORD, is_staff=True)


@pytest.mark.parametrize("path", ["/editor/login/", "/admin/login/"])
def test_a_login_and_a_failed_one_are_recorded_with_the_address(path, person, entries):
    client = Client(REMOTE_ADDR=ADDRESS)
    entries()

    client.post(path, {"username": "alice", "password": "wrong"})
    client.post(path, {"username": "alice", "password": PASSWORD})

    assert entries() == [
        (Action.LOGIN_FAILED, "alice", None, None, ADDRESS, {}),
        (Action.LOGIN_SUCCEEDED, "alice", None, None, ADDRESS, {}),
    ]
    assert AuditEntry.objects.get(action=Action.LOGIN_SUCCEEDED).actor == person
    assert PASSWORD not in str(list(AuditEntry.objects.values()))


def test_a_logout_is_recorded_with_the_address(person, entries):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.post("/editor/login/", {"username": "alice", "password": PASSWORD})
    entries()

    client.post("/editor/logout/")

    assert entries() == [(Action.LOGOUT, "alice", None, None, ADDRESS, {})]


def test_a_lock_out_is_recorded_with_the_address(person, entries):
    client = Client(REMOTE_ADDR=ADDRESS)
    entries()

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/editor/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/editor/login/", {"username": "alice", "password": PASSWORD})

    assert locked.status_code == 429
    recorded = entries()
    failures = [e for e in recorded if e[0] == Action.LOGIN_FAILED]
    assert len(failures) >= settings.AXES_FAILURE_LIMIT
    assert {e[1:5] for e in failures} == {("alice", None, None, ADDRESS)}
    lockouts = [e for e in recorded if e[0] == Action.LOGIN_LOCKED_OUT]
    assert lockouts and {e[1:5] for e in lockouts} == {("alice", None, None, ADDRESS)}
    assert not AuditEntry.objects.filter(action=Action.LOGIN_SUCCEEDED).exists()


# --- tokens -------------------------------------------------------------------------------


def test_a_token_s_issue_use_and_revocation_are_recorded_without_its_key(event, reporter, entries):
    entries()
    with audit.address(ADDRESS):
        token, key = services.token_create(user=reporter, name="ingest", expires_in_days=7)
    named = {"token": token.prefix, "name": "ingest", "owner": reporter.username}

    api = Api(Client(REMOTE_ADDR="192.0.2.10"), token=key)
    api.get(url(event.slug))
    api.get(url(event.slug))  # within the minute: no second write, no second entry
    with audit.address(ADDRESS):
        services.token_revoke(actor=reporter, token=token)

    recorded = entries()
    assert [e[0] for e in recorded] == [
        Action.TOKEN_ISSUED,
        Action.TOKEN_USED,
        Action.TOKEN_REVOKED,
    ]
    issued, used, revoked = recorded
    assert issued[1:5] == (reporter.username, None, None, ADDRESS)
    assert issued[5] == named | {"expires_at": token.expires_at.isoformat()}
    assert used[1:] == (reporter.username, None, None, "192.0.2.10", named)
    assert revoked[1:] == (reporter.username, None, None, ADDRESS, named)
    assert key not in str(list(AuditEntry.objects.values()))


def test_a_token_is_recorded_as_used_again_after_a_minute(event, reporter, entries):
    key = services.token_issue(user=reporter)
    api = Api(token=key)
    api.get(url(event.slug))
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    entries()

    api.get(url(event.slug))

    assert [e[0] for e in entries()] == [Action.TOKEN_USED]


def test_an_admin_issuing_a_token_for_someone_is_the_actor(reporter, entries):
    admin = AdminFactory(username="boss")
    entries()

    services.token_create(user=reporter, name="for you", actor=admin)

    [entry] = entries()
    assert entry[:2] == (Action.TOKEN_ISSUED, "boss") and entry[5]["owner"] == reporter.username


def test_an_expired_token_s_use_is_recorded_once_a_minute(event, reporter, entries):
    token, key = services.token_create(user=reporter, name="old")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    api = Api(Client(REMOTE_ADDR=ADDRESS), token=key)
    entries()

    assert api.get(url(event.slug)).status_code == 401
    assert api.get(url(event.slug)).status_code == 401

    assert entries() == [
        (
            Action.TOKEN_EXPIRED_USE,
            reporter.username,
            None,
            None,
            ADDRESS,
            {"token": token.prefix, "name": "old", "owner": reporter.username},
        )
    ]


# --- the admin: readable, never editable ----------------------------------------------------


@pytest.fixture
def staff(admin, client_for):
    return client_for(admin)


def test_the_admin_lists_entries_and_filters_and_searches_them(event, reporter, published, staff):
    listing = reverse("admin:blog_auditentry_changelist")

    page = staff.get(listing)
    assert page.status_code == 200
    assert "post.created" in page.content.decode() or "Entry created" in page.content.decode()

    by_action = staff.get(listing, {"action__exact": Action.POST_CREATED})
    assert by_action.status_code == 200
    assert by_action.context["cl"].result_list[0].post == published
    by_actor = staff.get(listing, {"actor__id__exact": str(reporter.pk)})
    assert {e.actor for e in by_actor.context["cl"].result_list} == {reporter}
    by_event = staff.get(listing, {"event__id__exact": str(event.pk)})
    assert all(e.event == event for e in by_event.context["cl"].result_list)
    searched = staff.get(listing, {"q": reporter.username})
    assert {e.username for e in searched.context["cl"].result_list} == {reporter.username}


def test_the_admin_searches_by_address(event, reporter, staff):
    with audit.address(ADDRESS):
        services.post_publish(event=event, author=reporter, body="From afar.")

    found = staff.get(reverse("admin:blog_auditentry_changelist"), {"q": "203.0.113"})

    assert [e.address for e in found.context["cl"].result_list] == [ADDRESS]


def test_the_admin_refuses_to_add_change_or_delete_an_entry(event, reporter, published, staff):
    entry = AuditEntry.objects.get(post=published)
    change = reverse("admin:blog_auditentry_change", args=[entry.pk])

    assert staff.get(reverse("admin:blog_auditentry_add")).status_code == 403
    assert staff.get(change).status_code == 200  # view only
    assert staff.post(change, {"username": "forged", "action": "logout"}).status_code == 403
    delete = reverse("admin:blog_auditentry_delete", args=[entry.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    bulk = staff.post(
        reverse("admin:blog_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.username == reporter.username
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_only_admins_read_the_log(reporter, client_for):
    response = client_for(reporter).get(reverse("admin:blog_auditentry_changelist"))

    assert response.status_code == 302  # to the admin's login: not staff
