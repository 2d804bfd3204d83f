"""``manage.py api_client NAME``: register an API client (if new) and issue it a token.

The plain token is printed once; only its hash is stored. The admin does the same with
its "Issue a new token" action.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from api import services
from api.models import ApiClient, ClientRole


class Command(BaseCommand):
    help = "Register an API client (if it does not exist) and print a new token for it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", choices=ClientRole.values, default=ClientRole.CALL_CENTRE)
        parser.add_argument("--rate", type=int, default=600, metavar="PER_MINUTE",
                            help="Rate limit of a new client (requests per minute).")
        parser.add_argument("--label", default="", help="A label for the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        client = ApiClient.objects.filter(name=options["name"]).first()
        if client is None:
            client = services.api_client_create(name=options["name"], role=options["role"],
                                                rate_limit_per_minute=options["rate"])
        _token, plain = services.api_token_issue(client=client, label=options["label"])
        self.stdout.write(plain)
