"""Broadcasts (通知): a notice to residents or staff of a community, or part of it (buildings, special
populations), on the channels chosen, with acknowledgement tracking. Residents who do not confirm by the
deadline are passed to their building contact and grid worker for a knock on the door (seed 000)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Audience(models.TextChoices):
    RESIDENTS = "residents", _("residents")
    STAFF = "staff", _("staff")


class NoticeTemplate(models.Model):
    """A reusable notice. `{community}`, `{date}`, `{time}`, `{place}` and `{phone}` are filled in when it is
    used; a template without a community is built in and offered to every community."""

    community = models.ForeignKey(
        "registry.Community", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.SlugField(max_length=50, blank=True)  # built-in templates, for the API: "testing-round"
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    audience = models.CharField(_("to"), max_length=10, choices=Audience.choices, default=Audience.RESIDENTS)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Broadcast(models.Model):
    class Scope(models.TextChoices):
        COMMUNITY = "community", _("whole community")
        BUILDINGS = "buildings", _("buildings")
        SPECIAL = "special", _("special populations")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")

    community = models.ForeignKey("registry.Community", on_delete=models.CASCADE, related_name="broadcasts")
    audience = models.CharField(_("to"), max_length=10, choices=Audience.choices, default=Audience.RESIDENTS)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.COMMUNITY)
    buildings = models.ManyToManyField("registry.Building", blank=True, related_name="+")
    special_kinds = models.JSONField(default=list, blank=True)  # registry.SpecialKind values
    template = models.ForeignKey(
        NoticeTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    channels = models.JSONField(default=list)  # Channel values
    require_ack = models.BooleanField(_("ask for confirmation"), default=False)
    ack_deadline = models.DateTimeField(_("confirm by"), null=True, blank=True)
    public = models.BooleanField(_("on the public notice board"), default=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        indexes = [models.Index(fields=["community", "-created_at"])]

    def __str__(self) -> str:
        return self.title


class BroadcastRecipient(models.Model):
    """One person a broadcast went to; `token` is their confirmation link (/n/<token>/)."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    resident = models.ForeignKey(
        "registry.Resident", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(max_length=20, blank=True)
    token = models.CharField(max_length=16, unique=True)
    acked_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    ack_via = models.CharField(max_length=10, blank=True)  # link, sms, staff
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("broadcast recipient")
        verbose_name_plural = _("broadcast recipients")
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "resident"],
                name="recipient_resident_once",
                condition=Q(resident__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["broadcast", "user"], name="recipient_user_once", condition=Q(user__isnull=False)
            ),
        ]
        indexes = [models.Index(fields=["broadcast", "acked_at"], name="recipient_ack")]

    def __str__(self) -> str:
        return self.token
