"""An event's life from the editor: created by an admin from /editor/, then one button
each to go live, end (after a confirmation) and reopen (SPEC §4: editors and admins).

Each view parses, calls one service and redirects to the composer (PRG); the services
check permissions again and refuse a step the event is not ready for (WrongStatus: a page
that had not seen the last change), which comes back as a message, nothing changed.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from liveblog.blog import permissions, services
from liveblog.blog.models import Event
from liveblog.editor.forms import NewEventForm, add_service_errors
from liveblog.editor.views import _event_to_manage, refusals_as_403, writes_limited

# What each step says once done.
DONE = {
    "go_live": "The event is live: readers see it as live coverage.",
    "end": "The event has ended: it takes no new entries until it is reopened.",
    "reopen": "The event is live again: it takes new entries.",
}


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    """A new event (admins only: SPEC §4 "create events"); its creator becomes its editor."""
    if not permissions.can_create_event(request.user):
        raise PermissionDenied("Only admins can create events.")
    form = NewEventForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            event = services.event_create(actor=request.user, **form.service_arguments())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"Event “{event.title}” created. It is scheduled: go live when it starts."
            )
            return redirect("editor:compose", slug=event.slug)
    return render(request, "editor/event_new.html", {"form": form})


def _step(request: HttpRequest, slug: str, step: str) -> HttpResponse:
    event = _event_to_manage(request, slug)
    service = {
        "go_live": services.event_go_live,
        "end": services.event_end,
        "reopen": services.event_reopen,
    }[step]
    try:
        service(actor=request.user, event=event)
    except ValidationError as exc:  # WrongStatus (a stale page), or a rule of its times
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, DONE[step])
    return redirect("editor:compose", slug=event.slug)


@login_required
@writes_limited
@refusals_as_403
@require_POST
def event_go_live(request: HttpRequest, slug: str) -> HttpResponse:
    return _step(request, slug, "go_live")


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def event_end(request: HttpRequest, slug: str) -> HttpResponse:
    """GET asks to confirm (ending refuses every new entry: not a click to make by
    mistake, and the confirmation works without JavaScript); POST ends the event."""
    if request.method == "POST":
        return _step(request, slug, "end")
    event = _event_to_manage(request, slug)
    if event.status != Event.Status.LIVE:
        return redirect("editor:compose", slug=event.slug)
    return render(request, "editor/event_end.html", {"event": event})


@login_required
@writes_limited
@refusals_as_403
@require_POST
def event_reopen(request: HttpRequest, slug: str) -> HttpResponse:
    return _step(request, slug, "reopen")
