"""Staff badges (seed 002: "how do I know you are who you say?"): every staff member and volunteer on duty
carries a QR code; a resident who scans it sees the name, photo, role and whether the person is on duty now.
A lost badge is revoked and a new code issued; the old one then says so."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Badge(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges")
    token = models.CharField(max_length=24, unique=True)
    photo = models.ImageField(_("photo"), upload_to="badges/", blank=True)
    title = models.CharField(_("role shown"), max_length=50, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A staff member's own "on duty" switch (volunteers are on duty while checked in to a shift).
    on_duty_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("staff badge")
        verbose_name_plural = _("staff badges")

    def __str__(self) -> str:
        return f"{self.user}: {self.token[:6]}…"
