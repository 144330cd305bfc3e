"""HTTP caching of the public pages and API lists: a CDN may keep them, readers stay fresh.

An event page's version is its event's `last_seq`: every change a reader can see bumps it in
the writing transaction (SPEC §3), so the ETag changes exactly when the page would. A cached
copy is never a stale first load either: the page carries `data-seq`, and its live
connection asks for everything after that seq. So a shared cache may hold a page for a few
seconds (`s-maxage`) and browsers always revalidate (`max-age=0`), which costs one indexed
query and a 304 when nothing changed.

The pages do not depend on who is asking (no session, no CSRF token), so they are `public`.
"""

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition

from liveblog.blog import selectors
from liveblog.blog.branding import Brand
from liveblog.blog.models import Change, Event
from liveblog.live.history import stamp_of

logger = logging.getLogger(__name__)

# Shared caches may serve a page this many seconds old; the live connection brings the rest.
SHARED_MAX_AGE = 10
STALE_WHILE_REVALIDATE = 30

_EVENT_ATTR = "_liveblog_event"
_EVENTS_LIST_ATTR = "_liveblog_events_list"


@cache
def release() -> str:
    """A digest of what renders the pages (templates, static files, translations): a deploy
    that changes them changes every ETag, without anyone remembering to bump a version.
    SECRET_KEY is in it too (through an HMAC, so the ETag tells nothing of it): a cached
    page's CSP nonce is derived from its ETag under that key (middleware.ContentSecurityPolicy),
    so a rotated key must not find pages whose markup names the old key's nonces."""
    digest = hashlib.sha256()
    digest.update(hmac.new(settings.SECRET_KEY.encode(), b"release", hashlib.sha256).digest())
    roots = [settings.BASE_DIR / "templates", *settings.STATICFILES_DIRS, *settings.LOCALE_PATHS]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def with_last_change(events: QuerySet[Event]) -> QuerySet[Event]:
    """Annotate `last_change_at`: when the event's latest change was recorded (by the
    (event, seq) unique index, one row read per event)."""
    latest = Change.objects.filter(event=OuterRef("pk")).order_by("-seq").values("created_at")
    return events.annotate(last_change_at=Subquery(latest[:1]))


def changed_at(event: Event) -> datetime:
    """When anything a reader sees of the event last changed."""
    last_change = getattr(event, "last_change_at", None)
    return max(event.updated_at, last_change) if last_change else event.updated_at


def event_for(request: HttpRequest, slug: str) -> Event | None:
    """The event, read once per request: the ETag, Last-Modified and the page all see the
    same row, so the ETag names the `last_seq` the page carries."""
    memo: dict[str, Event | None] = request.__dict__.setdefault(_EVENT_ATTR, {})
    if slug not in memo:
        memo[slug] = with_last_change(Event.objects.filter(slug=slug)).first()
    return memo[slug]


def _etag(request: HttpRequest, *parts: object) -> str:
    # Weak: two responses with one tag are equivalent, not byte-identical (a proxy may
    # compress them). The URL is in it so that a tag is never valid for another resource:
    # scheme and host too, since pages carry absolute links built from them (canonical,
    # feed, JSON-LD), and the render cache keeps pages under this tag.
    url = request.build_absolute_uri()
    key = "|".join(map(str, (release(), get_language(), url, *parts)))
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _safe(request: HttpRequest) -> bool:
    return request.method in ("GET", "HEAD")


def event_etag(request: HttpRequest, slug: str, **kwargs: Any) -> str | None:
    """The tag of the event's API resource: the event's state."""
    event = event_for(request, slug) if _safe(request) else None
    if event is None:
        return None
    return _etag(request, event.pk, event.last_seq, event.updated_at.isoformat())


def brand_for(request: HttpRequest) -> Brand:
    """The site's brand, read once per request (selectors.site_brand is a cache read): the
    ETag, Last-Modified, the base template and the structured data all name it."""
    memo = request.__dict__
    if "_liveblog_brand" not in memo:
        memo["_liveblog_brand"] = selectors.site_brand()
    brand: Brand = memo["_liveblog_brand"]
    return brand


def page_etag(request: HttpRequest, slug: str, **kwargs: Any) -> str | None:
    """The tag of an event's page: the event's state and the site's brand (name, logo and
    accent are on every page: an admin's change must reach no reader as a cached copy)."""
    event = event_for(request, slug) if _safe(request) else None
    if event is None:
        return None
    # Asked by the conditional check and again by the render cache: computed once.
    memo: dict[str, str] = request.__dict__.setdefault("_liveblog_etags", {})
    if slug not in memo:
        brand = brand_for(request).version
        memo[slug] = _etag(
            request, event.pk, event.last_seq, event.updated_at.isoformat(), f"brand{brand}"
        )
    request.__dict__[_PAGE_TAG_ATTR] = memo[slug]
    return memo[slug]


_PAGE_TAG_ATTR = "_liveblog_page_tag"


def page_tag(request: HttpRequest) -> str | None:
    """The ETag of the event page this request is answered with, once the conditional check
    has computed it: everything the page shows is named by it (liveblog/middleware.py ties
    the page's CSP nonce to it, so a cached copy and its 304s name the same nonce)."""
    return request.__dict__.get(_PAGE_TAG_ATTR)


def event_last_modified(request: HttpRequest, slug: str, **kwargs: Any) -> datetime | None:
    event = event_for(request, slug) if _safe(request) else None
    return changed_at(event) if event is not None else None


def page_last_modified(request: HttpRequest, slug: str, **kwargs: Any) -> datetime | None:
    """As the API resource's, moved on by a change of the site's brand too: a cache that
    revalidates by date alone must not keep a page of the old brand."""
    changed = event_last_modified(request, slug)
    brand = brand_for(request).updated_at
    return max(changed, brand) if changed and brand else changed


def _events_list_state(request: HttpRequest) -> dict[str, Any]:
    if not hasattr(request, _EVENTS_LIST_ATTR):
        # The list shows every event's last_seq, which only grows: its sum moves with any
        # change; the count and the newest id move with removals and additions.
        state = Event.objects.aggregate(
            count=Count("id"), top=Max("id"), seqs=Sum("last_seq"), updated=Max("updated_at")
        )
        state["changed"] = (
            Change.objects.order_by("-id").values_list("created_at", flat=True).first()
        )
        setattr(request, _EVENTS_LIST_ATTR, state)
    return getattr(request, _EVENTS_LIST_ATTR)


def events_list_etag(request: HttpRequest, **kwargs: Any) -> str | None:
    if not _safe(request):
        return None
    state = _events_list_state(request)
    return _etag(request, state["count"], state["top"], state["seqs"], state["updated"])


def events_list_last_modified(request: HttpRequest, **kwargs: Any) -> datetime | None:
    if not _safe(request):
        return None
    state = _events_list_state(request)
    times = [t for t in (state["updated"], state["changed"]) if t is not None]
    return max(times) if times else None


View = Callable[..., Any]


def public_page(view: View) -> View:
    """ETag and Last-Modified from the event's state, answered with 304 when unchanged, a
    Cache-Control that lets a CDN share the page for a few seconds, and gzip (the pages hold
    no secret for a compression side channel to reveal)."""
    conditional = condition(etag_func=page_etag, last_modified_func=page_last_modified)(view)
    conditional = gzip_page(conditional)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = conditional(request, *args, **kwargs)
        patch_cache_control(
            response,
            public=True,
            max_age=0,
            s_maxage=SHARED_MAX_AGE,
            stale_while_revalidate=STALE_WHILE_REVALIDATE,
        )
        return response

    return wrapper


RENDER_CACHE_SECONDS = 300
# The query parameters an event page reads (liveblog/reader/views.py).
PAGE_PARAMETERS = frozenset({"order", "after"})


def rendered_once(view: View) -> View:
    """Keep the rendered page in the cache under its ETag: the tag names everything the page
    depends on (release, language, path and query, the event's last_seq), so an entry never
    needs invalidating — a change makes a new tag. A cache that does not answer (Redis down)
    only costs a render."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, **kwargs: Any) -> Any:
        tag = page_etag(request, slug)
        if tag is None:
            return view(request, slug, **kwargs)
        key = "page:" + tag
        try:
            hit = caches["default"].get(key)
        except Exception:
            hit = None
        if hit is not None:
            content, content_type = hit
            return HttpResponse(content, content_type=content_type)
        response = view(request, slug, **kwargs)
        # Only the page's own parameters make a cached rendering: anything else (a tracking
        # tag, a random one to dodge caches) would fill Redis with copies of one page.
        own = set(request.GET) <= PAGE_PARAMETERS
        if own and response.status_code == 200 and not response.streaming:
            try:
                caches["default"].set(
                    key, (response.content, response["Content-Type"]), RENDER_CACHE_SECONDS
                )
            except Exception:
                logger.warning("page cache unavailable", exc_info=True)
        return response

    return wrapper


# The change log after a seq: every reader at one state asks the same URL, so a shared cache
# may answer them all for a second (nginx collapses their misses into one request, deploy/
# nginx.conf). A second old is what a poll every few seconds tolerates, and never wrong: an
# answer carries its own last_seq, and the next poll asks from there (no gap, no duplicate).
CHANGES_MAX_AGE = 1


def changes_kept_until() -> str:
    """`X-Accel-Expires` for the change log: nginx may keep the answer until the end of the
    second it was made in (an absolute time, `@<epoch second>`). nginx counts whole seconds:
    given `max-age=1` it keeps an answer made at 10.0 until 12.0, so a poll could get one up to
    2 s old, and 10,000 readers polling every 5 s had a change after up to 7.0 s (bench/
    pollers.py; the issue asks for the poll interval + 1 s). Until the end of its second, no
    answer is ever more than 1 s old, and nginx asks the origin at most once a second per URL
    still. nginx does not pass the header on (X-Accel-* never reaches clients); Cache-Control
    stays what a CDN and browsers read."""
    return f"@{int(time.time())}"


def changes_etag(slug: str, since: int, event_id: int, stamp: int, last_seq: int) -> str:
    """The tag of `/changes/?since=`: the answer depends on the resource (slug, since), the
    event (its id and creation stamp: a recreated database reuses ids) and its last seq
    alone (a retold frame always comes with a new seq). No language or release: the body is
    the log's JSON. The fast path (liveblog/api/fast.py) computes it from Redis alone."""
    key = "|".join(map(str, ("changes", slug, since, event_id, stamp, last_seq)))
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def anonymous(request: HttpRequest) -> bool:
    """No credentials at all: the answer is the same for everyone who asks so."""
    return "Authorization" not in request.headers and (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def _changes_state_etag(
    request: HttpRequest, slug: str, since: int = 0, **kwargs: Any
) -> str | None:
    event = event_for(request, slug) if _safe(request) else None
    if event is None:
        return None
    return changes_etag(slug, since, event.pk, stamp_of(event.created_at), event.last_seq)


def conditional_changes(view: View) -> View:
    """ETag from the event's state, 304 when unchanged, and a Cache-Control that lets shared
    caches keep an anonymous answer CHANGES_MAX_AGE seconds (with credentials: always
    revalidate, the API frame's `no-cache`)."""
    conditional = condition(etag_func=_changes_state_etag)(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = conditional(request, *args, **kwargs)
        if response.status_code in (200, 304) and anonymous(request):
            response["Cache-Control"] = (
                f"public, max-age={CHANGES_MAX_AGE}, s-maxage={CHANGES_MAX_AGE}"
            )
            response["X-Accel-Expires"] = changes_kept_until()
        return response

    return wrapper


# For the API's lists: its own frame sets Cache-Control (`no-cache`: always revalidate).
conditional_event_list = condition(
    etag_func=events_list_etag, last_modified_func=events_list_last_modified
)
conditional_event_resource = condition(etag_func=event_etag, last_modified_func=event_last_modified)
