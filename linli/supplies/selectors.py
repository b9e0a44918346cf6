"""Reads for supplies: storage points in the actor's area, stock by lot, the days-of-supply board,
rotation, the ledger and requests. Balances come from each lot's running total (one row per lot);
`ledger_mismatches` proves them against the movements."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.http import Http404
from django.utils import timezone

from linli.core.access import NOTHING, community_ids_in_scope, scope_q
from linli.core.models import User
from linli.core.roles import ScopeLevel
from linli.core.spreadsheet import fold_text
from linli.registry.models import Community, Household, Resident
from linli.supplies.models import (
    ROTATION_DAYS,
    Item,
    Lot,
    Movement,
    Stocktake,
    StoragePoint,
    SupplierAgreement,
    SupplyRequest,
    Target,
    usable_q,
)

ZERO = Decimal(0)


def points_q(actor: User, prefix: str = "") -> Q:
    """Storage points the actor may see: their community's points and their street's warehouse;
    street staff see the whole street."""
    if not actor.is_authenticated or not actor.is_active:
        return NOTHING
    if actor.is_superuser:
        return Q()
    ids = community_ids_in_scope(actor) or []
    street_id = actor.street_id or (actor.community.street_id if actor.community_id else None)  # type: ignore[union-attr]
    area = Q(**{f"{prefix}community_id__in": ids})
    if street_id:
        area |= Q(**{f"{prefix}community__isnull": True, f"{prefix}street_id": street_id})
    if actor.scope_level == ScopeLevel.STREET and actor.street_id:
        area |= Q(**{f"{prefix}street_id": actor.street_id})
    return area if (ids or street_id) else NOTHING


def points_for(actor: User) -> QuerySet[StoragePoint]:
    return (
        StoragePoint.objects.filter(points_q(actor))
        .select_related("community")
        .order_by(F("community_id").asc(nulls_first=True), "name")
    )


def point_get(actor: User, pk: int) -> StoragePoint:
    point = points_for(actor).filter(pk=pk).first()
    if point is None:
        raise Http404
    return point


def lot_get(actor: User, pk: int) -> Lot:
    lot = Lot.objects.filter(points_q(actor, "point__"), pk=pk).select_related("item", "point").first()
    if lot is None:
        raise Http404
    return lot


def items() -> QuerySet[Item]:
    return Item.objects.all()


@dataclass
class ItemStock:
    item: Item
    lots: list[Lot] = field(default_factory=list)

    @property
    def on_hand(self) -> Decimal:
        return sum((lot.on_hand for lot in self.lots if not lot.is_expired()), ZERO)

    @property
    def expired(self) -> Decimal:
        return sum((lot.on_hand for lot in self.lots if lot.is_expired()), ZERO)


def point_stock(point: StoragePoint) -> list[ItemStock]:
    """What a point holds, item by item, each item's lots first-expiring first."""
    rows: dict[int, ItemStock] = {}
    lots = (
        Lot.objects.filter(point=point, on_hand__gt=0)
        .select_related("item")
        .order_by("item__category", "item__order", F("expiry").asc(nulls_last=True), "pk")
    )
    for lot in lots:
        rows.setdefault(lot.item_id, ItemStock(lot.item)).lots.append(lot)
    return list(rows.values())


def movements_for(
    actor: User, *, point: StoragePoint | None = None, item: Item | None = None
) -> QuerySet[Movement]:
    qs = Movement.objects.filter(points_q(actor, "point__"))
    if point is not None:
        qs = qs.filter(point=point)
    if item is not None:
        qs = qs.filter(item=item)
    return qs.select_related(
        "item",
        "point",
        "lot",
        "actor",
        "response",
        "household__building",
        "household__entrance",
        "counterpart",
    )


def hide_out_of_scope_households(actor: User, movements: Iterable[Movement]) -> None:
    """A household that received supplies is shown only to those who may see that household in the
    registry; others read "a household". Sets `household_shown` on each movement."""
    rows = list(movements)
    ids = {m.household_id for m in rows if m.household_id}
    visible = (
        set(Household.objects.filter(scope_q(actor), pk__in=ids).values_list("pk", flat=True))
        if ids
        else set()
    )
    for m in rows:
        m.household_shown = m.household if m.household_id in visible else None  # type: ignore[attr-defined]


def points_serving(actor: User, community: Community) -> list[StoragePoint]:
    """The actor's points that serve a community: its own and its street's warehouse."""
    return [
        p
        for p in points_for(actor)
        if p.community_id in (None, community.pk) and p.street_id == community.street_id
    ]


def rotation(actor: User, *, days: int = ROTATION_DAYS, on: dt.date | None = None) -> list[Lot]:
    """Quarterly rotation: stock that is expired or expires within `days`, soonest first; each lot
    carries `days_left` (negative once expired)."""
    day = on or timezone.localdate()
    lots = list(
        Lot.objects.filter(
            points_q(actor, "point__"), on_hand__gt=0, expiry__lte=day + dt.timedelta(days=days)
        )
        .select_related("item", "point")
        .order_by("expiry", "point__name")
    )
    for lot in lots:
        lot.days_left = (lot.expiry - day).days  # type: ignore[attr-defined, operator]
    return lots


# The days-of-supply board -------------------------------------------------------------------------


@dataclass
class BoardRow:
    item: Item
    on_hand: Decimal = ZERO  # usable stock at the community's points
    expired: Decimal = ZERO
    expiring: Decimal = ZERO  # usable, but expires within the rotation window
    warehouse: Decimal = ZERO  # usable at the street warehouse, which serves every community
    contracted: Decimal = ZERO  # held by suppliers under valid agreements
    lead_time_hours: int | None = None
    daily_use: Decimal | None = None
    target_days: int | None = None
    target_quantity: Decimal | None = None
    basis: str = ""

    @property
    def days_of_supply(self) -> Decimal | None:
        """For use reckoned per resident or from a plan; a fixed stock (sandbags, pumps) is not "days"."""
        if not self.daily_use or self.basis == Target.Basis.FIXED:
            return None
        return (self.on_hand / self.daily_use).quantize(Decimal("0.1"))

    @property
    def shortfall(self) -> Decimal:
        if self.target_quantity is None:
            return ZERO
        return max(ZERO, self.target_quantity - self.on_hand)

    @property
    def to_order(self) -> Decimal:
        """What contracted supply does not cover, in whole units where the item is counted so."""
        need = max(ZERO, self.shortfall - self.contracted)
        return need.to_integral_value(ROUND_CEILING) if self.item.indivisible else need

    @property
    def is_short(self) -> bool:
        return self.shortfall > 0


def population(community: Community) -> int:
    return Resident.objects.filter(community=community).count()


def board(community: Community, *, on: dt.date | None = None) -> list[BoardRow]:
    """Per item: stock, daily use at full load, days of supply against the target, and what to order.

    Items appear when they have a target, stock, or a per-resident use rate (seed 001's default of
    30 days at full load applies to those without a target of their own)."""
    return boards([community.pk], on=on)[community.pk]


def boards(
    community_ids: list[int], *, on: dt.date | None = None, population: dict[int, int] | None = None
) -> dict[int, list[BoardRow]]:
    """board() for each community, from the same seven grouped queries however many there are (the
    daily report reads a whole street's). `population` (residents per community) is counted here unless
    the caller has it."""
    day = on or timezone.localdate()
    communities = {c.pk: c for c in Community.objects.filter(pk__in=community_ids).only("pk", "street_id")}
    street_ids = {c.street_id for c in communities.values()}
    if population is None:
        population = dict(
            Resident.objects.filter(community_id__in=community_ids)
            .values_list("community_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    dec: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    zero = Value(ZERO, output_field=dec)
    fresh = usable_q(day)
    soon = Q(expiry__gte=day, expiry__lte=day + dt.timedelta(days=ROTATION_DAYS))
    held: dict[int, dict[int, dict[str, Decimal]]] = defaultdict(dict)
    for community_id, item_id, usable, expired, expiring in (
        Lot.objects.filter(point__community_id__in=community_ids, point__active=True, on_hand__gt=0)
        .values_list("point__community_id", "item_id")
        .annotate(
            usable=Coalesce(Sum("on_hand", filter=fresh), zero),
            expired=Coalesce(Sum("on_hand", filter=Q(expiry__lt=day)), zero),
            expiring=Coalesce(Sum("on_hand", filter=soon), zero),
        )
        .order_by()
    ):
        held[community_id][item_id] = {"usable": usable, "expired": expired, "expiring": expiring}
    warehouse: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for street_id, item_id, usable in (
        Lot.objects.filter(
            point__community__isnull=True, point__street_id__in=street_ids, point__active=True, on_hand__gt=0
        )
        .values_list("point__street_id", "item_id")
        .annotate(usable=Coalesce(Sum("on_hand", filter=fresh), zero))
        .order_by()
    ):
        warehouse[street_id][item_id] = usable
    agreements = list(
        SupplierAgreement.objects.filter(
            Q(community_id__in=community_ids) | Q(community__isnull=True, street_id__in=street_ids),
            valid_from__lte=day,
            valid_until__gte=day,
        )
    )
    delivered = dict(
        Movement.objects.filter(kind=Movement.Kind.RECEIVE, lot__agreement__in=agreements)
        .values_list("lot__agreement_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    targets: dict[int, dict[int, Target]] = defaultdict(dict)
    for target in Target.objects.filter(community_id__in=community_ids):
        targets[target.community_id][target.item_id] = target
    needs = _plan_needs([t.plan_id for by_item in targets.values() for t in by_item.values() if t.plan_id])
    wanted = (
        {i for by_item in held.values() for i in by_item}
        | {i for by_item in targets.values() for i in by_item}
        | {a.item_id for a in agreements}
    )
    catalogue = list(Item.objects.filter(Q(pk__in=wanted) | Q(per_person_day__isnull=False)))
    out: dict[int, list[BoardRow]] = {}
    for community_id, community in communities.items():
        contracts = _contracted(community, agreements, delivered)
        own_held, own_targets = held.get(community_id, {}), targets.get(community_id, {})
        rows = []
        for item in catalogue:
            listed = item.pk in own_held or item.pk in own_targets or item.pk in contracts
            if item.per_person_day is None and not listed:
                continue
            row = BoardRow(item)
            stock = own_held.get(item.pk)
            if stock:
                row.on_hand, row.expired, row.expiring = stock["usable"], stock["expired"], stock["expiring"]
            row.warehouse = warehouse.get(community.street_id, {}).get(item.pk, ZERO)
            if item.pk in contracts:
                row.contracted, row.lead_time_hours = contracts[item.pk]
            _apply_target(row, own_targets.get(item.pk), population.get(community_id, 0), needs)
            rows.append(row)
        rows.sort(
            key=lambda r: (not r.is_short, r.days_of_supply is None, r.days_of_supply or 0, r.item.order)
        )
        out[community_id] = rows
    return out


def _contracted(
    community: Community, agreements: list[SupplierAgreement], delivered: dict[int, Decimal]
) -> dict[int, tuple[Decimal, int]]:
    """Per item: what the valid supplier agreements serving the community (its own, its street's) still
    owe (contracted less already delivered under them), and the shortest lead time."""
    out: dict[int, tuple[Decimal, int]] = {}
    for agreement in agreements:
        serves = agreement.community_id == community.pk or (
            agreement.community_id is None and agreement.street_id == community.street_id
        )
        if not serves:
            continue
        owed = max(ZERO, agreement.quantity - (delivered.get(agreement.pk) or ZERO))
        if not owed:
            continue
        quantity, lead = out.get(agreement.item_id, (ZERO, agreement.lead_time_hours))
        out[agreement.item_id] = (quantity + owed, min(lead, agreement.lead_time_hours))
    return out


def _apply_target(
    row: BoardRow, target: Target | None, people: int, needs: dict[int, list[tuple[str, Decimal]]]
) -> None:
    from linli.supplies.models import DEFAULT_TARGET_DAYS

    days = target.days if target else DEFAULT_TARGET_DAYS
    basis = target.basis if target else Target.Basis.PER_PERSON
    quantity: Decimal | None = None
    if basis == Target.Basis.PER_PERSON:
        rate = (target.per_person_day if target else None) or row.item.per_person_day
        if rate is None:
            return
        row.daily_use = rate * people
        quantity = row.daily_use * days
    elif basis == Target.Basis.PLAN and target is not None and target.plan_id:
        quantity = (
            sum((q for text, q in needs.get(target.plan_id, []) if matches(row.item, text)), ZERO) or None
        )
    elif basis == Target.Basis.FIXED and target is not None:
        quantity = target.quantity
    if quantity is None:
        return
    if row.item.indivisible:
        quantity = quantity.to_integral_value(ROUND_CEILING)
    row.target_quantity = quantity
    row.target_days = days
    row.basis = basis
    if row.daily_use is None and quantity:
        row.daily_use = quantity / days


def _plan_needs(plan_ids: list[int]) -> dict[int, list[tuple[str, Decimal]]]:
    from linli.plans.models import SupplyNeed

    needs: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for plan_id, text, quantity in SupplyNeed.objects.filter(
        plan_id__in=plan_ids, quantity__isnull=False
    ).values_list("plan_id", "item", "quantity"):
        if quantity is not None:
            needs[plan_id].append((text, quantity))
    return needs


_BRACKETED = re.compile(r"\(.*?\)")


def _keys(text: str) -> set[str]:
    """A name as typed, and without its bracketed note; fold_text turns （） into ()."""
    folded = fold_text(text)
    return {folded, _BRACKETED.sub("", folded)}


def matches(item: Item, text: str) -> bool:
    """Does a plan's free-text supply line mean this catalogue item? Exact names and aliases, with
    or without a bracketed note ("抽水泵（潜水泵）")."""
    wanted = _keys(text)
    return any(_keys(name) & wanted for name in item.names() if name)


def match_item(text: str, catalogue: list[Item]) -> Item | None:
    return next((item for item in catalogue if matches(item, text)), None)


def balances(community: Community, *, on: dt.date | None = None) -> list[dict[str, object]]:
    """The API's balances: one row per item and storage point (the community's points and the street
    warehouse), with the community's days of supply and target for the item."""
    day = on or timezone.localdate()
    rows_by_item = {row.item.pk: row for row in board(community, on=day)}
    lots = (
        Lot.objects.filter(
            Q(point__community=community)
            | Q(point__community__isnull=True, point__street_id=community.street_id),
            point__active=True,
        )
        .values("item_id", "point_id")
        .annotate(
            on_hand=Coalesce(
                Sum("on_hand", filter=usable_q(day)),
                Value(ZERO, output_field=DecimalField(max_digits=20, decimal_places=3)),
            ),
            lots=Count("pk"),
        )
    )
    points = {p.pk: p for p in StoragePoint.objects.filter(pk__in={r["point_id"] for r in lots})}
    items_by_pk = {i.pk: i for i in Item.objects.filter(pk__in={r["item_id"] for r in lots})}
    out = []
    for r in lots:
        item, point = items_by_pk[r["item_id"]], points[r["point_id"]]
        board_row = rows_by_item.get(item.pk)
        daily = board_row.daily_use if board_row else None
        out.append(
            {
                "item": item.code,
                "item_name": item.name,
                "unit": item.unit,
                "storage_point": point.pk,
                "storage_point_name": point.name,
                "warehouse": point.community_id is None,
                "on_hand": r["on_hand"],
                "days_of_supply": (r["on_hand"] / daily).quantize(Decimal("0.1")) if daily else None,
                "community_days_of_supply": board_row.days_of_supply if board_row else None,
                "target_days": board_row.target_days if board_row else None,
                "target": board_row.target_quantity if board_row else None,
            }
        )
    out.sort(key=lambda r: (str(r["item"]), not r["warehouse"], str(r["storage_point_name"])))
    return out


def ledger_mismatches(point: StoragePoint | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """Lots whose running total differs from the sum of their movements: (lot id, on hand, ledger).
    Always empty unless someone wrote to the database behind the services' back."""
    dec: DecimalField = DecimalField(max_digits=20, decimal_places=3)
    lots = Lot.objects.all() if point is None else Lot.objects.filter(point=point)
    # Rounded to the field's places: SQLite sums decimals in floating point.
    rows = lots.annotate(
        ledger=Round(Coalesce(Sum("movements__quantity"), Value(ZERO, output_field=dec)), 3)
    ).exclude(ledger=F("on_hand"))
    return [(lot.pk, lot.on_hand, lot.ledger) for lot in rows]  # type: ignore[attr-defined]


# Requests, stocktakes and the plan's list ---------------------------------------------------------


def requests_for_response(response: Any) -> list[SupplyRequest]:
    return list(
        SupplyRequest.objects.filter(response=response)
        .select_related("item", "community", "requested_by", "decided_by", "issued_from", "received_by")
        .order_by("-requested_at")
    )


def requests_for(actor: User, *, open_only: bool = True) -> QuerySet[SupplyRequest]:
    qs = SupplyRequest.objects.filter(scope_q(actor, grid=None)).select_related(
        "item", "community", "response", "requested_by", "issued_from"
    )
    if open_only:
        qs = qs.filter(
            status__in=[
                SupplyRequest.Status.REQUESTED,
                SupplyRequest.Status.APPROVED,
                SupplyRequest.Status.ISSUED,
            ]
        )
    return qs


def request_get(actor: User, pk: int) -> SupplyRequest:
    request = requests_for(actor, open_only=False).filter(pk=pk).first()
    if request is None:
        raise Http404
    return request


def stocktake_get(actor: User, pk: int) -> Stocktake:
    sheet = Stocktake.objects.filter(points_q(actor, "point__"), pk=pk).select_related("point").first()
    if sheet is None:
        raise Http404
    return sheet


@dataclass
class PlanSupplyLine:
    text: str
    quantity: Decimal | None
    unit: str
    storage: str
    item: Item | None
    stock: list[tuple[StoragePoint, Decimal]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((q for _p, q in self.stock), ZERO)

    @property
    def is_short(self) -> bool:
        return self.item is not None and self.quantity is not None and self.total < self.quantity

    @property
    def missing(self) -> Decimal:
        return max(ZERO, (self.quantity or ZERO) - self.total)


def plan_stock(plan: object) -> list[PlanSupplyLine]:
    """The plan's supply list with live usable stock at each storage point of its community and street."""
    community = getattr(plan, "community", None)
    needs = list(plan.supplies.all())  # type: ignore[attr-defined]
    catalogue = list(Item.objects.all())
    lines = [
        PlanSupplyLine(n.item, n.quantity, n.unit, n.storage, match_item(n.item, catalogue)) for n in needs
    ]
    if community is None:
        return lines
    stock: dict[int, list[tuple[StoragePoint, Decimal]]] = defaultdict(list)
    rows = (
        Lot.objects.serving(community)
        .usable()
        .filter(item__in=[line.item for line in lines if line.item], on_hand__gt=0)
        .values("item_id", "point_id")
        .annotate(total=Sum("on_hand"))
    )
    points = {p.pk: p for p in StoragePoint.objects.filter(pk__in={r["point_id"] for r in rows})}
    for r in rows:
        stock[r["item_id"]].append((points[r["point_id"]], r["total"]))
    for line in lines:
        if line.item is not None:
            line.stock = sorted(
                stock.get(line.item.pk, []), key=lambda s: (s[0].community_id is None, s[0].name)
            )
    return lines


def open_stocktake(point: StoragePoint) -> Stocktake | None:
    return Stocktake.objects.filter(point=point, status=Stocktake.Status.OPEN).first()


def latest_stocktake(point: StoragePoint) -> Stocktake | None:
    return (
        Stocktake.objects.filter(point=point, status=Stocktake.Status.POSTED).order_by("-posted_at").first()
    )


def with_actions(actor: User, rows: list[SupplyRequest]) -> list[SupplyRequest]:
    """Mark what the actor may do with each request, and the points they may issue it from."""
    from linli.supplies.services import can_confirm_receipt, can_decide, can_move_stock

    mine = [p for p in points_for(actor).filter(active=True) if can_move_stock(actor, p)]
    for q in rows:
        q.can_decide = can_decide(actor, q)  # type: ignore[attr-defined]
        q.can_receive = can_confirm_receipt(actor, q)  # type: ignore[attr-defined]
        q.issue_points = [  # type: ignore[attr-defined]
            p
            for p in mine
            if p.community_id in (None, q.community_id) and p.street_id == q.community.street_id
        ]
    return rows


def response_supplies(actor: User, response: Any) -> dict[str, object]:
    """What the response page shows of supplies: its requests with what the actor may do, and what
    was issued to it."""
    issued = (
        Movement.objects.filter(response=response, kind=Movement.Kind.ISSUE)
        .values("item_id")
        .annotate(total=Sum("quantity"))
    )
    items_by_pk = {i.pk: i for i in Item.objects.filter(pk__in=[r["item_id"] for r in issued])}
    return {
        "requests": with_actions(actor, requests_for_response(response)),
        "issued": [(items_by_pk[r["item_id"]], -r["total"]) for r in issued],
    }
