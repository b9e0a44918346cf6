"""Mass testing (核酸筛查, seed 000): a campaign for an area and a day, its sampling sites and lanes, the
time slots buildings are called in, each person's place in it, and the pooled tubes."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.core.clock import local_at, span


class Lane(models.TextChoices):
    NORMAL = "normal", _("normal lane")
    # Seed 000: "设置80岁以上老人、儿童、特殊人群的特殊通道".
    PRIORITY = "priority", _("priority lane")
    # Seed 000: "密接、次密接人员可安排在最后检测，单独规划路线".
    CONTROLLED = "controlled", _("separate route for people under health monitoring")


class Reason(models.TextChoices):
    """Why a person is not in the normal lane (priority lane, separate route, or sampled at home)."""

    NONE = "", _("none")
    OVER_80 = "over_80", _("over 80")
    CHILD = "child", pgettext_lazy("age group", "child")
    SPECIAL = "special", _("special needs")
    BED_BOUND = "bed_bound", _("bed-bound")
    HOME_ISOLATION = "home_isolation", _("home isolation")
    CONTROLLED = "controlled", _("under health monitoring")


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("not scheduled")
        SCHEDULED = "scheduled", _("scheduled")
        NOTIFIED = "notified", _("notices sent")
        CLOSED = "closed", _("closed")

    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    day = models.DateField(_("testing day"))
    starts_at = models.TimeField(_("sampling starts"), default=dt.time(7, 0))
    ends_at = models.TimeField(_("sampling ends"), default=dt.time(18, 0))
    slot_minutes = models.PositiveSmallIntegerField(_("minutes per time slot"), default=30)
    pool_size = models.PositiveSmallIntegerField(
        _("people per tube"), default=10, choices=[(1, "1"), (10, "10"), (20, "20")]
    )
    # None chosen: the whole community.
    buildings = models.ManyToManyField(
        "registry.Building", verbose_name=_("buildings"), blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The count taken from the registry when the campaign was opened and again at each scheduling.
    counts = models.JSONField(default=dict, blank=True)
    note = models.CharField(_("notes"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notices sent at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("testing campaign")
        verbose_name_plural = _("testing campaigns")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["community", "-day"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("screening:campaign", args=[self.pk])

    def at(self, time: dt.time) -> dt.datetime:
        return local_at(self.day, time)

    def windows(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's time slots, (start, end), from the start of sampling to its end."""
        start, end = self.at(self.starts_at), self.at(self.ends_at)
        step = dt.timedelta(minutes=self.slot_minutes)
        windows = []
        while start + step <= end:
            windows.append((start, start + step))
            start += step
        return windows

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def checkin_open(self) -> bool:
        """People are checked in once the notices are out, on the testing day (local time)."""
        return self.status == self.Status.NOTIFIED and timezone.localdate() == self.day


def _site_token() -> str:
    return secrets.token_urlsafe(9)


class Site(models.Model):
    """A sampling site; each lane's capacity is people per hour (0: the site has no such lane)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    place = models.CharField(_("where"), max_length=200, blank=True)
    normal_per_hour = models.PositiveIntegerField(_("normal lane, people per hour"), default=120)
    priority_per_hour = models.PositiveIntegerField(_("priority lane, people per hour"), default=40)
    controlled_per_hour = models.PositiveIntegerField(
        _("separate route for people under control, people per hour"), default=0
    )
    # The public queue page's address: unguessable, so one campaign's sites are not enumerable.
    token = models.CharField(max_length=16, unique=True, default=_site_token, editable=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("sampling site")
        verbose_name_plural = _("sampling sites")
        ordering = ["campaign", "order", "id"]

    def __str__(self) -> str:
        return self.name

    def per_hour(self, lane: str) -> int:
        return {
            Lane.NORMAL: self.normal_per_hour,
            Lane.PRIORITY: self.priority_per_hour,
            Lane.CONTROLLED: self.controlled_per_hour,
        }[Lane(lane)]


class Slot(models.Model):
    """One lane of one site for one time window; `load` is how many people are called to it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="slots")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="slots")
    lane = models.CharField(_("lane"), max_length=10, choices=Lane.choices)
    batch = models.PositiveSmallIntegerField(pgettext_lazy("time slot", "batch"))
    starts_at = models.DateTimeField(_("slot starts"))
    ends_at = models.DateTimeField(_("slot ends"))
    capacity = models.PositiveIntegerField(_("capacity"))
    load = models.PositiveIntegerField(_("people called"), default=0)

    class Meta:
        verbose_name = _("time slot")
        verbose_name_plural = _("time slots")
        ordering = ["campaign", "starts_at", "site", "lane"]
        indexes = [models.Index(fields=["campaign", "site", "starts_at"])]
        constraints = [
            models.UniqueConstraint(fields=["site", "lane", "starts_at"], name="slot_unique"),
            models.CheckConstraint(condition=Q(load__lte=models.F("capacity")), name="slot_within_capacity"),
        ]

    def __str__(self) -> str:
        return span(self.starts_at, self.ends_at)


class Tube(models.Model):
    """A sampling tube: 1 person, or a pool of 10 or 20 (10混1 / 20混1)."""

    class Result(models.TextChoices):
        PENDING = "", _("awaiting result")
        NEGATIVE = "negative", _("negative")
        POSITIVE = "positive", _("pooled positive")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tubes")
    # None: a door-to-door sampler's tube.
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes")
    code = models.CharField(_("tube code"), max_length=40)
    pool_size = models.PositiveSmallIntegerField(_("people per tube"))
    members = models.PositiveSmallIntegerField(_("people in the tube"), default=0)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, blank=True, default="")
    result_at = models.DateTimeField(null=True, blank=True)
    result_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("sampling tube")
        verbose_name_plural = _("sampling tubes")
        ordering = ["campaign", "opened_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "code"], name="tube_code_unique"),
            models.CheckConstraint(condition=Q(members__lte=models.F("pool_size")), name="tube_within_pool"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_full(self) -> bool:
        return self.members >= self.pool_size

    @property
    def is_open(self) -> bool:
        return self.sealed_at is None and not self.is_full


class Participant(models.Model):
    """One person to be tested in a campaign: when and where they are called, and whether they came.

    A district schedules ~200,000 of these at once, so the table carries only the indexes its pages use, and
    foreign keys the scheduler writes in bulk (campaign, slot) are not checked by the database: every row is
    written by campaign_schedule from rows it has just read. Columns that are NULL when written and only
    followed from the row (who checked in, where, the tasks) have no index."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="participants", db_index=False, db_constraint=False
    )
    resident = models.ForeignKey(
        "registry.Resident", on_delete=models.CASCADE, related_name="screenings", db_constraint=False
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    building = models.ForeignKey(
        "registry.Building", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    grid = models.ForeignKey(
        "registry.Grid",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    lane = models.CharField(_("lane"), max_length=10, choices=Lane.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices, blank=True)
    door = models.BooleanField(_("sampled at home"), default=False)
    slot = models.ForeignKey(
        Slot,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="participants",
        db_index=False,
        db_constraint=False,
    )
    # The slot the household was told about (site and start), so a change after the notices is re-sent.
    notified_site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    notified_start = models.DateTimeField(null=True, blank=True)
    slot_changed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    checkin_site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    tube = models.ForeignKey(
        Tube,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="participants",
        db_constraint=False,
        db_index=False,
    )
    # The door-to-door sampling task (bed-bound, home isolation) and the missed-person follow-up task.
    door_task = models.ForeignKey(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    followup_task = models.ForeignKey(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = _("person to test")
        verbose_name_plural = _("people to test")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "resident"], name="participant_unique"),
        ]
        indexes = [
            models.Index(fields=["campaign", "building"]),
            models.Index(fields=["campaign", "household"]),
            models.Index(fields=["slot"]),
            # Partial: only sampled people are in a tube, only door-to-door households have a task.
            models.Index(fields=["tube"], condition=Q(tube__isnull=False), name="participant_tube"),
            models.Index(
                fields=["door_task"], condition=Q(door_task__isnull=False), name="participant_door_task"
            ),
            # A volunteer's last check-ins, on every scan.
            models.Index(
                fields=["campaign", "checked_in_by", "-checked_in_at"],
                condition=Q(checked_in_at__isnull=False),
                name="participant_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.resident_id}"

    @property
    def is_checked_in(self) -> bool:
        return self.checked_in_at is not None
