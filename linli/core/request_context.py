"""Where the current action comes from (address, browser, channel), for the audit log.

Set once per request by middleware (or per API call, job or command), read by audit_record, so that
services need not pass the request around.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str = ""
    via: str = "cli"


_origin: ContextVar[Origin] = ContextVar("linli_origin", default=Origin())  # noqa: B039 (frozen)


def client_ip(request: HttpRequest) -> str | None:
    header = settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        # The last address is the one our proxy added (nginx's $proxy_add_x_forwarded_for appends the
        # client it saw); earlier ones come from the client and could be anything.
        return request.META[header].split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def origin_from_request(request: HttpRequest, via: str = "web") -> Origin:
    return Origin(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300], via=via)


def current_origin() -> Origin:
    return _origin.get()


@contextmanager
def origin(value: Origin) -> Iterator[None]:
    token = _origin.set(value)
    try:
        yield
    finally:
        _origin.reset(token)


def set_origin(value: Origin) -> None:
    _origin.set(value)
