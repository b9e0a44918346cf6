"""Emergency supplies: the catalogue, storage points, lots, the movement ledger, targets, stocktakes and
requests.

The ledger (Movement) is append-only: nothing updates or deletes a movement, and every balance can be
derived from it. Each lot also keeps a running total (Lot.on_hand), written in the same transaction as
the movement that changes it and only through a conditional UPDATE, so boards read one row per lot
instead of summing a million movements, and two people issuing at once can never take the same unit.
`selectors.ledger_mismatches` recomputes every balance from the ledger and must always find nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.tasks.models import Team

# Quarterly rotation (seed 001): what expires within this many days is offered for use or donation.
ROTATION_DAYS = 90
# Seed 001: stockpile for 30 days at full load.
DEFAULT_TARGET_DAYS = 30


class Category(models.TextChoices):
    """The three top classes of GB/T 38565-2020 (应急物资分类及编码)."""

    LIVING = "1", _("1 Basic living supplies")
    EQUIPMENT = "2", _("2 Emergency equipment and supporting supplies")
    ENGINEERING = "3", _("3 Engineering materials and machinery")


class Group(models.TextChoices):
    """A working subdivision inside the GB/T classes, as a logistics team sorts its shelves."""

    PROTECTION = "protection", _("Personal protection")
    DISINFECTION = "disinfection", _("Disinfection")
    MEDICAL = "medical", _("Medical and testing")
    FOOD = "food", _("Food and water")
    SHELTER = "shelter", _("Shelter and bedding")
    RESCUE = "rescue", _("Rescue and flood control")
    POWER = "power", _("Power and lighting")


class Item(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    aliases = models.CharField(
        _("other names"),
        max_length=300,
        blank=True,
        help_text=_("Separated by commas; used to match plan lists."),
    )
    category = models.CharField(_("GB/T 38565 class"), max_length=1, choices=Category.choices)
    group = models.CharField(_("group"), max_length=20, choices=Group.choices)
    unit = models.CharField(_("unit"), max_length=20)
    indivisible = models.BooleanField(
        _("counted in whole units"),
        default=True,
        help_text=_("Masks and suits are whole; litres and kilograms are not."),
    )
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    per_person_day = models.DecimalField(
        _("use per resident per day at full load"), null=True, blank=True, max_digits=12, decimal_places=5
    )
    builtin = models.BooleanField(default=False, editable=False)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["category", "order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = translation.get_language() or ""
        if self.name_en and not language.startswith("zh"):
            return self.name_en
        return self.name

    def names(self) -> list[str]:
        extra = [a.strip() for a in self.aliases.replace("，", ",").split(",") if a.strip()]
        return [self.name, self.name_en, *extra]


class StoragePoint(models.Model):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", _("Street / district warehouse")
        COMMUNITY = "community", _("Community emergency point")

    street = models.ForeignKey(
        "registry.Street", verbose_name=_("street"), on_delete=models.PROTECT, related_name="storage_points"
    )
    # Empty for a street or district warehouse, which serves every community of the street.
    community = models.ForeignKey(
        "registry.Community",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="storage_points",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.COMMUNITY)
    name = models.CharField(pgettext_lazy("place or thing", "name"), max_length=100)
    address = models.CharField(_("address"), max_length=200)
    keeper = models.CharField(_("keeper"), max_length=50)
    phone = models.CharField(_("keeper's phone"), max_length=20)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("storage point")
        verbose_name_plural = _("storage points")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self.community_id and not self.street_id:
            self.street_id = self.community.street_id  # type: ignore[union-attr]
        self.kind = self.Kind.COMMUNITY if self.community_id else self.Kind.WAREHOUSE
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class SupplierAgreement(models.Model):
    """Seed 003's 签订供货协议: stock a supplier holds for us and delivers within a lead time."""

    street = models.ForeignKey("registry.Street", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(
        "registry.Community", verbose_name=_("community"), null=True, blank=True, on_delete=models.PROTECT
    )
    supplier = models.CharField(_("supplier"), max_length=100)
    contact = models.CharField(_("contact person"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20)
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="agreements"
    )
    quantity = models.DecimalField(_("contracted quantity"), max_digits=14, decimal_places=3)
    lead_time_hours = models.PositiveIntegerField(_("delivery within (hours)"), default=24)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("supplier agreement")
        verbose_name_plural = _("supplier agreements")
        ordering = ["-valid_until"]

    def __str__(self) -> str:
        return f"{self.supplier} · {self.item}"

    def is_valid(self, on: dt.date | None = None) -> bool:
        day = on or timezone.localdate()
        return self.valid_from <= day <= self.valid_until


def usable_q(day: dt.date, prefix: str = "") -> models.Q:
    """Stock that may be issued without an override on `day`: no expiry, or not expired yet."""
    return models.Q(**{f"{prefix}expiry__isnull": True}) | models.Q(**{f"{prefix}expiry__gte": day})


class LotQuerySet(models.QuerySet["Lot"]):
    def usable(self, on: dt.date | None = None) -> LotQuerySet:
        return self.filter(usable_q(on or timezone.localdate()))

    def serving(self, community: Any) -> LotQuerySet:
        """Lots at the community's own points and at its street's warehouse."""
        return self.filter(
            models.Q(point__community=community)
            | models.Q(point__community__isnull=True, point__street_id=community.street_id),
            point__active=True,
        )


class Lot(models.Model):
    class Source(models.TextChoices):
        PURCHASE = "purchase", _("purchase")
        DONATION = "donation", _("donation")
        AGREEMENT = "agreement", _("supplier agreement")
        OPENING = "opening", _("opening stock")
        TRANSFER = "transfer", _("transfer")

    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="lots")
    point = models.ForeignKey(
        StoragePoint, verbose_name=_("storage point"), on_delete=models.PROTECT, related_name="lots"
    )
    batch = models.CharField(_("batch"), max_length=60, blank=True)
    expiry = models.DateField(_("expiry"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.PURCHASE)
    supplier = models.CharField(_("supplier or donor"), max_length=100, blank=True)
    agreement = models.ForeignKey(SupplierAgreement, null=True, blank=True, on_delete=models.SET_NULL)
    # The running total of this lot's movements; see the module docstring.
    on_hand = models.DecimalField(_("on hand"), default=Decimal(0), max_digits=14, decimal_places=3)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    objects = LotQuerySet.as_manager()

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        indexes = [models.Index(fields=["point", "item", "expiry"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="lot_on_hand_not_negative"),
            # One lot per item, batch and expiry at a point, so two deliveries at once cannot split it.
            models.UniqueConstraint(fields=["point", "item", "batch", "expiry"], name="one_lot_per_batch"),
            models.UniqueConstraint(
                fields=["point", "item", "batch"],
                condition=models.Q(expiry__isnull=True),
                name="one_lot_per_batch_without_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.batch}".strip()

    def is_expired(self, on: dt.date | None = None) -> bool:
        return self.expiry is not None and self.expiry < (on or timezone.localdate())

    def expires_within(self, days: int, on: dt.date | None = None) -> bool:
        day = on or timezone.localdate()
        return self.expiry is not None and self.expiry <= day + dt.timedelta(days=days)

    @property
    def expires_within_rotation(self) -> bool:
        return self.expires_within(ROTATION_DAYS)


class AppendOnly(Exception):
    pass


class MovementQuerySet(models.QuerySet["Movement"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("The movement ledger is append-only; post a correcting movement instead.")

    def update(self, **kwargs: object) -> int:
        raise AppendOnly("The movement ledger is append-only; post a correcting movement instead.")


class Movement(models.Model):
    """One line of the ledger: a signed change to one lot. A transfer or a FEFO issue that spans lots
    writes several lines sharing a `ref`."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", _("receive")
        ISSUE = "issue", _("issue")
        TRANSFER = "transfer", _("transfer")
        ADJUST = "adjust", _("adjust")
        DISPOSE = "dispose", _("dispose")

    class Recipient(models.TextChoices):
        TEAM = "team", _("a team")
        RESPONSE = "response", _("a response")
        HOUSEHOLD = "household", _("a household")
        OTHER = "other", _("other")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    ref = models.UUIDField(default=uuid.uuid4, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    point = models.ForeignKey(StoragePoint, on_delete=models.PROTECT, related_name="movements")
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=3
    )  # + into the lot, - out of it
    balance_after = models.DecimalField(_("balance after"), max_digits=14, decimal_places=3)
    recipient = models.CharField(_("recipient"), max_length=10, choices=Recipient.choices, blank=True)
    team = models.CharField(_("team"), max_length=20, choices=Team.choices, blank=True)
    response = models.ForeignKey(
        "response.Response", null=True, blank=True, on_delete=models.PROTECT, related_name="supply_movements"
    )
    household = models.ForeignKey(
        "registry.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="supply_movements"
    )
    counterpart = models.ForeignKey(
        StoragePoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # the other end of a transfer
    note = models.CharField(_("note"), max_length=300, blank=True)
    expired_override = models.BooleanField(default=False)
    request = models.ForeignKey(
        "supplies.SupplyRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MovementQuerySet.as_manager()

    class Meta:
        verbose_name = _("movement")
        verbose_name_plural = _("movements")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["point", "-at"]), models.Index(fields=["lot", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} {self.item}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnly("The movement ledger is append-only; post a correcting movement instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnly("The movement ledger is append-only; post a correcting movement instead.")


class Target(models.Model):
    """How many days of supply a community keeps of an item, and how daily use is reckoned."""

    class Basis(models.TextChoices):
        PER_PERSON = "per_person", _("use per resident per day × residents")
        PLAN = "plan", _("the plan's supply list")
        FIXED = "fixed", _("a fixed quantity")

    community = models.ForeignKey(
        "registry.Community",
        verbose_name=_("community"),
        on_delete=models.CASCADE,
        related_name="supply_targets",
    )
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="targets")
    days = models.PositiveIntegerField(_("days of supply"), default=DEFAULT_TARGET_DAYS)
    basis = models.CharField(
        _("reckoned from"), max_length=12, choices=Basis.choices, default=Basis.PER_PERSON
    )
    per_person_day = models.DecimalField(
        _("use per resident per day"), null=True, blank=True, max_digits=12, decimal_places=5
    )
    plan = models.ForeignKey(
        "plans.Plan", verbose_name=_("plan"), null=True, blank=True, on_delete=models.SET_NULL
    )
    quantity = models.DecimalField(
        _("target quantity"), null=True, blank=True, max_digits=14, decimal_places=3
    )

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [models.UniqueConstraint(fields=["community", "item"], name="one_target_per_item")]

    def __str__(self) -> str:
        return f"{self.community} · {self.item}"


class Stocktake(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("counting")
        POSTED = "posted", _("posted")
        DISCARDED = "discarded", _("discarded")

    point = models.ForeignKey(StoragePoint, on_delete=models.PROTECT, related_name="stocktakes")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["point"], condition=models.Q(status="open"), name="one_open_count_per_point"
            )
        ]

    def __str__(self) -> str:
        return f"{self.point} {self.started_at:%Y-%m-%d}"


class StocktakeLine(models.Model):
    stocktake = models.ForeignKey(Stocktake, on_delete=models.CASCADE, related_name="lines")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    expected = models.DecimalField(
        max_digits=14, decimal_places=3
    )  # the lot's balance when the sheet was opened
    counted = models.DecimalField(null=True, blank=True, max_digits=14, decimal_places=3)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["lot__item__category", "lot__item__order", "lot__expiry", "lot_id"]

    def __str__(self) -> str:
        return f"{self.lot}: {self.counted}"

    @property
    def variance(self) -> Decimal | None:
        return None if self.counted is None else self.counted - self.expected


class SupplyRequest(models.Model):
    """A team asks for supplies during a response: requested → approved → issued → received."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        ISSUED = "issued", _("issued")
        RECEIVED = "received", _("received")

    response = models.ForeignKey(
        "response.Response",
        verbose_name=_("response"),
        on_delete=models.CASCADE,
        related_name="supply_requests",
    )
    community = models.ForeignKey("registry.Community", on_delete=models.PROTECT, related_name="+")
    team = models.CharField(_("team"), max_length=20, choices=Team.choices)
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    note = models.CharField(_("what it is for"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(max_length=300, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_from = models.ForeignKey(
        StoragePoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("supply request")
        verbose_name_plural = _("supply requests")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.get_team_display()} · {self.item} × {self.quantity}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.REQUESTED, self.Status.APPROVED, self.Status.ISSUED)
