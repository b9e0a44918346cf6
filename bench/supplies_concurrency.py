"""Fifty people issuing from one lot at once, on PostgreSQL: no unit goes twice, nothing goes negative.

One community storage point holds one lot of 1,000 protective suits. Fifty threads, each with its own
database connection, wait at a barrier and then all call services.supplies_issue for a random
quantity (1–60; together they ask for more than the lot holds, so the last ones are refused with
InsufficientStock). Afterwards the lot's on_hand must equal the initial stock less what the accepted
issues took, and so must the sum of its ledger; no balance_after may be negative.

PostgreSQL only (SQLite takes one writer at a time, so it proves nothing here): BENCH_DATABASE_URL,
or postgres://postgres@127.0.0.1:5432/linli_bench when it is not set. ITS DATA IS DELETED, as for
every benchmark on a shared database.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from bench.common import Figures, Target, Timer, child_main, log, open_database

DESCRIPTION = "50 concurrent issues from one lot of 1,000 on PostgreSQL: never oversold, ledger agrees"
NAME = "supplies_concurrency"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/linli_bench"
INITIAL = 1_000
WORKERS = 50
LARGEST = 60  # issues are 1–LARGEST units: about 1,500 asked for in all
TARGETS = {"consistent": Target("==", True), "negative": Target("==", 0), "errors": Target("==", 0)}


@dataclass
class Outcome:
    accepted: list[Decimal] = field(default_factory=list)
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run() -> Figures:
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"{NAME} runs on PostgreSQL only; BENCH_DATABASE_URL is {url}")
    os.environ["BENCH_DATABASE_URL"] = url
    open_database(NAME)

    import datetime as dt

    from django.db import connection
    from django.db.models import Sum
    from django.utils import timezone

    from linli.core.models import User
    from linli.core.roles import Role
    from linli.registry.models import Community, Street
    from linli.supplies.models import Item, Lot, Movement, StoragePoint
    from linli.supplies.services import InsufficientStock, Recipient, supplies_issue, supplies_receive
    from linli.tasks.models import Team

    street = Street.objects.create(code="bench-street", name="基准街道")
    community = Community.objects.create(street=street, code="bench", name="基准社区")
    street_admin = User.objects.create(username="bench_street", role=Role.STREET_ADMIN, street=street)
    logistics = User.objects.create(username="bench_logistics", role=Role.TEAM_MEMBER, community=community)
    point = StoragePoint.objects.create(
        community=community, name="基准应急点", address="1号楼底商", keeper="王强", phone="13800001111"
    )
    suits = Item.objects.get(code="protective-suit")
    supplies_receive(
        actor=street_admin,
        point=point,
        item=suits,
        quantity=INITIAL,
        batch="B1",
        expiry=timezone.localdate() + dt.timedelta(days=365),
    )
    lot = Lot.objects.get(point=point, item=suits)
    rng = random.Random(20261102)
    sizes = [rng.randint(1, LARGEST) for _ in range(WORKERS)]
    log(f"{WORKERS} issues asking for {sum(sizes):,} of {INITIAL:,} units …")

    outcome = Outcome()
    barrier = threading.Barrier(WORKERS)

    def issue(quantity: int) -> None:
        try:
            barrier.wait()
            moves = supplies_issue(
                actor=logistics,
                point=point,
                item=suits,
                quantity=quantity,
                recipient=Recipient(kind="team", team=Team.LOGISTICS),
            )
            with outcome.lock:
                outcome.accepted.append(-sum((m.quantity for m in moves), Decimal(0)))
        except InsufficientStock:
            with outcome.lock:
                outcome.refused += 1
        except Exception as error:  # a deadlock or any other failure is what this benchmark looks for
            with outcome.lock:
                outcome.errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(q,)) for q in sizes]
    with Timer() as timer:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for error in outcome.errors:
        log(f"  error: {error}")

    lot.refresh_from_db()
    movements = Movement.objects.filter(lot=lot)
    ledger_sum = movements.aggregate(total=Sum("quantity"))["total"]
    expected = Decimal(INITIAL) - sum(outcome.accepted, Decimal(0))
    return {
        "expected": int(expected),
        "final": int(lot.on_hand),
        "ledger_sum": int(ledger_sum),
        "consistent": expected == lot.on_hand == ledger_sum,
        "accepted": len(outcome.accepted),
        "refused": outcome.refused,
        "errors": len(outcome.errors),
        "negative": movements.filter(balance_after__lt=0).count(),
        "issued": int(sum(outcome.accepted, Decimal(0))),
        "asked": sum(sizes),
        "issue_movements": movements.filter(kind=Movement.Kind.ISSUE).count(),
        "seconds": round(timer.seconds, 3),
    }


if __name__ == "__main__":
    child_main(run)
