"""An entry's history for its event's editors (SPEC §4: see and restore revisions): every
revision with who saved it, when, what changed and a word-level diff against the one before,
and a button that restores it (services.post_restore: a new revision, pushed live).

The diff is built from the source text as typed, escaped word by word: a body is never
rendered as HTML here, so a `<script>` typed into an entry shows as text.
"""

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from liveblog.blog import permissions, selectors, services
from liveblog.blog.models import Event, Image, Post, Revision
from liveblog.blog.payloads import author_payload
from liveblog.blog.rendering import local_format
from liveblog.editor.views import refusals_as_403, writes_limited

# A word with the spaces after it, or the spaces that open the text: joined again, the
# tokens are the text exactly, so what is unchanged is shown as typed (line breaks kept).
WORDS = re.compile(r"\S+\s*|\s+")
# How the history names a moment: "10:52 a.m., 1 Dec" in the event's zone.
MOMENT = "P, j M"

FLAGS = (
    ("is_key_event", "Marked as a key event", "No longer a key event"),
    ("is_pinned", "Pinned", "Unpinned"),
    ("is_breaking", "Marked as breaking", "No longer breaking"),
)


def _marked(tag: str, words: Sequence[str]) -> str:
    """The words in <tag>, the spaces after the last one outside it (a mark ends with its
    word, not under the next space)."""
    text = "".join(words)
    core = text.rstrip()
    return format_html("<{}>{}</{}>{}", tag, core, tag, text[len(core) :]) if core else escape(text)


def word_diff(before: str, after: str) -> SafeString:
    """`after` with the words added since `before` in <ins> and those gone in <del>, every
    piece escaped."""
    old, new = WORDS.findall(before), WORDS.findall(after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    parts: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(new[j1:j2])))
            continue
        if i2 > i1:
            parts.append(_marked("del", old[i1:i2]))
        if j2 > j1:
            parts.append(_marked("ins", new[j1:j2]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


def _photo_name(pk: int, images: Mapping[int, Image]) -> str:
    image = images.get(pk)
    if image is None:
        return "a photo deleted since"
    label = image.alt or image.caption
    return f"“{label}”" if label else "a photo"


def _photo_changes(
    before: Sequence[int], after: Sequence[int], images: Mapping[int, Image]
) -> list[str]:
    added = [pk for pk in after if pk not in before]
    removed = [pk for pk in before if pk not in after]
    said = [f"Photo added: {_photo_name(pk, images)}" for pk in added]
    said += [f"Photo removed: {_photo_name(pk, images)}" for pk in removed]
    kept_before = [pk for pk in before if pk in after]
    kept_after = [pk for pk in after if pk in before]
    if kept_before != kept_after:
        said.append("Photos reordered")
    return said


def changes_between(
    before: Revision | None, after: Revision, *, event: Event, images: Mapping[int, Image]
) -> list[str]:
    """What `after` changed of `before` (None: the entry's first revision), in words."""
    status = Post.Status(after.status).label.lower()
    if before is None:
        return [f"Created as {status}"]
    said: list[str] = []
    if after.deleted and not before.deleted:
        said.append("Removed")
    if after.status != before.status:
        said.append(f"Status: {Post.Status(before.status).label.lower()} → {status}")
    if after.headline != before.headline:
        said.append("Headline changed" if after.headline else "Headline removed")
    if after.body != before.body:
        said.append("Text changed")
    for name, on, off in FLAGS:
        if getattr(after, name) != getattr(before, name):
            said.append(on if getattr(after, name) else off)
    if after.published_at != before.published_at:
        said.append(f"Time set to {local_format(after.published_at, event.tz, MOMENT)}")
    said += _photo_changes(before.images, after.images, images)
    return said or ["No change to the text, flags or photos"]


@dataclass(frozen=True)
class Step:
    """One revision as the history page shows it."""

    revision: Revision
    author: str
    when: str
    changes: list[str]
    headline: SafeString
    body: SafeString
    text_changed: bool
    current: bool


def history(event: Event, revisions: Sequence[Revision], images: Mapping[int, Image]) -> list[Step]:
    """The steps of `revisions` (newest first, as selectors.post_revisions lists them), each
    diffed against the one before it; the first revision's text is shown as it was."""
    oldest_first = list(reversed(revisions))
    steps = []
    for n, revision in enumerate(oldest_first):
        before = oldest_first[n - 1] if n else None
        old_headline = before.headline if before else revision.headline
        old_body = before.body if before else revision.body
        steps.append(
            Step(
                revision=revision,
                author=author_payload(revision.author)["display_name"],
                when=local_format(revision.created_at, event.tz, MOMENT),
                changes=changes_between(before, revision, event=event, images=images),
                headline=word_diff(old_headline, revision.headline),
                body=word_diff(old_body, revision.body),
                text_changed=before is None
                or (before.headline, before.body) != (revision.headline, revision.body),
                current=n == len(oldest_first) - 1,
            )
        )
    return list(reversed(steps))


# --- views ----------------------------------------------------------------------------------


def _entry_for_editor(request: HttpRequest, slug: str, post_id: int) -> Post:
    """The entry, for its event's editors: others are refused (403) before it is looked up;
    a removed entry is not found (its history stays in the database, for the audit)."""
    event = selectors.event_by_slug(slug)
    if event is None:
        raise Http404("No such event.")
    if not permissions.can_moderate(request.user, event):
        raise PermissionDenied("Only the event's editors can see and restore an entry's history.")
    post = selectors.post_for_user(event, post_id, request.user)
    if post is None:
        raise Http404("No such entry.")
    return post


@login_required
@refusals_as_403
@require_http_methods(["GET", "HEAD"])
def post_history(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    post = _entry_for_editor(request, slug, post_id)
    revisions = selectors.post_revisions(post)
    images = selectors.revision_images(post.event, revisions)
    context = {
        "event": post.event,
        "post": post,
        "steps": history(post.event, revisions, images),
    }
    return render(request, "editor/post_history.html", context)


def _version(request: HttpRequest) -> int | None:
    """The entry's version the history page showed (a restore based on it, or refused)."""
    value = request.POST.get("version", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@login_required
@writes_limited
@refusals_as_403
@require_POST
def post_restore(request: HttpRequest, slug: str, post_id: int, number: int) -> HttpResponse:
    post = _entry_for_editor(request, slug, post_id)
    try:
        services.post_restore(
            actor=request.user, post=post, number=number, expected_version=_version(request)
        )
    except Revision.DoesNotExist:
        raise Http404("No such revision.") from None
    except services.StaleVersion as exc:
        messages.error(
            request,
            "Someone changed this entry while you were reading its history: nothing was "
            f"restored. It is at version {exc.current.version} now; see the newest revision "
            "below and restore again if you still want to.",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        shown = "Readers see it now." if post.is_public else "Readers do not see this entry."
        messages.success(request, f"Revision {number} restored, as a new revision. {shown}")
    return redirect("editor:post_history", slug=slug, post_id=post_id)
