"""The volunteer force (seed 000's pyramid): volunteers in tiers with skills and certificates,
enterprises that enrol trained employees (云入库), needs that call volunteers out, shifts with
check-in and hours, and the points that reward them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.core.identity import mask_id_number, mask_phone

# Weekly availability: 7 days × 3 periods, one bit each (Monday morning is bit 0).
PERIODS: list[tuple[int, int, object]] = [
    (8, 12, _("morning")),
    (12, 18, _("afternoon")),
    (18, 23, _("evening")),
]
DAYS = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
ALL_WEEK = (1 << 21) - 1


def period_bits(start: dt.datetime, end: dt.datetime) -> int:
    """The availability bits a shift from start to end touches (local time). Hours outside the three
    periods (the night) need an on-call volunteer."""
    bits = 0
    at = timezone.localtime(start).replace(minute=0, second=0, microsecond=0)
    stop = timezone.localtime(end)
    night = False
    while at < stop:
        index = next((i for i, (a, b, _label) in enumerate(PERIODS) if a <= at.hour < b), None)
        if index is None:
            night = True
        else:
            bits |= 1 << (at.weekday() * 3 + index)
        at += dt.timedelta(hours=1)
    return bits | (1 << 21 if night else 0)


class Tier(models.TextChoices):
    GENERAL = "general", _("General (日常组)")
    PROFESSIONAL = "professional", _("Professional (专业组)")
    EXPERT = "expert", _("Expert (专家组)")


class Skill(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    needs_certificate = models.BooleanField(_("needs a valid certificate"), default=False)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = translation.get_language() or ""
        return self.name_en if self.name_en and not language.startswith("zh") else self.name


class Enterprise(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("applied")
        APPROVED = "approved", _("approved")
        SUSPENDED = "suspended", _("suspended")

    street = models.ForeignKey("registry.Street", verbose_name=_("street"), on_delete=models.PROTECT)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact = models.CharField(_("contact person"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLIED)
    accounts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="enterprises")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EnterpriseTeam(models.Model):
    """An enterprise's emergency response team (seed 003: 22 teams, 60 full-time, 998 part-time)."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    speciality = models.CharField(_("speciality"), max_length=100, blank=True)
    full_time = models.PositiveIntegerField(_("full-time members"), default=0)
    part_time = models.PositiveIntegerField(_("part-time members"), default=0)
    equipment = models.TextField(_("equipment"), blank=True)
    leader = models.CharField(_("leader"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("enterprise response team")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("applied")
        ACTIVE = "active", pgettext_lazy("volunteer", "active")
        INACTIVE = "inactive", _("inactive")
        SUSPENDED = "suspended", _("suspended")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="volunteer"
    )
    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), on_delete=models.PROTECT, related_name="volunteers"
    )
    street = models.ForeignKey("registry.Street", on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(
        "registry.Building", verbose_name=_("home building"), null=True, blank=True, on_delete=models.SET_NULL
    )
    grid = models.ForeignKey(
        "registry.Grid", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="volunteers",
    )
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    tier = models.CharField(_("tier"), max_length=12, choices=Tier.choices, default=Tier.GENERAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLIED)
    skills = models.ManyToManyField(Skill, verbose_name=_("skills"), blank=True, related_name="volunteers")
    availability = models.PositiveIntegerField(_("weekly availability"), default=0)
    on_call = models.BooleanField(_("on call (any time, nights too)"), default=False)
    agreement_signed_at = models.DateTimeField(_("service agreement signed"), null=True, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    insurer = models.CharField(_("insurer"), max_length=100, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=60, blank=True)
    cover = models.CharField(_("cover"), max_length=100, blank=True)
    insured_until = models.DateField(_("insured until"), null=True, blank=True)
    applied_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["name"]
        indexes = [models.Index(fields=["street", "status"]), models.Index(fields=["community", "status"])]
        constraints = [models.UniqueConstraint(fields=["street", "phone"], name="one_volunteer_per_phone")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        # Street and grid follow the community and building, so "same grid" ranking stays true.
        if self.community_id:
            self.street_id = self.community.street_id
        self.grid_id = self.building.grid_id if self.building_id else None  # type: ignore[union-attr]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number) if self.id_number else ""

    def is_insured(self, on: dt.date | None = None) -> bool:
        return self.insured_until is not None and self.insured_until >= (on or timezone.localdate())

    def availability_grid(self) -> list[tuple[object, list[bool]]]:
        return [(DAYS[d], [bool(self.availability >> (d * 3 + p) & 1) for p in range(3)]) for d in range(7)]


class Certificate(models.Model):
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="certificates")
    skill = models.ForeignKey(Skill, verbose_name=_("skill it confirms"), on_delete=models.PROTECT)
    number = models.CharField(_("certificate number"), max_length=60)
    issuer = models.CharField(_("issued by"), max_length=100)
    issued_on = models.DateField(_("date issued"))
    expires_on = models.DateField(_("expires"), null=True, blank=True)
    scan = models.FileField(_("scan"), upload_to="certificates/%Y/", blank=True)

    class Meta:
        verbose_name = _("certificate")
        ordering = ["expires_on"]

    def __str__(self) -> str:
        return f"{self.skill} {self.number}"

    def is_valid(self, on: dt.date | None = None) -> bool:
        day = on or timezone.localdate()
        return self.issued_on <= day and (self.expires_on is None or self.expires_on >= day)


class Training(models.Model):
    class Kind(models.TextChoices):
        TRAINING = "training", _("training")
        DRILL = "drill", _("drill")

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="trainings")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TRAINING)
    title = models.CharField(_("title"), max_length=100)
    on = models.DateField(_("date"))
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=Decimal(0))
    provider = models.CharField(_("given by"), max_length=100, blank=True)

    class Meta:
        ordering = ["-on"]

    def __str__(self) -> str:
        return self.title


class Need(models.Model):
    """A call for volunteers: "4 people with medical first aid, building 12, tonight 19:00–23:00"."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("volunteer need", "recruiting")
        CLOSED = "closed", pgettext_lazy("volunteer need", "filled")
        CANCELLED = "cancelled", pgettext_lazy("volunteer need", "cancelled")

    community = models.ForeignKey("registry.Community", verbose_name=_("community"), on_delete=models.PROTECT)
    street = models.ForeignKey("registry.Street", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("what for"), max_length=100)
    skills = models.ManyToManyField(Skill, verbose_name=_("skills needed"), related_name="+")
    count = models.PositiveIntegerField(_("people needed"))
    building = models.ForeignKey(
        "registry.Building", verbose_name=_("building"), null=True, blank=True, on_delete=models.SET_NULL
    )
    place = models.CharField(_("place"), max_length=100, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    response = models.ForeignKey(
        "response.Response", verbose_name=_("response"), null=True, blank=True, on_delete=models.SET_NULL
    )
    is_drill = models.BooleanField(_("drill"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    checkin_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: object, **kwargs: object) -> None:
        if self.community_id and not self.street_id:
            self.street_id = self.community.street_id
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def hours(self) -> Decimal:
        return Decimal((self.ends_at - self.starts_at).total_seconds() / 3600).quantize(Decimal("0.1"))


class Shift(models.Model):
    """One volunteer called out for one need."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("called out")
        ACCEPTED = "accepted", pgettext_lazy("call-out", "accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="shifts")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="shifts")
    # Copied from the need so overlap checks are one indexed query.
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OFFERED)
    offered_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    hours = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["need", "volunteer"], name="one_shift_per_need")]
        indexes = [models.Index(fields=["volunteer", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.need}"

    @property
    def is_live(self) -> bool:
        return self.status in (self.Status.OFFERED, self.Status.ACCEPTED)


class PointEntry(models.Model):
    """Service hours and credit points, one line per award (append-only)."""

    class Reason(models.TextChoices):
        HOURS = "hours", _("service hours")
        DRILL = "drill", _("drill")
        NIGHT = "night", _("night bonus")
        TRAINING = "training", _("training")
        BONUS = "bonus", _("commendation")

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="points")
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=2, default=Decimal(0))
    points = models.DecimalField(_("points"), max_digits=8, decimal_places=1)
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["volunteer", "at"])]

    def __str__(self) -> str:
        return f"{self.volunteer} +{self.points}"


class Injury(models.Model):
    """An injury on duty, recorded for the insurance claim (seed 000)."""

    class Claim(models.TextChoices):
        NONE = "none", _("not claimed")
        FILED = "filed", _("claim filed")
        SETTLED = "settled", _("claim settled")

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="injuries")
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(_("when"))
    description = models.TextField(_("what happened"))
    treatment = models.CharField(_("treatment"), max_length=200, blank=True)
    claim = models.CharField(_("insurance claim"), max_length=10, choices=Claim.choices, default=Claim.NONE)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.occurred_at:%Y-%m-%d}"
