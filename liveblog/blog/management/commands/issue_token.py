"""`python manage.py issue_token <username> [--name NAME]`: print a new API token, alone.

Only the token's hash is stored, so this is the one time it can be seen; printing it alone on
stdout lets scripts capture it (`TOKEN=$(python manage.py issue_token alice)`).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveblog.blog import selectors, services


class Command(BaseCommand):
    help = "Create an API bearer token for a user and print it (it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'ingest'")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = selectors.user_by_username(username)
        if user is None:
            raise CommandError(
                f"There is no active user {username!r}; create it first (createsuperuser)."
            )
        self.stdout.write(services.token_issue(user=user, name=name))
