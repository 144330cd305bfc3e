from django.contrib.auth import views as auth_views
from django.urls import path

from liveblog.editor import autosave, queue, scheduling, views

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
# Imported here, with its routes, so that each part of the editor adds its lines in one place.
from liveblog.editor import revisions  # noqa: E402

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
