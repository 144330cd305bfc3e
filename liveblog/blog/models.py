"""The domain: events, their entries (posts), who may write to them, and the change log.

The change log is the source of truth for live readers: every change a reader can see gets
the next `seq` of its event, assigned in the writing transaction (see services._next_seq).
"""

import hashlib
import re
import secrets
import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from liveblog.live import protocol

# PostgreSQL's bigint: a larger id or seq in a request is "not found" or bad input, never a
# database error.
MAX_BIGINT = 2**63 - 1


def max_length(model: type[models.Model], name: str) -> int | None:
    """A field's length limit, for the forms and the API schemas to read (not repeat)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.max_length


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/Paris.") from None


class Event(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    class Order(models.TextChoices):
        NEWEST = "newest", "Newest first"
        OLDEST = "oldest", "Oldest first"

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    order = models.CharField(max_length=6, choices=Order.choices, default=Order.NEWEST)
    # The summary box at the top of the reader page: Markdown an editor keeps current,
    # rendered and sanitised (key_points_html) by the services like an entry's body.
    key_points = models.TextField(blank=True, max_length=5000)
    key_points_html = models.TextField(blank=True, editable=False)
    # The seq of the event's latest change; bumped under a row lock by services only.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # Optimistic locking of the event's settings (as Post.version): moved on by one with
    # every saved change by services.event_update, under the event's row lock.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # last_seq belongs to services._next_seq (under a row lock); a stale in-memory copy
        # saved from elsewhere (the admin, a script) must never move it back.
        if self.pk and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if f.name not in ("id", "last_seq")
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        # Memoised per instance (per slug): a page asks it for every entry's link.
        cached = self.__dict__.get("_url")
        if cached is None or cached[0] != self.slug:
            cached = self.__dict__["_url"] = (
                self.slug,
                reverse("reader:event", kwargs={"slug": self.slug}),
            )
        return cached[1]

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    class Role(models.TextChoices):
        # May write drafts and submit them for approval; never publishes (SPEC §4).
        CONTRIBUTOR = "contributor", "Contributor"
        REPORTER = "reporter", "Reporter"
        EDITOR = "editor", "Editor"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.REPORTER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.event}"


class Image(models.Model):
    """An uploaded photo, verified and re-encoded by blog.images (metadata stripped), stored
    through Django's storage API in several widths. `renditions` lists what is stored,
    narrowest first: [{"width", "height", "name"}]; the last one is the full image, whose size
    `width` and `height` give."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="images")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="images"
    )
    alt = models.CharField(max_length=settings.LIVEBLOG_MAX_ALT_CHARS, blank=True)
    # A decorative image says nothing the text does not: alt="" on purpose (WCAG H67).
    decorative = models.BooleanField(default=False)
    caption = models.CharField(max_length=settings.LIVEBLOG_MAX_CAPTION_CHARS, blank=True)
    credit = models.CharField(max_length=settings.LIVEBLOG_MAX_CREDIT_CHARS, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    renditions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.alt or f"image {self.pk}"


class PostImage(models.Model):
    """An image's place in an entry: entries show their images by `position`."""

    post = models.ForeignKey("Post", on_delete=models.CASCADE, related_name="placements")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="placements")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["post", "image"], name="postimage_unique_image")
        ]

    def __str__(self) -> str:
        return f"{self.post_id}#{self.position}: {self.image_id}"


class PostQuerySet(models.QuerySet["Post"]):
    def live(self) -> "PostQuerySet":
        """Not removed. Removed posts stay in the table for the audit trail."""
        return self.filter(deleted_at__isnull=True)

    def public(self) -> "PostQuerySet":
        return self.live().filter(status=Post.Status.PUBLISHED)


class PostStatus(models.TextChoices):
    """Post.Status (module level so that Post's Meta, where the class is out of scope, can
    name it too)."""

    DRAFT = "draft", "Draft"
    # A contributor's entry awaiting an editor (approve, send back with a note, reject).
    SUBMITTED = "submitted", "Submitted"
    # Published by `manage.py worker` at published_at, exactly once (SELECT … SKIP LOCKED).
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"


class Post(models.Model):
    Status = PostStatus

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts"
    )
    headline = models.CharField(max_length=settings.LIVEBLOG_MAX_HEADLINE_CHARS, blank=True)
    body = models.TextField()
    body_html = models.TextField(editable=False)
    published_at = models.DateTimeField(default=timezone.now)
    is_key_event = models.BooleanField(default=False)
    is_pinned = models.BooleanField(default=False)
    # Shown with a "Breaking" label and band; any writer may set it (not a moderation flag).
    is_breaking = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    images = models.ManyToManyField(Image, through=PostImage, related_name="posts", blank=True)
    # When a published entry's headline or body was last corrected (readers see "Updated
    # 10:52 a.m."); set by services.post_update only, never by a pin or a key-event mark.
    corrected_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Optimistic locking (SPEC §3): moved on by one with every saved change, by the services
    # only and under the post's row lock, never from a client. A PATCH naming an older one
    # is refused (services.StaleVersion).
    version = models.PositiveIntegerField(default=1, editable=False)
    # An editor's note when sending a submission back (shown to its author); cleared when
    # it is submitted again.
    review_note = models.TextField(blank=True, max_length=2000, editable=False)
    # NULL, not "", when absent: the unique constraint below must ignore posts without a key.
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            # Idempotent publishing relies on this constraint, not on a check-then-insert.
            models.UniqueConstraint(
                fields=["event", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="post_unique_idempotency_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["event", "published_at", "id"],
                condition=Q(deleted_at__isnull=True, status=PostStatus.PUBLISHED),
                name="post_public_stream",
            ),
            # The worker's scan for due entries (services.post_publish_due).
            models.Index(
                fields=["published_at"],
                condition=Q(deleted_at__isnull=True, status=PostStatus.SCHEDULED),
                name="post_scheduled_due",
            ),
        ]

    def __str__(self) -> str:
        return self.headline or self.body[:60]

    def get_absolute_url(self) -> str:
        # The event's URL (memoised) and the `posts/<id>/` of reader.urls, without a
        # reverse() per entry on a 50-entry page. tests/reader check it matches reverse().
        return f"{self.event.get_absolute_url()}posts/{self.pk}/"

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.deleted_at is None

    @property
    def ordered_images(self) -> list[Image]:
        """The entry's images in order: those selectors.with_images prefetched (no query),
        else read now."""
        prefetched = getattr(self, "_prefetched_ordered_images", None)
        if prefetched is not None:
            return [placement.image for placement in prefetched]
        if self.pk is None:
            return []
        placements = self.placements.select_related("image").order_by("position")
        return [placement.image for placement in placements]


class Revision(models.Model):
    """One saved state of a post (SPEC §3): written by the services with every change of
    the post, in the same transaction; a restore writes a new one. Numbered from 1 per post.
    Editors read them; readers never do."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    headline = models.CharField(max_length=settings.LIVEBLOG_MAX_HEADLINE_CHARS, blank=True)
    body = models.TextField()
    published_at = models.DateTimeField()
    is_key_event = models.BooleanField(default=False)
    is_pinned = models.BooleanField(default=False)
    is_breaking = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=PostStatus.choices)
    # The post's image ids in order at this revision.
    images = models.JSONField(default=list)
    # True for the revision that removed the post.
    deleted = models.BooleanField(default=False)
    # "restored from revision N", "sent back: <note>", … (shown in the history).
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "number"], name="revision_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.post_id} r{self.number}"


class PostDraft(models.Model):
    """What a writer has typed and not yet saved, autosaved by the composer (post NULL: a
    new entry) or the edit form (post set) so that a reload, a crash or another device
    brings it back. Never read by any reader path."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="post_drafts"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="post_drafts")
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="drafts"
    )
    headline = models.CharField(max_length=settings.LIVEBLOG_MAX_HEADLINE_CHARS, blank=True)
    body = models.TextField(blank=True)
    # The rest of the form as typed (flags, time, image ids, the version it is based on).
    fields = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event"],
                condition=Q(post__isnull=True),
                name="postdraft_unique_new_entry",
            ),
            models.UniqueConstraint(
                fields=["user", "post"],
                condition=Q(post__isnull=False),
                name="postdraft_unique_edit",
            ),
        ]

    def __str__(self) -> str:
        return f"draft of {self.user_id} in {self.event_id} ({self.post_id or 'new'})"


class Change(models.Model):
    """One reader-visible change. `payload` is the exact live message sent for it (SPEC §7)."""

    class Kind(models.TextChoices):
        POST_CREATED = protocol.POST_CREATED
        POST_UPDATED = protocol.POST_UPDATED
        POST_DELETED = protocol.POST_DELETED
        EVENT_UPDATED = protocol.EVENT_UPDATED

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="changes")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event", "seq"]
        constraints = [models.UniqueConstraint(fields=["event", "seq"], name="change_unique_seq")]

    def __str__(self) -> str:
        return f"{self.event_id}#{self.seq} {self.kind}"


class ApiToken(models.Model):
    """A bearer token for scripts. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # None: it never expires. Past it, the API refuses the token with a 401 saying so.
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def has_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(
        cls, *, user: models.Model, name: str = "", expires_at: datetime | None = None
    ) -> tuple["ApiToken", str]:
        key = "lb_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=cls.hash(key), prefix=key[:8], expires_at=expires_at
        )
        return token, key


class AuditEntry(models.Model):
    """Who did what, when, from which address: every write and every security event.

    Written by liveblog.blog.audit.record, in the transaction of the write it records (a
    rolled-back write leaves no entry), and never changed afterwards: the admin only lists
    them, and save() refuses to update one. `username` keeps the name of the actor (or the
    name a failed login tried) after the account is gone; `detail` is small and never holds
    a password or a token's key (a token is named by its prefix).
    """

    class Action(models.TextChoices):
        LOGIN_SUCCEEDED = "login.succeeded", "Login succeeded"
        LOGIN_FAILED = "login.failed", "Login failed"
        LOGIN_LOCKED_OUT = "login.locked_out", "Login locked out"
        LOGOUT = "logout", "Logout"
        USER_CREATED = "user.created", "Account created (admin)"
        USER_CHANGED = "user.changed", "Account changed (admin)"
        USER_PASSWORD_CHANGED = "user.password_changed", "Password set (admin)"
        USER_DELETED = "user.deleted", "Account deleted (admin)"
        TOKEN_ISSUED = "token.issued", "Token issued"
        TOKEN_USED = "token.used", "Token used"
        TOKEN_REVOKED = "token.revoked", "Token revoked"
        TOKEN_EXPIRED_USE = "token.expired_use", "Expired token refused"
        MEMBERSHIP_ADDED = "membership.added", "Member added"
        MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", "Member's role changed"
        MEMBERSHIP_REMOVED = "membership.removed", "Member removed"
        EVENT_CREATED = "event.created", "Event created"
        EVENT_UPDATED = "event.updated", "Event updated"
        EVENT_RENAMED = "event.renamed", "Event renamed (slug changed)"
        POST_CREATED = "post.created", "Entry created (draft or published)"
        POST_UPDATED = "post.updated", "Entry updated"
        POST_PUBLISHED = "post.published", "Draft published"
        POST_UNPUBLISHED = "post.unpublished", "Entry moved to drafts"
        POST_DELETED = "post.deleted", "Entry deleted"
        # The approval workflow (SPEC §4): a contributor submits, an editor decides.
        POST_SUBMITTED = "post.submitted", "Entry submitted for approval"
        POST_APPROVED = "post.approved", "Submission approved"
        POST_SENT_BACK = "post.sent_back", "Submission sent back to its author"
        POST_REJECTED = "post.rejected", "Submission rejected"
        IMAGE_UPLOADED = "image.uploaded", "Image uploaded"
        IMAGE_UPDATED = "image.updated", "Image's alt text, caption or credit changed"
        SITE_SETTINGS_CHANGED = "site.settings_changed", "Site name, logo or colour changed"

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    username = models.CharField(max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=32, choices=Action.choices, editable=False)
    # SET_NULL, not CASCADE: removing an event or an entry must not remove its history.
    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    post = models.ForeignKey(
        Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # The client's address as the server resolved it (REMOTE_ADDR: only the trusted proxy's
    # X-Forwarded-For counts); None outside a request (a management command).
    address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    detail = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["-created_at", "-id"], name="auditentry_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are never changed.")
        super().save(*args, **kwargs)


def validate_hex_colour(value: str) -> None:
    if not HEX_COLOUR.fullmatch(value):
        raise ValidationError(f"{value!r} is not a colour such as #b3001b (# and six hex digits).")


HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class SiteSettings(models.Model):
    """The site's name, logo and accent colour, set by an admin without code: one row (pk 1),
    written by services.site_settings_update only and read through selectors.site_settings.

    In blog rather than an app of its own: it is one small row that the domain's services
    write and audit like every other write, and the pages of every app read it.

    The logo is kept in the row (a few hundred KiB at most, checked by Pillow) rather than in
    media storage: every web process can serve it from PostgreSQL with no shared volume,
    under an address that names its version (reader's /brand/logo/<version>/), cached for a
    year. `version` grows with every save: pages' ETags and render cache name it.
    """

    SINGLETON = 1
    DEFAULT_NAME = "Live blog"
    DEFAULT_ACCENT = "#b3001b"
    LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
    MAX_LOGO_BYTES = 256 * 1024
    MAX_LOGO_SIDE = 2000

    name = models.CharField(max_length=80, default=DEFAULT_NAME)
    accent = models.CharField(
        max_length=7, default=DEFAULT_ACCENT, validators=[validate_hex_colour]
    )
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=20, blank=True, editable=False)
    logo_width = models.PositiveIntegerField(default=0, editable=False)
    logo_height = models.PositiveIntegerField(default=0, editable=False)
    version = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "site settings"
        verbose_name_plural = "site settings"

    def __str__(self) -> str:
        return self.name

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_type)
