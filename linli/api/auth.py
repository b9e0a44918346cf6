from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from linli.api.permissions import require_permission_for_path
from linli.api.services import api_token_lookup
from linli.core.request_context import origin_from_request, set_origin


class TokenAuth(HttpBearer):
    """`Authorization: Bearer TOKEN`; the request then acts as the token's service account."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = api_token_lookup(token)
        if found is None:
            return None
        user = found.user
        request.user = user
        request.api_token = found  # type: ignore[attr-defined]
        set_origin(origin_from_request(request, via="api"))
        # What the token may do is checked here for every operation: 403 before the operation runs.
        require_permission_for_path(request)
        return user
