"""The task engine: every deadline in Linli is a Task with an assignee, a due time and an escalation chain."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_ESCALATION_MINUTES = 30


class Team(models.TextChoices):
    """The response teams of seed 000; a task can be owned by a team as well as by a person."""

    COMMAND = "command", _("Command")
    ENGINEERING = "engineering", _("Engineering & repair")
    LIAISON = "liaison", _("Liaison & communications")
    MEDICAL = "medical", _("Medical first aid")
    SECURITY = "security", _("Traffic & security")
    LOGISTICS = "logistics", _("Logistics")
    # Seed 002's data group: checks dispatched records nobody could match to a resident.
    DATA = "data", _("Data group")


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        IN_PROGRESS = "in_progress", _("in progress")
        BLOCKED = "blocked", _("blocked")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    class Priority(models.IntegerChoices):
        URGENT = 1, _("urgent")
        HIGH = 2, _("high")
        NORMAL = 3, _("normal")
        LOW = 4, _("low")

    class Source(models.TextChoices):
        RESPONSE = "response", _("response step")
        MANUAL = "manual", _("manual")
        VERIFICATION = "verification", _("verification")
        VISIT = "visit", _("visit")
        CONTROL = "control", _("control case step")
        SCREENING = "screening", _("mass testing")
        HEALTH = "health", _("health report follow-up")
        PHARMACY = "pharmacy", _("pharmacy report")
        KEY_SITE = "key_site", _("key site")
        QUESTION = "question", _("resident question")
        INCIDENT = "incident", _("incident report")
        BROADCAST = "broadcast", _("notice not confirmed")

    # community and assignee lead composite indexes below; done_by is never looked up by itself. Each index
    # less is a write less for every task a dispatched list or an activation creates.
    community = models.ForeignKey(
        "registry.Community",
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    grid = models.ForeignKey(
        "registry.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("task"), max_length=300)
    detail = models.TextField(_("details"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        db_index=False,
    )
    team = models.CharField(_("team"), max_length=20, choices=Team.choices, blank=True)
    position_title = models.CharField(_("position"), max_length=100, blank=True)
    # The escalation chain: the assignee first, then the leader, then the commander.
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("due"))
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    source_id = models.BigIntegerField(null=True, blank=True)
    # Where in its source the task belongs (a response's phase, a case's step), for grouping and review.
    stage = models.CharField(max_length=20, blank=True)
    order = models.PositiveIntegerField(default=0)
    result = models.TextField(_("result"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(_("finished"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # Escalation state, advanced only by the deadline scan's conditional update (see services.deadline_scan):
    # level 1 told the assignee, 2 the leader, 3 the commander; the next step comes escalation_minutes later.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalation_minutes = models.PositiveSmallIntegerField(default=DEFAULT_ESCALATION_MINUTES)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.BLOCKED)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["source", "source_id", "status"]),
            models.Index(fields=["assignee", "status", "due_at"]),
            models.Index(fields=["community", "status", "due_at"]),
            # The daily report counts a day's new and finished tasks (reports.figures._count_tasks).
            models.Index(fields=["community", "created_at"], name="task_created"),
            models.Index(
                fields=["community", "done_at"], name="task_done", condition=Q(done_at__isnull=False)
            ),
            models.Index(
                fields=["next_escalation_at"],
                name="task_escalation_due",
                condition=Q(next_escalation_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("tasks:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.is_open and self.due_at < (now or timezone.now())

    @property
    def overdue(self) -> bool:
        return self.is_overdue()

    def lateness(self) -> dt.timedelta | None:
        """How late the task finished (negative: early), or None while it is not done."""
        if self.done_at is None:
            return None
        return self.done_at - self.due_at

    @property
    def finished_on_time(self) -> bool:
        return self.status == self.Status.DONE and self.done_at is not None and self.done_at <= self.due_at

    @property
    def needs_reassignment(self) -> bool:
        """Open, and nobody active holds it (the selector tasks_needing_reassignment asks the same in SQL)."""
        return self.is_open and (self.assignee is None or not self.assignee.is_active)
