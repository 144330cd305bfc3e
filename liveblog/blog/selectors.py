"""Every read the pages, the API and the socket need, with constant query counts."""

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User as UserModel
from django.core.cache import caches
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from liveblog.blog import permissions
from liveblog.blog.branding import Brand
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
)
from liveblog.blog.permissions import User

logger = logging.getLogger(__name__)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """A position in a stream: the (published_at, id) of the last entry shown."""

    published_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.published_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            when, _, pk = raw.partition("|")
            published_at = datetime.fromisoformat(when)
            if published_at.tzinfo is None:
                raise ValueError("naive time")
            return cls(published_at=published_at, id=int(pk))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise BadCursor(f"{value!r} is not a valid cursor.") from None

    @classmethod
    def of(cls, post: Post) -> "Cursor":
        return cls(published_at=post.published_at, id=post.pk)


@dataclass
class Page:
    posts: list[Post]
    next_cursor: Cursor | None


def user_by_username(username: str) -> UserModel | None:
    """The active account with this login name, or None: the one rule every lookup of a
    person by name uses (adding a member, issuing a token). A deactivated account is as
    good as gone (SPEC §4)."""
    model = get_user_model()
    users = model._default_manager.filter(**{model.USERNAME_FIELD: username, "is_active": True})
    return cast(UserModel | None, users.first())


def event_by_slug(slug: str) -> Event | None:
    return Event.objects.filter(slug=slug).first()


def live_keys(slugs: list[str]) -> dict[str, tuple[int, datetime]]:
    """The id and creation time of the events with these slugs, in one query (the live hub's
    first joins of a burst of readers over many events)."""
    rows = Event.objects.filter(slug__in=slugs).values_list("slug", "pk", "created_at")
    return {slug: (pk, created_at) for slug, pk, created_at in rows}


def events_for_home() -> dict[str, list[Event]]:
    events = list(Event.objects.order_by("-starts_at", "-created_at")[:200])
    return {
        "live": [e for e in events if e.status == Event.Status.LIVE],
        "upcoming": sorted(
            (e for e in events if e.status == Event.Status.SCHEDULED),
            key=lambda e: e.starts_at or e.created_at,
        ),
        "past": [e for e in events if e.status == Event.Status.ENDED],
    }


def events_all() -> Any:
    return Event.objects.order_by("-created_at", "-id")


def events_for_editor(user: User) -> list[Event]:
    if permissions.is_admin(user):
        return list(Event.objects.order_by("-created_at"))
    if not user.is_authenticated:
        return []
    ids = Membership.objects.filter(user=user).values("event_id")
    return list(Event.objects.filter(pk__in=ids).order_by("-created_at"))


def with_images(posts: QuerySet[Post]) -> QuerySet[Post]:
    """Posts with their images in order (Post.ordered_images): one query for a whole list."""
    placements = PostImage.objects.select_related("image").order_by("position")
    return posts.prefetch_related(
        Prefetch("placements", queryset=placements, to_attr="_prefetched_ordered_images")
    )


def event_images(event: Event, ids: list[int]) -> dict[int, Image]:
    """The event's images among `ids`, by id (an id of another event is simply absent)."""
    return {image.pk: image for image in Image.objects.filter(event=event, pk__in=ids)}


def _stream(event: Event) -> Any:
    return with_images(Post.objects.public().filter(event=event).select_related("author"))


def stream_page(
    event: Event,
    *,
    order: str,
    after: Cursor | None = None,
    limit: int = 50,
    include_pinned: bool = True,
) -> Page:
    """Published entries in reading order, `limit` at a time, by keyset on (published_at, id):
    entries arriving or being edited meanwhile never shift a page (no duplicate, no gap)."""
    posts = _stream(event)
    if not include_pinned:
        posts = posts.filter(is_pinned=False)
    newest_first = order == Event.Order.NEWEST
    if after is not None:
        if newest_first:
            posts = posts.filter(
                Q(published_at__lt=after.published_at)
                | Q(published_at=after.published_at, id__lt=after.id)
            )
        else:
            posts = posts.filter(
                Q(published_at__gt=after.published_at)
                | Q(published_at=after.published_at, id__gt=after.id)
            )
    ordering = ("-published_at", "-id") if newest_first else ("published_at", "id")
    rows = list(posts.order_by(*ordering)[: limit + 1])
    for post in rows:
        post.event = event
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(posts=rows, next_cursor=Cursor.of(rows[-1]) if more and rows else None)


def pinned_post(event: Event) -> Post | None:
    post = _stream(event).filter(is_pinned=True).order_by("-updated_at").first()
    if post is not None:
        post.event = event
    return post


def key_events(event: Event, *, limit: int = 100) -> list[Post]:
    # The list shows a link per entry: no author, no body source.
    posts = Post.objects.public().filter(event=event, is_key_event=True)
    posts = posts.only("id", "event_id", "headline", "body_html", "published_at")
    rows = list(posts.order_by("-published_at", "-id")[:limit])
    for post in rows:
        post.event = event
    return rows


def public_post(event: Event, post_id: int) -> Post | None:
    post = _stream(event).filter(pk=post_id).first()
    if post is not None:
        post.event = event
    return post


def post_for_user(event: Event, post_id: int, user: User) -> Post | None:
    posts = with_images(Post.objects.live().filter(event=event, pk=post_id))
    post = posts.select_related("author").first()
    if post is None:
        return None
    post.event = event
    return post if permissions.can_see_post(user, post) else None


def post_last_editor(post: Post) -> str:
    """Who last wrote the entry, as the audit log names them ("" if it does not say): the
    edit form's conflict message names the other person."""
    last = (
        AuditEntry.objects.filter(post=post, action__startswith="post.")
        .values_list("username", flat=True)
        .first()
    )
    return last or ""


def post_revisions(
    post: Post, *, before: int | None = None, limit: int | None = None
) -> list[Revision]:
    """The entry's revisions newest first (below number `before`, at most `limit`), each
    with its author, in one query. For editors (permissions.can_moderate): the callers
    check."""
    rows = Revision.objects.filter(post=post).select_related("author").order_by("-number")
    if before is not None:
        rows = rows.filter(number__lt=before)
    return list(rows[:limit] if limit is not None else rows)


def revision_images(event: Event, revisions: list[Revision]) -> dict[int, Image]:
    """The photos these revisions name that still exist, by id, in one query."""
    ids = sorted({pk for revision in revisions for pk in revision.images})
    return event_images(event, ids) if ids else {}


def changes_since(
    event_id: int, since: int, *, upto: int | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Change messages with since < seq (≤ upto), oldest first, at most `limit`."""
    rows = Change.objects.filter(event_id=event_id, seq__gt=since)
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    return list(rows.order_by("seq").values_list("payload", flat=True)[:limit])


def last_seq(event_id: int) -> int:
    return Event.objects.filter(pk=event_id).values_list("last_seq", flat=True).get()


def last_seqs(event_ids: list[int]) -> dict[int, int]:
    """The last seq of several events in one query (the live hub's watch, every second over
    every event it serves). On PostgreSQL the ids go as one array parameter: an `__in` list
    is prepared id by id through the field, 3.3 ms of CPU per call at 1,000 ids against 1.5
    (bench database, 50 calls each; py-spy put that preparation at 30 % of a live process
    serving 1,000 events)."""
    events = Event.objects.all()
    if connection.vendor == "postgresql":
        events = events.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [event_ids]))
    else:
        events = events.filter(pk__in=event_ids)
    return dict(events.values_list("pk", "last_seq"))


def drafts_for_editor(event: Event, user: User) -> list[Post]:
    """Drafts the user may see: all for editors and admins, their own for reporters."""
    posts = Post.objects.live().filter(event=event, status=Post.Status.DRAFT)
    if not permissions.can_moderate(user, event):
        posts = posts.filter(author_id=user.pk)
    rows = list(with_images(posts.select_related("author")).order_by("-published_at", "-id")[:200])
    for post in rows:
        post.event = event
    return rows


# --- submissions (the approval queue) -----------------------------------------------------

# How long a rejected entry stays in its author's list, with the editor's note.
REJECTED_SHOWN_FOR = timedelta(days=1)
# The most entries a queue panel lists; the count says how many there are.
QUEUE_SHOWN = 100


def _submissions(event: Event) -> QuerySet[Post]:
    posts = Post.objects.live().filter(event=event, status=Post.Status.SUBMITTED)
    return with_images(posts.select_related("author"))


def submissions_page(
    event: Event, user: User, *, after: Cursor | None = None, limit: int = QUEUE_SHOWN
) -> Page:
    """The entries waiting for approval that `user` may see (SPEC §4: all for editors and
    admins, their own for other members, none for anyone else), oldest first: the queue's
    order, the one waiting longest on top. Keyset on (published_at, id) as stream_page."""
    posts = _submissions(event)
    if not permissions.can_moderate(user, event):
        if not permissions.can_write(user, event):
            return Page(posts=[], next_cursor=None)
        posts = posts.filter(author_id=user.pk)
    if after is not None:
        posts = posts.filter(
            Q(published_at__gt=after.published_at)
            | Q(published_at=after.published_at, id__gt=after.id)
        )
    rows = list(posts.order_by("published_at", "id")[: limit + 1])
    for post in rows:
        post.event = event
    more, rows = len(rows) > limit, rows[:limit]
    return Page(posts=rows, next_cursor=Cursor.of(rows[-1]) if more and rows else None)


@dataclass
class ApprovalQueue:
    """The editor page's queue panel: for editors the event's submissions, for other
    members their own (waiting, and rejected lately)."""

    moderator: bool
    waiting: list[Post]
    count: int  # all that are waiting, `waiting` lists the first QUEUE_SHOWN
    rejected: list[Post]
    publishes: bool  # may publish: a reporter's panel shows only when it has something

    # The longest note an editor may write (the model field's limit).
    note_chars: int = max_length(Post, "review_note") or 0

    @property
    def shown(self) -> bool:
        return self.moderator or not self.publishes or bool(self.waiting or self.rejected)


def approval_queue(event: Event, user: User) -> ApprovalQueue:
    page = submissions_page(event, user)
    moderator = permissions.can_moderate(user, event)
    count = len(page.posts)
    if page.next_cursor is not None:
        waiting = Post.objects.live().filter(event=event, status=Post.Status.SUBMITTED)
        count = (waiting if moderator else waiting.filter(author_id=user.pk)).count()
    return ApprovalQueue(
        moderator=moderator,
        waiting=page.posts,
        count=count,
        rejected=[] if moderator else rejected_for_author(event, user),
        publishes=permissions.can_publish(user, event),
    )


def rejected_for_author(event: Event, user: User) -> list[Post]:
    """`user`'s entries an editor rejected (removed while submitted, by someone else) in the
    last REJECTED_SHOWN_FOR, newest first, with the note (Post.review_note): the author is
    told, rather than finding the entry gone."""
    if not user.is_authenticated:
        return []
    since = timezone.now() - REJECTED_SHOWN_FOR
    posts = Post.objects.filter(
        event=event, author_id=user.pk, status=Post.Status.SUBMITTED, deleted_at__gte=since
    ).exclude(deleted_by_id=user.pk)
    rows = list(posts.select_related("author").order_by("-deleted_at", "-id")[:QUEUE_SHOWN])
    for post in rows:
        post.event = event
    return rows


def scheduled_for_editor(event: Event, user: User) -> list[Post]:
    """Scheduled entries the user may change, soonest first: all for editors and admins,
    their own for reporters (the composer's Scheduled panel)."""
    posts = Post.objects.live().filter(event=event, status=Post.Status.SCHEDULED)
    if not permissions.can_moderate(user, event):
        posts = posts.filter(author_id=user.pk)
    rows = list(posts.select_related("author").order_by("published_at", "id")[:200])
    for post in rows:
        post.event = event
    return rows


def event_members(event: Event) -> list[Membership]:
    return list(event.memberships.select_related("user").order_by("role", "user__username"))


def tokens_of(user: User) -> list[ApiToken]:
    """`user`'s own API tokens, newest first (the editor's token page)."""
    if not user.is_authenticated:
        return []
    return list(ApiToken.objects.filter(user_id=user.pk))


def token_of(user: User, token_id: int) -> ApiToken | None:
    """One of `user`'s own tokens; someone else's is None, as a missing one (a 404)."""
    if not user.is_authenticated:
        return None
    return ApiToken.objects.select_related("user").filter(user_id=user.pk, pk=token_id).first()


BRAND_CACHE_KEY = "site-brand"
# A process without a shared cache (make run's locmem) sees another process's change within
# this long; with Redis the service's on-commit delete makes it immediate everywhere.
BRAND_CACHE_SECONDS = 60


def site_brand() -> Brand:
    """The site's name, accent and logo facts, read on every page: from the cache (no query)
    when it has them. A cache that does not answer costs one small query."""
    cache = caches["default"]
    try:
        brand = cache.get(BRAND_CACHE_KEY)
    except Exception:
        brand = None
    if isinstance(brand, Brand):
        return brand
    row = SiteSettings.objects.defer("logo").filter(pk=SiteSettings.SINGLETON).first()
    brand = Brand.of(row or SiteSettings())
    try:
        cache.set(BRAND_CACHE_KEY, brand, BRAND_CACHE_SECONDS)
    except Exception:
        logger.warning("brand cache unavailable", exc_info=True)
    return brand


def site_logo(version: int) -> SiteSettings | None:
    """The settings row with its logo, when `version` is the current one and it has a logo."""
    return (
        SiteSettings.objects.filter(pk=SiteSettings.SINGLETON, version=version)
        .exclude(logo_type="")
        .first()
    )


def site_settings() -> SiteSettings:
    """The row for the admin to edit (not saved: services.site_settings_update saves)."""
    return SiteSettings.objects.filter(pk=SiteSettings.SINGLETON).first() or SiteSettings(
        pk=SiteSettings.SINGLETON
    )


def draft_for(user: User, event: Event, post: Post | None = None) -> PostDraft | None:
    """`user`'s autosaved draft of the composer (`post` None) or of `post`'s edit form. Only
    its writer ever reads it (liveblog/editor/autosave.py): no reader path asks for drafts."""
    if not user.is_authenticated:
        return None
    return PostDraft.objects.filter(user_id=user.pk, event=event, post=post).first()


# --- the desk's presence (the editor page's socket) --------------------------------------


@dataclass(frozen=True)
class DeskSeat:
    """Who sits at an event's desk: shown to the rest of the team as name and role."""

    event_id: int
    user_id: int
    name: str
    role: str
    # Sees the whole team's drafts and submissions (editors, admins: SPEC §4).
    moderator: bool = False


def desk_seat(event_id: int, user_id: int) -> DeskSeat | None:
    """The person's seat at the event's desk, read afresh (the socket asks again while it
    is open): None once the account is deactivated or may no longer write there."""
    model = get_user_model()
    person = cast(UserModel | None, model._default_manager.filter(pk=user_id).first())
    event = Event.objects.filter(pk=event_id).first()
    if person is None or event is None or not person.is_active:
        return None
    if not permissions.can_write(person, event):
        return None
    role = permissions.role_in(person, event) or "admin"
    name = person.get_full_name() or person.get_username()
    return DeskSeat(
        event_id=event.pk,
        user_id=person.pk,
        name=name,
        role=role,
        moderator=permissions.can_moderate(person, event),
    )


def desk_post_exists(event_id: int, post_id: int) -> bool:
    """Whether an entry the desk says someone is editing is one of the event's."""
    return Post.objects.live().filter(event_id=event_id, pk=post_id).exists()


# --- people to add to an event (the members page's search) ------------------------------

# What a search answers at most: a list to pick from, not a directory to page through.
PEOPLE_SEARCH_LIMIT = 10
PEOPLE_SEARCH_MIN_CHARS = 2


def people_matching(query: str, *, event: Event) -> list[UserModel]:
    """Active accounts whose username or name contains `query` (at least
    PEOPLE_SEARCH_MIN_CHARS of it), usernames that start with it first, with a flag of
    whether each is already a member of `event` (`member_role`: their role or None)."""
    text = query.strip()
    if len(text) < PEOPLE_SEARCH_MIN_CHARS:
        return []
    model = get_user_model()
    name = model.USERNAME_FIELD
    found = (
        model._default_manager.filter(is_active=True)
        .filter(
            Q(**{f"{name}__icontains": text})
            | Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
        )
        .order_by(name)
    )
    people = cast(list[UserModel], list(found[: PEOPLE_SEARCH_LIMIT * 3]))
    people.sort(key=lambda user: not user.get_username().lower().startswith(text.lower()))
    people = people[:PEOPLE_SEARCH_LIMIT]
    roles = dict(
        Membership.objects.filter(event=event, user__in=people).values_list("user_id", "role")
    )
    for person in people:
        person.member_role = roles.get(person.pk)  # type: ignore[attr-defined]
    return people


def member_of(event: Event, user_id: int) -> Membership | None:
    return event.memberships.select_related("user").filter(user_id=user_id).first()
