"""Residents' questions (问题反映渠道, seed 002): asked from the building's QR page, each becomes a ticket
for the right team with a deadline, and the answer goes back to the resident. Answered questions grow the
community's FAQ, which the ask page suggests while the resident types, so a question is answered once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FaqEntry(models.Model):
    community = models.ForeignKey("registry.Community", on_delete=models.CASCADE, related_name="faq")
    question = models.CharField(_("question"), max_length=300)
    answer = models.TextField(_("answer"))
    team = models.CharField(_("team"), max_length=20, blank=True)
    published = models.BooleanField(_("published"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # How often it was suggested and how often it answered someone (they did not ask after all).
    shown = models.PositiveIntegerField(default=0)
    helped = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ")
        ordering = ["-helped", "-updated_at"]

    def __str__(self) -> str:
        return self.question


class Question(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("waiting for an answer")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")

    community = models.ForeignKey("registry.Community", on_delete=models.CASCADE, related_name="questions")
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    household = models.ForeignKey(
        "registry.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    text = models.TextField(_("question"))
    photo = models.ImageField(_("photo"), upload_to="questions/%Y/%m/", blank=True)
    team = models.CharField(_("team"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    token = models.CharField(max_length=24, unique=True)  # the resident's link to the answer
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    faq = models.ForeignKey(
        FaqEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="questions"
    )

    class Meta:
        verbose_name = _("resident question")
        verbose_name_plural = _("resident questions")
        indexes = [models.Index(fields=["community", "status", "-created_at"])]

    def __str__(self) -> str:
        return self.text[:50]
