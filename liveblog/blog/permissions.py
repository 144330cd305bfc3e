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


def can_publish(user: User, event: Event) -> bool:
    return is_admin(user) or role_in(user, event) is not None


def can_moderate(user: User, event: Event) -> bool:
    """Edit or delete others' posts, pin, mark key events."""
    return can_manage_event(user, event)


def can_edit_post(user: User, post: Post) -> bool:
    if can_moderate(user, post.event):
        return True
    return can_publish(user, post.event) and post.author_id == user.pk


def can_see_post(user: User, post: Post) -> bool:
    if post.deleted_at is not None:
        return False
    if post.status == Post.Status.PUBLISHED:
        return True
    return can_edit_post(user, post)
