"""Writes to the supplies ledger. Every change of stock goes through `_post`, which changes a lot's
running total with a conditional UPDATE (never below zero) and appends the movement in the same
transaction; the services above it decide which lots and how much."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.access import community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.core.roles import ADMIN_ROLES, Role
from linli.core.templatetags.linli import qty as fmt
from linli.registry.models import Community, Household
from linli.supplies.models import (
    Item,
    Lot,
    Movement,
    Stocktake,
    StocktakeLine,
    StoragePoint,
    SupplierAgreement,
    SupplyRequest,
    Target,
)
from linli.tasks.models import Team

# Logistics (后勤保障组) are team members; commanders and street staff may move stock too.
STOCK_ROLES = ADMIN_ROLES | {Role.TEAM_MEMBER}
# Anyone working a response may ask for supplies; observers watch.
REQUEST_ROLES = STOCK_ROLES | {Role.GRID_LEADER, Role.GRID_WORKER}


@dataclass
class Availability:
    point: StoragePoint
    usable: Decimal
    expired: Decimal


@dataclass
class InsufficientStock(Exception):
    item: Item
    requested: Decimal
    point: StoragePoint | None
    available: list[Availability] = field(default_factory=list)

    def __str__(self) -> str:
        here = next((a for a in self.available if self.point and a.point.pk == self.point.pk), None)
        on_hand = here.usable if here else Decimal(0)
        text = _("Only %(n)s %(unit)s of %(item)s can be issued at %(point)s; %(asked)s were asked for.") % {
            "n": fmt(on_hand),
            "unit": self.item.unit,
            "item": self.item.label,
            "point": self.point or _("this storage point"),
            "asked": fmt(self.requested),
        }
        elsewhere = [
            a for a in self.available if a.usable and (self.point is None or a.point.pk != self.point.pk)
        ]
        if elsewhere:
            text += " " + _("Available elsewhere: %(list)s.") % {
                "list": "; ".join(f"{a.point} {fmt(a.usable)} {self.item.unit}" for a in elsewhere)
            }
        if here and here.expired:
            text += " " + _("%(n)s more are expired and need an override with a reason.") % {
                "n": fmt(here.expired)
            }
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": str(self),
            "item": self.item.code,
            "requested": str(self.requested),
            "available": [
                {
                    "storage_point": a.point.pk,
                    "name": a.point.name,
                    "on_hand": str(a.usable),
                    "expired": str(a.expired),
                }
                for a in self.available
            ],
        }


def _number(value: object) -> Decimal:
    """A finite decimal from what a person typed (full-width digits and thousands separators allowed)."""
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": value}) from None
    if not number.is_finite():
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": value})
    return number


def quantity_of(item: Item, value: object) -> Decimal:
    """A positive quantity, whole for items counted in whole units."""
    quantity = _number(value)
    if quantity <= 0:
        raise ValidationError(_("The quantity must be more than zero."))
    return _fits(item, quantity)


def count_of(item: Item, value: object) -> Decimal:
    """A counted quantity: like quantity_of, but zero is a valid count."""
    quantity = _number(value)
    if quantity < 0:
        raise ValidationError(_("A count cannot be negative."))
    return _fits(item, quantity) if quantity else Decimal(0)


def signed_quantity(item: Item, value: object) -> Decimal:
    """An adjustment: a non-zero quantity either way."""
    quantity = _number(value)
    if not quantity:
        raise ValidationError(_("The adjustment changes nothing."))
    return quantity_of(item, abs(quantity)).copy_sign(quantity)


def _fits(item: Item, quantity: Decimal) -> Decimal:
    if item.indivisible and quantity != quantity.to_integral_value():
        raise ValidationError(
            _("%(item)s is counted in whole %(unit)s.") % {"item": item.label, "unit": item.unit}
        )
    if quantity.as_tuple().exponent < -3:  # type: ignore[operator]
        raise ValidationError(_("Use at most three decimal places."))
    if quantity >= Decimal("1e11"):
        raise ValidationError(_("The quantity is too large."))
    return quantity


def can_move_stock(actor: User, point: StoragePoint) -> bool:
    """Logistics, commanders and street staff move stock; the street warehouse is the street's own."""
    if actor.is_superuser:
        return True
    if not actor.is_active or actor.role not in STOCK_ROLES:
        return False
    if point.community_id is None:
        return actor.role == Role.STREET_ADMIN and actor.street_id == point.street_id
    if actor.role == Role.STREET_ADMIN:
        return actor.street_id == point.street_id
    return actor.community_id == point.community_id


def _require(actor: User, point: StoragePoint) -> None:
    if not can_move_stock(actor, point):
        raise PermissionDenied(_("You may not move stock at %(point)s.") % {"point": point})


def _post(
    *, lot: Lot, delta: Decimal, kind: str, actor: User | None, ref: uuid.UUID, at: dt.datetime, **extra: Any
) -> Movement:
    """Change one lot and append its ledger line. Must run inside a transaction."""
    changed = Lot.objects.filter(pk=lot.pk)
    if delta < 0:
        changed = changed.filter(on_hand__gte=-delta)
    # Rounded to the field's three places: SQLite does this arithmetic in floating point, and 0.7 - 0.4
    # must leave exactly the 0.3 that can be issued next.
    if not changed.update(on_hand=Round(F("on_hand") + delta, 3)):
        raise _shortage(lot.item, -delta, lot.point)
    balance = Lot.objects.filter(pk=lot.pk).values_list("on_hand", flat=True).get()
    lot.on_hand = balance
    return Movement.objects.create(
        at=at,
        ref=ref,
        kind=kind,
        lot=lot,
        item_id=lot.item_id,
        point_id=lot.point_id,
        quantity=delta,
        balance_after=balance,
        actor=actor,
        **extra,
    )


def availability(
    item: Item, points: list[StoragePoint] | None = None, on: dt.date | None = None
) -> list[Availability]:
    day = on or timezone.localdate()
    lots = Lot.objects.filter(item=item, on_hand__gt=0).select_related("point")
    if points is not None:
        lots = lots.filter(point__in=points)
    by_point: dict[int, Availability] = {}
    for lot in lots:
        entry = by_point.setdefault(lot.point_id, Availability(lot.point, Decimal(0), Decimal(0)))
        if lot.is_expired(day):
            entry.expired += lot.on_hand
        else:
            entry.usable += lot.on_hand
    return sorted(by_point.values(), key=lambda a: (-a.usable, a.point.name))


def _shortage(item: Item, requested: Decimal, point: StoragePoint | None) -> InsufficientStock:
    street_id = point.street_id if point else None
    points = list(StoragePoint.objects.filter(street_id=street_id, active=True)) if street_id else None
    return InsufficientStock(
        item=item, requested=requested, point=point, available=availability(item, points)
    )


def _lot_for(point: StoragePoint, item: Item, batch: str, expiry: dt.date | None, **defaults: Any) -> Lot:
    """The lot a delivery goes into: the same item, batch and expiry at the same point are one lot.
    Two deliveries at once both find none; the unique constraint lets one create it and the other
    then locks the row the first made."""
    same = Lot.objects.select_for_update().filter(point=point, item=item, batch=batch, expiry=expiry)
    lot = same.order_by("pk").first()
    if lot is None:
        try:
            with transaction.atomic():
                lot = Lot.objects.create(point=point, item=item, batch=batch, expiry=expiry, **defaults)
        except IntegrityError:
            lot = same.get()
    return lot


def supplies_receive(
    *,
    actor: User,
    point: StoragePoint,
    item: Item,
    quantity: object,
    batch: str = "",
    expiry: dt.date | None = None,
    source: str = Lot.Source.PURCHASE,
    supplier: str = "",
    agreement: SupplierAgreement | None = None,
    note: str = "",
) -> Movement:
    _require(actor, point)
    amount = quantity_of(item, quantity)
    if expiry is None and item.shelf_life_days:
        raise ValidationError(_("%(item)s has a shelf life: enter the expiry date.") % {"item": item.label})
    if agreement is not None:
        source = Lot.Source.AGREEMENT
        supplier = supplier or agreement.supplier
    now = timezone.now()
    with transaction.atomic():
        lot = _lot_for(
            point, item, batch.strip(), expiry, source=source, supplier=supplier.strip(), agreement=agreement
        )
        movement = _post(
            lot=lot,
            delta=amount,
            kind=Movement.Kind.RECEIVE,
            actor=actor,
            ref=uuid.uuid4(),
            at=now,
            note=note,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.STOCK,
            target=point,
            target_label=f"{point} · {item.label}",
            detail=f"{Movement.Kind.RECEIVE.label} +{fmt(amount)} {item.unit} {batch} {expiry or ''}".strip(),
            community_id=point.community_id,
            street_id=point.street_id,
        )
    return movement


@dataclass
class Recipient:
    kind: str = Movement.Recipient.OTHER
    team: str = ""
    response: Any = None  # response.Response
    household: Household | None = None
    note: str = ""

    def check(self, point: StoragePoint) -> None:
        if self.kind == Movement.Recipient.TEAM and self.team not in Team.values:
            raise ValidationError(_("Choose the team the supplies go to."))
        if self.kind == Movement.Recipient.RESPONSE and self.response is None:
            raise ValidationError(_("Choose the response the supplies go to."))
        if self.kind == Movement.Recipient.HOUSEHOLD and self.household is None:
            raise ValidationError(_("Choose the household the supplies go to."))
        if self.kind == Movement.Recipient.OTHER and not self.note.strip():
            raise ValidationError(_("Say who receives the supplies."))
        for target in (self.response, self.household):
            if target is None:
                continue
            if point.community_id is not None and target.community_id != point.community_id:
                raise ValidationError(_("The recipient is not in this storage point's community."))
            if point.community_id is None and target.community.street_id != point.street_id:
                raise ValidationError(_("The recipient is not in this warehouse's street."))

    def fields(self) -> dict[str, Any]:
        return {
            "recipient": self.kind,
            "team": self.team,
            "response": self.response,
            "household": self.household,
            "note": self.note.strip()[:300],
        }


def _fefo_lots(point: StoragePoint, item: Item, *, include_expired: bool, lot: Lot | None) -> list[Lot]:
    """Lock the candidate lots (in primary-key order, so concurrent issues cannot deadlock), then
    return them first-expiring first. Expired lots take part only with an override."""
    lots = Lot.objects.select_for_update().filter(point=point, item=item, on_hand__gt=0)
    if lot is not None:
        lots = lots.filter(pk=lot.pk)
    locked = list(lots.order_by("pk"))
    today = timezone.localdate()
    fresh = sorted(
        (x for x in locked if not x.is_expired(today)),
        key=lambda x: (x.expiry is None, x.expiry or today, x.pk),
    )
    # An override is for what fresh stock cannot cover: expired lots come last, oldest first.
    expired = sorted((x for x in locked if x.is_expired(today)), key=lambda x: (x.expiry, x.pk))
    return fresh + expired if include_expired else fresh


def _take(
    *,
    actor: User,
    point: StoragePoint,
    item: Item,
    amount: Decimal,
    kind: str,
    lot: Lot | None,
    allow_expired: bool,
    ref: uuid.UUID,
    at: dt.datetime,
    **extra: Any,
) -> list[tuple[Lot, Movement]]:
    lots = _fefo_lots(point, item, include_expired=allow_expired, lot=lot)
    if sum((x.on_hand for x in lots), Decimal(0)) < amount:
        raise _shortage(item, amount, point)
    taken: list[tuple[Lot, Movement]] = []
    left = amount
    today = timezone.localdate()
    for candidate in lots:
        if left <= 0:
            break
        part = min(left, candidate.on_hand)
        movement = _post(
            lot=candidate,
            delta=-part,
            kind=kind,
            actor=actor,
            ref=ref,
            at=at,
            expired_override=candidate.is_expired(today),
            **extra,
        )
        taken.append((candidate, movement))
        left -= part
    return taken


def supplies_issue(
    *,
    actor: User,
    point: StoragePoint,
    item: Item,
    quantity: object,
    recipient: Recipient,
    lot: Lot | None = None,
    override_reason: str = "",
    request: SupplyRequest | None = None,
) -> list[Movement]:
    """Issue first-expiring lots first. Expired stock goes only with an override reason, which is logged."""
    _require(actor, point)
    amount = quantity_of(item, quantity)
    recipient.check(point)
    override = override_reason.strip()
    if lot is not None and (lot.point_id != point.pk or lot.item_id != item.pk):
        raise ValidationError(
            _("That lot is not %(item)s at %(point)s.") % {"item": item.label, "point": point}
        )
    if lot is not None and lot.is_expired() and not override:
        raise ValidationError(
            _("This lot expired on %(day)s: give a reason to issue it anyway.") % {"day": lot.expiry}
        )
    fields = recipient.fields()
    if override:
        fields["note"] = (f"{fields['note']} · " if fields["note"] else "") + _("override: %(r)s") % {
            "r": override
        }
    with transaction.atomic():
        taken = _take(
            actor=actor,
            point=point,
            item=item,
            amount=amount,
            kind=Movement.Kind.ISSUE,
            lot=lot,
            allow_expired=bool(override),
            ref=uuid.uuid4(),
            at=timezone.now(),
            request=request,
            **fields,
        )
        expired = [m for _lot, m in taken if m.expired_override]
        audit_record(
            actor=actor,
            action=AuditLog.Action.STOCK,
            target=point,
            target_label=f"{point} · {item.label}",
            detail=(
                f"{Movement.Kind.ISSUE.label} -{fmt(amount)} {item.unit} → {fields['note'] or recipient.kind}"
                + (f" · {_('expired stock issued')}: {override}" if expired else "")
            ),
            community_id=point.community_id,
            street_id=point.street_id,
        )
    return [m for _lot, m in taken]


def supplies_transfer(
    *,
    actor: User,
    source: StoragePoint,
    destination: StoragePoint,
    item: Item,
    quantity: object,
    note: str = "",
) -> list[Movement]:
    """Move stock between points, lot by lot, keeping batch and expiry."""
    _require(actor, source)
    if source.pk == destination.pk:
        raise ValidationError(_("Choose a different storage point to move the stock to."))
    if destination.street_id != source.street_id:
        raise ValidationError(_("Stock can move only between points of the same street."))
    amount = quantity_of(item, quantity)
    ref, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        # Both ends' lots are locked first, in one primary-key order, so A→B and B→A at the same
        # moment wait for each other instead of deadlocking.
        list(
            Lot.objects.select_for_update()
            .filter(item=item, point__in=[source, destination])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        taken = _take(
            actor=actor,
            point=source,
            item=item,
            amount=amount,
            kind=Movement.Kind.TRANSFER,
            lot=None,
            allow_expired=False,
            ref=ref,
            at=now,
            counterpart=destination,
            note=note,
        )
        movements = [m for _lot, m in taken]
        for lot, out in taken:
            into = _lot_for(
                destination, item, lot.batch, lot.expiry, source=Lot.Source.TRANSFER, supplier=lot.supplier
            )
            movements.append(
                _post(
                    lot=into,
                    delta=-out.quantity,
                    kind=Movement.Kind.TRANSFER,
                    actor=actor,
                    ref=ref,
                    at=now,
                    counterpart=source,
                    note=note,
                )
            )
        # Each end's area sees the transfer in its audit log.
        ends = [source] if destination.community_id == source.community_id else [source, destination]
        for end in ends:
            audit_record(
                actor=actor,
                action=AuditLog.Action.STOCK,
                target=end,
                target_label=f"{source} → {destination} · {item.label}",
                detail=f"{Movement.Kind.TRANSFER.label} {fmt(amount)} {item.unit}",
                community_id=end.community_id,
                street_id=end.street_id,
            )
    return movements


def supplies_adjust(
    *,
    actor: User,
    lot: Lot,
    delta: Decimal,
    reason: str,
    kind: str = Movement.Kind.ADJUST,
    ref: uuid.UUID | None = None,
) -> Movement:
    """A correction (count variance, damage found) or a disposal; always with a reason."""
    _require(actor, lot.point)
    if not reason.strip():
        raise ValidationError(_("Give a reason for the adjustment."))
    signed_quantity(lot.item, delta)
    with transaction.atomic():
        movement = _post(
            lot=lot,
            delta=delta,
            kind=kind,
            actor=actor,
            ref=ref or uuid.uuid4(),
            at=timezone.now(),
            note=reason.strip(),
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.STOCK,
            target=lot.point,
            target_label=f"{lot.point} · {lot}",
            detail=f"{Movement.Kind(kind).label} {'+' if delta > 0 else ''}{fmt(delta)} {lot.item.unit}: {reason.strip()}"[
                :500
            ],
            community_id=lot.point.community_id,
            street_id=lot.point.street_id,
        )
    return movement


def supplies_dispose(*, actor: User, lot: Lot, quantity: object, reason: str) -> Movement:
    amount = quantity_of(lot.item, quantity)
    return supplies_adjust(actor=actor, lot=lot, delta=-amount, reason=reason, kind=Movement.Kind.DISPOSE)


def opening_state(
    point: StoragePoint, item: Item, batch: str, expiry: dt.date | None, quantity: Decimal
) -> str:
    """Whether an opening-stock row is "new", already imported ("unchanged"), or names a lot that has
    moved since ("moved": opening stock never overwrites issues; a count corrects it)."""
    lot = Lot.objects.filter(point=point, item=item, batch=batch, expiry=expiry).first()
    history = list(lot.movements.order_by("at", "pk")[:2]) if lot is not None else []
    if not history:
        return "new"
    first = history[0]
    if (
        len(history) == 1
        and lot is not None
        and lot.source == Lot.Source.OPENING
        and first.quantity == quantity
    ):
        return "unchanged"
    return "moved"


def supplies_open_lot(
    *,
    actor: User,
    point: StoragePoint,
    item: Item,
    quantity: Decimal,
    batch: str,
    expiry: dt.date | None,
    reason: str,
    source: str = Lot.Source.OPENING,
    supplier: str = "",
) -> str:
    """Record opening stock: one receipt into a lot with no history. Returns "created" or "unchanged";
    a lot that has moved since is refused, so importing a file again never undoes what was issued."""
    _require(actor, point)
    with transaction.atomic():
        state = opening_state(point, item, batch, expiry, quantity)
        if state == "moved":
            raise ValidationError(
                _("%(item)s %(batch)s already has movements: correct it with a count.")
                % {"item": item.label, "batch": batch}
            )
        if state == "unchanged" or not quantity:
            return "unchanged"
        lot = _lot_for(point, item, batch, expiry, source=Lot.Source.OPENING, supplier=supplier)
        _post(
            lot=lot,
            delta=quantity,
            kind=Movement.Kind.RECEIVE,
            actor=actor,
            ref=uuid.uuid4(),
            at=timezone.now(),
            note=f"{Lot.Source(source).label} · {reason}"[:300],
        )
    return "created"


# Storage points, agreements and targets ------------------------------------------------------------


def point_save(*, actor: User, point: StoragePoint) -> StoragePoint:
    if point.community_id is not None and not point.street_id:
        point.street_id = Community.objects.values_list("street_id", flat=True).get(pk=point.community_id)
    if not can_move_stock(actor, point) or actor.role == Role.TEAM_MEMBER:
        raise PermissionDenied
    created = point.pk is None
    point.save()
    audit_record(
        actor=actor,
        action=AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
        target=point,
        community_id=point.community_id,
        street_id=point.street_id,
    )
    return point


def _require_admin_of(actor: User, *, community_id: int | None, street_id: int | None) -> None:
    """Targets and agreements are set by the commander of the community, or by the street for its warehouse."""
    if actor.is_superuser:
        return
    if actor.role not in ADMIN_ROLES:
        raise PermissionDenied
    if community_id is None:
        if actor.role != Role.STREET_ADMIN or actor.street_id != street_id:
            raise PermissionDenied
    elif community_id not in (community_ids_in_scope(actor) or []):
        raise PermissionDenied


def agreement_save(*, actor: User, agreement: SupplierAgreement) -> SupplierAgreement:
    _require_admin_of(actor, community_id=agreement.community_id, street_id=agreement.street_id)
    if agreement.valid_until < agreement.valid_from:
        raise ValidationError(_("The agreement ends before it starts."))
    quantity_of(agreement.item, agreement.quantity)
    agreement.created_by = agreement.created_by or actor
    agreement.save()
    audit_record(
        actor=actor,
        action=AuditLog.Action.CREATE,
        target=agreement,
        community_id=agreement.community_id,
        street_id=agreement.street_id,
    )
    return agreement


def target_set(
    *,
    actor: User,
    community: Community,
    item: Item,
    days: int,
    basis: str,
    per_person_day: Decimal | None = None,
    plan: Any = None,
    quantity: Decimal | None = None,
) -> Target:
    _require_admin_of(actor, community_id=community.pk, street_id=community.street_id)
    if days < 1 or days > 365:
        raise ValidationError(_("Keep between 1 and 365 days of supply."))
    if basis == Target.Basis.PER_PERSON and not (per_person_day or item.per_person_day):
        raise ValidationError(_("Enter how much one resident uses per day."))
    if basis == Target.Basis.PLAN and plan is None:
        raise ValidationError(_("Choose the plan whose supply list sets the target."))
    if basis == Target.Basis.FIXED:
        quantity = quantity_of(item, quantity if quantity is not None else "")
    target, _created = Target.objects.update_or_create(
        community=community,
        item=item,
        defaults={
            "days": days,
            "basis": basis,
            "per_person_day": per_person_day,
            "plan": plan,
            "quantity": quantity,
        },
    )
    audit_record(
        actor=actor,
        action=AuditLog.Action.UPDATE,
        target=target,
        community_id=community.pk,
        detail=f"{days} {basis}",
    )
    return target


# Stocktake ----------------------------------------------------------------------------------------


# A count sheet is for one counting session; an older one still open is set aside, not reused.
COUNT_SHEET_HOURS = 12


def stocktake_start(*, actor: User, point: StoragePoint) -> Stocktake:
    """Open a count sheet listing every lot that holds stock; a sheet opened today is reused."""
    _require(actor, point)
    with transaction.atomic():
        sheet = (
            Stocktake.objects.select_for_update().filter(point=point, status=Stocktake.Status.OPEN).first()
        )
        if sheet is not None:
            if sheet.started_at >= timezone.now() - dt.timedelta(hours=COUNT_SHEET_HOURS):
                return sheet
            Stocktake.objects.filter(pk=sheet.pk).update(status=Stocktake.Status.DISCARDED)
        try:
            with transaction.atomic():
                sheet = Stocktake.objects.create(point=point, started_by=actor)
        except IntegrityError:  # someone opened one at the same moment: count on theirs
            return Stocktake.objects.get(point=point, status=Stocktake.Status.OPEN)
        StocktakeLine.objects.bulk_create(
            StocktakeLine(stocktake=sheet, lot=lot, expected=lot.on_hand)
            for lot in Lot.objects.filter(point=point, on_hand__gt=0).order_by("pk")
        )
    return sheet


def stocktake_discard(*, actor: User, sheet: Stocktake) -> None:
    _require(actor, sheet.point)
    Stocktake.objects.filter(pk=sheet.pk, status=Stocktake.Status.OPEN).update(
        status=Stocktake.Status.DISCARDED
    )


def stocktake_save(*, actor: User, sheet: Stocktake, counts: Mapping[int, tuple[object, str]]) -> int:
    """Keep what has been counted so far (a count of a big store takes more than one visit); nothing is
    posted. Returns how many lines hold a count."""
    _require(actor, sheet.point)
    if sheet.status != Stocktake.Status.OPEN:
        raise ValidationError(_("This count sheet was already posted or set aside."))
    saved = 0
    for line in sheet.lines.select_related("lot__item"):
        raw, reason = counts.get(line.pk, ("", ""))
        try:
            line.counted = count_of(line.lot.item, raw) if str(raw).strip() else None
        except ValidationError:
            line.counted = None  # a half-typed number is not kept; the sheet says so when posting
        line.reason = str(reason).strip()[:200]
        line.save(update_fields=["counted", "reason"])
        saved += line.counted is not None
    return saved


def stocktake_post(
    *, actor: User, sheet: Stocktake, counts: Mapping[int, tuple[object, str]]
) -> list[Movement]:
    """Post the counted quantities; each difference from the lot's balance now becomes an adjustment
    with its reason. The count is what is on the shelf when it is posted: anything issued while the
    sheet was open is already in the balance, so it is neither lost nor counted twice."""
    _require(actor, sheet.point)
    lines = {line.pk: line for line in sheet.lines.select_related("lot__item", "lot__point")}
    errors: dict[str, list[str]] = {}
    for pk, line in lines.items():
        raw, reason = counts.get(pk, ("", ""))
        if str(raw).strip() == "":
            errors.setdefault(str(pk), []).append(_("Enter the counted quantity (0 if none)."))
            continue
        try:
            line.counted = count_of(line.lot.item, raw)
        except ValidationError as exc:
            errors.setdefault(str(pk), []).extend(exc.messages)
        line.reason = reason.strip()[:200]
    if errors:
        raise ValidationError(errors)
    ref = uuid.uuid4()
    movements: list[Movement] = []
    with transaction.atomic():
        current = {
            lot.pk: lot
            for lot in Lot.objects.select_for_update()
            .filter(pk__in=[x.lot_id for x in lines.values()])
            .order_by("pk")
        }
        for pk, line in lines.items():
            if line.counted != current[line.lot_id].on_hand and not line.reason:
                errors.setdefault(str(pk), []).append(_("Say why the count differs."))
        if errors:
            raise ValidationError(errors)
        won = Stocktake.objects.filter(pk=sheet.pk, status=Stocktake.Status.OPEN).update(
            status=Stocktake.Status.POSTED, posted_at=timezone.now(), posted_by=actor
        )
        if not won:
            raise ValidationError(_("This count sheet was already posted or set aside."))
        for line in lines.values():
            line.save(update_fields=["counted", "reason"])
            lot = current[line.lot_id]
            assert line.counted is not None
            if line.counted != lot.on_hand:
                movements.append(
                    supplies_adjust(
                        actor=actor,
                        lot=lot,
                        delta=line.counted - lot.on_hand,
                        reason=_("Stocktake: %(reason)s") % {"reason": line.reason},
                        ref=ref,
                    )
                )
        audit_record(
            actor=actor,
            action=AuditLog.Action.STOCK,
            target=sheet.point,
            detail=_("%(lines)d lots counted, %(n)d variances posted")
            % {"lines": len(lines), "n": len(movements)},
            community_id=sheet.point.community_id,
            street_id=sheet.point.street_id,
        )
    return movements


# Requests during a response -----------------------------------------------------------------------


def request_create(
    *, actor: User, response: Any, team: str, item: Item, quantity: object, note: str = ""
) -> SupplyRequest:
    if not (actor.is_superuser or actor.role in REQUEST_ROLES):
        raise PermissionDenied
    if team not in Team.values:
        raise ValidationError(_("Choose the team that needs the supplies."))
    if response.status != response.Status.ACTIVE:
        raise ValidationError(_("This response has ended."))
    amount = quantity_of(item, quantity)
    with transaction.atomic():
        request = SupplyRequest.objects.create(
            response=response,
            community_id=response.community_id,
            team=team,
            item=item,
            quantity=amount,
            note=note.strip()[:300],
            requested_by=actor,
        )
        audit_record(
            actor=actor, action=AuditLog.Action.CREATE, target=request, community_id=response.community_id
        )
        _tell_logistics(request, actor)
    return request


def _tell_logistics(request: SupplyRequest, actor: User) -> None:
    from linli.comms.services import notify
    from linli.core.selectors import community_staff

    notify(
        users=community_staff(request.community_id)
        .filter(role__in=[Role.COMMUNITY_ADMIN, Role.TEAM_MEMBER])
        .exclude(pk=actor.pk),
        title=_("Supplies requested: %(item)s × %(n)s")
        % {"item": request.item.label, "n": fmt(request.quantity)},
        body=f"{request.get_team_display()} · {request.note}".strip(" ·"),
        url=request.response.get_absolute_url() + "#supplies",
    )


def can_decide(actor: User, request: SupplyRequest) -> bool:
    """Who approves, refuses and issues a request: those who may move stock for its community."""
    if actor.is_superuser:
        return True
    if not actor.is_active or actor.role not in STOCK_ROLES:
        return False
    if actor.role == Role.STREET_ADMIN:
        return request.community.street_id == actor.street_id
    return actor.community_id == request.community_id


def can_confirm_receipt(actor: User, request: SupplyRequest) -> bool:
    """The person who asked, or the community's commander, confirms the team got the supplies."""
    if actor.is_superuser:
        return True
    if actor.pk == request.requested_by_id:
        return True
    return actor.role == Role.COMMUNITY_ADMIN and actor.community_id == request.community_id


def request_decide(*, actor: User, request: SupplyRequest, approve: bool, note: str = "") -> SupplyRequest:
    if not can_decide(actor, request):
        raise PermissionDenied
    if not approve and not note.strip():
        raise ValidationError(_("Say why the request is refused."))
    status = SupplyRequest.Status.APPROVED if approve else SupplyRequest.Status.REJECTED
    # An approved request can still be refused (the stock went elsewhere); it cannot be approved twice.
    waiting = [SupplyRequest.Status.REQUESTED] + ([] if approve else [SupplyRequest.Status.APPROVED])
    with transaction.atomic():
        won = SupplyRequest.objects.filter(pk=request.pk, status__in=waiting).update(
            status=status, decided_at=timezone.now(), decided_by=actor, decision_note=note.strip()[:300]
        )
        if not won:
            raise ValidationError(_("Someone has already dealt with this request."))
        request.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=request,
            detail=str(SupplyRequest.Status(status).label),
        )
    return request


def request_issue(
    *, actor: User, request: SupplyRequest, point: StoragePoint, override_reason: str = ""
) -> list[Movement]:
    """Issue an approved request to its team on the response, first-expiring lots first."""
    if not can_decide(actor, request):
        raise PermissionDenied
    if request.status not in (SupplyRequest.Status.REQUESTED, SupplyRequest.Status.APPROVED):
        raise ValidationError(_("This request is not waiting to be issued."))
    with transaction.atomic():
        locked = SupplyRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status not in (SupplyRequest.Status.REQUESTED, SupplyRequest.Status.APPROVED):
            raise ValidationError(_("Someone has already dealt with this request."))
        movements = supplies_issue(
            actor=actor,
            point=point,
            item=request.item,
            quantity=request.quantity,
            recipient=Recipient(
                kind=Movement.Recipient.RESPONSE,
                team=request.team,
                response=request.response,
                note=request.get_team_display(),
            ),
            override_reason=override_reason,
            request=request,
        )
        now = timezone.now()
        SupplyRequest.objects.filter(pk=request.pk).update(
            status=SupplyRequest.Status.ISSUED,
            issued_at=now,
            issued_from=point,
            decided_at=locked.decided_at or now,
            decided_by=locked.decided_by or actor,
        )
    request.refresh_from_db()
    return movements


def request_receive(*, actor: User, request: SupplyRequest) -> SupplyRequest:
    if not can_confirm_receipt(actor, request):
        raise PermissionDenied
    with transaction.atomic():
        won = SupplyRequest.objects.filter(pk=request.pk, status=SupplyRequest.Status.ISSUED).update(
            status=SupplyRequest.Status.RECEIVED, received_at=timezone.now(), received_by=actor
        )
        if not won:
            raise ValidationError(_("Only issued supplies can be confirmed as received."))
        request.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=request,
            detail=str(SupplyRequest.Status.RECEIVED.label),
        )
    return request
