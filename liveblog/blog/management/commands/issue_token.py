"""`python manage.py issue_token <username> [--name NAME] [--expires-in-days N]`: print a new
API token, alone.

Only the token's hash is stored, so this is the one time it can be seen; printing it alone on
stdout lets scripts capture it (`TOKEN=$(python manage.py issue_token alice)`).
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveblog.blog import selectors, services


class Command(BaseCommand):
    help = "Create an API bearer token for a user and print it (it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'ingest'")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            metavar="N",
            help="refuse the token after N days (default: it lasts until revoked)",
        )

    def handle(
        self, *args: Any, username: str, name: str, expires_in_days: int | None, **options: Any
    ) -> None:
        user = selectors.user_by_username(username)
        if user is None:
            raise CommandError(
                f"There is no active user {username!r}; create it first (createsuperuser)."
            )
        try:
            # Logged with the owner as actor and no address: it came from the server itself.
            key = services.token_issue(user=user, name=name, expires_in_days=expires_in_days)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(key)
