"""The public shape of events and posts (SPEC §6), built in one place.

The API, the change log and the live socket all use these functions, so a post looks the
same everywhere and a live update renders with the same template as the page.
"""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.urls import reverse

from liveblog.blog.models import Event, Image, Post, Revision
from liveblog.blog.text import clean_text


def iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def author_payload(user: AbstractBaseUser) -> dict[str, str]:
    # Names come from the admin or a command, not through the services: cleaned here, where
    # every output (pages, feed, JSON-LD, API, live frames) reads them.
    username = clean_text(user.get_username())
    display = clean_text(getattr(user, "get_full_name", lambda: "")()) or username
    return {"username": username, "display_name": display}


def event_payload(event: Event) -> dict[str, Any]:
    return {
        "slug": event.slug,
        "title": event.title,
        "summary": event.summary,
        "key_points": event.key_points,
        "key_points_html": event.key_points_html,
        "status": event.status,
        "timezone": event.timezone,
        "order": event.order,
        "starts_at": iso(event.starts_at),
        "ends_at": iso(event.ends_at),
        "url": event.get_absolute_url(),
        "last_seq": event.last_seq,
        "version": event.version,
    }


def media_url(name: str) -> str:
    """This application's own address of a stored file (liveblog/http/media.py serves it in
    every configuration), relative like the event's `url`: never the storage's URL, which
    may be a private bucket."""
    return reverse("media", kwargs={"name": name})


def image_payload(image: Image) -> dict[str, Any]:
    renditions = [
        {"width": rendition["width"], "url": media_url(rendition["name"])}
        for rendition in image.renditions
    ]
    return {
        "id": image.pk,
        "url": renditions[-1]["url"],
        "width": image.width,
        "height": image.height,
        "alt": "" if image.decorative else image.alt,
        "caption": image.caption,
        "credit": image.credit,
        "renditions": renditions,
    }


def post_payload(post: Post) -> dict[str, Any]:
    return {
        "id": post.pk,
        "event": post.event.slug,
        "headline": post.headline,
        "body": post.body,
        "body_html": post.body_html,
        "author": author_payload(post.author),
        "published_at": iso(post.published_at),
        "updated_at": iso(post.updated_at),
        "is_key_event": post.is_key_event,
        "is_pinned": post.is_pinned,
        "is_breaking": post.is_breaking,
        "corrected_at": iso(post.corrected_at),
        "status": post.status,
        "version": post.version,
        "images": [image_payload(image) for image in post.ordered_images],
        "url": post.get_absolute_url(),
    }


def revision_payload(revision: Revision, images: Mapping[int, Image]) -> dict[str, Any]:
    """One saved state of an entry (SPEC §6 Revision), for its editors. `images`: the photos
    that still exist by id (selectors.revision_images); one deleted since is left out. Beside
    SPEC's fields, what else a revision keeps: the breaking flag and the time (restorable
    or shown in the history), `deleted` and the `note` (why: a restore, an unpin)."""
    return {
        "number": revision.number,
        "author": author_payload(revision.author),
        "created_at": iso(revision.created_at),
        "headline": revision.headline,
        "body": revision.body,
        "is_key_event": revision.is_key_event,
        "is_pinned": revision.is_pinned,
        "is_breaking": revision.is_breaking,
        "status": revision.status,
        "published_at": iso(revision.published_at),
        "deleted": revision.deleted,
        "note": revision.note,
        "images": [image_payload(images[pk]) for pk in revision.images if pk in images],
    }


def post_fragment(post: Post, *, eager_images: bool = False) -> str:
    """The entry as readers see it; the page includes the same template. Its photos load
    lazily, unless `eager_images` (an entry in the page's first screen: its first photo is
    fetched at once, at high priority, as it may be the page's largest paint)."""
    context = {"post": post, "event": post.event, "eager_images": eager_images}
    return render_to_string("blog/_post.html", context).strip()


def event_fragment(event: Event) -> str:
    return render_to_string("blog/_event_header.html", {"event": event}).strip()
