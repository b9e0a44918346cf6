from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Department(models.TextChoices):
    CDC = "cdc", _("CDC (disease control)")
    POLICE = "police", _("Police duty system")
    STREET = "street", _("Street office")
    HEALTH = "health", _("Health commission")
    OTHER = "other", _("Other system")


class Permission(models.TextChoices):
    """What a token may do, on top of its account's role and scope ("token-scoped")."""

    DISPATCH = "dispatch", _("send dispatched lists and read their results")
    REPORTS = "reports", _("read the daily report")
    WEBHOOKS = "webhooks", _("subscribe to webhooks")
    BROADCASTS = "broadcasts", _("send broadcasts")
    READ = "read", _("read registers (people masked)")
    # Everything else of the API (responses, tasks, supplies, volunteers, plans, testing, health), as far as
    # the account's role allows: for the street office's own systems.
    FULL = "full", _("everything its role allows")


class ApiToken(models.Model):
    """A bearer token for scripts and other systems. It acts as its service account (role + scope)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    department = models.CharField(_("department"), max_length=10, choices=Department.choices, blank=True)
    # Permission values; empty: whatever the account's role allows (tokens made before permissions existed,
    # and the create_api_token command without --allow).
    permissions = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, permission: str) -> bool:
        """Whether the token was given `permission`; a token without any listed permission predates them and
        is limited by its account's role alone."""
        return not self.permissions or permission in self.permissions

    @staticmethod
    def generate() -> str:
        return "lnl_" + secrets.token_urlsafe(32)
