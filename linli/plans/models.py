"""Emergency plans (应急预案): risk analysis, levels, organisation, procedure, supplies, contacts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.tasks.models import Team


class Category(models.TextChoices):
    NATURAL_DISASTER = "natural_disaster", _("Natural disaster")
    ACCIDENT = "accident", _("Accident")
    PUBLIC_HEALTH = "public_health", _("Public health")
    SOCIAL_SECURITY = "social_security", _("Social security")


class PositionRole(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    SITE_COMMANDER = "site_commander", _("Site commander")
    LEADER = "leader", pgettext_lazy("plan position", "Team leader")
    MEMBER = "member", pgettext_lazy("plan position", "Team member")


class Phase(models.TextChoices):
    ACTIVATION = "activation", _("Activation")
    RESPONSE = "response", _("Response")
    TERMINATION = "termination", _("Termination & recovery")


# Levels I (特别重大) to IV (一般) and their warning colours.
LEVELS = {
    1: (_("Level I (extremely serious)"), "red"),
    2: (_("Level II (very serious)"), "orange"),
    3: (_("Level III (serious)"), "yellow"),
    4: (_("Level IV (general)"), "blue"),
}
LEVEL_CHOICES = [(level, label) for level, (label, _colour) in LEVELS.items()]


def lines(text: str) -> list[str]:
    """A multi-line field (duties, criteria, notes) as its non-empty lines."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class Plan(models.Model):
    community = models.ForeignKey(
        "registry.Community",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plans",
    )
    is_template = models.BooleanField(_("template"), default=False)
    template_key = models.SlugField(max_length=60, blank=True)
    source = models.ForeignKey(
        "self",
        verbose_name=_("copied from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("event category"), max_length=20, choices=Category.choices)
    summary = models.TextField(_("summary"), blank=True)
    event_type = models.CharField(_("event type"), max_length=200, blank=True)
    location = models.TextField(_("where it may happen"), blank=True)
    severity_scope = models.TextField(_("when, how severe, how far"), blank=True)
    warning_signs = models.TextField(_("warning signs"), blank=True)
    secondary_effects = models.TextField(_("secondary effects"), blank=True)
    termination_criteria = models.TextField(
        _("termination criteria"), blank=True, help_text=_("One per line.")
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("One per line."))
    version = models.PositiveIntegerField(_("version"), default=1)
    approver = models.CharField(_("approved by"), max_length=100, blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    review_on = models.DateField(_("next review"), null=True, blank=True)
    is_archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("emergency plan")
        verbose_name_plural = _("emergency plans")
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["template_key"],
                condition=models.Q(is_template=True) & ~models.Q(template_key=""),
                name="plan_unique_builtin",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def termination_criteria_list(self) -> list[str]:
        return lines(self.termination_criteria)

    @property
    def notes_list(self) -> list[str]:
        return lines(self.notes)


class PlanLevel(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField(_("level"), choices=LEVEL_CHOICES)
    criteria = models.TextField(_("activation criteria"), blank=True)

    class Meta:
        ordering = ["level"]
        constraints = [models.UniqueConstraint(fields=["plan", "level"], name="planlevel_unique")]

    def __str__(self) -> str:
        return str(LEVELS[self.level][0])

    @property
    def colour(self) -> str:
        return LEVELS[self.level][1]


class Position(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="positions")
    key = models.SlugField(max_length=60)
    order = models.PositiveIntegerField(_("order"), default=0)
    team = models.CharField(_("team"), max_length=20, choices=Team.choices)
    role = models.CharField(_("role"), max_length=20, choices=PositionRole.choices)
    title = models.CharField(_("position"), max_length=100)
    filled_by = models.CharField(_("filled by"), max_length=200, blank=True)
    duties = models.TextField(_("duties"), blank=True, help_text=_("One duty per line."))

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="position_unique_key")]

    def __str__(self) -> str:
        return self.title

    @property
    def duties_list(self) -> list[str]:
        return lines(self.duties)

    @property
    def is_lead(self) -> bool:
        return self.role != PositionRole.MEMBER


class PersonOnPost(models.Model):
    """A staff account or a named person without one (a property manager, a volunteer) on a post:
    a plan's holder of a position, and a response's assignment copied from it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    organisation = models.CharField(_("organisation"), max_length=100, blank=True)
    is_standin = models.BooleanField(_("stand-in"), default=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.name
        return self.name or self.organisation

    @property
    def contact_phone(self) -> str:
        if self.phone:
            return self.phone
        return self.user.phone if self.user is not None else ""

    def person(self) -> dict[str, Any]:
        """The fields that say who it is, to copy the person onto another post."""
        return {
            "user_id": self.user_id,
            "name": self.name,
            "phone": self.phone,
            "organisation": self.organisation,
            "is_standin": self.is_standin,
        }


class PositionHolder(PersonOnPost):
    """Who fills a position in the plan. Stand-ins step in when nobody named can be reached."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="holders")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["is_standin", "order", "id"]


class Step(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    team = models.CharField(_("team"), max_length=20, choices=Team.choices)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices)
    position = models.ForeignKey(
        Position,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    text = models.TextField(_("step"))
    within_minutes = models.PositiveIntegerField(_("within (minutes)"), default=30)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class SupplyNeed(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="supplies")
    order = models.PositiveIntegerField(default=0)
    item = models.CharField(_("item"), max_length=100)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    storage = models.CharField(_("storage point"), max_length=200, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.item


class Contact(models.Model):
    class Kind(models.TextChoices):
        POLICE = "police", _("Police")
        FIRE = "fire", _("Fire")
        AMBULANCE = "ambulance", _("Ambulance")
        POLICE_STATION = "police_station", _("Police station")
        HOSPITAL = "hospital", _("Community hospital")
        OTHER = "other", _("Other")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="contacts")
    order = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class PlanRevision(models.Model):
    """The change history: one row per saved version with a snapshot of the whole plan."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField(_("version"))
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(_("change"), max_length=300, blank=True)
    snapshot = models.JSONField(default=dict)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["plan", "version"], name="planrevision_unique")]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.version}"
