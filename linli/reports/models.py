"""The daily prevention report (防控日报, seed 001: due at 09:00): one snapshot per grid, community and
street for each day, kept as history."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyReport(models.Model):
    class Scope(models.TextChoices):
        GRID = "grid", _("grid")
        COMMUNITY = "community", _("community")
        STREET = "street", _("street")

    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    # The grid's, community's or street's code: what the API's `scope=` takes.
    code = models.CharField(_("code"), max_length=40)
    street = models.ForeignKey("registry.Street", on_delete=models.PROTECT, related_name="+", db_index=False)
    community = models.ForeignKey(
        "registry.Community",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The morning the report is dated; its flows (new cases, reports, visits, tasks done) are the day before's.
    day = models.DateField(_("date"))
    generated_at = models.DateTimeField(_("generated"))
    data = models.JSONField(default=dict)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        ordering = ["-day", "scope", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "code", "day"], name="daily_report_once_a_day")
        ]
        indexes = [models.Index(fields=["street", "day"]), models.Index(fields=["community", "day"])]

    def __str__(self) -> str:
        return f"{self.code} {self.day}"
