from django.apps import AppConfig


class EditorConfig(AppConfig):
    name = "liveblog.editor"
    label = "editor"
