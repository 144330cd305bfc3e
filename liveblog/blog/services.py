"""Every write to the domain. Each service checks permissions, validates, writes the change
log in the same transaction, and leaves the live push to live.publish (after commit).

Services raise django's PermissionDenied and ValidationError (with field names), and
Conflict when a unique thing is already taken.

Each write is also recorded in the audit log (audit.record: who, what, from which address),
in the same transaction, so a write that rolls back leaves no entry.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User as UserModel
from django.core.cache import caches
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from liveblog.blog import audit, branding, images, permissions, selectors
from liveblog.blog.models import (
    ApiToken,
    AuditEntry,
    Change,
    Event,
    Image,
    Membership,
    Post,
    PostDraft,
    PostImage,
    Revision,
    SiteSettings,
    max_length,
    validate_timezone,
)
from liveblog.blog.payloads import event_fragment, event_payload, post_fragment, post_payload
from liveblog.blog.permissions import User
from liveblog.blog.rendering import markdown_to_html
from liveblog.blog.text import clean_text
from liveblog.live import desk, protocol, publish

logger = logging.getLogger(__name__)


class Conflict(ValidationError):
    """The request is well-formed but collides with existing state (HTTP 409).
    `error_code` is the API's `error` (SPEC §6)."""

    error_code = "conflict"


class EventEnded(Conflict):
    """The event has ended: it takes no new entries until an editor reopens it."""

    error_code = "event_ended"

    def __init__(self, event: Event) -> None:
        super().__init__(
            f"“{event.title}” has ended: it takes no new entries. An editor can reopen it."
        )


class StaleVersion(Conflict):
    """A change based on a version of a post that is no longer its current one (optimistic
    locking, SPEC §6): nothing was changed. `current` is the post as it is now, read under
    its row lock, so that the writer can see what moved on."""

    def __init__(self, *, current: Post, expected: int) -> None:
        super().__init__(
            f"This entry has changed since version {expected}: it is at version "
            f"{current.version} now. Nothing was saved; merge your change into the current "
            "entry and send it again."
        )
        self.current = current


Action = AuditEntry.Action


def _person(user: User) -> UserModel:
    """The logged-in user behind an allowed action (permission checks ran first)."""
    if not isinstance(user, UserModel):
        raise PermissionDenied("Log in first.")
    return user


# --- input --------------------------------------------------------------------------------

# The free-text fields of events and posts: cleaned of control characters on the way in,
# whichever way they come (API, editor, admin), so no output ever has to cope with them.
TEXT_FIELDS = ("title", "summary", "key_points", "headline", "body")


def _cleaned(changes: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {
        name: clean_text(value) if name in names and isinstance(value, str) else value
        for name, value in changes.items()
    }


# --- the change log ---------------------------------------------------------------------


def _next_seq(event: Event) -> int:
    """Lock the event row and take its next seq.

    The lock is held until commit, so changes of one event commit in seq order and two
    concurrent writers can never get the same or out-of-order numbers.
    """
    # One statement: the UPDATE takes the row lock and returns the new value (was a
    # SELECT ... FOR UPDATE and an UPDATE, two round trips on the reporter's request).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Event._meta.db_table)}"  # noqa: S608 - a model's table
            " SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
            [event.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Event.DoesNotExist(f"Event {event.pk} no longer exists.")
    event.last_seq = row[0]
    return event.last_seq


def _record(
    *, event: Event, kind: str, actor: User | None, post: Post | None = None, new: bool = False
) -> Change:
    """Log a change readers see with the event's next seq, and push it after commit. `new`:
    the post has no earlier change (just created), so there is nothing to retell."""
    seq = _next_seq(event)
    if kind == Change.Kind.EVENT_UPDATED:
        payload = protocol.change(kind, seq, event=event_payload(event), html=event_fragment(event))
    elif kind == Change.Kind.POST_DELETED:
        assert post is not None
        payload = protocol.change(kind, seq, post={"id": post.pk})
    else:
        assert post is not None
        payload = protocol.change(kind, seq, post=post_payload(post), html=post_fragment(post))
    change = Change.objects.create(
        event=event,
        seq=seq,
        kind=kind,
        post=post,
        actor=_person(actor) if actor is not None else None,
        payload=payload,
    )
    if kind == Change.Kind.EVENT_UPDATED:
        earlier = Change.objects.filter(event=event, kind=kind)
        retold = _retell(earlier, payload)
    elif post is not None and not new:
        retold = _retell(Change.objects.filter(post=post), payload)
    else:
        retold = []
    publish.send_change_on_commit(event=event, payload=payload, replaces=retold)
    return change


def _retell(changes: QuerySet[Change], now: dict[str, Any]) -> list[dict[str, Any]]:
    """Rewrite the earlier frames of what `now` is about (a post's changes, or the event's
    updates) in the change log to what is true now (SPEC §7: a removed entry is replayed as
    `post.deleted`, a corrected entry, title or summary with its current text; removed or
    replaced text is never sent again). In the writing transaction, under the event's row
    lock, so the log is always right; the frames are returned for the caches that keep
    frames (live.history in Redis, each hub's memory). The row's `kind` stays: what happened
    at that seq, for the audit trail."""
    earlier = list(
        changes.filter(seq__lt=now["seq"])
        .exclude(kind=Change.Kind.POST_DELETED)
        .only("id", "seq", "kind", "payload")
    )
    for row in earlier:
        # Told from what happened at that seq (`kind`): a frame an unpublish retold as
        # removed carries the current text again once the entry is back.
        row.payload = protocol.retold({**row.payload, "type": row.kind}, now)
    Change.objects.bulk_update(earlier, ["payload"])
    return [row.payload for row in earlier]


# --- events -----------------------------------------------------------------------------

# What an event's editors may change (SPEC §4 "change event status/details"). The slug is
# not among them: event_update takes it from admins only.
EVENT_FIELDS = (
    "title",
    "summary",
    "key_points",
    "status",
    "timezone",
    "order",
    "starts_at",
    "ends_at",
)


def _unique_slug(title: str) -> str:
    base = slugify(title)[:80] or "event"
    slug, n = base, 2
    while Event.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def event_slug_validate(*, slug: str, event: Event | None = None) -> None:
    """Raise unless `slug` may be the address of `event` (of a new event when None): URL-safe
    (SPEC §3: the model field's rules, letters, digits, `-` and `_`, at most its length),
    ValidationError; used by another event, Conflict. The admin's event form asks this too,
    so it refuses what the services would, with the same words."""
    try:
        Event._meta.get_field("slug").clean(slug, event)
    except ValidationError as exc:
        raise ValidationError({"slug": exc.messages}) from None
    taken = Event.objects.filter(slug=slug)
    if event is not None and event.pk is not None:
        taken = taken.exclude(pk=event.pk)
    if taken.exists():
        raise Conflict({"slug": [f"The slug {slug!r} is already in use."]})


def _key_points_html(source: str) -> str:
    """The summary box, rendered and sanitised as entries are (one path, one sanitiser)."""
    return markdown_to_html(source) if source.strip() else ""


def _clean_event(event: Event) -> None:
    try:
        event.full_clean(exclude=["slug"] if event.pk else None, validate_unique=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    if event.starts_at and event.ends_at and event.ends_at < event.starts_at:
        raise ValidationError({"ends_at": ["The end must not be before the start."]})


def _save_event(event: Event) -> None:
    """Save, with a slug taken by a concurrent writer since it was checked as a Conflict."""
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        raise Conflict({"slug": [f"The slug {event.slug!r} is already in use."]}) from None


@transaction.atomic
def event_create(
    *,
    actor: User,
    title: str,
    slug: str | None = None,
    summary: str = "",
    key_points: str = "",
    timezone_name: str = "UTC",
    order: str = Event.Order.NEWEST,
    status: str = Event.Status.SCHEDULED,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Event:
    """Create an event (admins only). Its creator becomes its editor whichever way in (the
    API, the admin, a command): the members list names who runs the event, and the creator
    keeps that role if they later stop being staff."""
    if not permissions.can_create_event(actor):
        raise PermissionDenied("Only admins can create events.")
    title, summary, key_points = clean_text(title), clean_text(summary), clean_text(key_points)
    if slug:
        event_slug_validate(slug=slug)
    event = Event(
        title=title,
        slug=slug or _unique_slug(title),
        summary=summary,
        key_points=key_points,
        key_points_html=_key_points_html(key_points),
        timezone=timezone_name,
        order=order,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    _clean_event(event)
    _save_event(event)
    creator = _person(actor)
    Membership.objects.create(event=event, user=creator, role=Membership.Role.EDITOR)
    audit.record(action=Action.EVENT_CREATED, actor=actor, event=event, detail={"slug": event.slug})
    audit.record(
        action=Action.MEMBERSHIP_ADDED,
        actor=actor,
        event=event,
        detail={"member": creator.get_username(), "role": Membership.Role.EDITOR},
    )
    return event


@transaction.atomic
def event_update(
    *,
    actor: User,
    event: Event,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
    lifecycle: str = "",
) -> Event:
    """Change an event's EVENT_FIELDS (its editors and admins) or its `slug` (admins only),
    logged as `event.updated` with the event as it is now and pushed after commit. Its
    `version` moves on by one; with `expected_version` (the version the writer's change is
    based on) an event that has moved on since is refused with StaleEventVersion, before
    anything is written. A change of `status` moves the event's times as its lifecycle
    says (_lifecycle_times); `lifecycle` names the step for the audit log (event_go_live…).

    Why the slug is admin-only, although SPEC §4 lets editors "change event status/details":
    the slug is not a detail but the event's public address (SPEC §5 and §7). Every shared
    link and permalink, feed subscription, embed on another site and open reader page uses
    it, and after a rename the old address answers 404 (no redirect is kept). Breaking all
    of those is a site-wide decision, as choosing the address is when an event is created,
    which SPEC §4 leaves to admins; the API's PATCH (editors) never took a slug either.

    What a rename does to readers: the pages and the API look the event up by slug on every
    request, and their ETags and render cache are keyed by the URL, so the old slug is a 404
    and the new one answers at once (a CDN may serve its copy of the old page for
    liveblog.http.caching.SHARED_MAX_AGE seconds). Readers connected by the old slug keep
    their connection, since the live hub is keyed by event id, and get this change with the
    new `url`. Their page still holds the old addresses (socket, `/changes/`, older
    entries): once a hub's slug cache has expired (live.hub.SLUG_TTL) a reconnect by the
    old slug is refused as not found, and they must load the page at its new address.
    Until then a process that looked the old slug up still accepts sockets by it, and one
    that cached the new slug as unknown still refuses it.
    """
    if not permissions.can_manage_event(actor, event):
        raise PermissionDenied("Only the event's editors can change it.")
    unknown = set(changes) - {*EVENT_FIELDS, "slug"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    if "slug" in changes and not permissions.is_admin(actor):
        raise PermissionDenied("Only admins can change an event's address (its slug).")
    event = Event.objects.select_for_update().get(pk=event.pk)
    if expected_version is not None and expected_version != event.version:
        raise StaleEventVersion(current=event, expected=expected_version)
    before = {name: getattr(event, name) for name in (*EVENT_FIELDS, "slug")}
    renamed = "slug" in changes and changes["slug"] != event.slug
    if renamed:
        event_slug_validate(slug=changes["slug"], event=event)
    for name, value in _cleaned(changes, TEXT_FIELDS).items():
        setattr(event, name, value)
    now = timezone.now()
    if "key_points" in changes:
        event.key_points_html = _key_points_html(event.key_points)
    _lifecycle_times(event, was=before["status"], changes=changes, now=now)
    _clean_event(event)
    _check_automatic_end(event, changes=changes, now=now)
    event.version += 1
    if renamed:
        _save_event(event)
    else:
        event.save()  # nothing unique changes: no savepoint
    _record(event=event, kind=Change.Kind.EVENT_UPDATED, actor=actor)
    changed = [name for name, value in before.items() if getattr(event, name) != value]
    audit.record(
        action=Action.EVENT_RENAMED if renamed else Action.EVENT_UPDATED,
        actor=actor,
        event=event,
        detail={
            "fields": changed,
            **({"from": before["slug"], "to": event.slug} if renamed else {}),
            **({"lifecycle": lifecycle} if lifecycle else {}),
        },
    )
    return event


@transaction.atomic
def membership_add(*, actor: User, event: Event, user: User, role: str) -> Membership:
    """Make `user` a member of `event` in `role`, or change the role of a member."""
    if not permissions.can_manage_event(actor, event):
        raise PermissionDenied("Only the event's editors can manage its members.")
    if role not in Membership.Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Membership.Role.values)}."]})
    person = _person(user)
    # The role before, for the audit entry (locked: a concurrent change waits for us).
    previous = (
        Membership.objects.select_for_update()
        .filter(event=event, user=person)
        .values_list("role", flat=True)
        .first()
    )
    if previous == Membership.Role.EDITOR and role != Membership.Role.EDITOR:
        _keep_an_editor(actor=actor, event=event, leaving=person)
    membership, created = Membership.objects.update_or_create(
        event=event, user=person, defaults={"role": role}
    )
    if created or previous != role:
        audit.record(
            action=Action.MEMBERSHIP_ADDED if created else Action.MEMBERSHIP_ROLE_CHANGED,
            actor=actor,
            event=event,
            detail={"member": person.get_username(), "role": role}
            | ({} if created else {"from": previous}),
        )
    return membership


@transaction.atomic
def membership_remove(*, actor: User, event: Event, user: User) -> None:
    """End `user`'s membership of `event` (nothing to do if there is none). Permissions are
    read per request, so the access ends with the next one (SPEC §4)."""
    if not permissions.can_manage_event(actor, event):
        raise PermissionDenied("Only the event's editors can manage its members.")
    person = _person(user)
    _keep_an_editor(actor=actor, event=event, leaving=person)
    removed, _ = Membership.objects.filter(event=event, user=person).delete()
    if removed:
        audit.record(
            action=Action.MEMBERSHIP_REMOVED,
            actor=actor,
            event=event,
            detail={"member": person.get_username()},
        )
        # Their open editor pages and desk sockets lose the event now, not at their next
        # request (which re-reads the membership and is refused: permissions.role_in).
        desk.revoke(event.pk, person.pk)


# --- posts ------------------------------------------------------------------------------


# How far ahead of the server's clock a published entry may be dated: a reporter's device
# runs a little fast. Beyond it the time is the future, which needs scheduled entries (the
# team issue); until then it is refused rather than pinned above everything (sort key).
FUTURE_TOLERANCE = timedelta(minutes=2)
# How far ahead an entry may be scheduled (an entry dated 2999 is a typo, not a plan).
SCHEDULE_HORIZON = timedelta(days=366)


def _clean_post_fields(
    *, body: str, headline: str, status: str, published_at: datetime | None = None
) -> None:
    errors: dict[str, list[str]] = {}
    if published_at is not None and published_at > timezone.now() + SCHEDULE_HORIZON:
        errors["published_at"] = ["An entry can be scheduled at most a year ahead."]
    if not body or not body.strip():
        errors["body"] = ["An entry needs a body."]
    elif len(body) > settings.LIVEBLOG_MAX_BODY_CHARS:
        errors["body"] = [
            f"At most {settings.LIVEBLOG_MAX_BODY_CHARS:,} characters (this has {len(body):,})."
        ]
    if len(headline) > settings.LIVEBLOG_MAX_HEADLINE_CHARS:
        errors["headline"] = [f"At most {settings.LIVEBLOG_MAX_HEADLINE_CHARS} characters."]
    if status not in Post.Status.values:
        errors["status"] = [f"Choose one of: {', '.join(Post.Status.values)}."]
    if errors:
        raise ValidationError(errors)


def _check_open(event: Event) -> None:
    if event.status == Event.Status.ENDED:
        raise EventEnded(event)


def _resolve_status(
    actor: User, event: Event, *, status: str, published_at: datetime | None
) -> str:
    """The status an entry is stored with (SPEC §6 workflow): a contributor's `published`
    or `scheduled` becomes `submitted` (an editor approves it); a `published` entry dated
    in the future is `scheduled` (the worker publishes it then); a `scheduled` one needs a
    future time. Other statuses are kept (_clean_post_fields checks them)."""
    wanted_public = status in (Post.Status.PUBLISHED, Post.Status.SCHEDULED)
    if wanted_public and not permissions.can_publish(actor, event):
        return Post.Status.SUBMITTED
    now = timezone.now()
    future = published_at is not None and published_at > now + FUTURE_TOLERANCE
    if status == Post.Status.PUBLISHED and future:
        return Post.Status.SCHEDULED
    # Asked for by name, any time ahead is a schedule: the tolerance is for clocks that run
    # fast, not for a writer who chose a time.
    if status == Post.Status.SCHEDULED and not (published_at is not None and published_at > now):
        raise ValidationError({"published_at": ["A scheduled entry needs a time in the future."]})
    return status


def _check_moderation(actor: User, event: Event, *, is_pinned: bool, is_key_event: bool) -> None:
    if (is_pinned or is_key_event) and not permissions.can_moderate(actor, event):
        raise PermissionDenied("Only editors can pin entries or mark key events.")


def _unpin_others(*, actor: User, post: Post) -> None:
    """One pinned entry per event: pinning a post unpins the previous one."""
    others = Post.objects.live().filter(event=post.event, is_pinned=True).exclude(pk=post.pk)
    # Locked: its version is read and moved on here, and a concurrent post_update of it
    # must not save the same number.
    for other in others.select_for_update(of=("self",)).select_related("author", "event"):
        other.is_pinned = False
        other.version += 1
        other.save(update_fields=["is_pinned", "version", "updated_at"])
        _revise(post=other, actor=actor, note=f"unpinned: entry {post.pk} was pinned")
        audit.record(
            action=Action.POST_UPDATED,
            actor=actor,
            event=post.event,
            post=other,
            detail={"fields": ["is_pinned"], "because": f"entry {post.pk} was pinned"},
        )
        if other.is_public:
            _record(event=post.event, kind=Change.Kind.POST_UPDATED, actor=actor, post=other)


@transaction.atomic
def post_publish(
    *,
    event: Event,
    author: User,
    body: str,
    headline: str = "",
    published_at: datetime | None = None,
    is_key_event: bool = False,
    is_pinned: bool = False,
    is_breaking: bool = False,
    status: str = Post.Status.PUBLISHED,
    idempotency_key: str | None = None,
    images: Sequence[int] = (),
) -> tuple[Post, bool]:
    """Create an entry. Returns (post, created); with an `idempotency_key` already used on
    this event, returns the first post and creates nothing. `images`: ids of the event's
    images, shown in that order."""
    if not permissions.can_write(author, event):
        raise PermissionDenied("You are not a member of this event.")
    _check_open(event)
    _check_moderation(author, event, is_pinned=is_pinned, is_key_event=is_key_event)
    body, headline = clean_text(body), clean_text(headline)
    _clean_post_fields(body=body, headline=headline, status=status, published_at=published_at)
    status = _resolve_status(author, event, status=status, published_at=published_at)
    chosen = _images_of(event, images, actor=author)
    if status in REACHES_READERS:
        _check_described(chosen)
    post = Post(
        event=event,
        author=_person(author),
        headline=headline.strip(),
        body=body,
        body_html=markdown_to_html(body),
        published_at=published_at or timezone.now(),
        is_key_event=is_key_event,
        is_pinned=is_pinned,
        is_breaking=is_breaking,
        status=status,
        idempotency_key=idempotency_key or None,
    )
    if not idempotency_key:
        post.save()  # nothing unique to collide with: no savepoint (two round trips)
    else:
        try:
            with transaction.atomic():
                post.save()
        except IntegrityError:
            existing = Post.objects.select_related("event", "author").get(
                event=event, idempotency_key=idempotency_key
            )
            return existing, False
    _place_images(post, chosen)
    _revise(post=post, actor=author, first=chosen)
    audit.record(
        action=Action.POST_CREATED,
        actor=author,
        event=event,
        post=post,
        detail={"status": post.status},
    )
    if post.status == Post.Status.SUBMITTED:
        _tell_desk(actor=author, post=post)
    if post.is_public:
        if post.is_pinned:
            _unpin_others(actor=author, post=post)
        _record(event=event, kind=Change.Kind.POST_CREATED, actor=author, post=post, new=True)
    post_schedule_noted(actor=author, post=post, before=None)
    return post, True


POST_FIELDS = (
    "headline",
    "body",
    "published_at",
    "is_key_event",
    "is_pinned",
    "is_breaking",
    "status",
    "images",
)
# A change of these in a public entry is a correction readers are told of ("Updated …").
CORRECTED_FIELDS = ("headline", "body", "images")


@transaction.atomic
def post_update(
    *,
    actor: User,
    post: Post,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
    note: str = "",
) -> Post:
    """Change an entry's POST_FIELDS; its version moves on by one and a Revision is kept
    (`note` says why, in the history). With `expected_version`
    (the version the writer's change is based on) a post that has moved on since is refused
    with StaleVersion, before anything is written (no audit entry, no change log)."""
    if not permissions.can_edit_post(actor, post):
        raise PermissionDenied("You can only change your own entries.")
    unknown = set(changes) - set(POST_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    post = Post.objects.select_for_update().select_related("event", "author").get(pk=post.pk)
    if post.deleted_at is not None:
        raise Conflict("This entry has been removed.")
    if expected_version is not None and expected_version != post.version:
        raise StaleVersion(current=post, expected=expected_version)
    _check_moderation(
        actor,
        post.event,
        is_pinned=bool(changes.get("is_pinned")) and not post.is_pinned,
        is_key_event=bool(changes.get("is_key_event")) and not post.is_key_event,
    )
    if ("is_pinned" in changes and not changes["is_pinned"] and post.is_pinned) or (
        "is_key_event" in changes and not changes["is_key_event"] and post.is_key_event
    ):
        _check_moderation(actor, post.event, is_pinned=True, is_key_event=False)
    was_public = post.is_public
    before = {name: getattr(post, name) for name in POST_FIELDS if name != "images"}
    before["images"] = [image.pk for image in post.ordered_images]
    changes = dict(changes)
    wanted = changes.pop("images", None)
    chosen = None if wanted is None else _images_of(post.event, wanted, actor=actor, post=post)
    for name, value in _cleaned(changes, TEXT_FIELDS).items():
        setattr(post, name, value)
    if post.published_at is None or _approved_now(before, post, changes):
        post.published_at = timezone.now()
    post.headline = post.headline.strip()
    _clean_post_fields(
        body=post.body, headline=post.headline, status=post.status, published_at=post.published_at
    )
    post.status = _resolve_status(
        actor, post.event, status=post.status, published_at=post.published_at
    )
    if post.status in REACHES_READERS and before["status"] not in REACHES_READERS:
        _check_open(post.event)
    # A scheduled entry the worker holds in an ended event goes out only once it reopens.
    if post.status == Post.Status.PUBLISHED and before["status"] == Post.Status.SCHEDULED:
        _check_open(post.event)
    if post.status == Post.Status.SUBMITTED and before["status"] != Post.Status.SUBMITTED:
        post.review_note = ""
    post.body_html = markdown_to_html(post.body)
    if post.status in REACHES_READERS:
        _check_described(list(post.ordered_images) if chosen is None else chosen)
    images_now = before["images"] if chosen is None else [image.pk for image in chosen]
    if was_public and post.is_public and _corrects(before, post, images_now):
        post.corrected_at = timezone.now()
    post.version += 1
    post.save()
    if chosen is not None and [image.pk for image in chosen] != before["images"]:
        post.placements.all().delete()
        _place_images(post, chosen)
    _revise(post=post, actor=actor, note=note)
    _audit_update(actor=actor, post=post, before=before)
    if Post.Status.SUBMITTED in (before["status"], post.status):
        _tell_desk(actor=actor, post=post)
    if post.is_public and post.is_pinned:
        _unpin_others(actor=actor, post=post)
    if was_public and post.is_public:
        _record(event=post.event, kind=Change.Kind.POST_UPDATED, actor=actor, post=post)
    elif post.is_public:
        _record(event=post.event, kind=Change.Kind.POST_CREATED, actor=actor, post=post)
    elif was_public:
        _record(event=post.event, kind=Change.Kind.POST_DELETED, actor=actor, post=post)
    post_schedule_noted(actor=actor, post=post, before=before["status"])
    return post


# An entry in one of these will reach readers without anyone else's say: refused in an
# ended event.
REACHES_READERS = (Post.Status.PUBLISHED, Post.Status.SCHEDULED)


def _approved_now(before: Mapping[str, Any], post: Post, changes: Mapping[str, Any]) -> bool:
    """An approved submission goes out at the time of its approval (the top of the live
    stream), unless the editor gave it a time, or it is dated in the future: then it is
    scheduled for that time (_resolve_status)."""
    return (
        before["status"] == Post.Status.SUBMITTED
        and post.status == Post.Status.PUBLISHED
        and "published_at" not in changes
        and post.published_at <= timezone.now() + FUTURE_TOLERANCE
    )


def _revise(
    *, post: Post, actor: User, note: str = "", first: Sequence[Image] | None = None
) -> Revision:
    """Keep the post's state as it is now (after a save) as its next revision. Called by
    every service that saves a post, in its transaction, with the post's row lock held (or
    the row just inserted), so that numbers never collide. `first`: the images of a post
    just created (its revision 1: one INSERT, no read)."""
    if first is not None:
        number, images = 1, [image.pk for image in first]
    else:
        last = post.revisions.order_by("-number").values_list("number", flat=True).first()
        number, images = (last or 0) + 1, [image.pk for image in post.ordered_images]
    return Revision.objects.create(
        post=post,
        number=number,
        author=_person(actor),
        headline=post.headline,
        body=post.body,
        published_at=post.published_at,
        is_key_event=post.is_key_event,
        is_pinned=post.is_pinned,
        is_breaking=post.is_breaking,
        status=post.status,
        images=images,
        deleted=post.deleted_at is not None,
        note=note[: Revision._meta.get_field("note").max_length or 300],
    )


def _corrects(before: Mapping[str, Any], post: Post, images: list[int]) -> bool:
    now = {name: getattr(post, name) for name in CORRECTED_FIELDS if name != "images"}
    now["images"] = images
    return any(before[name] != now[name] for name in CORRECTED_FIELDS)


def _audit_update(*, actor: User, post: Post, before: Mapping[str, Any]) -> None:
    now = {name: getattr(post, name) for name in before if name != "images"}
    now["images"] = [image.pk for image in post.ordered_images]
    changed = [name for name, value in before.items() if now[name] != value]
    action = Action.POST_UPDATED
    if before["status"] != post.status:
        published = post.status == Post.Status.PUBLISHED
        action = Action.POST_PUBLISHED if published else Action.POST_UNPUBLISHED
        if post.status == Post.Status.SUBMITTED:
            action = Action.POST_SUBMITTED
        elif before["status"] == Post.Status.SUBMITTED and post.status in REACHES_READERS:
            action = Action.POST_APPROVED
    audit.record(
        action=action, actor=actor, event=post.event, post=post, detail={"fields": changed}
    )


@transaction.atomic
def post_delete(*, actor: User, post: Post) -> None:
    """Remove an entry for readers. The row stays for the audit trail."""
    if not permissions.can_edit_post(actor, post):
        raise PermissionDenied("You can only remove your own entries.")
    post = Post.objects.select_for_update().select_related("event").get(pk=post.pk)
    if post.deleted_at is not None:
        return
    was_public = post.is_public
    post.deleted_at = timezone.now()
    post.deleted_by = _person(actor)
    post.version += 1
    post.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    _revise(post=post, actor=actor)
    audit.record(
        action=Action.POST_DELETED,
        actor=actor,
        event=post.event,
        post=post,
        detail={"status": post.status},
    )
    if post.status == Post.Status.SUBMITTED:
        _tell_desk(actor=actor, post=post)
    if was_public:
        _record(event=post.event, kind=Change.Kind.POST_DELETED, actor=actor, post=post)


# --- submissions (approve, send back, reject) -------------------------------------------

# SPEC §4: a contributor's entry waits as `submitted` (post_publish, post_update) in the
# editors' queue; an editor approves it (it goes out as post_update publishes), sends it
# back to its author as a draft with a note, or rejects it (removed, as post_delete). Each
# decision is taken under the post's row lock and only on an entry still submitted, so two
# editors deciding at once cannot both act: the second is told (NotSubmitted) and nothing
# of theirs is written.

# The longest note an editor may send back (the model field's limit, its one definition).
REVIEW_NOTE_CHARS = max_length(Post, "review_note") or 2000


class NotSubmitted(Conflict):
    """The entry is not waiting for approval (any more): another editor has decided on it,
    its author took it back, or it was never submitted. Nothing was changed."""

    error_code = "not_submitted"

    def __init__(self, post: Post) -> None:
        if post.deleted_at is not None:
            super().__init__("This entry has been removed: there is nothing to decide.")
        else:
            super().__init__(
                "This entry is not waiting for approval: it is "
                f"{post.get_status_display().lower()} now. Someone may have decided on it "
                "already; reload to see it as it is."
            )


def _tell_desk(*, actor: User, post: Post) -> None:
    """The event's editor pages refresh their queue (after commit; SPEC §4: the team's
    submissions update live). Called whenever a submission arrives, changes or leaves."""
    desk.changed(
        post.event_id,
        what="submission",
        by=_person(actor).get_username(),
        post_id=post.pk,
        status=post.status,
    )


def _check_reviewer(actor: User, post: Post) -> None:
    if not permissions.can_moderate(actor, post.event):
        raise PermissionDenied("Only the event's editors can approve, send back or reject entries.")


def _review_note(note: str, *, required: bool) -> str:
    note = clean_text(note).strip()
    if required and not note:
        raise ValidationError({"note": ["Say what to change: the note is shown to its author."]})
    if len(note) > REVIEW_NOTE_CHARS:
        raise ValidationError({"note": [f"At most {REVIEW_NOTE_CHARS:,} characters."]})
    return note


def _locked_submission(post: Post) -> Post:
    """The entry under its row lock (held until commit), refused unless still submitted."""
    locked = Post.objects.select_for_update().select_related("event", "author").get(pk=post.pk)
    if locked.deleted_at is not None or locked.status != Post.Status.SUBMITTED:
        raise NotSubmitted(locked)
    return locked


@transaction.atomic
def post_approve(
    *,
    actor: User,
    post: Post,
    changes: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Post:
    """Publish a submission as it is, or with the editor's `changes` (POST_FIELDS, as
    post_update takes them): it goes out now, or is scheduled when it is dated in the future
    (post_update's rules; an ended event refuses it). `expected_version`: the version the
    editor looked at, so that an approval of text its author has changed since is refused
    (StaleVersion) rather than publishing what nobody read."""
    _check_reviewer(actor, post)
    locked = _locked_submission(post)
    wanted = {**(changes or {})}
    wanted.setdefault("status", Post.Status.PUBLISHED)
    if wanted["status"] not in REACHES_READERS:
        raise ValidationError({"status": ["An approval publishes or schedules the entry."]})
    return post_update(
        actor=actor,
        post=locked,
        changes=wanted,
        expected_version=expected_version,
        note="approved",
    )


@transaction.atomic
def post_send_back(*, actor: User, post: Post, note: str) -> Post:
    """Return a submission to its author as a draft, with the editor's `note` (what to
    change: Post.review_note, shown beside the draft until it is submitted again)."""
    _check_reviewer(actor, post)
    note = _review_note(note, required=True)
    locked = _locked_submission(post)
    locked.status = Post.Status.DRAFT
    locked.review_note = note
    locked.version += 1
    locked.save(update_fields=["status", "review_note", "version", "updated_at"])
    _revise(post=locked, actor=actor, note=f"sent back: {note}")
    audit.record(
        action=Action.POST_SENT_BACK,
        actor=actor,
        event=locked.event,
        post=locked,
        detail={"author": locked.author.get_username(), "note": note[:300]},
    )
    _tell_desk(actor=actor, post=locked)
    return locked


@transaction.atomic
def post_reject(*, actor: User, post: Post, note: str = "") -> Post:
    """Remove a submission, as post_delete removes an entry (the row stays for the audit
    trail; it never reached readers). Its author still sees it, rejected, with the note,
    for a while (selectors.submissions_of_author)."""
    _check_reviewer(actor, post)
    note = _review_note(note, required=False)
    locked = _locked_submission(post)
    locked.deleted_at = timezone.now()
    locked.deleted_by = _person(actor)
    locked.review_note = note
    locked.version += 1
    locked.save(update_fields=["deleted_at", "deleted_by", "review_note", "version", "updated_at"])
    _revise(post=locked, actor=actor, note=f"rejected: {note}" if note else "rejected")
    audit.record(
        action=Action.POST_REJECTED,
        actor=actor,
        event=locked.event,
        post=locked,
        detail={"author": locked.author.get_username(), "note": note[:300]},
    )
    _tell_desk(actor=actor, post=locked)
    return locked


# --- scheduling (manage.py worker) ------------------------------------------------------

# Scheduled entries are published by `manage.py worker` (liveblog/blog/management/commands/
# worker.py), any number of them at once. The scheduled row itself is the queue: a worker
# takes the due ones with SELECT … FOR UPDATE SKIP LOCKED, so two workers never take the
# same entry, and one that dies mid-way leaves its rows to the next (its transaction rolls
# back). What a newsroom expects, and what these services do:
# - an entry goes out at its time as if its author had published it then: the time readers
#   see is the scheduled one, its revision says "published on schedule", the change log gets
#   its `post.created` then and not before (SPEC §6);
# - in an ended event a scheduled entry is held (it stays scheduled, and the editor sees it
#   in the Scheduled panel as held): an ended event takes no new entries (_check_open);
#   reopening the event releases it, at once if its time has passed;
# - an entry that can no longer be published as it is (a photo lost its alt text) goes back
#   to the drafts with a revision saying why, rather than being retried for ever;
# - the author may have left the event since: the entry is still published, because an
#   editor (or the author, when they could) decided it should go out at that time.
# The worker is no person: audit entries have no actor and say {"by": "worker"}; a revision
# needs an author and names the entry's own.

WORKER = "worker"  # how the audit log and the desk name the system


def _due_posts(now: datetime, limit: int) -> list[Post]:
    """The due entries not taken by another worker, locked until commit. Ordered by event
    first: every worker then takes the events' seq locks (_next_seq) in the same order, and
    two of them cannot deadlock on each other's events."""
    rows = (
        Post.objects.live()
        .filter(status=Post.Status.SCHEDULED, published_at__lte=now)
        .exclude(event__status=Event.Status.ENDED)
        .select_related("event", "author")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("event_id", "published_at", "id")
    )
    return list(rows[:limit])


def _publish_on_schedule(post: Post) -> None:
    """Publish one due scheduled entry (its row locked). A conditional UPDATE, so that where
    the database has no row locks (SQLite: select_for_update is a no-op there, writers are
    serialised instead) an entry another worker published since it was read is skipped."""
    _check_described(list(post.ordered_images))
    # The event's row lock (which _next_seq takes anyway, in the same order): an end that
    # committed after _due_posts read it holds the entry rather than publishing into it.
    status = Event.objects.select_for_update().filter(pk=post.event_id).values_list("status")
    if status.first() == (Event.Status.ENDED,):
        return
    taken = Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED).update(
        status=Post.Status.PUBLISHED, version=F("version") + 1, updated_at=timezone.now()
    )
    if not taken:
        return
    post.refresh_from_db(fields=["status", "version", "updated_at"])
    _revise(post=post, actor=post.author, note="published on schedule")
    audit.record(
        action=Action.POST_PUBLISHED,
        actor=None,
        event=post.event,
        post=post,
        detail={"by": WORKER, "scheduled_for": post.published_at.isoformat()},
    )
    if post.is_pinned:
        _unpin_others(actor=post.author, post=post)
    _record(event=post.event, kind=Change.Kind.POST_CREATED, actor=None, post=post)
    desk.changed(post.event_id, what="post", by="", post_id=post.pk, status=post.status)


def _back_to_drafts(post: Post, reason: ValidationError) -> None:
    """A due entry that cannot be published as it is: a draft again, with why in its
    history, so that the worker does not try it again every tick and the editor sees it."""
    why = " ".join(reason.messages)
    post.status = Post.Status.DRAFT
    post.version += 1
    post.save(update_fields=["status", "version", "updated_at"])
    _revise(post=post, actor=post.author, note=f"not published on schedule: {why}")
    audit.record(
        action=Action.POST_UNPUBLISHED,
        actor=None,
        event=post.event,
        post=post,
        detail={"by": WORKER, "reason": why},
    )
    desk.changed(post.event_id, what="post", by="", post_id=post.pk, status=post.status)


def post_publish_due(*, now: datetime | None = None, limit: int = 100) -> list[Post]:
    """Publish the scheduled entries whose time has come (at most `limit`, the earliest of
    each event first), in one transaction; those another worker holds are skipped (it is
    publishing them). Returns the entries published. An entry refused as it is
    (ValidationError) goes back to the drafts; any other failure (the database going away)
    rolls the whole batch back, to be taken again by the next tick of some worker."""
    now = now or timezone.now()
    published: list[Post] = []
    with transaction.atomic():
        for post in _due_posts(now, limit):
            try:
                with transaction.atomic():  # a savepoint: a refusal undoes this entry only
                    _publish_on_schedule(post)
            except ValidationError as exc:
                logger.warning("scheduled entry %s not published: %s", post.pk, exc.messages)
                _back_to_drafts(post, exc)
            else:
                if post.status == Post.Status.PUBLISHED:
                    published.append(post)
    return published


def event_end_due(*, now: datetime | None = None) -> list[Event]:
    """End the live events whose end time has passed (their automatic end), as an editor's
    event_update to `ended` would: logged as `event.updated` and pushed to readers. Events
    another transaction holds are skipped until the next tick (SKIP LOCKED)."""
    now = now or timezone.now()
    ended: list[Event] = []
    with transaction.atomic():
        due = (
            Event.objects.filter(status=Event.Status.LIVE, ends_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("id")
        )
        for event in due:
            event.status = Event.Status.ENDED
            event.version += 1
            event.save(update_fields=["status", "version", "updated_at"])
            _record(event=event, kind=Change.Kind.EVENT_UPDATED, actor=None)
            held = Post.objects.live().filter(event=event, status=Post.Status.SCHEDULED).count()
            audit.record(
                action=Action.EVENT_UPDATED,
                actor=None,
                event=event,
                detail={"fields": ["status"], "by": WORKER, "held_scheduled": held},
            )
            if held:
                logger.warning("event %s ended with %s scheduled entries held", event.pk, held)
            desk.changed(event.pk, what="event", by="", status=None)
            ended.append(event)
    return ended


def next_due(*, now: datetime | None = None) -> datetime | None:
    """When the worker next has something to do: the earliest scheduled entry or automatic
    end still ahead (None: nothing is planned). Read without locks: a worker only sleeps
    until then, and takes what is due under its locks."""
    now = now or timezone.now()
    entry = (
        Post.objects.live()
        .filter(status=Post.Status.SCHEDULED, published_at__gt=now)
        .exclude(event__status=Event.Status.ENDED)
        .aggregate(at=Min("published_at"))["at"]
    )
    end = Event.objects.filter(status=Event.Status.LIVE, ends_at__gt=now).aggregate(
        at=Min("ends_at")
    )["at"]
    return min((at for at in (entry, end) if at is not None), default=None)


def _desk_post(post: Post, *, actor: User) -> None:
    desk.changed(
        post.event_id,
        what="post",
        by=_person(actor).get_username(),
        post_id=post.pk,
        status=post.status,
    )


def _locked_scheduled(post: Post) -> Post:
    """The entry, locked, if it is still scheduled: a worker may have published it since the
    page was drawn, and rescheduling that would take it away from readers."""
    locked = Post.objects.select_for_update().get(pk=post.pk)
    if locked.status != Post.Status.SCHEDULED or locked.deleted_at is not None:
        raise Conflict("This entry is not scheduled any more: reload to see what it is now.")
    return locked


@transaction.atomic
def post_reschedule(
    *, actor: User, post: Post, published_at: datetime, expected_version: int | None = None
) -> Post:
    """Move a scheduled entry to another time in the future (its author or an editor)."""
    post = post_update(
        actor=actor,
        post=_locked_scheduled(post),
        changes={"published_at": published_at, "status": Post.Status.SCHEDULED},
        expected_version=expected_version,
        note="rescheduled",
    )
    _desk_post(post, actor=actor)
    return post


@transaction.atomic
def post_unschedule(*, actor: User, post: Post, expected_version: int | None = None) -> Post:
    """Cancel a scheduled entry: it goes back to the drafts, its time kept."""
    post = post_update(
        actor=actor,
        post=_locked_scheduled(post),
        changes={"status": Post.Status.DRAFT},
        expected_version=expected_version,
        note="schedule cancelled",
    )
    return post


@transaction.atomic
def post_publish_now(*, actor: User, post: Post, expected_version: int | None = None) -> Post:
    """Publish a scheduled entry at once, dated now (the top of the live stream)."""
    return post_update(
        actor=actor,
        post=_locked_scheduled(post),
        changes={"status": Post.Status.PUBLISHED, "published_at": timezone.now()},
        expected_version=expected_version,
        note="published now instead of on schedule",
    )


def post_schedule_noted(*, actor: User, post: Post, before: str | None) -> None:
    """Tell the desk that an entry became scheduled, or stopped being (the Scheduled panel
    of every open editor page follows). Called by post_publish and post_update."""
    if Post.Status.SCHEDULED in (before, post.status) and before != post.status:
        _desk_post(post, actor=actor)


# --- revisions (history, restore) -------------------------------------------------------

# What a restore puts back of an earlier revision: the entry's content and flags. Its
# status and time stay as they are now: publishing, unpublishing, scheduling and moving an
# entry in the stream are decisions with checks of their own (the workflow, an ended
# event), never a side effect of undoing a correction.
RESTORED_FIELDS = ("headline", "body", "is_key_event", "is_pinned", "is_breaking")


def _restore_note(number: int) -> str:
    return f"restored from revision {number}"


@transaction.atomic
def post_restore(
    *, actor: User, post: Post, number: int, expected_version: int | None = None
) -> Post:
    """Put revision `number` of `post` back (editors only, SPEC §4): its RESTORED_FIELDS and
    those of its photos that still exist, as one more change through post_update, so that it
    is versioned, audited, kept as a new revision noted "restored from revision N", marks a
    corrected public entry "Updated …" and reaches readers as post.updated.

    Refused: a missing revision (Revision.DoesNotExist), a stale `expected_version`
    (StaleVersion, nothing changed), and a removed entry (Conflict): a restore corrects what
    readers see, it does not bring back what an editor removed (that would be an undelete,
    which no one asked of this button)."""
    if not permissions.can_moderate(actor, post.event):
        raise PermissionDenied("Only the event's editors can restore an earlier version.")
    # Locked before reading: post_update locks it again (same transaction), and what is
    # checked here is what it changes.
    post = Post.objects.select_for_update().select_related("event", "author").get(pk=post.pk)
    if post.deleted_at is not None:
        raise Conflict("This entry has been removed: its history is kept, it cannot be restored.")
    revision = post.revisions.get(number=number)
    changes: dict[str, Any] = {name: getattr(revision, name) for name in RESTORED_FIELDS}
    # Photos deleted since are left out; the ones left keep their current texts (a
    # revision keeps which photos, in which order, not what was said of them).
    existing = selectors.event_images(post.event, revision.images)
    changes["images"] = [pk for pk in revision.images if pk in existing]
    restored = post_update(
        actor=actor,
        post=post,
        changes=changes,
        expected_version=expected_version,
        note=_restore_note(number),
    )
    desk.changed(
        restored.event.pk,
        what="post",
        by=_person(actor).get_username(),
        post_id=restored.pk,
        status=restored.status,
    )
    return restored


# --- autosave drafts --------------------------------------------------------------------


def _check_draft_writer(user: User, event: Event, post: Post | None) -> None:
    """A draft is kept by whoever could save it: a member for a new entry, whoever may edit
    the entry for an edit form's draft."""
    if not permissions.can_write(user, event):
        raise PermissionDenied("You are not a member of this event.")
    if post is None:
        return
    if post.event_id != event.pk:
        raise PermissionDenied("This entry is not one of this event's.")
    if post.deleted_at is not None:
        raise Conflict("This entry has been removed.")
    if not permissions.can_edit_post(user, post):
        raise PermissionDenied("You can only change your own entries.")


def _clean_draft(*, headline: str, body: str, fields: Any) -> None:
    """A draft may be empty or half typed, but never larger than the entry it becomes (the
    same limits as a post's), and the rest of the form is a small JSON object."""
    errors: dict[str, list[str]] = {}
    if len(body) > settings.LIVEBLOG_MAX_BODY_CHARS:
        errors["body"] = [
            f"At most {settings.LIVEBLOG_MAX_BODY_CHARS:,} characters (this has {len(body):,})."
        ]
    if len(headline) > settings.LIVEBLOG_MAX_HEADLINE_CHARS:
        errors["headline"] = [f"At most {settings.LIVEBLOG_MAX_HEADLINE_CHARS} characters."]
    limit = settings.LIVEBLOG_MAX_DRAFT_FIELDS_BYTES
    if not isinstance(fields, dict):
        errors["fields"] = ["The form's other fields must be a JSON object."]
    elif len(json.dumps(fields, ensure_ascii=False).encode()) > limit:
        errors["fields"] = [f"The form's other fields take at most {limit:,} bytes."]
    if errors:
        raise ValidationError(errors)


def draft_save(
    *,
    user: User,
    event: Event,
    post: Post | None = None,
    headline: str,
    body: str,
    fields: Mapping[str, Any],
) -> PostDraft:
    """Keep what `user` is typing in the composer (`post` None) or in the edit form of
    `post`: one draft per writer and form, replaced by each save (update_or_create on the
    model's unique constraints, safe against two tabs saving at once). A draft is its
    writer's alone: the entry is not touched, nothing goes to the change log, the audit
    log or the live channel, and no reader path reads drafts."""
    _check_draft_writer(user, event, post)
    headline, body = clean_text(headline), clean_text(body)
    _clean_draft(headline=headline, body=body, fields=fields)
    draft, _created = PostDraft.objects.update_or_create(
        user=_person(user),
        event=event,
        post=post,
        defaults={"headline": headline, "body": body, "fields": dict(fields)},
    )
    return draft


def draft_discard(*, user: User, event: Event, post: Post | None = None) -> bool:
    """Forget `user`'s draft of this form (typed text that became an entry, or thrown away);
    True if there was one. Anyone may discard their own draft, member or not any more."""
    if not user.is_authenticated:
        return False
    deleted, _by_model = PostDraft.objects.filter(user_id=user.pk, event=event, post=post).delete()
    return deleted > 0


# --- event lifecycle (go live, end, reopen, automatic end) ------------------------------


class StaleEventVersion(Conflict):
    """A change of an event's settings based on a version that is no longer its current
    one (optimistic locking, as StaleVersion for posts): nothing was changed. `current` is
    the event as it is now, read under its row lock."""

    def __init__(self, *, current: Event, expected: int) -> None:
        super().__init__(
            f"This event's settings have changed since version {expected}: they are at "
            f"version {current.version} now. Nothing was saved; look at the current settings "
            "and send your change again."
        )
        self.current = current


class WrongStatus(Conflict):
    """A lifecycle step asked of an event not in the status it starts from (a page that
    did not see the last change, a double click): nothing was changed."""

    error_code = "wrong_status"


# Each step: the status it starts from, the one it leads to, its name in the audit log.
LIFECYCLE = {
    "go_live": (Event.Status.SCHEDULED, Event.Status.LIVE, "went_live"),
    "end": (Event.Status.LIVE, Event.Status.ENDED, "ended"),
    "reopen": (Event.Status.ENDED, Event.Status.LIVE, "reopened"),
}


def _lifecycle_times(event: Event, *, was: str, changes: Mapping[str, Any], now: datetime) -> None:
    """The times a change of status implies, unless the same change sets them: going live
    starts an event now if it has no start or a planned one still ahead (it started now);
    ending it ends it now (an automatic end still ahead is replaced by the real one);
    reopening clears the end, or the worker, which ends live events whose `ends_at` has
    passed, would end it again at once."""
    status = event.status
    if status == was:
        return
    going_live = status == Event.Status.LIVE and "starts_at" not in changes
    if going_live and (not event.starts_at or event.starts_at > now):
        event.starts_at = now
    if "ends_at" in changes:
        return
    if status == Event.Status.ENDED and (event.ends_at is None or event.ends_at > now):
        event.ends_at = now
    if was == Event.Status.ENDED and status != Event.Status.ENDED:
        event.ends_at = None


def _check_automatic_end(event: Event, *, changes: Mapping[str, Any], now: datetime) -> None:
    """On an event that has not ended, `ends_at` is its automatic end (the worker ends it
    then): one set now must be ahead, or the event would end the moment it is saved."""
    if "ends_at" not in changes or event.status == Event.Status.ENDED or event.ends_at is None:
        return
    if event.ends_at <= now:
        raise ValidationError(
            {
                "ends_at": [
                    "The automatic end must be in the future. To end the event now, use End event."
                ]
            }
        )


def _step(*, actor: User, event: Event, step: str) -> Event:
    start, goal, name = LIFECYCLE[step]
    if not permissions.can_manage_event(actor, event):
        raise PermissionDenied("Only the event's editors can change its status.")
    current = Event.objects.select_for_update().get(pk=event.pk)
    if current.status != start:
        raise WrongStatus(
            f"“{current.title}” is {current.get_status_display().lower()} now: "
            "nothing was changed. Reload the page to see its current state."
        )
    return event_update(actor=actor, event=current, changes={"status": goal}, lifecycle=name)


@transaction.atomic
def event_go_live(*, actor: User, event: Event) -> Event:
    """A scheduled event goes live (its start is now, unless one was set)."""
    return _step(actor=actor, event=event, step="go_live")


@transaction.atomic
def event_end(*, actor: User, event: Event) -> Event:
    """A live event ends now: it takes no new entries (EventEnded) until reopened."""
    return _step(actor=actor, event=event, step="end")


@transaction.atomic
def event_reopen(*, actor: User, event: Event) -> Event:
    """An ended event is live again, its end cleared (an automatic end can be set anew)."""
    return _step(actor=actor, event=event, step="reopen")


def _keep_an_editor(*, actor: User, event: Event, leaving: UserModel) -> None:
    """An editor may not remove or demote the event's last editor (themselves included):
    the event would be left to admins alone. Admins may (they can always add one back).
    Called with the membership's row lock held by the caller's transaction."""
    if permissions.is_admin(actor):
        return
    editors = Membership.objects.select_for_update().filter(
        event=event, role=Membership.Role.EDITOR
    )
    ids = set(editors.values_list("user_id", flat=True))
    if ids == {leaving.pk}:
        raise Conflict(
            {"role": ["An event keeps at least one editor: make someone else editor first."]}
        )


@transaction.atomic
def membership_update(*, actor: User, event: Event, user: User, role: str) -> Membership:
    """Change the role of a member of `event` (its editors and admins); the last editor
    stays one (_keep_an_editor). Someone not a member is a ValidationError: adding is
    membership_add's."""
    if not permissions.can_manage_event(actor, event):
        raise PermissionDenied("Only the event's editors can manage its members.")
    if not Membership.objects.filter(event=event, user=_person(user)).exists():
        raise ValidationError({"username": ["This person is not a member of the event."]})
    membership = membership_add(actor=actor, event=event, user=user, role=role)
    desk.changed(event.pk, what="member", by=_person(actor).get_username())
    return membership


# --- images -----------------------------------------------------------------------------


def _images_of(
    event: Event, ids: Sequence[int], *, actor: User, post: Post | None = None
) -> list[Image]:
    """The event's images with these ids, in this order; a validation error on `images`
    naming any that is not one of them (or is given twice), or that `actor` may not use."""
    wanted = list(ids)
    limit = settings.LIVEBLOG_MAX_IMAGES_PER_POST
    if len(wanted) > limit:
        raise ValidationError({"images": [f"At most {limit} photos in an entry."]})
    if len(set(wanted)) != len(wanted):
        raise ValidationError({"images": ["An image can appear only once in an entry."]})
    found = selectors.event_images(event, wanted)
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise ValidationError({"images": [f"Not an image of this event: {', '.join(missing)}."]})
    hidden = [str(pk) for pk in wanted if pk not in _usable(event, found, actor=actor, post=post)]
    if hidden:
        raise ValidationError(
            {"images": [f"Not an image you uploaded or one readers can see: {', '.join(hidden)}."]}
        )
    return [found[pk] for pk in wanted]


def _usable(
    event: Event, found: Mapping[int, Image], *, actor: User, post: Post | None
) -> set[int]:
    """What `actor` may put in an entry of these images: an id is a small number, so any
    member could otherwise attach (and read back) a photo of another member's unpublished
    entry (SPEC §4: drafts are seen by their author and the editors). Editors may use any;
    a writer their own uploads, those already in this entry and those readers already see."""
    if permissions.can_moderate(actor, event):
        return set(found)
    allowed = Q(uploaded_by_id=actor.pk) | Q(placements__post__in=Post.objects.public())
    if post is not None:
        allowed |= Q(placements__post=post)
    return set(Image.objects.filter(allowed, pk__in=found).values_list("pk", flat=True))


def _place_images(post: Post, chosen: list[Image]) -> None:
    placements = [PostImage(post=post, image=image, position=n) for n, image in enumerate(chosen)]
    PostImage.objects.bulk_create(placements)
    # What the payload and the fragment read from now on (no stale prefetch, no query).
    post._prefetched_ordered_images = placements  # type: ignore[attr-defined]


ALT_MISSING = "Describe the image for people who cannot see it, or mark it as decorative."


def _image_fields(
    *, alt: str, caption: str, credit: str, decorative: bool, alt_required: bool = True
) -> dict[str, str]:
    fields = {"alt": clean_text(alt).strip(), "caption": clean_text(caption).strip()}
    fields["credit"] = clean_text(credit).strip()
    errors: dict[str, list[str]] = {}
    if alt_required and not fields["alt"] and not decorative:
        errors["alt"] = [ALT_MISSING]
    for name, text in fields.items():
        limit = max_length(Image, name) or 0
        if len(text) > limit:
            errors[name] = [f"At most {limit:,} characters."]
    if errors:
        raise ValidationError(errors)
    return fields


def image_upload(
    *,
    actor: User,
    event: Event,
    file: IO[bytes],
    alt: str = "",
    caption: str = "",
    credit: str = "",
    decorative: bool = False,
    describe_later: bool = False,
) -> Image:
    """Verify, re-encode and store an uploaded photo (blog.images) for `event`. Refused
    (ValidationError on `file`, `alt`, ...) with nothing stored; the files are written before
    the row, and deleted again if the row cannot be. `describe_later`: the composer uploads a
    photo as soon as it is picked, before its alt text is typed; such an image may be kept
    without alt, and cannot be published until it has one (_check_described)."""
    if not permissions.can_write(actor, event):
        raise PermissionDenied("You are not a member of this event.")
    fields = _image_fields(
        alt=alt,
        caption=caption,
        credit=credit,
        decorative=decorative,
        alt_required=not describe_later,
    )
    try:
        stored = images.store(event_id=event.pk, file=file)
    except images.ImageRefused as exc:
        raise ValidationError({exc.field: [exc.message]}) from None
    try:
        with transaction.atomic():
            image = Image.objects.create(
                event=event,
                uploaded_by=_person(actor),
                decorative=decorative,
                width=stored.width,
                height=stored.height,
                renditions=stored.renditions,
                **fields,
            )
            audit.record(
                action=Action.IMAGE_UPLOADED,
                actor=actor,
                event=event,
                detail={"image": image.pk, "width": image.width, "height": image.height},
            )
    except BaseException:
        images.delete([rendition["name"] for rendition in stored.renditions])
        raise
    return image


@dataclass(frozen=True)
class ImageText:
    """What a writer says of one photo of an entry: the fields image_update changes."""

    alt: str = ""
    caption: str = ""
    credit: str = ""
    decorative: bool = False


def _described(image: Image) -> bool:
    return image.decorative or bool(image.alt.strip())


def _check_described(images: Sequence[Image]) -> None:
    """An entry readers see has alt text on every photo (or the photo is decorative)."""
    missing = [str(n) for n, image in enumerate(images, 1) if not _described(image)]
    if missing:
        raise ValidationError(
            {
                "images": [
                    f"Photo {', '.join(missing)}: alt text is required to publish. {ALT_MISSING}"
                ]
            }
        )


@transaction.atomic
def image_update(
    *, actor: User, image: Image, alt: str, caption: str, credit: str, decorative: bool
) -> Image:
    """Change what is said of a photo: its uploader or an editor of its event. Empty alt is
    allowed here (a draft's photo may wait for it); publishing checks it. Audited when
    something changed; readers see it with the next change of an entry showing the photo
    (post_revise records one), since the fragments are rendered on writes."""
    event = image.event
    if not permissions.can_write(actor, event) or not (
        image.uploaded_by_id == actor.pk or permissions.can_moderate(actor, event)
    ):
        raise PermissionDenied("Only its uploader or an editor can describe this photo.")
    fields = _image_fields(
        alt=alt, caption=caption, credit=credit, decorative=decorative, alt_required=False
    )
    wanted = {**fields, "decorative": decorative}
    changed = [name for name, value in wanted.items() if getattr(image, name) != value]
    if not changed:
        return image
    for name in changed:
        setattr(image, name, wanted[name])
    image.save(update_fields=changed)
    audit.record(
        action=Action.IMAGE_UPDATED,
        actor=actor,
        event=event,
        detail={"image": image.pk, "fields": changed},
    )
    return image


def _describe(
    *,
    actor: User,
    event: Event,
    images: Sequence[tuple[int, ImageText]],
    post: Post | None = None,
) -> tuple[list[int], bool]:
    """image_update for each of an entry's photos whose texts change (ids checked to be
    usable by `actor` in this entry, _images_of); the ids in order, and whether any text
    changed. A photo whose texts stay as they are is not image_update's business: a writer may
    show a published photo of someone else's without being allowed to describe it."""
    ids = [pk for pk, _text in images]
    chosen = _images_of(event, ids, actor=actor, post=post)
    changed = False
    for image, (_pk, text) in zip(chosen, images, strict=True):
        before = (image.alt, image.caption, image.credit, image.decorative)
        if before == (text.alt, text.caption, text.credit, text.decorative):
            continue
        image_update(
            actor=actor,
            image=image,
            alt=text.alt,
            caption=text.caption,
            credit=text.credit,
            decorative=text.decorative,
        )
        changed |= before != (image.alt, image.caption, image.credit, image.decorative)
    return ids, changed


@transaction.atomic
def post_compose(
    *, event: Event, author: User, images: Sequence[tuple[int, ImageText]] = (), **fields: Any
) -> tuple[Post, bool]:
    """The composer's entry: what its writer says of each photo (image_update), then the
    entry with its photos in that order (post_publish, `fields` its other arguments), in
    one transaction: a refusal keeps neither."""
    ids, _changed = _describe(actor=author, event=event, images=images)
    return post_publish(event=event, author=author, images=ids, **fields)


# A revision's note when only what is said of its photos changed (post_revise).
PHOTO_TEXTS_NOTE = "photo alt text, caption or credit changed"


@transaction.atomic
def post_revise(
    *,
    actor: User,
    post: Post,
    changes: Mapping[str, Any],
    images: Sequence[tuple[int, ImageText]] | None = None,
    expected_version: int | None = None,
) -> Post:
    """The edit form's change: the photos' texts (image_update), then post_update with the
    photos in this order. A change of text alone on a public entry still updates it, so that
    readers get the new caption or alt (the fragments are rendered on writes). A stale
    `expected_version` rolls the photos' texts back with the rest (one transaction)."""
    changes, note = dict(changes), ""
    if images is not None:
        ids, texts_changed = _describe(actor=actor, event=post.event, images=images, post=post)
        current = [image.pk for image in post.ordered_images]
        if ids != current or texts_changed:
            changes["images"] = ids
        # A revision keeps the photos' ids, not their texts: the history says so instead.
        note = PHOTO_TEXTS_NOTE if texts_changed else ""
    return post_update(
        actor=actor, post=post, changes=changes, expected_version=expected_version, note=note
    )


# --- tokens -----------------------------------------------------------------------------

# The longest a token may be given (a token for ever is issued without expiry).
TOKEN_MAX_DAYS = 3650


def _token_detail(token: ApiToken) -> dict[str, Any]:
    """How the audit log names a token: its owner, name and prefix, never its key."""
    return {"token": token.prefix, "name": token.name, "owner": token.user.get_username()}


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str = "",
    expires_in_days: int | None = None,
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token for `user`: the stored token (its hash and prefix) and the key.
    The key itself is not stored: whoever asked must show it now, once. A deactivated
    account gets none: it would be refused at once (SPEC §4), as by selectors.user_by_username.
    With `expires_in_days` the token is refused from then on; without, it lasts until revoked.
    `actor` is who asked (an admin issuing for someone; None from a command), `user` by default.
    """
    person = _person(user)
    if not person.is_active:
        raise ValidationError({"user": ["This account is deactivated."]})
    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= TOKEN_MAX_DAYS:
            raise ValidationError(
                {"expires_in_days": [f"Between 1 and {TOKEN_MAX_DAYS} days, or no expiry."]}
            )
        expires_at = timezone.now() + timedelta(days=expires_in_days)
    token, key = ApiToken.issue(user=person, name=clean_text(name).strip(), expires_at=expires_at)
    audit.record(
        action=Action.TOKEN_ISSUED,
        actor=person if actor is None else actor,
        detail=_token_detail(token)
        | {"expires_at": expires_at.isoformat() if expires_at else None},
    )
    return token, key


def token_issue(
    *,
    user: User,
    name: str = "",
    expires_in_days: int | None = None,
    actor: User | None = None,
) -> str:
    """token_create's key alone, for scripts (`issue_token`) and API clients."""
    _token, key = token_create(user=user, name=name, expires_in_days=expires_in_days, actor=actor)
    return key


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> None:
    """Delete a token (admins, or its owner): requests bearing it are refused from now on."""
    if not (permissions.is_admin(actor) or (actor.is_authenticated and actor.pk == token.user_id)):
        raise PermissionDenied("Only admins and its owner can revoke a token.")
    deleted, _ = ApiToken.objects.filter(pk=token.pk).delete()
    if deleted:
        audit.record(action=Action.TOKEN_REVOKED, actor=actor, detail=_token_detail(token))


# last_used_at is for people auditing tokens, not for accounting: writing it (and its audit
# entry) on every request would turn each read into a write.
TOKEN_USE_PRECISION = timedelta(minutes=1)


def token_use(*, token: ApiToken) -> None:
    """Note that `token` (its user loaded) authenticated a request: its last_used_at and a
    `token.used` entry, at most once per TOKEN_USE_PRECISION, so a read costs no write (nor
    a transaction) within it. The caller has checked the token is valid (unexpired, its
    user active)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at <= TOKEN_USE_PRECISION:
        return
    # Conditional, so that of concurrent requests only one writes (and records) the use.
    stale = ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOKEN_USE_PRECISION)
    )
    with transaction.atomic():
        if stale.update(last_used_at=now):
            token.last_used_at = now
            audit.record(action=Action.TOKEN_USED, actor=token.user, detail=_token_detail(token))


def token_refuse_expired(*, token: ApiToken) -> None:
    """Record that an expired `token` (its user loaded) was presented, at most once per
    TOKEN_USE_PRECISION: a script retrying with it must not fill the log."""
    recent = AuditEntry.objects.filter(
        action=Action.TOKEN_EXPIRED_USE,
        actor_id=token.user_id,
        detail__token=token.prefix,
        created_at__gt=timezone.now() - TOKEN_USE_PRECISION,
    )
    if not recent.exists():
        audit.record(action=Action.TOKEN_EXPIRED_USE, actor=token.user, detail=_token_detail(token))


__all__ = [
    "Conflict",
    "NotSubmitted",
    "StaleEventVersion",
    "StaleVersion",
    "WrongStatus",
    "event_create",
    "event_end",
    "event_go_live",
    "event_reopen",
    "event_slug_validate",
    "event_update",
    "image_update",
    "image_upload",
    "membership_add",
    "membership_remove",
    "membership_update",
    "post_approve",
    "post_compose",
    "post_delete",
    "post_publish",
    "post_reject",
    "post_restore",
    "post_revise",
    "post_send_back",
    "post_update",
    "token_create",
    "token_issue",
    "token_refuse_expired",
    "token_revoke",
    "token_use",
    "validate_timezone",
]


# --- the site's brand -------------------------------------------------------------------


@transaction.atomic
def site_settings_update(
    *,
    actor: User,
    name: str | None = None,
    accent: str | None = None,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> SiteSettings:
    """Change the site's name, accent colour or logo (admins only). Refuses an accent in
    which text fails WCAG AA on the light theme, and a logo Pillow does not accept (SVG
    included). Every save moves `version`, which every page's ETag and render cache name,
    so no cached page shows the old brand."""
    if not permissions.is_admin(actor):
        raise PermissionDenied("Only admins can change the site's name, logo and colour.")
    row, _ = SiteSettings.objects.select_for_update().get_or_create(pk=SiteSettings.SINGLETON)
    before = {"name": row.name, "accent": row.accent, "logo": row.logo_type}
    if name is not None:
        row.name = clean_text(name).strip()
    if accent is not None:
        row.accent = accent.strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        row.full_clean(exclude=["logo"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "accent" not in errors and (problem := branding.accent_problem(row.accent)):
        errors["accent"] = [problem]
    if logo is not None:
        try:
            checked = branding.logo_checked(logo)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        else:
            row.logo, row.logo_type = checked.content, checked.content_type
            row.logo_width, row.logo_height = checked.width, checked.height
    elif remove_logo:
        row.logo, row.logo_type, row.logo_width, row.logo_height = b"", "", 0, 0
    if errors:
        raise ValidationError(errors)
    row.version += 1
    row.save()
    after = {"name": row.name, "accent": row.accent, "logo": row.logo_type}
    audit.record(
        action=Action.SITE_SETTINGS_CHANGED,
        actor=actor,
        detail={"fields": [k for k in before if before[k] != after[k]], "version": row.version},
    )
    transaction.on_commit(_forget_brand)
    return row


def _forget_brand() -> None:
    try:
        caches["default"].delete(selectors.BRAND_CACHE_KEY)
    except Exception:
        logger.warning("brand cache unavailable: pages show the old brand for at most %s s",
                       selectors.BRAND_CACHE_SECONDS, exc_info=True)  # fmt: skip
