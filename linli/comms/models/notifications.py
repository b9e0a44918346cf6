"""In-app notifications (every message lands here) and each person's channel preferences."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("assignment")
        OVERDUE = "overdue", _("overdue")
        DIGEST = "digest", _("overdue digest")
        RESPONSE = "response", _("response")
        INFO = "info", _("information")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("to")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INFO)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    urgent = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]

    def __str__(self) -> str:
        return self.title


class ChannelPreference(models.Model):
    """How a staff member wants to be reached beyond the in-app list (which always gets everything).
    Urgent messages go at once on every channel switched on; the rest wait out the quiet hours and, with
    `digest`, arrive as one summary every `digest_minutes` instead of a flood."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="channel_preference",
    )
    sms = models.BooleanField(_("SMS"), default=True)
    email = models.BooleanField(_("email"), default=False)
    quiet_start = models.TimeField(_("quiet hours from"), default=dt.time(22, 0))
    quiet_end = models.TimeField(_("quiet hours until"), default=dt.time(7, 0))
    digest = models.BooleanField(_("digest of non-urgent messages"), default=True)
    digest_minutes = models.PositiveSmallIntegerField(_("digest every (minutes)"), default=60)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")

    def __str__(self) -> str:
        return str(self.user)

    def is_quiet(self, at: dt.time) -> bool:
        """Within the quiet hours (which may wrap past midnight: 22:00-07:00)."""
        if self.quiet_start == self.quiet_end:
            return False
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= at < self.quiet_end
        return at >= self.quiet_start or at < self.quiet_end
