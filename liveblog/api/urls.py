from django.urls import path, re_path

from liveblog.api import errors, views

app_name = "api"

urlpatterns = [
    path("v1/events/", views.events, name="events"),
    path("v1/events/<slug:slug>/", views.event, name="event"),
    path("v1/events/<slug:slug>/members/", views.members, name="members"),
    path("v1/events/<slug:slug>/posts/", views.posts, name="posts"),
    path("v1/events/<slug:slug>/posts/<int:post_id>/", views.post, name="post"),
    path("v1/events/<slug:slug>/changes/", views.changes, name="changes"),
    path("schema/", views.schema, name="schema"),
    # Last: any other address under /api/ answers a JSON 404, not the site's HTML page.
    re_path(r"^(?P<path>.*)$", errors.not_found, name="not-found"),
]
