from django.contrib.auth import views as auth_views
from django.urls import path

from liveblog.editor import autosave, lifecycle, members, queue, revisions, scheduling, views

app_name = "editor"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("events/<slug:slug>/", views.compose, name="compose"),
    path("events/<slug:slug>/preview/", views.preview, name="preview"),
    path("events/<slug:slug>/images/", views.image_upload, name="image_upload"),
    path("events/<slug:slug>/posts/<int:post_id>/edit/", views.post_edit, name="post_edit"),
    path("events/<slug:slug>/posts/<int:post_id>/delete/", views.post_delete, name="post_delete"),
    path("events/<slug:slug>/settings/", views.event_settings, name="event_settings"),
    path("events/<slug:slug>/members/", views.member_add, name="member_add"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("events/<slug:slug>/scheduled/", scheduling.scheduled, name="scheduled"),
    path(
        "events/<slug:slug>/scheduled/<int:post_id>/",
        scheduling.scheduled_change,
        name="scheduled_change",
    ),
    path("events/<slug:slug>/schedule-check/", scheduling.schedule_check, name="schedule_check"),
]

# The approval queue (liveblog.editor.queue).
urlpatterns += [
    path("events/<slug:slug>/queue/", queue.queue, name="queue"),
    path("events/<slug:slug>/queue/<int:post_id>/approve/", queue.approve, name="queue_approve"),
    path(
        "events/<slug:slug>/queue/<int:post_id>/send-back/",
        queue.send_back,
        name="queue_send_back",
    ),
    path("events/<slug:slug>/queue/<int:post_id>/reject/", queue.reject, name="queue_reject"),
]

# An entry's history (liveblog/editor/revisions.py): editors see and restore its revisions.

urlpatterns += [
    path(
        "events/<slug:slug>/posts/<int:post_id>/history/",
        revisions.post_history,
        name="post_history",
    ),
    path(
        "events/<slug:slug>/posts/<int:post_id>/revisions/<int:number>/restore/",
        revisions.post_restore,
        name="post_restore",
    ),
]
urlpatterns += [
    path("events/<slug:slug>/autosave/", autosave.autosave, name="autosave"),
]

# Event lifecycle (liveblog/editor/lifecycle.py) and members (liveblog/editor/members.py).
urlpatterns += [
    path("new-event/", lifecycle.event_new, name="event_new"),
    path("events/<slug:slug>/go-live/", lifecycle.event_go_live, name="event_go_live"),
    path("events/<slug:slug>/end/", lifecycle.event_end, name="event_end"),
    path("events/<slug:slug>/reopen/", lifecycle.event_reopen, name="event_reopen"),
    path("events/<slug:slug>/members/search/", members.member_search, name="member_search"),
    path("events/<slug:slug>/members/<int:user_id>/role/", members.member_role, name="member_role"),
    path(
        "events/<slug:slug>/members/<int:user_id>/remove/",
        members.member_remove,
        name="member_remove",
    ),
]
