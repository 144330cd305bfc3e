"""Who may do what (SPEC §4). Pure functions of the user, the event and its memberships."""

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as UserModel

from liveblog.blog.models import Event, Membership, Post

User = UserModel | AnonymousUser


def role_in(user: User, event: Event) -> str | None:
    if not user.is_authenticated:
        return None
    # Cached on the user object: one query per event per request, however many checks.
    cache: dict[int, str | None] = user.__dict__.setdefault("_liveblog_roles", {})
    if event.pk not in cache:
        cache[event.pk] = (
            Membership.objects.filter(event=event, user_id=user.pk)
            .values_list("role", flat=True)
            .first()
        )
    return cache[event.pk]


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_staff", False))


def can_create_event(user: User) -> bool:
    return is_admin(user)


def can_manage_event(user: User, event: Event) -> bool:
    return is_admin(user) or role_in(user, event) == Membership.Role.EDITOR


def can_write(user: User, event: Event) -> bool:
    """Write drafts, submit entries for approval, upload images: every member."""
    return is_admin(user) or role_in(user, event) is not None


def can_publish(user: User, event: Event) -> bool:
    """Publish or schedule an entry: reporters and editors; a contributor submits."""
    return is_admin(user) or role_in(user, event) in (
        Membership.Role.REPORTER,
        Membership.Role.EDITOR,
    )


def can_moderate(user: User, event: Event) -> bool:
    """Edit or delete others' posts, pin, mark key events, approve, send back or reject
    submissions, see and restore revisions."""
    return can_manage_event(user, event)


# What a contributor may still change of their own entry: not yet in an editor's hands.
UNPUBLISHED = (Post.Status.DRAFT, Post.Status.SUBMITTED)


def can_edit_post(user: User, post: Post) -> bool:
    if can_moderate(user, post.event):
        return True
    if post.author_id != user.pk:
        return False
    if can_publish(user, post.event):
        return True
    return can_write(user, post.event) and post.status in UNPUBLISHED


def can_see_post(user: User, post: Post) -> bool:
    if post.deleted_at is not None:
        return False
    if post.status == Post.Status.PUBLISHED:
        return True
    return can_edit_post(user, post)
