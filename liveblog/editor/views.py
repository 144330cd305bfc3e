"""The reporters' and editors' interface (SPEC §4, §5).

Views parse the form, call one service and redirect (PRG), or re-render the form with the
service's errors next to its fields. The composer's script asks the same view for JSON
(`wants_json`) and publishes without a reload; without JavaScript the form posts as ever.
The services check permissions again and are the authority; the checks here only decide
what to show and answer early with 403.
"""

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from liveblog.blog import permissions, selectors, services
from liveblog.blog.models import Event, Membership, Post
from liveblog.blog.rendering import markdown_to_html
from liveblog.editor.forms import (
    EventSettingsForm,
    MemberForm,
    PostForm,
    TokenForm,
    add_service_errors,
    image_item,
)
from liveblog.editor.scheduled import panel_context, scheduled_message
from liveblog.http import ratelimit

View = Callable[..., HttpResponse]

# The submit button pressed: which status the entry gets, or a preview only.
ACTIONS: dict[str, str] = {"publish": Post.Status.PUBLISHED, "draft": Post.Status.DRAFT}


def wants_json(request: HttpRequest) -> bool:
    """The composer's script asks with `Accept: application/json`; a browser's own form post
    prefers HTML (and the test client's */* picks the first: HTML)."""
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def refusals_as_403(view: View) -> View:
    """Render PermissionDenied, from a check here or from a service, as the editor's 403
    (as JSON, SPEC §6's error shape, to the composer's script)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            reason = str(exc) or "You are not allowed to do this."
            if wants_json(request):
                return JsonResponse({"error": "forbidden", "detail": reason}, status=403)
            return render(request, "editor/403.html", {"reason": reason}, status=403)

    return wrapper


def _limited(
    counter: str, refusal: Callable[[HttpRequest, ratelimit.RateLimited], HttpResponse]
) -> Callable[[View], View]:
    """Every POST counts against the writer's and the address's limits, those of the API's
    writes (liveblog.http.ratelimit); over them, `refusal` answers 429 and nothing runs."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                try:
                    ratelimit.check_address(request, counter=counter)
                    ratelimit.check_user(request, counter=counter)
                except ratelimit.RateLimited as exc:
                    response = refusal(request, exc)
                    response["Retry-After"] = str(exc.retry_after)
                    return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _refusal_page(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    if wants_json(request):  # the script keeps the typed text in the form
        return _refusal_json(request, exc)
    # The text of a refused entry is shown back, so that waiting loses nothing.
    context = {"reason": str(exc), "body": request.POST.get("body", "")}
    return render(request, "editor/429.html", context, status=429)


def _refusal_json(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    body = {"error": "rate_limited", "detail": str(exc), "retry_after": exc.retry_after}
    return JsonResponse(body, status=429)


writes_limited = _limited("", _refusal_page)
# The live preview asks as the reporter types: a window of its own, so that typing can
# never use up the writes a reporter needs to publish.
previews_limited = _limited("preview", _refusal_json)


def _event_to_write(request: HttpRequest, slug: str) -> Event:
    event = selectors.event_by_slug(slug)
    if event is None:
        raise Http404("No such event.")
    if not permissions.can_write(request.user, event):
        raise PermissionDenied("You are not a member of this event.")
    return event


def _post_to_edit(request: HttpRequest, event: Event, post_id: int) -> Post:
    post = selectors.post_for_user(event, post_id, request.user)
    if post is None:
        raise Http404("No such entry.")
    if not permissions.can_edit_post(request.user, post):
        raise PermissionDenied("You can only change your own entries.")
    return post


def _composer_url(event: Event, post: Post | None = None) -> str:
    url = reverse("editor:compose", args=[event.slug])
    if post is None or post.deleted_at is not None:
        return url
    if post.status == Post.Status.SUBMITTED:
        return f"{url}#submission-{post.pk}"
    return f"{url}#{'post' if post.is_public else 'draft'}-{post.pk}"


def _preview(request: HttpRequest) -> str | None:
    if request.POST.get("action") != "preview":
        return None
    body = request.POST.get("body", "")
    limit = settings.LIVEBLOG_MAX_BODY_CHARS
    if len(body) > limit:  # as publishing would refuse it: never rendered
        return format_html(
            "<p>{}</p>",
            f"Too long to preview: at most {limit:,} characters (this has {len(body):,}).",
        )
    return markdown_to_html(body)


# --- pages ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "editor/home.html", {"events": selectors.events_for_editor(request.user)}
    )


def _composer_context(request: HttpRequest, event: Event, form: PostForm) -> dict[str, Any]:
    # event.last_seq was read before the entries, so catching up from it can only repeat
    # changes (the live client drops those), never miss one.
    order = Event.Order.NEWEST
    pinned = selectors.pinned_post(event)
    page = selectors.stream_page(event, order=order, include_pinned=False)
    shown = [pinned, *page.posts] if pinned else page.posts
    drafts = selectors.drafts_for_editor(event, request.user)
    return {
        "event": event,
        "form": form,
        "moderator": form.moderator,
        "can_manage": permissions.can_manage_event(request.user, event),
        "preview_html": _preview(request),
        "drafts": drafts,
        "queue": selectors.approval_queue(event, request.user),
        "pinned": pinned,
        "page": page,
        # Without JavaScript the entries carry no controls: list the ones I may change.
        "editable": [p for p in shown if form.moderator or p.author_id == request.user.pk],
        "order": order,
        "seq": event.last_seq,
        **panel_context(request, event),  # the Scheduled panel (editor/_scheduled.html)
    }


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def compose(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_to_write(request, slug)
    moderator = permissions.can_moderate(request.user, event)
    data = request.POST if request.method == "POST" else None
    status = ACTIONS.get(request.POST.get("action", ""))
    publishing = status == Post.Status.PUBLISHED
    form = PostForm(data, event=event, moderator=moderator, publishing=publishing)
    post = None
    if status and form.is_valid():  # a time ahead schedules it (form.status_for)
        post = _publish(request, event, form, form.status_for(status))
    if wants_json(request) and request.method == "POST":
        return _composed_json(request, event, form, post)
    if post is not None:
        messages.success(request, _published_message(post))
        # Back to an empty form at the top, ready for the next entry.
        return redirect(_composer_url(event))
    return render(request, "editor/compose.html", _composer_context(request, event, form))


def _published_message(post: Post) -> str:
    if post.status == Post.Status.SUBMITTED:
        return "Submitted for approval: an editor will publish it."
    if post.status == Post.Status.SCHEDULED:
        return scheduled_message(post)
    return "Published." if post.is_public else "Draft saved."


def _composed_json(
    request: HttpRequest, event: Event, form: PostForm, post: Post | None
) -> JsonResponse:
    """The composer's script publishing without a reload: the new entry's id and a token for
    the next form (one token per entry: the last one would return this entry again), or the
    form's errors by field in SPEC §6's shape. A published entry reaches the page through
    the live socket, like everyone else's; a draft comes back rendered for the drafts list."""
    if post is None:
        errors = form.errors.get_json_data()
        fields = {name: [e["message"] for e in found] for name, found in errors.items()}
        general = fields.pop(NON_FIELD_ERRORS, None) or (
            ["Choose Publish or Save draft."] if not fields else []
        )
        detail = " ".join(general) or "Some fields need a change: see beside them."
        body = {"error": "invalid", "detail": detail, "fields": fields}
        return JsonResponse(body, status=400)
    answer: dict[str, Any] = {
        "id": post.pk,
        "status": post.status,
        "message": _published_message(post),
        "token": PostForm.new_token(),
    }
    # Submissions are in the queue panel, scheduled entries in theirs.
    if post.status not in (Post.Status.PUBLISHED, Post.Status.SCHEDULED, Post.Status.SUBMITTED):
        answer["html"] = render_to_string(
            "editor/_draft.html", {"post": post, "event": event}, request=request
        )
    return JsonResponse(answer, status=201)


def _publish(request: HttpRequest, event: Event, form: PostForm, status: str) -> Post | None:
    data = form.cleaned_data
    token = data.get("token")
    try:
        post, _created = services.post_compose(
            event=event,
            author=request.user,
            images=data["images"],
            body=data["body"],
            headline=data["headline"],
            published_at=data.get("published_at"),
            is_key_event=bool(data["is_key_event"]),
            is_pinned=bool(data["is_pinned"]),
            is_breaking=bool(data["is_breaking"]),
            status=status,
            idempotency_key=f"editor-{request.user.pk}-{token}" if token else None,
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None
    # What was typed is an entry now: its autosaved copy goes (liveblog/editor/autosave.py).
    services.draft_discard(user=request.user, event=event)
    return post


@login_required
@previews_limited
@refusals_as_403
@never_cache
@require_POST
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The body as readers would see it: the same renderer and sanitiser as publishing."""
    _event_to_write(request, slug)
    body = request.POST.get("body", "")
    if len(body) > settings.LIVEBLOG_MAX_BODY_CHARS:
        return HttpResponse("Too long to preview.", status=413, content_type="text/plain")
    return HttpResponse(markdown_to_html(body), content_type="text/html; charset=utf-8")


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def post_edit(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _post_to_edit(request, event, post_id)
    moderator = permissions.can_moderate(request.user, event)
    data = request.POST if request.method == "POST" else None
    status = ACTIONS.get(request.POST.get("action", ""))
    publishing = status == Post.Status.PUBLISHED
    form = PostForm(data, event=event, moderator=moderator, post=post, publishing=publishing)
    if status and form.is_valid():
        status = form.status_for(status, post)
        changes = form.changes_to(post)
        if status != post.status:
            changes["status"] = status
        if not changes and not form.images_differ(post):
            messages.info(request, "No changes to save.")
            return redirect(_composer_url(event, post))
        try:
            updated = services.post_revise(
                actor=request.user,
                post=post,
                changes=changes,
                images=form.cleaned_data["images"],
                expected_version=form.cleaned_data.get("version"),
            )
        except services.StaleVersion as exc:
            return _edit_conflict(
                request, event, exc.current, moderator=moderator, publishing=publishing
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            services.draft_discard(user=request.user, event=event, post=post)
            messages.success(request, _update_message(post, updated))
            return redirect(_composer_url(event, updated))
    context = {
        "event": event,
        "post": post,
        "form": form,
        "moderator": moderator,
        "preview_html": _preview(request),
    }
    return render(request, "editor/post_edit.html", context)


CONFLICT_MESSAGE = (
    "Someone else changed this entry while you were editing it: nothing of yours was saved."
    " Their version is shown above yours; merge what you need into your text, or save"
    " again to replace theirs with yours."
)


def _edit_conflict(
    request: HttpRequest, event: Event, current: Post, *, moderator: bool, publishing: bool
) -> HttpResponse:
    """A save based on an old version, refused (409): the form comes back with exactly what
    was typed, the other person's current entry beside it, and the current version in the
    hidden input, so that saving again is a deliberate overwrite."""
    editor = selectors.post_last_editor(current)
    if wants_json(request):
        body = {
            "error": "conflict",
            "detail": CONFLICT_MESSAGE,
            "version": current.version,
            "current": {
                "headline": current.headline,
                "body": current.body,
                "body_html": current.body_html,
                "updated_at": current.updated_at.isoformat(),
                "updated_by": editor,
            },
        }
        return JsonResponse(body, status=409)
    data = request.POST.copy()
    data["version"] = str(current.version)
    form = PostForm(data, event=event, moderator=moderator, post=current, publishing=publishing)
    form.is_valid()  # valid before, with the same input: bound again only for the new version
    form.add_error(None, CONFLICT_MESSAGE)
    context = {
        "event": event,
        "post": current,
        "form": form,
        "moderator": moderator,
        "preview_html": None,
        "conflict": {"post": current, "editor": editor},
    }
    return render(request, "editor/post_edit.html", context, status=409)


@login_required
@writes_limited
@refusals_as_403
@never_cache
@require_POST
def image_upload(request: HttpRequest, slug: str) -> HttpResponse:
    """A photo of the entry being written, uploaded as soon as it is picked, dropped or
    pasted (static/js/uploads.js), before its alt text is typed: publishing asks for it
    (services.image_upload's describe_later). Not the API's route, which SPEC §6 makes
    refuse an upload without alt. Answers the photo's item of the form, rendered as the
    form renders it, or the refusal's sentence in SPEC §6's error shape."""
    event = _event_to_write(request, slug)
    file = request.FILES.get("file")
    if file is None:
        return _invalid({"file": ["Choose a photo to upload."]})
    try:
        image = services.image_upload(
            actor=request.user, event=event, file=file, describe_later=True
        )
    except ValidationError as exc:
        return _invalid(exc.message_dict)
    html = render_to_string("editor/_image_item.html", {"item": image_item(image)}, request=request)
    return JsonResponse({"id": image.pk, "html": html}, status=201)


def _invalid(fields: dict[str, list[str]]) -> JsonResponse:
    detail = " ".join(message for messages in fields.values() for message in messages)
    return JsonResponse({"error": "invalid", "detail": detail, "fields": fields}, status=400)


def _update_message(before: Post, after: Post) -> str:
    if after.status == Post.Status.SCHEDULED:
        return scheduled_message(after)
    if before.status == after.status:
        return "Entry updated."
    if after.status == Post.Status.SUBMITTED:
        return "Submitted for approval: an editor will publish it."
    if before.status == Post.Status.SUBMITTED and after.is_public:
        return "Approved and published."
    return "Published." if after.is_public else "Moved to drafts."


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def post_delete(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    event = _event_to_write(request, slug)
    post = _post_to_edit(request, event, post_id)
    if request.method == "POST":
        services.post_delete(actor=request.user, post=post)
        messages.success(request, "Entry removed.")
        return redirect(_composer_url(event))
    return render(request, "editor/post_delete.html", {"event": event, "post": post})


# --- event settings and members (editors) ------------------------------------------------


def _event_to_manage(request: HttpRequest, slug: str) -> Event:
    event = _event_to_write(request, slug)
    if not permissions.can_manage_event(request.user, event):
        raise PermissionDenied("Only the event's editors can change its settings.")
    return event


def _settings_page(
    request: HttpRequest,
    event: Event,
    form: EventSettingsForm,
    member_form: MemberForm,
    *,
    conflict: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "event": event,
        "form": form,
        "member_form": member_form,
        "members": selectors.event_members(event),
        "role_choices": Membership.Role.choices,
        "conflict": conflict,
    }
    return render(request, "editor/event_settings.html", context, status=status)


def _shown(field: Any, value: Any) -> str:
    """A setting as its form shows it (a time in the event's zone, a choice's label)."""
    if value in (None, ""):
        return "(empty)"
    if isinstance(value, datetime):
        return str(field.widget.format_value(field.prepare_value(value)))
    choices = dict(getattr(field, "choices", ()))
    return str(choices.get(value, value))


SETTINGS_CONFLICT_MESSAGE = (
    "Someone else changed this event's settings while you were editing them: nothing of"
    " yours was saved. Their values are shown beside yours; keep yours, change them, and"
    " save again to replace theirs."
)


def _settings_conflict(
    request: HttpRequest, current: Event, form: EventSettingsForm
) -> HttpResponse:
    """A save based on an old version, refused (409): the form comes back with exactly
    what was typed, the other person's values beside it where they differ, and the current
    version in the hidden input, so that saving again is a deliberate overwrite."""
    data = request.POST.copy()
    data["version"] = str(current.version)
    again = EventSettingsForm(data, event=current)
    again.is_valid()  # valid before, with the same input: bound again for the new version
    again.add_error(None, SETTINGS_CONFLICT_MESSAGE)
    rows = []
    for name, field in again.fields.items():
        if name == "version" or name not in form.cleaned_data:
            continue
        theirs, yours = _shown(field, again[name].initial), _shown(field, form.cleaned_data[name])
        if theirs != yours:
            rows.append({"label": field.label or name, "theirs": theirs, "yours": yours})
    return _settings_page(request, current, again, MemberForm(), conflict=rows, status=409)


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def event_settings(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_to_manage(request, slug)
    data = request.POST if request.method == "POST" else None
    form = EventSettingsForm(data, event=event)
    if form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "No changes to save.")
            return HttpResponseRedirect(request.path)
        try:
            services.event_update(
                actor=request.user,
                event=event,
                changes=changes,
                expected_version=form.cleaned_data.get("version"),
            )
        except services.StaleEventVersion as exc:
            return _settings_conflict(request, exc.current, form)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Event settings saved.")
            return HttpResponseRedirect(request.path)
    return _settings_page(request, event, form, MemberForm())


@login_required
@writes_limited
@refusals_as_403
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_to_manage(request, slug)
    form = MemberForm(request.POST)
    if form.is_valid():
        user = form.cleaned_data["username"]
        try:
            membership = services.membership_add(
                actor=request.user,
                event=event,
                user=user,
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            role = membership.get_role_display().lower()
            messages.success(request, f"{user.get_username()} added as {role}.")
            return redirect("editor:event_settings", slug=event.slug)
    return _settings_page(request, event, EventSettingsForm(event=event), form)


# --- API tokens (each user their own) ----------------------------------------------------


@login_required
@writes_limited
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens, and a form for a new one. A new token's key is shown in the
    answer to the POST, once, and never stored (nor put in a session or a cookie): that
    answer is not cached anywhere (never_cache)."""
    form = TokenForm(request.POST if request.method == "POST" else None)
    created = key = None
    if form.is_valid():
        try:
            created, key = services.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = TokenForm()
    context = {
        "form": form,
        "tokens": selectors.tokens_of(request.user),
        "created": created,
        "key": key,
    }
    return render(request, "editor/tokens.html", context)


@login_required
@writes_limited
@require_http_methods(["GET", "HEAD", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.token_of(request.user, token_id)
    if token is None:
        raise Http404("No such token.")
    if request.method == "POST":
        services.token_revoke(actor=request.user, token=token)
        messages.success(request, f"Token “{token.name or token.prefix}” revoked.")
        return redirect("editor:tokens")
    return render(request, "editor/token_revoke.html", {"token": token})
