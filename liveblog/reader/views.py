"""What the public sees. Each view parses its input, calls selectors and renders.

The pages are the same for every reader (no session, no CSRF token), so a CDN may share
them: see liveblog/http/caching.py for how they stay fresh.
"""

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_replace
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from liveblog.blog import selectors
from liveblog.blog.models import MAX_BIGINT, Event
from liveblog.http import caching
from liveblog.reader import structured_data, summaries

logger = logging.getLogger(__name__)

EMBED_WIDTH, EMBED_HEIGHT = 600, 800


def _event_or_404(request: HttpRequest, slug: str) -> Event:
    event = caching.event_for(request, slug)
    if event is None:
        raise Http404(_("There is no such event."))
    return event


def _order(request: HttpRequest, event: Event) -> str:
    order = request.GET.get("order") or event.order
    if order not in Event.Order.values:
        raise BadRequest(_("order must be “newest” or “oldest”."))
    return order


def _cursor(request: HttpRequest) -> selectors.Cursor | None:
    value = request.GET.get("after")
    if not value:
        return None
    try:
        return selectors.Cursor.decode(value)
    except selectors.BadCursor:
        raise BadRequest(
            _("“after” is not a position in this stream: follow the “Load older” link.")
        ) from None


def _bad_request(request: HttpRequest, exc: BadRequest) -> HttpResponse:
    return render(request, "reader/bad_request.html", {"message": str(exc)}, status=400)


def _stream_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    order = _order(request, event)
    after = _cursor(request)
    # event.last_seq was read with the event, before the entries: the page is at least as
    # new as `seq`, so catching up from it can only repeat changes (the client drops those).
    pinned = selectors.pinned_post(event) if after is None else None
    page = selectors.stream_page(event, order=order, after=after, include_pinned=False)
    return {
        "event": event,
        "order": order,
        "after": after,
        "pinned": pinned,
        "page": page,
        "seq": event.last_seq,
        "site_name": structured_data.site_name(request),
    }


def _oembed_link(request: HttpRequest, page_url: str) -> str:
    query = urlencode({"url": page_url, "format": "json"})
    return request.build_absolute_uri(f"{reverse('reader:oembed')}?{query}")


@require_safe
@cache_control(public=True, max_age=0, s_maxage=caching.SHARED_MAX_AGE)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reader/home.html", selectors.events_for_home())


@require_safe
@caching.public_page
@caching.rendered_once
def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(request, slug)
    try:
        context = _stream_context(request, event)
    except BadRequest as exc:
        return _bad_request(request, exc)
    posts = ([context["pinned"]] if context["pinned"] else []) + context["page"].posts
    canonical = request.build_absolute_uri(event.get_absolute_url())
    modified = max([event.updated_at] + [p.updated_at for p in posts])
    context.update(
        key_events=selectors.key_events(event),
        jsonld=structured_data.script_json(
            structured_data.live_blog_posting(request, event, posts, modified)
        ),
        canonical=canonical,
        oembed=_oembed_link(request, canonical),
        modified=modified,
        share_image=structured_data.event_share_image(request, posts),
    )
    return render(request, "reader/event.html", context)


@require_safe
@caching.public_page
def entries_fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The next page of entries as HTML, for "load older" without a reload."""
    event = _event_or_404(request, slug)
    try:
        context = _stream_context(request, event)
    except BadRequest as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return render(request, "reader/_entries.html", context)


@require_safe
@caching.public_page
def post_page(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_or_404(request, slug)
    post = selectors.public_post(event, post_id) if post_id <= MAX_BIGINT else None
    if post is None:
        raise Http404(_("There is no such entry."))
    canonical = request.build_absolute_uri(post.get_absolute_url())
    context = {
        "event": event,
        "post": post,
        "title": summaries.entry_title(post, event),
        "description": summaries.excerpt(post.body_html, 40),
        "canonical": canonical,
        "event_url": request.build_absolute_uri(event.get_absolute_url()),
        "oembed": _oembed_link(request, canonical),
        "jsonld": structured_data.script_json(structured_data.blog_posting(request, post)),
        "site_name": structured_data.site_name(request),
        "share_image": structured_data.post_share_image(request, post),
    }
    return render(request, "reader/post.html", context)


@require_safe
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
@caching.public_page
def embed_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The live stream alone, for an <iframe> on other sites: the only framable page."""
    event = _event_or_404(request, slug)
    try:
        context = _stream_context(request, event)
    except BadRequest as exc:
        return _bad_request(request, exc)
    context["canonical"] = request.build_absolute_uri(event.get_absolute_url())
    return render(request, "reader/embed.html", context)


def _dimension(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # isdigit() alone takes "²"
        raise BadRequest(_("%(name)s must be a positive whole number of pixels.") % {"name": name})
    return min(default, int(raw))


def _embeddable_event(request: HttpRequest, url: str) -> Event:
    """The event behind one of this site's event, entry or embed addresses."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc.lower() != request.get_host().lower():
        raise Http404(_("That address is not a page of this site."))
    try:
        match = resolve(parts.path or "/")
    except Resolver404:
        raise Http404(_("That address is not an event page.")) from None
    if match.view_name not in ("reader:event", "reader:post", "reader:embed"):
        raise Http404(_("That address is not an event page."))
    return _event_or_404(request, match.kwargs["slug"])


@require_safe
@cache_control(public=True, max_age=300)
def oembed(request: HttpRequest) -> HttpResponse:
    """oEmbed 1.0 (https://oembed.com): the embed widget of an event, as a `rich` type."""
    try:
        if request.GET.get("format", "json") != "json":
            return HttpResponse(_("Only the json format is served."), status=501)
        url = request.GET.get("url")
        if not url:
            raise BadRequest(_("url is required: the address of an event page."))
        width = _dimension(request, "maxwidth", EMBED_WIDTH)
        height = _dimension(request, "maxheight", EMBED_HEIGHT)
    except BadRequest as exc:
        return JsonResponse({"error": "bad_request", "detail": str(exc)}, status=400)
    event = _embeddable_event(request, url)
    origin = f"{request.scheme}://{request.get_host()}"
    iframe = render_to_string(
        "reader/_iframe.html", {"event": event, "origin": origin, "width": width, "height": height}
    ).strip()
    return JsonResponse(
        {
            "version": "1.0",
            "type": "rich",
            "title": event.title,
            "provider_name": structured_data.site_name(request),
            "provider_url": request.build_absolute_uri(reverse("reader:home")),
            "html": iframe,
            "width": width,
            "height": height,
            "cache_age": 300,
        }
    )


@require_safe
@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def site_logo(request: HttpRequest, version: int, extension: str) -> HttpResponse:
    """The admin's logo, under an address that names its version: cached for a year, and a
    new logo is a new address (pages name it, and their ETags the version)."""
    row = selectors.site_logo(version) if version <= MAX_BIGINT else None
    if row is None or row.logo_type.rpartition("/")[2] != extension:
        raise Http404(_("There is no such logo."))
    response = HttpResponse(bytes(row.logo), content_type=row.logo_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def brand_css(request: HttpRequest, version: int) -> HttpResponse:
    """The admin's accent as CSS custom properties: a stylesheet of its own, since the CSP
    allows no inline style (style-src 'self'). Under an address that names the brand's
    version, cached for a year; an older version's address answers the current colours,
    briefly cached (a page a shared cache still holds asks for it)."""
    brand = selectors.site_brand()
    css = render_to_string("reader/brand.css", {"brand": brand})
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    if version == brand.version:
        patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    else:
        patch_cache_control(response, public=True, max_age=60)
    return response


@require_safe
@cache_control(public=True, max_age=3600)
def robots_txt(request: HttpRequest) -> HttpResponse:
    sitemap = request.build_absolute_uri(reverse("reader:sitemap-index"))
    lines = [
        "User-agent: *",
        "Disallow: /editor/",
        "Disallow: /admin/",
        "Disallow: /api/",
        f"Sitemap: {sitemap}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
