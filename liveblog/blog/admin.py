"""Django admin. Saves of events and posts go through the services, so an admin's edit is
logged with a seq and pushed to readers like any other."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from liveblog.blog import services
from liveblog.blog.models import ApiToken, Change, Event, Membership, Post


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "status", "starts_at", "last_seq"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["last_seq", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {name: getattr(obj, name) for name in form.changed_data}
        changes = {k: v for k, v in changes.items() if k in services.EVENT_FIELDS}
        if changes:
            services.event_update(actor=request.user, event=obj, changes=changes)
        if "slug" in form.changed_data:
            Event.objects.filter(pk=obj.pk).update(slug=obj.slug)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["__str__", "event", "author", "status", "published_at", "deleted_at"]
    list_filter = ["status", "is_key_event", "is_pinned", "event"]
    search_fields = ["headline", "body"]
    readonly_fields = ["body_html", "created_at", "updated_at", "deleted_at", "deleted_by"]
    raw_id_fields = ["author"]

    def save_model(self, request: HttpRequest, obj: Post, form: Any, change: bool) -> None:
        try:
            if change:
                fields = [f for f in form.changed_data if f in services.POST_FIELDS]
                changes = {name: getattr(obj, name) for name in fields}
                services.post_update(actor=request.user, post=obj, changes=changes)
            else:
                post, _ = services.post_publish(
                    event=obj.event,
                    author=obj.author,
                    body=obj.body,
                    headline=obj.headline,
                    published_at=obj.published_at,
                    is_key_event=obj.is_key_event,
                    is_pinned=obj.is_pinned,
                    status=obj.status,
                )
                obj.pk = post.pk
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, f"Not saved: {exc}")

    def delete_model(self, request: HttpRequest, obj: Post) -> None:
        services.post_delete(actor=request.user, post=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        for post in queryset:
            services.post_delete(actor=request.user, post=post)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "event"]


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    fields = ["user", "name"]
    autocomplete_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = ApiToken.issue(user=obj.user, name=obj.name)
        obj.pk = token.pk
        messages.warning(request, f"Token created. Copy it now, it is not shown again: {key}")
