from django.apps import AppConfig


class ReaderConfig(AppConfig):
    name = "liveblog.reader"
    label = "reader"
