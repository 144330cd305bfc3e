"""Rendered entries, cached per version of the entry.

An entry's HTML is the same on every page and in every live frame that shows it, until the
entry (or its author's name, the event's zone, the language or a deploy) changes. During a
live event the page itself changes with every entry, so its own cache (caching.rendered_once)
is replaced every few seconds; with the entries cached, rendering the new state renders only
the entries that are new or changed and fetches the rest in one cache read. The key names
everything the fragment depends on, so nothing is ever invalidated by hand: a change makes a
new key, and old ones expire.
"""

import hashlib
import logging
from collections.abc import Sequence

from django.core.cache import caches
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from liveblog.blog.models import Post
from liveblog.blog.payloads import author_payload, post_fragment
from liveblog.http.caching import release

logger = logging.getLogger(__name__)

FRAGMENT_SECONDS = 24 * 3600
# The entries at the top of a page whose photos load at once (the first screen, where the
# largest paint is often a photo); every other photo loads lazily.
EAGER_ENTRIES = 2


def _key(post: Post, eager: bool) -> str:
    event = post.event
    parts = (
        release(),
        eager,
        get_language(),
        post.pk,
        post.updated_at.isoformat(),
        event.slug,
        event.timezone,
        post.author.get_username(),
        author_payload(post.author)["display_name"],
    )
    return (
        "entry:" + hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).hexdigest()
    )


def rendered(posts: Sequence[Post], *, eager: int = 0) -> list[SafeString]:
    """The entries' HTML (blog/_post.html, as in live frames), from the cache where it has
    them (one read), rendered and kept otherwise. A cache that does not answer costs renders.
    The first `eager` entries' photos load at once (post_fragment)."""
    # Eager only where it changes the HTML (an entry with photos): a text entry that moves
    # down out of the first screen keeps its cached rendering.
    eagers = [n < eager and bool(post.ordered_images) for n, post in enumerate(posts)]
    keys = [_key(post, first) for post, first in zip(posts, eagers, strict=True)]
    try:
        found = caches["default"].get_many(keys) if keys else {}
    except Exception:
        logger.warning("entry cache unavailable", exc_info=True)
        found = {}
    fresh: dict[str, str] = {}
    html = []
    for post, key, eager_images in zip(posts, keys, eagers, strict=True):
        fragment = found.get(key)
        if fragment is None:
            fragment = fresh[key] = post_fragment(post, eager_images=eager_images)
        html.append(mark_safe(fragment))  # noqa: S308 - our own template's output
    if fresh:
        try:
            caches["default"].set_many(fresh, FRAGMENT_SECONDS)
        except Exception:
            logger.warning("entry cache unavailable", exc_info=True)
    return html
