"""Daily health monitoring (seed 001): residents' self-reports, the spot checks that verify them,
weekly visits to key populations, pharmacies' fever-medicine reports, and key sites with their
disinfection logs and environmental samples."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Seed 001: 37.3 °C and above is a fever; the form refuses what no thermometer on a living person reads.
FEVER_AT = Decimal("37.3")
TEMPERATURE_MIN = Decimal("34.0")
TEMPERATURE_MAX = Decimal("43.0")
PHOTO_MAX_BYTES = 10 * 1024 * 1024


def new_token() -> str:
    return secrets.token_urlsafe(12)


# --- self-reports -------------------------------------------------------------------------------------


class Symptom(models.TextChoices):
    COUGH = "cough", _("cough")
    SORE_THROAT = "sore_throat", _("sore throat")
    FATIGUE = "fatigue", _("fatigue or aches")
    TASTE_SMELL = "taste_smell", _("loss of taste or smell")
    BREATH = "breath", _("short of breath")
    DIARRHOEA = "diarrhoea", _("diarrhoea")
    OTHER = "other", _("other discomfort")


class Antigen(models.TextChoices):
    NONE = "none", _("not tested")
    NEGATIVE = "negative", _("negative")
    POSITIVE = "positive", _("positive")
    INVALID = "invalid", _("invalid test")


# The codes as sets: Symptom.values builds the choices (with their translated labels) on every use.
SYMPTOM_CODES = frozenset(Symptom.values)
ANTIGEN_CODES = frozenset(Antigen.values)


def report_is_abnormal(temperature: Decimal, symptoms: str, antigen: str) -> bool:
    """A fever, a symptom (`symptoms`: codes joined by commas) or a positive antigen test."""
    return temperature >= FEVER_AT or bool(symptoms.strip(",")) or antigen == Antigen.POSITIVE


class SelfReport(models.Model):
    """One person's report for one day. A second report the same day replaces the first (which stays,
    with `current` off): the current one is what counts."""

    # The day's counts group by community and grid; the foreign keys are not looked up by themselves.
    community = models.ForeignKey(
        "registry.Community", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    building = models.ForeignKey(
        "registry.Building", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    resident = models.ForeignKey(
        "registry.Resident", on_delete=models.CASCADE, related_name="self_reports", db_index=False
    )
    day = models.DateField(_("day"))
    submitted_at = models.DateTimeField(_("reported at"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.CharField(_("symptoms"), max_length=120, blank=True)  # Symptom values, comma-separated
    at_home = models.BooleanField(_("at home"), default=True)
    away_note = models.CharField(_("where, if away"), max_length=100, blank=True)
    antigen = models.CharField(
        _("antigen test"), max_length=10, choices=Antigen.choices, default=Antigen.NONE
    )
    photo = models.FileField(_("antigen photo"), upload_to="self-reports/%Y/%m/%d/", blank=True)
    abnormal = models.BooleanField(_("abnormal"), default=False)
    current = models.BooleanField(default=True)
    # Entered by a staff member for someone (after a call); empty when the resident reported.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("health self-report")
        verbose_name_plural = _("health self-reports")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "day"], condition=Q(current=True), name="self_report_one_current"
            )
        ]
        indexes = [
            models.Index(
                fields=["community", "day", "grid"], name="self_report_day", condition=Q(current=True)
            ),
            models.Index(fields=["resident", "day"], name="self_report_history"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.day} {self.temperature}"

    @property
    def has_fever(self) -> bool:
        return self.temperature >= FEVER_AT

    def symptom_list(self) -> list[str]:
        return [s for s in self.symptoms.split(",") if s]

    def symptom_labels(self) -> list[str]:
        return [str(Symptom(s).label) for s in self.symptom_list() if s in SYMPTOM_CODES]

    @property
    def summary(self) -> str:
        """ "37.8 °C · cough · antigen: negative · away: Beijing" for task details and lists."""
        from django.utils.translation import gettext

        parts = [f"{self.temperature} °C", *self.symptom_labels()]
        if self.antigen != Antigen.NONE:
            parts.append(gettext("antigen: %(result)s") % {"result": self.get_antigen_display()})
        if not self.at_home:
            parts.append(gettext("away: %(where)s") % {"where": self.away_note or "—"})
        return " · ".join(parts)

    def is_abnormal(self) -> bool:
        return report_is_abnormal(self.temperature, self.symptoms, self.antigen)


class SelfReportInbox(models.Model):
    """A household's report as received: one INSERT while the resident waits; a worker then writes the
    reports in batches (selfreport.inbox_process), checking who belongs to the household. The morning rush
    of a whole community stays fast on a small machine, and several app servers can take reports at once."""

    household_id = models.BigIntegerField()
    building_id = models.BigIntegerField()
    # [{"resident": id, "temperature": "36.5", "symptoms": [...], "at_home": true, "away": "", "antigen": "none",
    #   "photo": "self-reports/…"}]
    entries = models.JSONField()
    received_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Set aside when the database refused to write it, so it cannot hold up the others.
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("self-report received")
        verbose_name_plural = _("self-reports received")
        # No index: the table holds the last second's reports, and each index is written and deleted
        # again for every one of them.

    def __str__(self) -> str:
        return f"{self.household_id} {self.received_at}"


class SpotCheck(models.Model):
    """A reporter drawn for a verification call (seed 001: 抽查): a reproducible 10 % of each grid's
    reporters of the day."""

    class Result(models.TextChoices):
        PENDING = "pending", _("to call")
        CONFIRMED = "confirmed", _("confirmed")
        MISMATCH = "mismatch", _("does not match the report")
        UNREACHABLE = "unreachable", _("could not reach")

    community = models.ForeignKey(
        "registry.Community", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    day = models.DateField(_("day"))
    resident = models.ForeignKey("registry.Resident", on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(SelfReport, on_delete=models.CASCADE, related_name="+")
    drawn_at = models.DateTimeField()
    result = models.CharField(_("result"), max_length=12, choices=Result.choices, default=Result.PENDING)
    note = models.CharField(_("note"), max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        constraints = [models.UniqueConstraint(fields=["day", "resident"], name="spot_check_once_a_day")]
        indexes = [models.Index(fields=["community", "day", "grid"])]

    def __str__(self) -> str:
        return f"{self.day} {self.resident_id}"


# --- key-population visits ----------------------------------------------------------------------------


class VisitGroup(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("over 60 living alone")
    CHRONIC = "chronic", _("chronically ill")


class Need(models.TextChoices):
    GROCERIES = "groceries", _("groceries")
    MEDICINE = "medicine", _("medicine")
    HELP = "help", _("help at home")
    MEDICAL = "medical", _("see a doctor")


WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def week_of(day: dt.date) -> dt.date:
    """The Monday of `day`'s week: the week a visit counts for."""
    return day - dt.timedelta(days=day.weekday())


class VisitPlanQuerySet(models.QuerySet["VisitPlan"]):
    def due_by(self, day: dt.date) -> VisitPlanQuerySet:
        """Active plans whose visit in `day`'s week fell due on or before `day` (and not before the plan
        began)."""
        monday = week_of(day)
        due = Q(pk__in=[])
        for weekday in range(day.weekday() + 1):
            due |= Q(weekday=weekday, starts_on__lte=monday + dt.timedelta(days=weekday))
        return self.filter(due, active=True)

    def overdue(self, day: dt.date) -> VisitPlanQuerySet:
        """Plans due by the end of `day` in its week with no visit that week: on the list the day after."""
        visited = Visit.objects.filter(resident_id=models.OuterRef("resident_id"), week=week_of(day))
        return self.due_by(day).exclude(models.Exists(visited))


class VisitPlan(models.Model):
    """A resident visited once a week (seed 001: 重点人群每周走访), on a set weekday, by a set visitor."""

    community = models.ForeignKey("registry.Community", on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resident = models.OneToOneField("registry.Resident", on_delete=models.CASCADE, related_name="visit_plan")
    group = models.CharField(_("group"), max_length=20, choices=VisitGroup.choices)
    weekday = models.PositiveSmallIntegerField(_("visit day"), choices=WEEKDAYS)
    # Empty: the building's grid worker.
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visitor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)
    starts_on = models.DateField(_("from"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisitPlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit plan")
        verbose_name_plural = _("visit plans")
        indexes = [models.Index(fields=["community", "active", "weekday"])]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.get_weekday_display()}"

    def due_on(self, day: dt.date) -> dt.date:
        """This plan's visit day in the week (Monday–Sunday) that holds `day`."""
        return week_of(day) + dt.timedelta(days=self.weekday)


class Visit(models.Model):
    """One visit (or call) to a key-population resident: what was seen and what they need."""

    class Method(models.TextChoices):
        HOME = "home", _("home visit")
        PHONE = "phone", _("phone call")
        VIDEO = "video", _("video call")

    community = models.ForeignKey(
        "registry.Community", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    resident = models.ForeignKey("registry.Resident", on_delete=models.CASCADE, related_name="visits")
    plan = models.ForeignKey(
        VisitPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    # Monday of the week the visit counts for.
    week = models.DateField()
    visited_at = models.DateTimeField(_("visited at"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visitor"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    method = models.CharField(_("how"), max_length=10, choices=Method.choices, default=Method.HOME)
    bp_systolic = models.PositiveSmallIntegerField(_("blood pressure (systolic)"), null=True, blank=True)
    bp_diastolic = models.PositiveSmallIntegerField(_("blood pressure (diastolic)"), null=True, blank=True)
    temperature = models.DecimalField(
        _("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    medicines = models.CharField(_("medicines"), max_length=300, blank=True)
    medicine_days_left = models.PositiveSmallIntegerField(_("days of medicine left"), null=True, blank=True)
    symptoms = models.CharField(_("symptoms"), max_length=300, blank=True)
    needs = models.CharField(_("needs"), max_length=100, blank=True)  # Need values, comma-separated
    needs_note = models.CharField(_("about the needs"), max_length=300, blank=True)
    note = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at"]
        indexes = [
            models.Index(fields=["community", "week"]),
            models.Index(fields=["community", "visited_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.visited_at:%Y-%m-%d}"

    def need_list(self) -> list[str]:
        return [n for n in self.needs.split(",") if n]

    def need_labels(self) -> list[str]:
        return [str(Need(n).label) for n in self.need_list() if n in Need.values]


# --- key sites, disinfection, environmental samples -------------------------------------------------------


class SiteKind(models.TextChoices):
    SUPERMARKET = "supermarket", _("supermarket")
    MARKET = "market", _("farmers' market")
    SCHOOL = "school", _("school or kindergarten")
    EXPRESS = "express", _("express delivery point")
    COLD_CHAIN = "cold_chain", _("cold-chain store")
    NURSING_HOME = "nursing_home", _("nursing home")
    PHARMACY = "pharmacy", _("pharmacy")
    CLINIC = "clinic", _("clinic")
    OTHER = "other", pgettext_lazy("kind of place", "other")


class KeySite(models.Model):
    """A place that needs rules and disinfection in an epidemic: a supermarket, a school, a cold-chain store …"""

    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), on_delete=models.PROTECT, related_name="key_sites"
    )
    grid = models.ForeignKey(
        "registry.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    building = models.ForeignKey(
        "registry.Building",
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("person in charge"), max_length=50, blank=True)
    contact_phone = models.CharField(_("phone"), max_length=20, blank=True)
    rules = models.TextField(_("rules"), blank=True)
    # Times of day the site is disinfected ("07:00,19:00", seed 001).
    disinfect_times = models.CharField(_("disinfection times"), max_length=50, default="07:00,19:00")
    # Cold-chain stores are sampled every 3 days; empty: not sampled on a schedule.
    sample_every_days = models.PositiveSmallIntegerField(_("sample every (days)"), null=True, blank=True)
    # The public link (samples page, pharmacy report form, the marker's QR); a new token revokes the old.
    token = models.CharField(max_length=24, unique=True, default=new_token)
    active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("key site")
        verbose_name_plural = _("key sites")
        ordering = ["kind", "name"]
        indexes = [models.Index(fields=["community", "active"])]

    def __str__(self) -> str:
        return self.name

    def slot_times(self) -> list[dt.time]:
        times = []
        for part in self.disinfect_times.split(","):
            part = part.strip()
            if part:
                hour, _sep, minute = part.partition(":")
                times.append(dt.time(int(hour), int(minute or 0)))
        return sorted(times)


class Disinfection(models.Model):
    """A disinfection round at a key site: one per site, day and scheduled time."""

    site = models.ForeignKey(KeySite, on_delete=models.CASCADE, related_name="disinfections")
    day = models.DateField(_("day"))
    slot = models.TimeField(_("scheduled"))
    done_at = models.DateTimeField(_("done at"))
    done_by = models.CharField(_("done by"), max_length=50)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.CharField(_("disinfectant"), max_length=100, blank=True)
    areas = models.CharField(_("areas"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("disinfection")
        verbose_name_plural = _("disinfections")
        ordering = ["-day", "-slot"]
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "slot"], name="disinfection_once_a_slot")
        ]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day} {self.slot}"


class EnvSample(models.Model):
    """An environmental sample at a key site (cold chain: every 3 days), published with its result."""

    class Result(models.TextChoices):
        PENDING = "pending", _("awaiting result")
        NEGATIVE = "negative", _("negative")
        POSITIVE = "positive", _("positive")

    site = models.ForeignKey(KeySite, on_delete=models.CASCADE, related_name="samples")
    taken_on = models.DateField(_("sampled on"))
    points = models.CharField(_("sampling points"), max_length=300, blank=True)
    count = models.PositiveSmallIntegerField(_("number of samples"), default=1)
    taken_by = models.CharField(_("sampled by"), max_length=100, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, default=Result.PENDING)
    result_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("environmental sample")
        verbose_name_plural = _("environmental samples")
        ordering = ["-taken_on", "-id"]

    def __str__(self) -> str:
        return f"{self.site_id} {self.taken_on}"


# --- pharmacy reports ---------------------------------------------------------------------------------------


class PharmacyReport(models.Model):
    """A fever-medicine purchase reported by a pharmacy: the buyer gets a home check within 2 hours."""

    community = models.ForeignKey("registry.Community", on_delete=models.PROTECT, related_name="+")
    pharmacy = models.ForeignKey(
        KeySite,
        verbose_name=_("pharmacy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    pharmacy_name = models.CharField(_("pharmacy"), max_length=100)
    buyer_name = models.CharField(_("buyer"), max_length=50)
    buyer_phone = models.CharField(_("buyer's phone"), max_length=20, blank=True)
    buyer_id_number = models.CharField(_("buyer's ID number"), max_length=18, blank=True)
    address = models.CharField(_("buyer's address"), max_length=200, blank=True)
    medicine = models.CharField(_("medicine"), max_length=200)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    bought_at = models.DateTimeField(_("bought at"))
    # Who the buyer is in the ledger, when they could be matched.
    resident = models.ForeignKey(
        "registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=10, default="form")  # form, link, api

    class Meta:
        verbose_name = _("pharmacy report")
        verbose_name_plural = _("pharmacy reports")
        ordering = ["-bought_at"]
        indexes = [models.Index(fields=["community", "bought_at"])]

    def __str__(self) -> str:
        return f"{self.pharmacy_name} {self.bought_at:%Y-%m-%d %H:%M}"
