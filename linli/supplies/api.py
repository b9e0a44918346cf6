"""Supplies API: balances per item and storage point, and posting movements to the ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.core.models import User
from linli.registry.selectors import community_get, household_get
from linli.response.selectors import response_get
from linli.supplies import selectors as sel
from linli.supplies.models import Item, Lot, Movement
from linli.supplies.services import (
    InsufficientStock,
    Recipient,
    signed_quantity,
    supplies_adjust,
    supplies_dispose,
    supplies_issue,
    supplies_receive,
    supplies_transfer,
)

router = Router(tags=["supplies"])


class BalanceOut(Schema):
    item: str
    item_name: str
    unit: str
    storage_point: int
    storage_point_name: str
    warehouse: bool
    on_hand: Decimal
    days_of_supply: Decimal | None
    community_days_of_supply: Decimal | None
    target_days: int | None
    target: Decimal | None


@router.get("/balances", response=list[BalanceOut])
def balances(request: HttpRequest, community: str) -> list[dict[str, object]]:
    """Usable (unexpired) stock per item at each of the community's storage points and the street
    warehouse, with days of supply at full load and the community's target."""
    actor: User = request.user  # type: ignore[assignment]
    return sel.balances(community_get(actor, community))


class RecipientIn(Schema):
    kind: Literal["team", "response", "household", "other"] = "other"
    team: str = ""
    response: int | None = None
    household: int | None = None
    note: str = ""


class MovementIn(Schema):
    kind: Literal["receive", "issue", "transfer", "adjust", "dispose"]
    item: str = Field(description="catalogue code, e.g. protective-suit")
    quantity: str | float | int = Field(
        description="positive; whole for items counted in whole units; adjust may be negative"
    )
    from_: int | None = Field(
        None, alias="from", description="storage point id stock leaves (issue, transfer)"
    )
    to: int | None = Field(None, description="storage point id stock arrives at (receive, transfer)")
    lot: int | None = Field(None, description="the lot to adjust or dispose of, or to issue from")
    recipient: RecipientIn | None = None
    batch: str = ""
    expiry: dt.date | None = None
    source: Literal["purchase", "donation", "agreement"] = "purchase"
    supplier: str = ""
    reason: str = ""
    override_reason: str = Field("", description="issue expired stock anyway, for this logged reason")


class MovementOut(Schema):
    id: int
    ref: uuid.UUID
    kind: str
    item: str
    lot: int
    storage_point: int
    quantity: Decimal
    balance_after: Decimal
    at: dt.datetime


class AvailableOut(Schema):
    storage_point: int
    name: str
    on_hand: str
    expired: str


class ShortageOut(Schema):
    detail: str
    item: str
    requested: str
    available: list[AvailableOut]


class ErrorOut(Schema):
    detail: str


def _out(m: Movement) -> MovementOut:
    return MovementOut(
        id=m.pk,
        ref=m.ref,
        kind=m.kind,
        item=m.item.code,
        lot=m.lot_id,
        storage_point=m.point_id,
        quantity=m.quantity,
        balance_after=m.balance_after,
        at=m.at,
    )


@router.post("/movements", response={201: list[MovementOut], 400: ErrorOut, 409: ShortageOut})
def post_movement(request: HttpRequest, data: MovementIn) -> Status:
    """Post to the ledger. Issuing more than is on hand is 409 with what is available where; the
    stock is never taken. An issue without `lot` takes the first-expiring lots first."""
    actor: User = request.user  # type: ignore[assignment]
    item = Item.objects.filter(code=data.item).first()
    if item is None:
        return Status(400, ErrorOut(detail=f"unknown item {data.item!r}"))
    try:
        movements = _apply(actor, data, item)
    except InsufficientStock as exc:
        return Status(409, exc.as_dict())
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=" ".join(exc.messages)))
    except PermissionDenied as exc:
        raise HttpError(403, str(exc) or "forbidden") from exc
    return Status(201, [_out(m) for m in movements])


def _need(value: int | None, name: str) -> int:
    if value is None:
        raise ValidationError(f"“{name}” is required for this kind of movement")
    return value


def _apply(actor: User, data: MovementIn, item: Item) -> list[Movement]:
    if data.kind == "receive":
        point = sel.point_get(actor, _need(data.to, "to"))
        return [
            supplies_receive(
                actor=actor,
                point=point,
                item=item,
                quantity=data.quantity,
                batch=data.batch,
                expiry=data.expiry,
                source=data.source,
                supplier=data.supplier,
                note=data.reason,
            )
        ]
    if data.kind == "transfer":
        source = sel.point_get(actor, _need(data.from_, "from"))
        destination = sel.point_get(actor, _need(data.to, "to"))
        return supplies_transfer(
            actor=actor,
            source=source,
            destination=destination,
            item=item,
            quantity=data.quantity,
            note=data.reason,
        )
    if data.kind == "issue":
        point = sel.point_get(actor, _need(data.from_, "from"))
        lot = _lot(actor, data, item) if data.lot else None
        r = data.recipient or RecipientIn()
        recipient = Recipient(
            kind=r.kind,
            team=r.team,
            response=response_get(actor, r.response) if r.response else None,
            household=household_get(actor, r.household) if r.household else None,
            note=r.note,
        )
        return supplies_issue(
            actor=actor,
            point=point,
            item=item,
            quantity=data.quantity,
            recipient=recipient,
            lot=lot,
            override_reason=data.override_reason,
        )
    lot = _lot(actor, data, item)
    if data.kind == "dispose":
        return [supplies_dispose(actor=actor, lot=lot, quantity=data.quantity, reason=data.reason)]
    delta = signed_quantity(item, data.quantity)
    return [supplies_adjust(actor=actor, lot=lot, delta=delta, reason=data.reason)]


def _lot(actor: User, data: MovementIn, item: Item) -> Lot:
    lot = sel.lot_get(actor, _need(data.lot, "lot"))
    if lot.item_id != item.pk:
        raise ValidationError("the lot holds a different item")
    return lot
