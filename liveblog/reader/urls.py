from django.urls import path

from liveblog.reader import feeds, views

app_name = "reader"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("events/<slug:slug>/", views.event_page, name="event"),
    path("events/<slug:slug>/entries/", views.entries_fragment, name="entries"),
    path("events/<slug:slug>/posts/<int:post_id>/", views.post_page, name="post"),
    path("events/<slug:slug>/feed/", feeds.EventFeed(), name="feed"),
    path("events/<slug:slug>/embed/", views.embed_page, name="embed"),
]
