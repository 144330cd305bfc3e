"""What the public sees. Each view parses its input, calls selectors and renders."""

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from csp.decorators import csp_replace
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from liveblog.blog import selectors
from liveblog.blog.models import Event, Post
from liveblog.blog.rendering import plain_text

logger = logging.getLogger(__name__)


def _event_or_404(slug: str) -> Event:
    event = selectors.event_by_slug(slug)
    if event is None:
        raise Http404("No such event.")
    return event


def _order(request: HttpRequest, event: Event) -> str:
    order = request.GET.get("order") or event.order
    return order if order in Event.Order.values else event.order


def _cursor(request: HttpRequest) -> selectors.Cursor | None:
    value = request.GET.get("after")
    return selectors.Cursor.decode(value) if value else None


def _jsonld(data: dict[str, Any]) -> SafeString:
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above for a <script> data block


def _liveblog_jsonld(request: HttpRequest, event: Event, posts: list[Post]) -> SafeString:
    page_url = request.build_absolute_uri(event.get_absolute_url())
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": page_url,
        "url": page_url,
        "headline": event.title,
        "description": event.summary or event.title,
        "coverageStartTime": (event.starts_at or event.created_at).isoformat(),
        "datePublished": event.created_at.isoformat(),
        "dateModified": event.updated_at.isoformat(),
        "liveBlogUpdate": [
            {
                "@type": "BlogPosting",
                "headline": (post.headline or plain_text(post.body_html))[:110],
                "articleBody": plain_text(post.body_html),
                "datePublished": post.published_at.isoformat(),
                "dateModified": post.updated_at.isoformat(),
                "url": f"{page_url}#post-{post.pk}",
            }
            for post in posts
        ],
    }
    if event.status == Event.Status.ENDED:
        data["coverageEndTime"] = (event.ends_at or event.updated_at).isoformat()
    return _jsonld(data)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reader/home.html", selectors.events_for_home())


def _stream_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    order = _order(request, event)
    try:
        after = _cursor(request)
    except selectors.BadCursor as exc:
        raise ValueError(str(exc)) from None
    # event.last_seq was read with the event, before the entries: the page is at least as
    # new as `seq`, so catching up from it can only repeat changes (the client drops those).
    pinned = selectors.pinned_post(event) if after is None else None
    page = selectors.stream_page(event, order=order, after=after, include_pinned=False)
    return {"event": event, "order": order, "pinned": pinned, "page": page, "seq": event.last_seq}


@require_GET
def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    try:
        context = _stream_context(request, event)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    posts = ([context["pinned"]] if context["pinned"] else []) + context["page"].posts
    context["key_events"] = selectors.key_events(event)
    context["jsonld"] = _liveblog_jsonld(request, event, posts)
    context["canonical"] = request.build_absolute_uri(event.get_absolute_url())
    return render(request, "reader/event.html", context)


@require_GET
def entries_fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The next page of entries as HTML, for "load older" without a reload."""
    event = _event_or_404(slug)
    try:
        context = _stream_context(request, event)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    return render(request, "reader/_entries.html", context)


@require_GET
def post_page(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_or_404(slug)
    post = selectors.public_post(event, post_id)
    if post is None:
        raise Http404("No such entry.")
    context = {
        "event": event,
        "post": post,
        "description": plain_text(post.body_html)[:200],
        "canonical": request.build_absolute_uri(post.get_absolute_url()),
    }
    return render(request, "reader/post.html", context)


@require_GET
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})  # type: ignore[arg-type]  # stubs expect no kwargs
def embed_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    try:
        context = _stream_context(request, event)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    return render(request, "reader/embed.html", context)


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def healthz(request: HttpRequest) -> HttpResponse:
    checks: dict[str, str] = {}
    try:
        ok = await asyncio.wait_for(sync_to_async(_database_ok)(), timeout=3)
        checks["database"] = "ok" if ok else "error"
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "error"
    try:
        layer = get_channel_layer()
        assert layer is not None
        await asyncio.wait_for(layer.group_send("healthz", {"type": "healthz.ping"}), timeout=3)
        checks["channel_layer"] = "ok"
    except Exception as exc:
        logger.warning("healthz: channel layer check failed: %s", exc)
        checks["channel_layer"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", **checks}
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
