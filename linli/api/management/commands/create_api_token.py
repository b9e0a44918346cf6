from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.api.services import ScopeNotFound, api_token_create
from linli.core.roles import Role


class Command(BaseCommand):
    help = "Create an API token for a role and scope; the token is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--scope", required=True, help="street, community or grid code")
        parser.add_argument("--name", default="")

    def handle(self, *args: object, **options: str) -> None:
        try:
            token, raw = api_token_create(
                actor=None, role=options["role"], scope_code=options["scope"], name=options["name"]
            )
        except ScopeNotFound as exc:
            raise CommandError(f"no street, community or grid fits: {exc}") from exc
        self.stderr.write(f"Token for {token.user.username} ({options['role']} of {options['scope']}):")
        self.stdout.write(raw)
