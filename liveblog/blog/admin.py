"""Django admin: a staff view of the domain that writes only through the services.

Every save and delete here calls the service the API and the editor call (an admin is the
staff actor SPEC §4 lets do everything), so an admin's change is validated by the same
rules, logged with a seq and pushed to readers like any other. There is no second way in.

A service may still refuse what a form accepted (a rule only it checks, a slug taken by a
concurrent writer). The admin's POST runs in a transaction: the refusal rolls it back, and
the page is rendered again from the same POST with the service's errors on the form, so
the admin never reports a save that did not happen.
"""

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets as admin_widgets
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from liveblog.blog import audit, selectors, services, zones
from liveblog.blog.models import (
    ApiToken,
    AuditEntry,
    Change,
    Event,
    Membership,
    Post,
    SiteSettings,
)

_REFUSED_ATTR = "_liveblog_admin_refused"


class _Refused(Exception):
    """A service refused the write; raised out of the admin's transaction to roll it back."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(error)
        self.error = error


def _add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """The service's errors next to the fields they name, the others above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages_ in error.message_dict.items():
        field = name if name in form.fields else None
        shown = list(form.errors.get(field or NON_FIELD_ERRORS, []))
        new = [message for message in messages_ if message not in shown]
        if new:
            form.add_error(field, new)


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's in-memory object the row a service saved: the admin goes on with
    `obj` (its inlines, the history entry, the redirect to its page)."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves raise _Refused when a service says no (see the module)."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            # The admin's transaction is rolled back: nothing was saved, nothing is pushed.
            # The same POST again, now with the service's errors: a form that does not
            # validate, shown as any other.
            setattr(request, _REFUSED_ATTR, refused.error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        found: ValidationError | None = getattr(request, _REFUSED_ATTR, None)
        if found is None:
            return form
        error = found

        class Refused(form):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                _add_errors(self, error)
                return cleaned

        return Refused


# --- events and their members -----------------------------------------------------------


class EventTimeInZone(forms.SplitDateTimeField):
    """The admin's date and time inputs, read and shown in the event's own zone (Django reads
    them in the server's, UTC: "10:30" for a Shanghai event showed as 6:30 p.m.). `zone` is
    set by EventForm once it knows which zone the times are in."""

    zone: zoneinfo.ZoneInfo = zoneinfo.ZoneInfo("UTC")

    def compress(self, data_list: Any) -> Any:
        with timezone.override(self.zone):
            return super().compress(data_list)

    def has_changed(self, initial: Any, data: Any) -> bool:
        # Django's own compares the inputs with the stored time in the server's zone: every
        # save would "change" the times of an event that is not in UTC.
        try:
            value = self.clean(data)
        except ValidationError:
            return True
        if isinstance(initial, datetime):
            initial = initial.replace(microsecond=0)
        return bool(initial != value)

    def prepare_value(self, value: Any) -> Any:
        # The widget shows a naive time as it is: the aware one, as the event's clock reads it.
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.make_naive(value, self.zone)
        return value


class EventForm(forms.ModelForm):
    """The slug is checked by the services' own rule (URL-safe, not taken), with its words.
    The times are in the event's zone: the zone it was shown in for an event that exists,
    the one chosen on the form for a new one. The zone is picked from the editor's list."""

    starts_at = EventTimeInZone(required=False, widget=admin_widgets.AdminSplitDateTime)
    ends_at = EventTimeInZone(required=False, widget=admin_widgets.AdminSplitDateTime)

    class Meta:
        model = Event
        fields = [
            "slug",
            "title",
            "summary",
            "key_points",
            "status",
            "starts_at",
            "ends_at",
            "timezone",
            "order",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Left empty, it is made from the title."
        stored = self.instance.timezone or "UTC"
        if "timezone" in self.fields:
            self.fields["timezone"] = forms.ChoiceField(
                label="Time zone",
                choices=zones.timezone_choices(stored),
                initial=stored,
                help_text="Entry times, and the start and end here, are in this zone.",
            )
        zone = stored
        if self.instance.pk is None and self.is_bound:
            posted = self.data.get(self.add_prefix("timezone"))
            zone = posted if posted in zones.timezones() else stored
        for name in ("starts_at", "ends_at"):
            field = self.fields.get(name)
            if isinstance(field, EventTimeInZone):
                field.zone = zoneinfo.ZoneInfo(zone)
                field.help_text = f"In the event's time zone ({zone})."

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if slug and slug != self.instance.slug:
            existing = self.instance if self.instance.pk is not None else None
            try:
                services.event_slug_validate(slug=slug, event=existing)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["slug"]) from None
        return slug


class MembershipForm(forms.ModelForm):
    """A member's role can change, not who the member is: that is a removal and an addition,
    each through its service."""

    class Meta:
        model = Membership
        fields = ["event", "user", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name in ("event", "user"):
                if name in self.fields:
                    self.fields[name].disabled = True


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 1
    autocomplete_fields = ["user"]


def _save_members(request: HttpRequest, event: Event, formset: BaseInlineFormSet) -> None:
    formset.save(commit=False)  # what changed (and the history message); written below
    try:
        for membership in formset.deleted_objects:
            services.membership_remove(actor=request.user, event=event, user=membership.user)
        changed = [obj for obj, _fields in formset.changed_objects]
        for membership in [*formset.new_objects, *changed]:
            services.membership_add(
                actor=request.user, event=event, user=membership.user, role=membership.role
            )
    except ValidationError as exc:
        raise _Refused(exc) from exc


@admin.register(Event)
class EventAdmin(ServiceAdmin):
    form = EventForm
    list_display = ["title", "slug", "status", "starts", "timezone", "last_seq"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["last_seq", "created_at", "updated_at"]
    inlines = [MembershipInline]

    @admin.display(description="Starts at (its zone)", ordering="starts_at")
    def starts(self, obj: Event) -> str:
        if obj.starts_at is None:
            return "—"
        return timezone.localtime(obj.starts_at, obj.tz).strftime("%Y-%m-%d %H:%M")

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        try:
            if change:
                fields = (*services.EVENT_FIELDS, "slug")
                changes = {name: getattr(obj, name) for name in form.changed_data if name in fields}
                if not changes:
                    return
                saved = services.event_update(actor=request.user, event=obj, changes=changes)
            else:
                # As POST /api/v1/events/: the admin who creates the event is its editor.
                saved = services.event_create(
                    actor=request.user,
                    title=obj.title,
                    slug=obj.slug or None,
                    summary=obj.summary,
                    key_points=obj.key_points,
                    timezone_name=obj.timezone,
                    order=obj.order,
                    status=obj.status,
                    starts_at=obj.starts_at,
                    ends_at=obj.ends_at,
                )
        except ValidationError as exc:
            raise _Refused(exc) from exc
        _adopt(obj, saved)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Membership:
            _save_members(request, form.instance, formset)
        else:
            super().save_formset(request, form, formset, change)


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    form = MembershipForm
    list_display = ["user", "event", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "event"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        try:
            saved = services.membership_add(
                actor=request.user, event=obj.event, user=obj.user, role=obj.role
            )
        except ValidationError as exc:
            raise _Refused(exc) from exc
        _adopt(obj, saved)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(actor=request.user, event=obj.event, user=obj.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("event", "user"):
            self.delete_model(request, membership)


# --- posts ------------------------------------------------------------------------------


@admin.register(Post)
class PostAdmin(ServiceAdmin):
    list_display = ["__str__", "event", "author", "status", "published_at", "deleted_at"]
    list_filter = ["status", "is_key_event", "is_pinned", "event"]
    search_fields = ["headline", "body"]
    readonly_fields = ["body_html", "created_at", "updated_at", "deleted_at", "deleted_by"]
    raw_id_fields = ["author"]

    def get_readonly_fields(self, request: HttpRequest, obj: Post | None = None) -> Any:
        # An entry stays in its event and with its author: post_update changes neither.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "event", "author"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Post, form: Any, change: bool) -> None:
        try:
            if change:
                fields = [f for f in form.changed_data if f in services.POST_FIELDS]
                if not fields:
                    return
                changes = {name: getattr(obj, name) for name in fields}
                saved = services.post_update(actor=request.user, post=obj, changes=changes)
            else:
                saved = self._publish(obj)
        except ValidationError as exc:
            raise _Refused(exc) from exc
        _adopt(obj, saved)

    @staticmethod
    def _publish(obj: Post) -> Post:
        try:
            post, _created = services.post_publish(
                event=obj.event,
                author=obj.author,
                body=obj.body,
                headline=obj.headline,
                published_at=obj.published_at,
                is_key_event=obj.is_key_event,
                is_pinned=obj.is_pinned,
                is_breaking=obj.is_breaking,
                status=obj.status,
            )
        except PermissionDenied as exc:  # the author chosen may not publish in that event
            raise ValidationError({"author": [str(exc)]}) from None
        return post

    def delete_model(self, request: HttpRequest, obj: Post) -> None:
        # Removed for readers, kept for the audit trail (the row stays, with deleted_at).
        services.post_delete(actor=request.user, post=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        for post in queryset.select_related("event"):
            services.post_delete(actor=request.user, post=post)


# --- the site's brand --------------------------------------------------------------------


class SiteSettingsForm(forms.ModelForm):
    """Name and accent as on the model; the logo as an upload, checked by the service."""

    logo_file = forms.FileField(
        label="Logo",
        required=False,
        help_text=(
            f"PNG, JPEG or WebP, at most {SiteSettings.MAX_LOGO_BYTES // 1024} KiB and "
            f"{SiteSettings.MAX_LOGO_SIDE} px a side (SVG is refused: it can carry script). "
            "Shown 32 px high beside the name."
        ),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    class Meta:
        model = SiteSettings
        fields = ["name", "accent"]
        help_texts = {
            "accent": "A colour such as #b3001b. Text is written in it, so it needs a "
            "contrast of at least 4.5:1 with the white page (WCAG AA); the dark theme gets "
            "a lighter shade of it.",
        }

    def clean_accent(self) -> str:
        # The service says whether the colour is safe; the model field, that it is one.
        return str(self.cleaned_data["accent"]).strip().lower()


@admin.register(SiteSettings)
class SiteSettingsAdmin(ServiceAdmin):
    """One row: the change page is the whole admin of it (no list to add to or delete)."""

    form = SiteSettingsForm
    readonly_fields = ["version", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("admin:blog_sitesettings_change", SiteSettings.SINGLETON)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        # Before the first save there is no row: the form shows the defaults, and saving it
        # creates the row (through the service, as every write).
        if object_id == str(SiteSettings.SINGLETON):
            return selectors.site_settings()
        return None

    def save_model(self, request: HttpRequest, obj: SiteSettings, form: Any, change: bool) -> None:
        upload = form.cleaned_data.get("logo_file")
        try:
            saved = services.site_settings_update(
                actor=request.user,
                name=obj.name,
                accent=obj.accent,
                logo=upload.read() if upload else None,
                remove_logo=bool(form.cleaned_data.get("remove_logo")),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "logo" in exc.error_dict:
                exc.error_dict["logo_file"] = exc.error_dict.pop("logo")
            raise _Refused(exc) from exc
        _adopt(obj, saved)


# --- the audit trail and tokens ---------------------------------------------------------


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    """The audit trail: read-only."""

    list_display = ["event", "seq", "kind", "post", "actor", "created_at"]
    list_filter = ["kind"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log (liveblog/blog/audit.py): readable by admins, never editable here."""

    list_display = ["created_at", "username", "action", "event", "post", "address", "detail"]
    list_filter = [
        "action",
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("event", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["username", "address"]
    date_hierarchy = "created_at"
    list_select_related = ["event", "post"]
    show_full_result_count = False  # the log only grows: no COUNT(*) of all of it per page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceAdmin):
    """Tokens are issued and revoked, never edited: a token handed to another user, or
    renamed, is a different credential (issue a new one)."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "expires_at"]
    fields = ["user", "name"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        try:
            token, key = services.token_create(user=obj.user, name=obj.name, actor=request.user)
        except ValidationError as exc:
            raise _Refused(exc) from exc
        _adopt(obj, token)
        messages.warning(request, f"Token created. Copy it now, it is not shown again: {key}")

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        services.token_revoke(actor=request.user, token=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.token_revoke(actor=request.user, token=token)


# Accounts are Django's own (no service of ours writes them): the admin that manages them
# writes every change to the audit log, in the same transaction, so who made whom a
# superuser, or deactivated whom, is on record. Never a password: its field name only.
_User = get_user_model()
admin.site.unregister(_User)


@admin.register(_User)
class AuditedUserAdmin(UserAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            action = AuditEntry.Action.USER_CHANGED if change else AuditEntry.Action.USER_CREATED
            fields = sorted(name for name in form.changed_data if "password" not in name)
            audit.record(
                action=action,
                actor=request.user,
                detail={"user": obj.get_username(), "fields": fields},
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.record(
                action=AuditEntry.Action.USER_DELETED,
                actor=request.user,
                detail={"user": obj.get_username()},
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for user in queryset:
            self.delete_model(request, user)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            audit.record(
                action=AuditEntry.Action.USER_PASSWORD_CHANGED,
                actor=request.user,
                detail={"user": user.get_username() if user else id},
            )
        return response
