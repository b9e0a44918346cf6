"""The community registry: street → community → grid → building → entrance → household → resident."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from linli.core.identity import mask_id_number, mask_phone


class Street(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)

    class Meta:
        verbose_name = _("street office")
        verbose_name_plural = _("street offices")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    street = models.ForeignKey(
        Street, verbose_name=_("street"), on_delete=models.PROTECT, related_name="communities"
    )
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    address = models.CharField(_("office address"), max_length=200, blank=True)
    phone = models.CharField(_("office phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Grid(models.Model):
    community = models.ForeignKey(
        Community, verbose_name=_("community"), on_delete=models.PROTECT, related_name="grids"
    )
    code = models.SlugField(_("code"), max_length=40, unique=True)
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_grids",
    )

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["community", "number"]
        constraints = [models.UniqueConstraint(fields=["community", "number"], name="grid_number_unique")]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    community = models.ForeignKey(
        Community, verbose_name=_("community"), on_delete=models.PROTECT, related_name="buildings"
    )
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
    )
    # The building's number as people write it ("3", "17A"); sort_key orders 2 before 10.
    number = models.CharField(_("building number"), max_length=20)
    sort_key = models.PositiveIntegerField(default=0, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    contact_name = models.CharField(_("building contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("building contact phone"), max_length=20, blank=True)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible grid worker"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
    )

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["community", "sort_key", "number"]
        constraints = [models.UniqueConstraint(fields=["community", "number"], name="building_number_unique")]

    def __str__(self) -> str:
        return _("Building %(number)s") % {"number": self.number}

    def save(self, *args: object, **kwargs: object) -> None:
        self.sort_key = building_sort_key(self.number)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)


def building_sort_key(number: str) -> int:
    digits = "".join(ch for ch in number if ch.isdigit())[:6]
    return int(digits) if digits else 999999


class Entrance(models.Model):
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="entrances")
    # "" for buildings without separate entrances.
    number = models.CharField(_("entrance"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("entrance")
        verbose_name_plural = _("entrances")
        ordering = ["building", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="entrance_number_unique")]

    def __str__(self) -> str:
        return _("Entrance %(number)s") % {"number": self.number} if self.number else ""


class Household(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="households")
    grid = models.ForeignKey(
        Grid, null=True, blank=True, on_delete=models.SET_NULL, related_name="households"
    )
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="households")
    entrance = models.ForeignKey(Entrance, on_delete=models.PROTECT, related_name="households")
    room = models.CharField(_("room"), max_length=20)
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["building__sort_key", "entrance__number", Length("room"), "room"]
        constraints = [models.UniqueConstraint(fields=["entrance", "room"], name="household_room_unique")]

    def __str__(self) -> str:
        return household_label(self.building.number, self.entrance.number, self.room)


def household_label(building: str, entrance: str, room: str) -> str:
    # gettext, not the lazy _: a label is made when asked for (thousands at a time in lists and the worker).
    parts = [gettext("Bldg %(n)s") % {"n": building}]
    if entrance:
        parts.append(gettext("Ent %(n)s") % {"n": entrance})
    parts.append(gettext("Rm %(n)s") % {"n": room})
    return " ".join(parts)


class Relation(models.TextChoices):
    SELF = "self", _("householder")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    GRANDCHILD = "grandchild", _("grandchild")
    GRANDPARENT = "grandparent", _("grandparent")
    SIBLING = "sibling", _("sibling")
    CHILD_IN_LAW = "child_in_law", _("son/daughter-in-law")
    TENANT = "tenant", _("tenant")
    OTHER = "other", _("other")


class Residency(models.TextChoices):
    BOTH = "both", _("registered and living here")
    LIVING = "living", _("living here, registered elsewhere")
    REGISTERED = "registered", _("registered here, living elsewhere")


class SpecialKind(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("elderly living alone")
    OVER_80 = "over_80", _("over 80")
    DISABLED = "disabled", _("disabled")
    CHRONIC = "chronic", _("chronic illness")
    PREGNANT = "pregnant", _("pregnant")
    INFANT = "infant", _("infant")
    NEEDS_HELP = "needs_help", _("needs help")
    # Sampled at home in mass testing (seed 000: "上门").
    BED_BOUND = "bed_bound", _("bed-bound")


# Over 80 and infants follow from the birth date; the rest are recorded.
DERIVED_KINDS = frozenset({SpecialKind.OVER_80, SpecialKind.INFANT})
RECORDED_KINDS = [k for k in SpecialKind if k not in DERIVED_KINDS]
INFANT_MAX_YEARS = 3


class Resident(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="residents")
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents")
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="members"
    )
    name = models.CharField(_("name"), max_length=50, db_index=True)
    id_number = models.CharField(_("ID number"), max_length=18)
    # Reversed copies make "last digits" searches an indexed range scan on SQLite and PostgreSQL alike.
    id_rev = models.CharField(max_length=18, editable=False, db_index=True)
    legacy_id = models.BooleanField(default=False, editable=False)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=[("M", _("male")), ("F", _("female"))])
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phone_rev = models.CharField(max_length=20, editable=False, blank=True, db_index=True)
    relation = models.CharField(
        _("relation to householder"), max_length=20, choices=Relation.choices, default=Relation.OTHER
    )
    residency = models.CharField(
        _("residency"), max_length=20, choices=Residency.choices, default=Residency.BOTH
    )
    contact_name = models.CharField(_("family contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("family contact phone"), max_length=20, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        # Rooms sort as numbers: 101, 102, … 1001 (shorter numbers are lower floors).
        ordering = [
            "household__building__sort_key",
            "household__entrance__number",
            Length("household__room"),
            "household__room",
            "id",
        ]
        constraints = [models.UniqueConstraint(fields=["community", "id_number"], name="resident_id_unique")]
        indexes = [
            models.Index(fields=["community", "residency"]),
            models.Index(fields=["community", "birth_date"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.fill_search_keys()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def fill_search_keys(self) -> None:
        self.id_rev = self.id_number[::-1]
        self.phone_rev = self.phone[::-1]

    def age_on(self, day: date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)

    @property
    def lives_here(self) -> bool:
        return self.residency in (Residency.BOTH, Residency.LIVING)

    def special_kinds(self) -> list[str]:
        """Recorded tags (prefetched as `special`) plus the ones that follow from age."""
        kinds = [s.kind for s in self.special.all()]
        age = self.age
        if age >= 80:
            kinds.append(SpecialKind.OVER_80)
        if age < INFANT_MAX_YEARS:
            kinds.append(SpecialKind.INFANT)
        return kinds

    def special_labels(self) -> list[str]:
        return [str(SpecialKind(k).label) for k in self.special_kinds()]


class SpecialCare(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="special")
    kind = models.CharField(_("special population"), max_length=20, choices=SpecialKind.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("special population tag")
        verbose_name_plural = _("special population tags")
        constraints = [models.UniqueConstraint(fields=["resident", "kind"], name="special_kind_unique")]

    def __str__(self) -> str:
        return str(self.get_kind_display())
