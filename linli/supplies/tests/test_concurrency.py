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
