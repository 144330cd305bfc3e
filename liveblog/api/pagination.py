"""Keyset pagination for API lists: `next` is an absolute URL carrying an opaque cursor.

A cursor is the position of the last item shown, never an offset, so items added or
edited while a client walks a list neither repeat nor go missing.
"""

from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from liveblog.blog import selectors
from liveblog.blog.models import Event, Post, Revision
from liveblog.blog.selectors import Cursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def next_url(request: HttpRequest, cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    query = request.GET.copy()
    query["cursor"] = cursor.encode()
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def events_page(
    events: Any, *, after: Cursor | None, limit: int
) -> tuple[list[Event], Cursor | None]:
    """Events newest first by (created_at, id). The cursor type is the stream's: a
    (time, id) position, here holding the event's created_at."""
    if after is not None:
        events = events.filter(
            Q(created_at__lt=after.published_at) | Q(created_at=after.published_at, id__lt=after.id)
        )
    rows = list(events.order_by("-created_at", "-id")[: limit + 1])
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if more and rows else None
    return rows, Cursor(published_at=last.created_at, id=last.pk) if last else None


def revisions_page(
    post: Post, *, after: Cursor | None, limit: int
) -> tuple[list[Revision], Cursor | None]:
    """An entry's revisions newest first, by number (unique and only growing per entry).
    The cursor type is the stream's: its id holds the number, its time the revision's."""
    before = after.id if after is not None else None
    rows = selectors.post_revisions(post, before=before, limit=limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if more and rows else None
    return rows, Cursor(published_at=last.created_at, id=last.number) if last else None
