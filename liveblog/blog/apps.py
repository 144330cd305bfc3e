from typing import Any

from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "liveblog.blog"
    label = "blog"
    verbose_name = "Live blog"

    def ready(self) -> None:
        # Security events that Django and django-axes raise themselves go to the audit log;
        # every other entry is written by the services (liveblog/blog/audit.py).
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from liveblog.blog import audit

        user_logged_in.connect(audit.on_logged_in, dispatch_uid="liveblog.audit.logged_in")
        user_logged_out.connect(audit.on_logged_out, dispatch_uid="liveblog.audit.logged_out")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="liveblog.audit.failed")
        user_locked_out.connect(audit.on_locked_out, dispatch_uid="liveblog.audit.locked_out")
        user_logged_in.connect(_clear_own_failures, dispatch_uid="liveblog.axes.own_failures")


def _clear_own_failures(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A successful sign-in clears the failed attempts for that account, wherever they came
    from, and no one else's (settings: AXES_RESET_ON_SUCCESS is off for that reason)."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username=user.get_username()).delete()
