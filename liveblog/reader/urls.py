from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from liveblog.http import caching
from liveblog.reader import feeds, views
from liveblog.reader.sitemaps import SITEMAPS

app_name = "reader"

urlpatterns = [
    path("", views.home, name="home"),
    path("robots.txt", views.robots_txt, name="robots"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "reader:sitemap"},
        name="sitemap-index",
    ),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("oembed/", views.oembed, name="oembed"),
    path("brand/<int:version>.css", views.brand_css, name="brand_css"),
    path("brand/logo/<int:version>.<str:extension>", views.site_logo, name="logo"),
    path("events/<slug:slug>/", views.event_page, name="event"),
    path("events/<slug:slug>/entries/", views.entries_fragment, name="entries"),
    path("events/<slug:slug>/posts/<int:post_id>/", views.post_page, name="post"),
    path("events/<slug:slug>/feed/", caching.public_page(feeds.EventFeed()), name="feed"),
    path("events/<slug:slug>/embed/", views.embed_page, name="embed"),
]
