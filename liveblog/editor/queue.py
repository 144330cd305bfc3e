"""The approval queue on the composer page (SPEC §4): an editor approves a contributor's
submission as it is (or edits it first: the edit form's "Approve and publish"), sends it back
with a note, or rejects it; a contributor follows their own submissions there.

Without JavaScript each decision is a form that posts here and redirects to the composer
(PRG) with a message. static/js/queue.js posts the same forms asking for JSON, and gets the
message and the panel rendered again; it also re-reads the panel (`queue`) when the desk
says a submission changed. The services decide and refuse; a refusal (another editor was
first, the author changed the text since it was read) comes back as a message, never as a
half-done change.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from liveblog.blog import selectors, services
from liveblog.blog.models import Event, Post
from liveblog.blog.templatetags.liveblog_tags import display_name, event_clock
from liveblog.editor.views import _event_to_write, refusals_as_403, wants_json, writes_limited

PANEL = "editor/_queue.html"


def _panel(request: HttpRequest, event: Event) -> str:
    context = {"event": event, "queue": selectors.approval_queue(event, request.user)}
    return render_to_string(PANEL, context, request=request)


def _answer(request: HttpRequest, event: Event, message: str, *, status: int = 200) -> HttpResponse:
    """What a decision answers: the script gets the message and the panel as it is now; a
    browser's own form post goes back to the composer's queue with the message (PRG)."""
    if wants_json(request):
        body = {"message": message, "html": _panel(request, event), "ok": status == 200}
        return JsonResponse(body, status=status)
    messages.add_message(request, messages.SUCCESS if status == 200 else messages.ERROR, message)
    return redirect(f"{reverse('editor:compose', args=[event.slug])}#queue")


def _submission(request: HttpRequest, event: Event, post_id: int) -> Post:
    post = selectors.post_for_user(event, post_id, request.user)
    if post is None:  # someone else's submission is hidden from non-editors, as drafts are
        raise Http404("No such entry.")
    return post


def _refused(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _version(request: HttpRequest) -> int | None:
    """The version the editor read (the form's hidden input): approving text its author
    changed since is refused (services.StaleVersion)."""
    value = request.POST.get("version", "")
    return int(value) if value.isascii() and value.isdigit() else None  # not "²"


@login_required
@refusals_as_403
@never_cache
@require_http_methods(["GET", "HEAD"])
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The panel alone, for queue.js to swap in when a submission arrives or leaves."""
    event = _event_to_write(request, slug)
    return HttpResponse(_panel(request, event))


@login_required
@writes_limited
@refusals_as_403
@require_POST
def approve(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _submission(request, event, post_id)
    try:
        approved = services.post_approve(
            actor=request.user, post=post, expected_version=_version(request)
        )
    except services.StaleVersion:
        return _answer(
            request,
            event,
            f"{display_name(post.author)} changed this entry after you read it: nothing was "
            "published. Read it again, then approve.",
            status=409,
        )
    except ValidationError as exc:  # decided already, event ended, a photo without alt
        return _answer(request, event, _refused(exc), status=409)
    if approved.status == Post.Status.SCHEDULED:
        when = event_clock(approved.published_at, event)
        return _answer(request, event, f"Approved: scheduled for {when}.")
    return _answer(request, event, f"Approved: {display_name(post.author)}'s entry is published.")


@login_required
@writes_limited
@refusals_as_403
@require_POST
def send_back(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _submission(request, event, post_id)
    try:
        services.post_send_back(actor=request.user, post=post, note=request.POST.get("note", ""))
    except ValidationError as exc:
        return _answer(request, event, _refused(exc), status=409 if _decided(exc) else 400)
    return _answer(request, event, f"Sent back to {display_name(post.author)} with your note.")


@login_required
@writes_limited
@refusals_as_403
@require_POST
def reject(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _submission(request, event, post_id)
    try:
        services.post_reject(actor=request.user, post=post, note=request.POST.get("note", ""))
    except ValidationError as exc:
        return _answer(request, event, _refused(exc), status=409 if _decided(exc) else 400)
    author = display_name(post.author)
    return _answer(request, event, f"Rejected: removed; {author} sees that it was rejected.")


def _decided(exc: ValidationError) -> bool:
    return isinstance(exc, services.Conflict)
