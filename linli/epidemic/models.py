"""Dispatched lists, verification, control cases, health status and closed-area gate control (seed 002).

A dispatched list (DispatchBatch) arrives from the big-data centre or the CDC; each of its records
(DispatchRecord) is matched to the registry and becomes a verification Task for the building's grid
worker, due within its control type's deadline. A verified person may be put under control: a
ControlCase whose steps are Tasks (source "control") generated from its ControlType's template.
"""

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


class Measure(models.TextChoices):
    CENTRAL = "central", _("centralised isolation")
    HOME = "home", _("home isolation")
    MONITOR = "monitor", _("health monitoring")


class Colour(models.TextChoices):
    """健康码: green no risk, yellow needs a test / under monitoring, red under control."""

    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


class StepOwner(models.TextChoices):
    WORKER = "worker", _("grid worker")
    LOGISTICS = "logistics", _("logistics")
    MEDICAL = "medical", _("medical")
    LIAISON = "liaison", _("liaison")
    SECURITY = "security", _("security")


class StepKind(models.TextChoices):
    STEP = "step", _("step")
    TEST = "test", _("test")
    DAILY = "daily", _("every day")
    RELEASE = "release", _("release")


class ControlType(models.Model):
    """A configurable template: close contact, secondary contact, returned from a high-risk area …

    `steps` is a list of {"title", "owner" (StepOwner), "kind" (StepKind), and "hours" after the start
    or "day" of the control period}; a "daily" step repeats on every day, a "release" step is due on
    the release date. Built-in types have no community; a community may keep its own copy.
    """

    community = models.ForeignKey(
        "registry.Community",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="control_types",
    )
    key = models.SlugField(max_length=40)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    aliases = models.CharField(
        _("also written as"),
        max_length=300,
        blank=True,
        help_text=_("Words in a dispatched list's type column that mean this type, separated by commas."),
    )
    verify_minutes = models.PositiveIntegerField(_("verify within (minutes)"), default=240)
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    days = models.PositiveSmallIntegerField(_("days under control"), default=7)
    colour = models.CharField(_("health status while under control"), max_length=6, choices=Colour.choices)
    steps = models.JSONField(_("steps"), default=list, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("control type")
        verbose_name_plural = _("control types")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "key"], name="control_type_key_unique"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(community__isnull=True), name="control_type_builtin_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def verify_hours(self) -> float:
        return self.verify_minutes / 60


class DispatchBatch(models.Model):
    """One dispatched list as it arrived: created whole or not at all, never twice for the same file."""

    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    sender = models.CharField(_("sent by"), max_length=100)
    control_type = models.ForeignKey(
        ControlType, verbose_name=_("control type"), on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(_("file"), max_length=200)
    digest = models.CharField(max_length=64)
    received_at = models.DateTimeField(_("received"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline = models.DateTimeField(_("deadline"))
    rows = models.PositiveIntegerField(_("records"), default=0)
    counts = models.JSONField(default=dict)
    duplicates_merged = models.PositiveIntegerField(_("duplicates merged"), default=0)
    tasks_created = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispatched list")
        verbose_name_plural = _("dispatched lists")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["community", "digest"], name="dispatch_file_once")]

    def __str__(self) -> str:
        return f"{self.sender} {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("epidemic:batch", args=[self.pk])


class Outcome(models.TextChoices):
    RESIDENT = "resident", _("matched to a resident")
    HOUSEHOLD = "household", _("matched to a household only")
    AMBIGUOUS = "ambiguous", _("ambiguous")
    NOT_FOUND = "not_found", _("not in this community")
    INVALID = "invalid", _("invalid")


class Evidence(models.TextChoices):
    ID = "id", _("ID number")
    PHONE = "phone", _("phone")
    PHONE_NAME = "phone_name", _("phone and name")
    NAME_ADDRESS = "name_address", _("name and address")
    ADDRESS = "address", _("address")
    FUZZY = "fuzzy", _("similar name and address")
    NAME = "name", _("name only")
    CHOSEN = "chosen", _("chosen by the data group")
    NONE = "none", _("no match")


class Verification(models.TextChoices):
    """What the worker found, in the two taps of seed 002's "数据不过夜"."""

    PHONE = "phone", _("reached by phone")
    VISITED = "visited", _("visited")
    MOVED = "moved", _("moved away")
    NOT_OURS = "not_ours", _("not our resident")
    REFUSED = "refused", pgettext_lazy("verification result", "refused")


class DispatchRecord(models.Model):
    # Foreign keys the composite indexes below already lead with, or that are never looked up by
    # themselves, are not indexed again: a 10,000-row list writes every index 10,000 times. Nor are the
    # references to registry and staff rows checked by the database (db_constraint=False): PostgreSQL
    # checks each of them for every row at commit (about a second for a 10,000-row list), and the ORM
    # applies their on_delete anyway. The batch keeps its constraint.
    batch = models.ForeignKey(DispatchBatch, on_delete=models.CASCADE, related_name="records", db_index=False)
    community = models.ForeignKey(
        "registry.Community", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    grid = models.ForeignKey(
        "registry.Grid",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    row = models.PositiveIntegerField(_("row"))
    merged_rows = models.CharField(_("merged rows"), max_length=200, blank=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    id_number = models.CharField(_("ID number"), max_length=30, blank=True)
    id_valid = models.BooleanField(default=False)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    building = models.CharField(max_length=20, blank=True)
    entrance = models.CharField(max_length=10, blank=True)
    room = models.CharField(max_length=20, blank=True)
    control_type = models.ForeignKey(
        ControlType,
        verbose_name=_("control type"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    outcome = models.CharField(_("match"), max_length=10, choices=Outcome.choices)
    evidence = models.CharField(_("evidence"), max_length=12, choices=Evidence.choices)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    note = models.CharField(_("notes"), max_length=300, blank=True)
    candidates = models.JSONField(default=list, blank=True)  # resident ids, best first
    resident = models.ForeignKey(
        "registry.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dispatch_records",
        db_constraint=False,
    )
    household = models.ForeignKey(
        "registry.Household",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    due_at = models.DateTimeField(_("due"))
    # Who holds the verification task now (kept in step with the task when it is reassigned).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    result = models.CharField(_("result"), max_length=10, choices=Verification.choices, blank=True)
    result_note = models.CharField(_("note"), max_length=300, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("dispatched record")
        verbose_name_plural = _("dispatched records")
        ordering = ["batch", "row"]
        indexes = [
            models.Index(fields=["batch", "verified_at", "due_at"]),
            models.Index(fields=["assignee", "verified_at", "due_at"]),
            models.Index(fields=["community", "verified_at", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.row})"

    def get_absolute_url(self) -> str:
        return reverse("epidemic:batch", args=[self.batch_id]) + f"#r{self.pk}"

    @property
    def is_late(self) -> bool:
        if self.verified_at is not None:
            return self.verified_at > self.due_at
        return self.due_at < timezone.now()

    @property
    def masked_id_number(self) -> str:
        from linli.core.identity import mask_id_number

        return mask_id_number(self.id_number) if self.id_valid else self.id_number[:4] + "…"

    @property
    def masked_phone(self) -> str:
        from linli.core.identity import mask_phone

        return mask_phone(self.phone) if self.phone else ""


class ControlCase(models.Model):
    """One person under control: 100 people under isolation are 100 pipelines (seed 002)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("under control")
        RELEASED = "released", _("released")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resident = models.ForeignKey(
        "registry.Resident",
        verbose_name=_("resident"),
        on_delete=models.PROTECT,
        related_name="control_cases",
    )
    control_type = models.ForeignKey(
        ControlType, verbose_name=_("control type"), on_delete=models.PROTECT, related_name="cases"
    )
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    record = models.ForeignKey(
        DispatchRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(_("started"))
    release_on = models.DateField(_("release date"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Every change of the release date: [{"at", "by", "from", "to", "reason"}].
    changes = models.JSONField(default=list, blank=True)
    note = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("control case")
        verbose_name_plural = _("control cases")
        ordering = ["release_on", "id"]
        indexes = [
            models.Index(fields=["community", "status", "release_on"]),
            models.Index(fields=["resident", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"], condition=Q(status="active"), name="one_active_case_per_resident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.control_type}"

    def get_absolute_url(self) -> str:
        return reverse("epidemic:case", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def day_of(self, day: dt.date | None = None) -> int:
        """Day 1 is the day the control started."""
        day = day or timezone.localdate()
        return (day - timezone.localtime(self.started_at).date()).days + 1


class TestResult(models.Model):
    class Result(models.TextChoices):
        NEGATIVE = "negative", _("negative")
        POSITIVE = "positive", _("positive")

    community = models.ForeignKey("registry.Community", on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey("registry.Resident", on_delete=models.CASCADE, related_name="test_results")
    taken_on = models.DateField(_("sampled on"))
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    case = models.ForeignKey(
        ControlCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="tests"
    )
    source = models.CharField(_("source"), max_length=50, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("test result")
        verbose_name_plural = _("test results")
        ordering = ["-taken_on", "-id"]
        indexes = [models.Index(fields=["resident", "taken_on"])]

    def __str__(self) -> str:
        return f"{self.taken_on} {self.get_result_display()}"


class HealthStatus(models.Model):
    """A resident's current colour, derived by services.health_refresh; no row means green."""

    resident = models.OneToOneField("registry.Resident", on_delete=models.CASCADE, related_name="health")
    colour = models.CharField(_("health status"), max_length=6, choices=Colour.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    since = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("health status")
        verbose_name_plural = _("health statuses")

    def __str__(self) -> str:
        return self.get_colour_display()


class HealthChange(models.Model):
    resident = models.ForeignKey("registry.Resident", on_delete=models.CASCADE, related_name="health_history")
    colour = models.CharField(_("health status"), max_length=6, choices=Colour.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    at = models.DateTimeField(_("time"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["resident", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.colour}"


# --- closed-area gate control ------------------------------------------------------------------------


class ClosedArea(models.Model):
    """How a closed-management response runs its gates: where deliveries go, which gates are open."""

    response = models.OneToOneField("response.Response", on_delete=models.CASCADE, related_name="closed_area")
    pickup_point = models.CharField(_("express pickup point"), max_length=200, blank=True)
    gates = models.CharField(_("gates in use"), max_length=200, blank=True)
    notes = models.TextField(_("rules at the gate"), blank=True)

    class Meta:
        verbose_name = _("closed area")
        verbose_name_plural = _("closed areas")

    def __str__(self) -> str:
        return str(self.response)


# A guard may have to type the code at night: no 0/O, 1/I/L, and case does not matter.
PASS_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _pass_token() -> str:
    return "".join(secrets.choice(PASS_ALPHABET) for _ in range(12))


def normalise_pass_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


class ExitPass(models.Model):
    class Reason(models.TextChoices):
        HOSPITAL = "hospital", _("hospital visit")
        OFFICIAL = "official", _("official duty")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", pgettext_lazy("exit pass", "refused")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey("registry.Community", on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey("response.Response", on_delete=models.CASCADE, related_name="exit_passes")
    resident = models.ForeignKey(
        "registry.Resident", verbose_name=_("resident"), on_delete=models.PROTECT, related_name="exit_passes"
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    detail = models.CharField(_("details"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    token = models.CharField(max_length=32, unique=True, default=_pass_token, editable=False)
    out_at = models.DateTimeField(_("went out"), null=True, blank=True)
    back_at = models.DateTimeField(_("came back"), null=True, blank=True)

    class Meta:
        verbose_name = _("exit pass")
        verbose_name_plural = _("exit passes")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["response", "status"])]

    def __str__(self) -> str:
        return f"{self.resident} · {self.get_reason_display()}"

    def get_absolute_url(self) -> str:
        return reverse("epidemic:pass", args=[self.pk])


class GateCheck(models.Model):
    class Direction(models.TextChoices):
        OUT = "out", pgettext_lazy("gate direction", "out")
        IN = "in", pgettext_lazy("gate direction", "in")

    community = models.ForeignKey("registry.Community", on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey("response.Response", on_delete=models.CASCADE, related_name="gate_checks")
    exit_pass = models.ForeignKey(
        ExitPass, null=True, blank=True, on_delete=models.SET_NULL, related_name="checks"
    )
    resident = models.ForeignKey(
        "registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    allowed = models.BooleanField(_("let through"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    gate = models.CharField(_("gate"), max_length=50, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("gate check")
        verbose_name_plural = _("gate checks")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.direction}"
