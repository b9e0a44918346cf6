"""Token permissions: a department's token may do only what it was given (ApiToken.permissions), on top of
what its account's role and scope allow. A person signed in to the site is governed by their role alone."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from linli.api.models import ApiToken, Permission


def request_token(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def require_permission(request: HttpRequest, permission: str) -> None:
    """Raise PermissionDenied (403) when the request's token lacks `permission` (an api.models.Permission
    value). Tokens without any listed permission are those made before permissions: their role decides."""
    token = request_token(request)
    if token is not None and not token.allows(permission):
        what = Permission(permission).label if permission in Permission.values else permission
        raise PermissionDenied(
            f'this token was not given the "{permission}" permission ({what}); '
            "ask the administrator who issued it for a token that has it"
        )
