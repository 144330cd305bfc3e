from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "liveblog.blog"
    label = "blog"
    verbose_name = "Live blog"
