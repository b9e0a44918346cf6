from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.api.models import Department, Permission
from linli.api.services import ScopeNotFound, api_token_create
from linli.core.roles import Role


class Command(BaseCommand):
    help = (
        "Create an API token for a role and scope; the token is the last line printed. "
        "--allow limits it to some permissions (without it: whatever the role allows)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--scope", required=True, help="street, community or grid code")
        parser.add_argument("--name", default="")
        parser.add_argument("--department", default="", choices=["", *Department.values])
        parser.add_argument(
            "--allow",
            action="append",
            default=[],
            metavar="PERMISSION",
            help=f"what the token may do, comma-separated or repeated: {', '.join(Permission.values)}",
        )

    def handle(self, *args: object, **options: object) -> None:
        allowed = [p.strip() for item in options["allow"] for p in str(item).split(",") if p.strip()]  # type: ignore[attr-defined]
        unknown = sorted(set(allowed) - set(Permission.values))
        if unknown:
            raise CommandError(
                f"unknown permissions {', '.join(unknown)}; one of: {', '.join(Permission.values)}"
            )
        try:
            token, raw = api_token_create(
                actor=None,
                role=str(options["role"]),
                scope_code=str(options["scope"]),
                name=str(options["name"]),
                department=str(options["department"]),
                permissions=allowed,
            )
        except ScopeNotFound as exc:
            raise CommandError(f"no street, community or grid fits: {exc}") from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        may = ", ".join(token.permissions) or "whatever the role allows"
        self.stderr.write(
            f"Token for {token.user.username} ({options['role']} of {options['scope']}; may: {may}):"
        )
        self.stdout.write(raw)
