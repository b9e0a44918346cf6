"""Many people issuing from one lot at once never take the same unit twice (PostgreSQL only).

Each thread has its own database connection and all are released together; the conditional UPDATE
and the row locks in services must leave the lot's running total and the ledger in agreement, never
negative, with the issues that did not fit refused."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from linli.supplies.models import Lot, Movement
from linli.supplies.selectors import ledger_mismatches
from linli.supplies.services import InsufficientStock, Recipient, supplies_issue
from linli.supplies.tests.conftest import Stock, receive
from linli.tasks.models import Team

INITIAL = 1000
WORKERS = 50

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent issues need PostgreSQL: SQLite takes one writer at a time",
    ),
]


def test_concurrent_issues_never_oversell_a_lot(stock: Stock) -> None:
    receive(stock, INITIAL)
    lot = Lot.objects.get(point=stock.point, item=stock.suits)
    rng = random.Random(7)
    sizes = [rng.randint(1, 60) for _ in range(WORKERS)]
    assert sum(sizes) > INITIAL  # demand exceeds stock: some must be refused

    accepted: list[Decimal] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(WORKERS)

    def issue(quantity: int) -> None:
        try:
            barrier.wait()
            moves = supplies_issue(
                actor=stock.logistics,
                point=stock.point,
                item=stock.suits,
                quantity=quantity,
                recipient=Recipient(kind="team", team=Team.LOGISTICS),
            )
            with lock:
                accepted.append(-sum((m.quantity for m in moves), Decimal(0)))
        except InsufficientStock:
            with lock:
                refused.append(quantity)
        except BaseException as error:  # a deadlock or a lost update would land here
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(q,)) for q in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(accepted) + len(refused) == WORKERS
    assert refused, "demand exceeded stock, so some issues must have been refused"
    lot.refresh_from_db()
    assert lot.on_hand == INITIAL - sum(accepted, Decimal(0))
    movements = Movement.objects.filter(lot=lot)
    assert movements.aggregate(total=Sum("quantity"))["total"] == lot.on_hand
    assert movements.filter(kind=Movement.Kind.ISSUE).count() == len(accepted)
    assert not movements.filter(balance_after__lt=0).exists()
    # Every refusal asked for more than was left when it ran, which is never less than the final stock.
    assert all(q > lot.on_hand for q in refused)
    assert ledger_mismatches() == []


def _together(count: int, work) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """Run work(i) in `count` threads released at once; return what they raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_transfers_both_ways_at_once_do_not_deadlock(stock: Stock) -> None:
    from linli.supplies.services import supplies_transfer

    receive(stock, 100, batch="A")
    receive(stock, 100, batch="B", point=stock.point2)

    def move(i: int) -> None:
        source, destination = (stock.point, stock.point2) if i % 2 else (stock.point2, stock.point)
        supplies_transfer(
            actor=stock.logistics, source=source, destination=destination, item=stock.suits, quantity=3
        )

    assert _together(20, move) == []
    total = Lot.objects.filter(item=stock.suits).aggregate(total=Sum("on_hand"))["total"]
    assert total == 200
    assert ledger_mismatches() == []


def test_deliveries_of_one_batch_at_once_make_one_lot_and_one_count_sheet(stock: Stock) -> None:
    from linli.supplies.services import stocktake_start

    assert _together(8, lambda i: receive(stock, 5, batch="SAME")) == []
    assert Lot.objects.filter(point=stock.point, item=stock.suits, batch="SAME").count() == 1
    assert Lot.objects.get(batch="SAME").on_hand == 40
    assert _together(8, lambda i: stocktake_start(actor=stock.logistics, point=stock.point)) == []
    assert stock.point.stocktakes.filter(status="open").count() == 1
