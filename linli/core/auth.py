"""Sign-in throttling and sign-in audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Q
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.audit import audit_record
from linli.core.models import LoginFailure
from linli.core.request_context import client_ip


def login_locked(username: str, ip: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    if recent.filter(username=username.lower()).count() >= limit:
        return True
    # One address may try a few more names (a shared office) before it is stopped.
    return ip is not None and recent.filter(ip=ip).count() >= limit * 4


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = (self.data.get("username") or "").strip()
        ip = client_ip(self.request) if self.request else None
        if username and login_locked(username, ip):
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            raise forms.ValidationError(
                _("Too many failed sign-ins. Wait %(minutes)d minutes or ask your administrator.")
                % {"minutes": minutes},
                code="throttled",
            )
        return super().clean()


@receiver(user_login_failed)
def _failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150].lower()
    ip = client_ip(request) if request is not None else None
    LoginFailure.objects.create(username=username, ip=ip)
    audit_record(actor=None, action="login_failed", target_label=username)


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    LoginFailure.objects.filter(Q(username=user.username.lower())).delete()
    audit_record(actor=user, action="login", target_label=user.username)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action="logout", target_label=user.username)
