"""Every API call in the audit log: a decorator around each operation of the NinjaAPI (mode "view": it wraps
authentication too, so calls refused with 401 are written as well). One INSERT per call."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from linli.api.services import api_call_record, api_token_refused

log = logging.getLogger(__name__)

TOKEN_PREFIX = "lnl_"


def _bearer(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _record(request: HttpRequest, status: int) -> None:
    token = getattr(request, "api_token", None)
    user = getattr(request, "user", None)
    if token is None and (user is None or not user.is_authenticated):
        user = None
    refused = None
    prefix = ""
    if token is None and user is None:
        raw = _bearer(request)
        if raw.startswith(TOKEN_PREFIX):
            refused = api_token_refused(raw)
            # Only our own tokens' public prefix is written: anything else pasted there could be a password.
            prefix = raw[:12]
    api_call_record(
        method=request.method or "",
        path=request.path,
        status=status,
        token=token,
        user=user if token is None else None,
        refused=refused,
        refused_prefix=prefix,
    )


def audit_calls(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = run(request, *args, **kwargs)
        except Exception:
            # Unhandled errors propagate to Django (a 500); the call is in the log all the same.
            _safe_record(request, 500)
            raise
        _safe_record(request, response.status_code)
        return response

    return wrapper


def _safe_record(request: HttpRequest, status: int) -> None:
    try:
        _record(request, status)
    except Exception:  # the answer is already made: a failed log write is reported, not turned into a 500
        log.exception("could not write the audit row of an API call")
