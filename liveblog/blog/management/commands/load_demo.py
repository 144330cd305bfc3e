"""Load a demo event with a few entries and a demo editor, for `make run`. Idempotent."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from liveblog.blog import services
from liveblog.blog.models import Event, Membership

DEMO_USERNAME = "editor"
DEMO_PASSWORD = "liveblog-demo"  # noqa: S105 - printed for the local demo on purpose
DEMO_SLUG = "opening-ceremony"

ENTRIES = [
    (-55, "Doors open", "Delegates are queueing at the main hall. **Security checks** are slow."),
    (-40, "", "The stage is being set up; the orchestra is tuning."),
    (
        -25,
        "The conference officially opens",
        "The chair welcomes *2,000 delegates* from 90 countries.",
    ),
    (
        -10,
        "",
        "First speaker: the mayor, on the city's climate plan.\n\n> We are late, but not too late.",
    ),
]


class Command(BaseCommand):
    help = "Create a demo event with entries and a demo editor account (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server will answer, for the printed links (`make run` passes "
            "http://$(HOST):$(PORT)).",
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Migrate the database first, in this process (`make run`: one Django start "
            "fewer before the server answers).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
        self._load()
        base = options["base_url"].rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo ready: {base}{reverse('reader:event', args=[DEMO_SLUG])}\n"
                f"Editor: {base}{reverse('editor:home')}  username: {DEMO_USERNAME}  "
                f"password: {DEMO_PASSWORD}\n"
            )
        )

    @transaction.atomic
    def _load(self) -> None:
        User = get_user_model()
        admin, _ = User.objects.get_or_create(
            username="demo-admin", defaults={"is_staff": True, "is_superuser": True}
        )
        editor, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"first_name": "Demo", "last_name": "Editor"}
        )
        if created or not editor.check_password(DEMO_PASSWORD):
            editor.set_password(DEMO_PASSWORD)
            editor.is_staff = True
            editor.is_superuser = True
            editor.save()
        if not Event.objects.filter(slug=DEMO_SLUG).exists():
            now = timezone.now()
            event = services.event_create(
                actor=admin,
                title="Live report: opening ceremony of the conference",
                slug=DEMO_SLUG,
                summary="Follow the opening of the conference as it happens.",
                timezone_name="Europe/Paris",
                status=Event.Status.LIVE,
                starts_at=now - timedelta(hours=1),
            )
            services.membership_add(
                actor=admin, event=event, user=editor, role=Membership.Role.EDITOR
            )
            for minutes, headline, body in ENTRIES:
                services.post_publish(
                    event=event,
                    author=editor,
                    headline=headline,
                    body=body,
                    published_at=now + timedelta(minutes=minutes),
                    is_key_event=bool(headline),
                )
