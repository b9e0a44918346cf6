"""The movement ledger: receive, FEFO issue, transfer, adjust, dispose; never negative, never edited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from linli.supplies.models import AppendOnly, Lot, Movement
from linli.supplies.selectors import ledger_mismatches
from linli.supplies.services import (
    InsufficientStock,
    Recipient,
    supplies_adjust,
    supplies_dispose,
    supplies_issue,
    supplies_receive,
    supplies_transfer,
)
from linli.supplies.tests.conftest import Stock, receive
from linli.tasks.models import Team

pytestmark = pytest.mark.django_db
TEAM = Recipient(kind="team", team=Team.MEDICAL)


def on_hand(stock: Stock, point=None) -> Decimal:  # type: ignore[no-untyped-def]
    return sum(
        (lot.on_hand for lot in Lot.objects.filter(point=point or stock.point, item=stock.suits)), Decimal(0)
    )


def test_issue_takes_the_first_expiring_lot_first(stock: Stock) -> None:
    receive(stock, 10, days=300, batch="LATE")
    receive(stock, 5, days=30, batch="SOON")
    moves = supplies_issue(
        actor=stock.logistics, point=stock.point, item=stock.suits, quantity=7, recipient=TEAM
    )
    assert [(m.lot.batch, m.quantity) for m in moves] == [("SOON", -5), ("LATE", -2)]
    assert moves[0].ref == moves[1].ref
    assert on_hand(stock) == 8
    assert ledger_mismatches() == []


def test_issuing_more_than_on_hand_is_refused_with_what_is_available_where(stock: Stock) -> None:
    receive(stock, 3)
    receive(stock, 40, point=stock.warehouse)
    with pytest.raises(InsufficientStock) as caught:
        supplies_issue(actor=stock.logistics, point=stock.point, item=stock.suits, quantity=5, recipient=TEAM)
    text = str(caught.value)
    assert "Only 3" in text and "街道仓库 40" in text
    assert on_hand(stock) == 3
    assert Movement.objects.filter(kind="issue").count() == 0


def test_expired_lots_are_not_issued_without_a_logged_reason(stock: Stock) -> None:
    receive(stock, 4, days=10, batch="OLD")
    with time_machine.travel(timezone.now() + dt.timedelta(days=20)):
        with pytest.raises(InsufficientStock) as caught:
            supplies_issue(
                actor=stock.logistics, point=stock.point, item=stock.suits, quantity=1, recipient=TEAM
            )
        assert "expired" in str(caught.value)
        moves = supplies_issue(
            actor=stock.logistics,
            point=stock.point,
            item=stock.suits,
            quantity=1,
            recipient=TEAM,
            override_reason="drill use, stated by commander",
        )
    assert moves[0].expired_override
    assert "drill use" in moves[0].note
    from linli.core.models import AuditLog

    assert AuditLog.objects.filter(action="stock", detail__contains="drill use").exists()


def test_negative_and_fractional_counts_of_whole_units_are_refused(stock: Stock) -> None:
    receive(stock, 10)
    for bad in (-1, 0, "1.5", "abc"):
        with pytest.raises(ValidationError):
            supplies_issue(
                actor=stock.logistics, point=stock.point, item=stock.suits, quantity=bad, recipient=TEAM
            )
    supplies_receive(
        actor=stock.logistics,
        point=stock.point,
        item=stock.fuel,
        quantity="12.5",
        expiry=timezone.localdate() + dt.timedelta(days=100),
    )
    assert Lot.objects.get(item=stock.fuel).on_hand == Decimal("12.5")


def test_items_with_a_shelf_life_need_an_expiry(stock: Stock) -> None:
    with pytest.raises(ValidationError, match="expiry"):
        supplies_receive(actor=stock.logistics, point=stock.point, item=stock.suits, quantity=5)


def test_transfer_keeps_batch_and_expiry_and_balances_both_ends(stock: Stock) -> None:
    receive(stock, 10, days=60, batch="X1")
    moves = supplies_transfer(
        actor=stock.logistics, source=stock.point, destination=stock.point2, item=stock.suits, quantity=4
    )
    assert {m.quantity for m in moves} == {Decimal(-4), Decimal(4)}
    arrived = Lot.objects.get(point=stock.point2)
    assert arrived.batch == "X1" and arrived.on_hand == 4
    assert on_hand(stock) == 6
    assert ledger_mismatches() == []


def test_adjust_and_dispose_need_a_reason_and_never_go_negative(stock: Stock) -> None:
    receive(stock, 5)
    lot = Lot.objects.get(point=stock.point)
    with pytest.raises(ValidationError):
        supplies_adjust(actor=stock.logistics, lot=lot, delta=Decimal(-1), reason=" ")
    with pytest.raises(InsufficientStock):
        supplies_dispose(actor=stock.logistics, lot=lot, quantity=6, reason="water damage")
    supplies_dispose(actor=stock.logistics, lot=lot, quantity=2, reason="water damage")
    supplies_adjust(actor=stock.logistics, lot=lot, delta=Decimal(1), reason="found a box")
    lot.refresh_from_db()
    assert lot.on_hand == 4
    assert ledger_mismatches() == []


def test_the_ledger_cannot_be_edited_or_deleted(stock: Stock) -> None:
    receive(stock, 5)
    movement = Movement.objects.get()
    movement.quantity = Decimal(500)
    with pytest.raises(AppendOnly):
        movement.save()
    with pytest.raises(AppendOnly):
        movement.delete()
    with pytest.raises(AppendOnly):
        Movement.objects.all().delete()
    with pytest.raises(AppendOnly):
        Movement.objects.update(quantity=1)
    from django.db import connection

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE supplies_movement SET quantity = 500")


def test_who_may_move_stock(stock: Stock) -> None:
    w = stock.world
    receive(stock, 5)
    receive(stock, 5, point=stock.warehouse)
    for seat in (w.alice, w.bob, w.observer, w.charlie):
        with pytest.raises(PermissionDenied):
            supplies_issue(actor=seat, point=stock.point, item=stock.suits, quantity=1, recipient=TEAM)
    # Community logistics may not take from the street warehouse; the street may.
    with pytest.raises(PermissionDenied):
        supplies_issue(
            actor=stock.logistics, point=stock.warehouse, item=stock.suits, quantity=1, recipient=TEAM
        )
    supplies_issue(actor=w.street_admin, point=stock.warehouse, item=stock.suits, quantity=1, recipient=TEAM)
    supplies_issue(actor=w.commander, point=stock.point, item=stock.suits, quantity=1, recipient=TEAM)


def test_a_recipient_must_be_named_and_in_the_community(stock: Stock) -> None:
    receive(stock, 5)
    with pytest.raises(ValidationError):
        supplies_issue(
            actor=stock.logistics, point=stock.point, item=stock.suits, quantity=1, recipient=Recipient()
        )
    with pytest.raises(ValidationError):
        supplies_issue(
            actor=stock.logistics,
            point=stock.point,
            item=stock.suits,
            quantity=1,
            recipient=Recipient(kind="household", household=stock.world.other_resident.household),
        )
    supplies_issue(
        actor=stock.logistics,
        point=stock.point,
        item=stock.suits,
        quantity=1,
        recipient=Recipient(kind="household", household=stock.world.resident1.household),
    )


def test_fractional_stock_is_exact_so_what_is_shown_can_be_issued(stock: Stock) -> None:
    supplies_receive(
        actor=stock.logistics,
        point=stock.point,
        item=stock.fuel,
        quantity="0.7",
        expiry=timezone.localdate() + dt.timedelta(days=100),
    )
    for part in ("0.4", "0.3"):
        supplies_issue(
            actor=stock.logistics, point=stock.point, item=stock.fuel, quantity=part, recipient=TEAM
        )
    assert Lot.objects.get(item=stock.fuel).on_hand == 0
    assert ledger_mismatches() == []


def test_an_override_takes_fresh_stock_first_and_expired_only_for_the_rest(stock: Stock) -> None:
    receive(stock, 5, days=10, batch="OLD")
    receive(stock, 100, days=300, batch="NEW")
    with time_machine.travel(timezone.now() + dt.timedelta(days=20)):
        moves = supplies_issue(
            actor=stock.logistics,
            point=stock.point,
            item=stock.suits,
            quantity=5,
            recipient=TEAM,
            override_reason="急用",
        )
        assert [(m.lot.batch, m.expired_override) for m in moves] == [("NEW", False)]
        moves = supplies_issue(
            actor=stock.logistics,
            point=stock.point,
            item=stock.suits,
            quantity=97,
            recipient=TEAM,
            override_reason="急用",
        )
    assert [(m.lot.batch, m.quantity, m.expired_override) for m in moves] == [
        ("NEW", -95, False),
        ("OLD", -2, True),
    ]


def test_counts_accept_zero_in_any_spelling_but_quantities_do_not(stock: Stock) -> None:
    from linli.supplies.services import count_of, quantity_of, signed_quantity

    for zero in ("0", "0.00", "00", "０"):
        assert count_of(stock.suits, zero) == 0
    for bad in ("sNaN", "-sNaN", "Infinity", "NaN", "-1"):
        with pytest.raises(ValidationError):
            count_of(stock.suits, bad)
        with pytest.raises(ValidationError):
            quantity_of(stock.suits, bad)
    assert signed_quantity(stock.suits, "-3") == -3
    with pytest.raises(ValidationError):
        signed_quantity(stock.suits, "sNaN")
