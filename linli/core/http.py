"""Small helpers every page uses: the signed-in account, a service's refusal as text, ids from a form."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from linli.core.models import User


def actor_of(request: HttpRequest) -> User:
    """The signed-in account (views are behind login_required)."""
    return request.user  # type: ignore[return-value]


def error_text(exc: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one line for a message or a form's non-field error."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("Not allowed.")


def posted_ids(values: Iterable[str]) -> list[int]:
    """Primary keys posted by a form, ignoring anything that is not a number (or too long to be a key)."""
    return [int(v) for v in values if str(v).isdigit() and len(str(v)) < 19]


def posted_id(value: str | None) -> int:
    """One primary key from a form or query string; 0 (no row) for anything that is not one."""
    found = posted_ids([value or ""])
    return found[0] if found else 0


_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def resident_page(
    response: HttpResponse, *, cacheable: bool = False, robots: str = "noindex"
) -> HttpResponse:
    """The headers of a page a resident opens without an account (a QR code, an SMS link): never indexed;
    the token in its address stays on this site (not "no-referrer": browsers then post its forms with
    "Origin: null", which Django's CSRF check refuses); and, unless `cacheable`, never served from a cache.
    The cache headers are those of django.utils.cache.add_never_cache_headers, written directly (on the
    self-report page's hot path it would parse and rebuild them each time)."""
    if not cacheable:
        response["Expires"] = http_date()
        response["Cache-Control"] = _NEVER_CACHE
    response["X-Robots-Tag"] = robots
    response["Referrer-Policy"] = "same-origin"
    return response


def public_url(path: str, request: HttpRequest | None = None) -> str:
    """The address of `path` for a phone outside the office (a QR code, an SMS, a group chat, a webhook):
    PUBLIC_URL + path when set, else the address `request` came in at, else the path alone."""
    from django.conf import settings

    base = str(getattr(settings, "PUBLIC_URL", "") or "").rstrip("/")
    if base:
        return base + path
    return request.build_absolute_uri(path) if request is not None else path


def next_url(request: HttpRequest, default: str) -> str:
    """Where a form wants to go back to (its `next` field or parameter), if it is on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def chosen_community_code(request: HttpRequest) -> str:
    """The community a street account picked on a page: ?community=CODE, or the form's community_code."""
    return request.GET.get("community") or request.POST.get("community_code") or ""


def form_errors_from(form: Any, exc: ValidationError) -> None:
    """A service's refusal shown on the form: by field where it names one the form has, else on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error_text(exc))
