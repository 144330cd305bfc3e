from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "liveblog.api"
    label = "api"
