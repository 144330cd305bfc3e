from django.contrib.auth import views as auth_views
from django.urls import path

from liveblog.editor import autosave, views

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
    path("events/<slug:slug>/autosave/", autosave.autosave, name="autosave"),
]
