"""An event's members from the editor's settings page (its editors and admins): find a
person to add (a search answering JSON to the page's combobox; without JavaScript the
username is typed and views.member_add looks it up), change a member's role, remove one
(after a confirmation). A removed member loses the event at once: every request re-reads
the membership (permissions.role_in), and the service tells their open desk pages.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from liveblog.blog import selectors, services
from liveblog.blog.models import Event, Membership
from liveblog.blog.payloads import author_payload
from liveblog.editor.forms import MemberRoleForm
from liveblog.editor.views import _event_to_manage, refusals_as_403, writes_limited


def _member(event: Event, user_id: int) -> Membership:
    membership = selectors.member_of(event, user_id)
    if membership is None:
        raise Http404("This person is not a member of the event.")
    return membership


@login_required
@refusals_as_403
@never_cache
@require_GET
def member_search(request: HttpRequest, slug: str) -> JsonResponse:
    """`?q=` → {"results": [{"username", "display_name", "role"}]}: active accounts only,
    `role` their role in this event if they are a member (else null). Editors only: the
    list of accounts is not for every reporter to browse."""
    event = _event_to_manage(request, slug)
    people = selectors.people_matching(request.GET.get("q", ""), event=event)
    results = [
        {**author_payload(person), "role": getattr(person, "member_role", None)}
        for person in people
    ]
    return JsonResponse({"results": results})


@login_required
@writes_limited
@refusals_as_403
@require_POST
def member_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    event = _event_to_manage(request, slug)
    membership = _member(event, user_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: contributor, reporter or editor.")
        return redirect("editor:event_settings", slug=event.slug)
    try:
        changed = services.membership_update(
            actor=request.user, event=event, user=membership.user, role=form.cleaned_data["role"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        role = changed.get_role_display().lower()
        messages.success(request, f"{membership.user.get_username()} is now {role}.")
    return redirect("editor:event_settings", slug=event.slug)


@login_required
@writes_limited
@refusals_as_403
@require_http_methods(["GET", "HEAD", "POST"])
def member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """GET asks to confirm (works without JavaScript); POST removes the member."""
    event = _event_to_manage(request, slug)
    membership = _member(event, user_id)
    if request.method != "POST":
        return render(
            request, "editor/member_remove.html", {"event": event, "membership": membership}
        )
    try:
        services.membership_remove(actor=request.user, event=event, user=membership.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{membership.user.get_username()} was removed: they lost access to the event.",
        )
    return redirect("editor:event_settings", slug=event.slug)
