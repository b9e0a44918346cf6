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


# Which permission each part of the API needs from a token; whatever is not listed needs FULL. Deny by
# default: an endpoint added later is closed to limited tokens until it is listed here.
_BY_PATH = (
    ("/api/v1/registry/", Permission.READ),
    ("/api/v1/epidemic/", Permission.DISPATCH),
    ("/api/v1/reports/", Permission.REPORTS),
    ("/api/v1/webhooks", Permission.WEBHOOKS),
    ("/api/v1/comms/broadcasts", Permission.BROADCASTS),
)


def permission_for_path(path: str) -> str:
    for prefix, permission in _BY_PATH:
        if path.startswith(prefix):
            return permission.value
    return Permission.FULL.value


def require_permission_for_path(request: HttpRequest) -> None:
    """The central check, made when a token is accepted (api.auth.TokenAuth) for every operation."""
    require_permission(request, permission_for_path(request.path))
