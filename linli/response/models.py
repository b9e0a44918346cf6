"""Responses: a plan activated with a level and a scope, its staffing, activity log and after-action review."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from linli.plans.models import LEVEL_CHOICES, LEVELS, PersonOnPost
from linli.tasks.models import Task


class Response(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        TERMINATED = "terminated", _("terminated")

    plan = models.ForeignKey(
        "plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="responses"
    )
    plan_version = models.PositiveIntegerField()
    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), on_delete=models.PROTECT, related_name="responses"
    )
    title = models.CharField(_("title"), max_length=200)
    level = models.PositiveSmallIntegerField(_("response level"), choices=LEVEL_CHOICES)
    is_drill = models.BooleanField(_("drill"), default=False)
    reason = models.TextField(_("reason"))
    whole_community = models.BooleanField(_("whole community"), default=True)
    buildings = models.ManyToManyField(
        "registry.Building", verbose_name=_("buildings"), blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    activated_at = models.DateTimeField(_("activated"))
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    staffed_at = models.DateTimeField(_("fully staffed"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated"), null=True, blank=True)
    terminated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    termination_note = models.TextField(_("termination note"), blank=True)
    criteria_met = models.JSONField(default=list, blank=True)
    went_well = models.TextField(_("what went well"), blank=True)
    to_improve = models.TextField(_("what to improve"), blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("drill score"), null=True, blank=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-activated_at"]
        indexes = [models.Index(fields=["community", "status"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("response:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def tasks(self) -> QuerySet[Task]:
        """The tasks made from the plan's steps for this response."""
        return Task.objects.filter(source=Task.Source.RESPONSE, source_id=self.pk)

    @property
    def level_colour(self) -> str:
        return LEVELS[self.level][1]

    @property
    def time_to_staffing(self) -> dt.timedelta | None:
        return self.staffed_at - self.activated_at if self.staffed_at else None


class Assignment(PersonOnPost):
    """A person on a position for this response. Copied from the plan's staffing at activation."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="assignments")
    position = models.ForeignKey("plans.Position", on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)
    on_duty_at = models.DateTimeField(_("on duty since"), null=True, blank=True)

    class Meta:
        ordering = ["position__order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["response", "position", "user"], name="assignment_unique_user"),
        ]


class LogEntry(models.Model):
    class Kind(models.TextChoices):
        ACTIVATED = "activated", _("activated")
        NOTE = "note", _("note")
        LEVEL = "level", _("level change")
        STAFFING = "staffing", _("staffing")
        TASK = "task", _("task")
        SITREP = "sitrep", _("situation report")
        TERMINATED = "terminated", _("terminated")
        REVIEW = "review", _("review")

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(_("entry"))

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.text[:60]


class SituationReport(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="sitreps")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    situation = models.TextField(_("situation"))
    objectives = models.TextField(_("objectives"), blank=True)
    actions = models.TextField(_("actions"), blank=True)
    resources = models.TextField(_("resources"), blank=True)
    needs = models.TextField(_("needs"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.situation[:60]
