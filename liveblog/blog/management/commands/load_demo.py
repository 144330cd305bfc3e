"""Load a demo event (photos, a quote, embeds, a breaking entry, key points) and a demo editor,
for `make run`. Idempotent: an existing demo event is left as it is."""

import io
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from liveblog.blog import services
from liveblog.blog.models import Event, Membership

DEMO_USERNAME = "editor"
DEMO_PASSWORD = "liveblog-demo"  # noqa: S105 - printed for the local demo on purpose
DEMO_SLUG = "opening-ceremony"
# A contributor of the demo event (submits; the editor approves), with the same password.
DEMO_CONTRIBUTOR = "contributor"
SUBMISSION = (
    "Spotted from the press gallery: the delegations are taking their seats, and the "
    "translation booths are testing their microphones."
)

KEY_POINTS = (
    "- The chair opened the conference before **2,000 delegates** from 90 countries\n"
    "- The mayor announced a 40-million-euro research fund\n"
    "- Speeches are streamed on the conference's YouTube channel"
)


@dataclass(frozen=True)
class Entry:
    minutes: int  # before now
    body: str
    headline: str = ""
    photo: tuple[str, str] | None = None  # (alt, caption)
    is_breaking: bool = False


# What a newcomer should see the product do: photos, a quote with its speaker, a YouTube and
# an X embed (click-to-load cards), a breaking entry, key events and the key points box.
ENTRIES = [
    Entry(
        55,
        "Delegates are queueing at the main hall. **Security checks** are slow.",
        "Doors open",
        photo=("Delegates queueing at the doors of the main hall", "The queue at ten past nine."),
    ),
    Entry(
        45,
        "The stage is being set up; the orchestra is tuning.",
        photo=("The orchestra tuning on a lit stage", "The conservatory's orchestra."),
    ),
    Entry(35, "The chair welcomes *2,000 delegates* from 90 countries.", "The conference opens"),
    Entry(28, "> We meet at a time when cooperation matters more than ever.\n> — Liu Yunshan"),
    # Big Buck Bunny (Blender Foundation, CC BY): a video that stays online.
    Entry(20, "Watch the opening address:\n\nhttps://www.youtube.com/watch?v=aqz-KE-bpKQ"),
    Entry(15, "The organisers' first post, as it happened:\n\nhttps://x.com/jack/status/20"),
    Entry(
        10,
        "The mayor announces a **40-million-euro** research fund for the member universities.",
        "A 40-million-euro research fund",
        photo=("The mayor at the lectern, under the stage lights", "The mayor's announcement."),
        is_breaking=True,
    ),
    Entry(5, "> We are late, but not too late.\n> — The mayor"),
]


def demo_photo(seed: int) -> io.BytesIO:
    """A photo-like JPEG drawn with Pillow (a lit stage, a crowd): the demo ships no files."""
    rng = random.Random(seed)
    picture = Image.new("RGB", (240, 160))
    draw = ImageDraw.Draw(picture)
    for y in range(160):
        shade = 210 - y
        draw.line((0, y, 240, y), fill=(shade, shade - 15, max(0, shade - 40)))
    for _ in range(70):
        x, y, w, h = rng.randrange(-10, 240), rng.randrange(70, 160), 14, rng.randrange(24, 50)
        base = rng.randrange(30, 150)
        draw.ellipse((x, y, x + w, y + h), fill=(base + 40, base + 20, base))
    picture = picture.filter(ImageFilter.GaussianBlur(1.5)).resize(
        (1600, 1067), Image.Resampling.BICUBIC
    )
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=88)
    out.seek(0)
    return out


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
                f"Contributor (submits for approval): username: {DEMO_CONTRIBUTOR}  "
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
        contributor, created = User.objects.get_or_create(
            username=DEMO_CONTRIBUTOR, defaults={"first_name": "Demo", "last_name": "Contributor"}
        )
        if created or not contributor.check_password(DEMO_PASSWORD):
            contributor.set_password(DEMO_PASSWORD)
            contributor.save()
        if not Event.objects.filter(slug=DEMO_SLUG).exists():
            self._event(admin, editor, contributor)

    def _event(self, admin: Any, editor: Any, contributor: Any) -> None:
        now = timezone.now()
        event = services.event_create(
            actor=admin,
            title="Live report: opening ceremony of the conference",
            slug=DEMO_SLUG,
            summary="Follow the opening of the conference as it happens.",
            key_points=KEY_POINTS,
            timezone_name="Europe/Paris",
            status=Event.Status.LIVE,
            starts_at=now - timedelta(hours=1),
        )
        services.membership_add(actor=admin, event=event, user=editor, role=Membership.Role.EDITOR)
        services.membership_add(
            actor=admin, event=event, user=contributor, role=Membership.Role.CONTRIBUTOR
        )
        for n, entry in enumerate(ENTRIES):
            images = []
            if entry.photo:
                alt, caption = entry.photo
                image = services.image_upload(
                    actor=editor,
                    event=event,
                    file=demo_photo(n),
                    alt=alt,
                    caption=caption,
                    credit="Demo photo",
                )
                images.append(image.pk)
            services.post_publish(
                event=event,
                author=editor,
                headline=entry.headline,
                body=entry.body,
                published_at=now - timedelta(minutes=entry.minutes),
                is_key_event=bool(entry.headline),
                is_breaking=entry.is_breaking,
                images=images,
            )
        # Waiting in the editor's queue: what a contributor's entry looks like before approval.
        services.post_publish(event=event, author=contributor, body=SUBMISSION)
