"""The days-of-supply board and the balances API over a ledger of 1,000,000 movements.

One street of 27 communities: the demo community data set (seed_demo("community"): 潘家园南里, about
7,300 residents, the measured community, and two smaller ones), plus 24 more communities without
residents (the board counts only the measured community's). Every community has three storage points
(one of the measured community's is out of use) and the street has a warehouse; the full catalogue;
4,000 lots of every item, received over the past two years (those with a shelf life expire, some
already, some within the rotation window); and 1,000,000 movements in time order: each lot's opening
receipt, then issues to teams and residents, top-up receipts, stocktake adjustments and disposals of
expired stock. Each movement's balance_after is its lot's running total and each lot's on_hand the sum
of its movements, as the services leave them (the ledger is append-only, so everything is computed
before it is written). The measured community also has a plan with a supply list, targets of every
basis and supplier agreements.

With warm caches, selectors.board() and selectors.balances() for the measured community are each
timed RUNS times at a fixed day; `ms` is the larger median. Then selectors.ledger_mismatches() derives
every balance from the ledger (informational; it must find nothing). The movements are written with
insert_rows on SQLite (the database is then cached in bench/out by the hash of this file, the
generators it uses and the migrations) and with COPY on PostgreSQL (rebuilt on every run).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from bench.common import (
    OUT_DIR,
    ROOT,
    Figures,
    Target,
    Timer,
    analyze,
    child_main,
    fingerprint,
    log,
    open_cached_dataset,
    query_logging_off,
    schema_fingerprint,
)
from bench.deadline_scan import chunks
from bench.plan_activation import plan_document

DESCRIPTION = "days-of-supply board and balances of a community over 1,000,000 ledger movements"
NAME = "supplies_board"
MEASURED = "nanli"  # seed_demo's community of about 7,300 residents
COMMUNITIES = 27
POINTS_PER_COMMUNITY = 3
LOTS = 4_000
MOVEMENTS = 1_000_000
WAREHOUSE_WEIGHT = 8  # the street warehouse holds as many lots as eight community points
CHUNK = 50_000
RUNS = 15
LEDGER_RUNS = 3
# The board is read on this day (09:00 in Beijing), so a cached data set never ages.
NOW = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 2)
START = NOW - dt.timedelta(days=730)
TARGETS = {"ms": Target("<=", 300), "mismatches": Target("==", 0)}
T = TypeVar("T")

COLUMNS = [
    "at",
    "ref",
    "kind",
    "lot",
    "item",
    "point",
    "quantity",
    "balance_after",
    "recipient",
    "team",
    "response",
    "household",
    "counterpart",
    "note",
    "expired_override",
    "request",
    "actor",
]
LOT_COLUMNS = [
    "item",
    "point",
    "batch",
    "expiry",
    "source",
    "supplier",
    "agreement",
    "on_hand",
    "received_at",
]
# Units moved at a time, by item: a box of masks, a pallet of water, one generator.
SCALE = {
    "surgical-mask": 50,
    "n95-mask": 20,
    "antigen-kit": 20,
    "disinfectant-84": 5,
    "bottled-water": 5,
    "instant-food": 5,
    "sandbag": 10,
    "generator-fuel": 5,
    "generator": 1,
    "pump": 1,
    "tent": 1,
}
ISSUE_TEAMS = ["logistics", "medical", "engineering", "security", "liaison"]


def dataset_cache() -> Path:
    key = fingerprint(
        Path(__file__),
        ROOT / "bench" / "plan_activation.py",
        ROOT / "linli" / "supplies" / "models.py",
        ROOT / "linli" / "supplies" / "catalogue.py",
        ROOT / "linli" / "registry" / "demo.py",
        ROOT / "linli" / "plans" / "document.py",
        extra=f"{schema_fingerprint()}-{LOTS}-{MOVEMENTS}",
    )
    return OUT_DIR / f"{NAME}-{key}.sqlite3"


@dataclass
class LotPlan:
    id: int
    item_id: int
    point_id: int
    expiry: dt.date | None
    received: float  # seconds since the epoch
    scale: int
    whole: bool
    balance: Decimal = Decimal(0)


def build_world(log_to: Callable[[str], None]) -> tuple[list[int], list[int], int, list[int]]:
    """The street, its communities, points, plan, targets and agreements.

    Returns (community point ids, warehouse point ids, the measured community's id, actor ids)."""
    from linli.core.models import User
    from linli.plans.document import plan_build
    from linli.registry.demo import DISTRICT_NAMES, seed_demo
    from linli.registry.models import Community
    from linli.supplies.models import Item, StoragePoint, SupplierAgreement
    from linli.supplies.models import Target as SupplyTarget

    log_to("seeding the demo community (seed_demo('community')) …")
    seed_demo("community", log=log_to)
    measured = Community.objects.get(code=MEASURED)
    street = measured.street
    have = Community.objects.filter(street=street).count()
    for index, name in enumerate(DISTRICT_NAMES[: COMMUNITIES - have], start=1):
        Community.objects.create(street=street, code=f"s{index:02d}", name=f"{name}社区")
    communities = list(Community.objects.filter(street=street).order_by("pk"))
    assert len(communities) == COMMUNITIES, len(communities)

    points: list[int] = []
    for community in communities:
        for n in range(1, POINTS_PER_COMMUNITY + 1):
            point = StoragePoint.objects.create(
                community=community,
                name=f"{community.name}{n}号应急点",
                address=f"{n}号楼底商",
                keeper="王强",
                phone=f"1380000{n:04d}",
                # One of the measured community's points is closed: the board leaves it out.
                active=not (community.pk == measured.pk and n == POINTS_PER_COMMUNITY),
            )
            points.append(point.pk)
    warehouse = StoragePoint.objects.create(
        street=street, name="街道应急物资仓库", address="街道办后院", keeper="张华", phone="13800009999"
    )

    items = {i.code: i for i in Item.objects.all()}
    plan = plan_build(plan_document(), community=measured)
    basis = SupplyTarget.Basis
    for code in ("surgical-mask", "torch", "first-aid-kit"):
        SupplyTarget.objects.create(
            community=measured, item=items[code], basis=basis.PLAN, plan=plan, days=30
        )
    for code, quantity in (
        ("tent", 20),
        ("folding-bed", 60),
        ("sandbag", 800),
        ("generator", 2),
        ("pump", 4),
    ):
        SupplyTarget.objects.create(
            community=measured, item=items[code], basis=basis.FIXED, quantity=Decimal(quantity)
        )
    for code, rate in (("n95-mask", "0.02"), ("bottled-water", "0.05"), ("protective-suit", "0.01")):
        SupplyTarget.objects.create(
            community=measured,
            item=items[code],
            basis=basis.PER_PERSON,
            per_person_day=Decimal(rate),
            days=14,
        )
    for community in communities:
        if community.pk != measured.pk:
            for code, quantity in (("tent", 10), ("sandbag", 400)):
                SupplyTarget.objects.create(
                    community=community, item=items[code], basis=basis.FIXED, quantity=Decimal(quantity)
                )
    for holder, code, quantity, from_day, days in (
        (None, "surgical-mask", 200_000, DAY - dt.timedelta(days=200), 365),
        (None, "bottled-water", 5_000, DAY - dt.timedelta(days=30), 365),
        (None, "instant-food", 3_000, DAY - dt.timedelta(days=500), 365),  # lapsed
        (measured, "sandbag", 2_000, DAY - dt.timedelta(days=10), 730),
        (measured, "pump", 6, DAY - dt.timedelta(days=10), 730),
    ):
        SupplierAgreement.objects.create(
            street=street,
            community=holder,
            supplier="朝阳应急物资有限公司",
            phone="010-65550000",
            item=items[code],
            quantity=Decimal(quantity),
            lead_time_hours=12 if holder else 24,
            valid_from=from_day,
            valid_until=from_day + dt.timedelta(days=days),
        )
    actors = list(
        User.objects.filter(username__in=["team", "commander", "street"]).values_list("pk", flat=True)
    )
    return points, [warehouse.pk], measured.pk, actors


def plan_lots(rng: random.Random, points: Sequence[int], warehouses: Sequence[int]) -> list[tuple[Any, ...]]:
    """LOTS lots in LOT_COLUMNS order, by the time they were received (on_hand is set after the ledger)."""
    from linli.supplies.models import Item

    items = list(Item.objects.order_by("pk"))
    choices = [*points, *(w for w in warehouses for _n in range(WAREHOUSE_WEIGHT))]
    span = (NOW - dt.timedelta(days=7) - START).total_seconds()
    received = sorted(
        START + dt.timedelta(seconds=0 if n == 0 else rng.uniform(0, span)) for n in range(LOTS)
    )
    rows = []
    for n, at in enumerate(received):
        item = rng.choice(items)
        expiry = at.date() + dt.timedelta(days=item.shelf_life_days) if item.shelf_life_days else None
        source = (
            "opening"
            if at < START + dt.timedelta(days=30)
            else rng.choice(("purchase", "purchase", "donation"))
        )
        supplier = (
            "" if source == "opening" else rng.choice(("朝阳应急物资有限公司", "爱心企业捐赠", "京东企业购"))
        )
        rows.append(
            (item.pk, rng.choice(choices), f"B{at:%Y%m}-{n + 1:05d}", expiry, source, supplier, None, 0, at)
        )
    return rows


def movement_rows(
    rng: random.Random, lots: list[LotPlan], actors: Sequence[int]
) -> Iterator[tuple[Any, ...]]:
    """MOVEMENTS ledger lines in COLUMNS order and in time order, keeping each lot's balance (never
    below zero) in LotPlan.balance; every lot's first line is its opening receipt."""
    first = lots[0].received
    end = NOW.timestamp()
    times = sorted(rng.uniform(first, end) for _ in range(MOVEMENTS - len(lots)))
    opened = 0

    def line(lot: LotPlan, at: float, kind: str, quantity: Decimal, **extra: Any) -> tuple[Any, ...]:
        lot.balance += quantity
        fields = {"recipient": "", "team": "", "note": "", **extra}
        return (
            dt.datetime.fromtimestamp(at, dt.UTC),
            uuid.UUID(int=rng.getrandbits(128), version=4).hex,
            kind,
            lot.id,
            lot.item_id,
            lot.point_id,
            str(quantity),
            str(lot.balance),
            fields["recipient"],
            fields["team"],
            None,
            None,
            None,
            fields["note"],
            False,
            None,
            rng.choice(actors),
        )

    def amount(lot: LotPlan, low: int, high: int) -> Decimal:
        units = Decimal(rng.randint(low, high) * lot.scale)
        if not lot.whole:
            units += Decimal("0.5") * rng.randint(0, 1)
        return units

    for at in [*times, end + 1]:
        while opened < len(lots) and lots[opened].received <= at:
            lot = lots[opened]
            yield line(lot, lot.received, "receive", amount(lot, 20, 100))
            opened += 1
        if at > end:
            break
        day = dt.datetime.fromtimestamp(at, dt.UTC).date()
        while True:
            lot = lots[rng.randrange(opened)]
            expired = lot.expiry is not None and lot.expiry < day
            if not (expired and lot.balance == 0):
                break
        draw = rng.random()
        if expired:
            # Expired stock only leaves, as a disposal (quarterly rotation comes too late for some).
            out = min(lot.balance, amount(lot, 1, 20))
            yield line(lot, at, "dispose", -out, note="过期报废")
        elif lot.balance == 0 or draw < 0.2:
            yield line(lot, at, "receive", amount(lot, 5, 40))
        elif draw < 0.22:
            change = Decimal(rng.choice((-2, -1, 1, 2)))
            change = max(change, -lot.balance)
            yield line(lot, at, "adjust", change, note="盘点调整")
        else:
            out = min(lot.balance, amount(lot, 1, 10))
            if draw < 0.9:
                yield line(lot, at, "issue", -out, recipient="team", team=rng.choice(ISSUE_TEAMS))
            else:
                yield line(lot, at, "issue", -out, recipient="other", note="居民领取")


def write_movements(rows: Iterator[tuple[Any, ...]]) -> int:
    from django.db import connection, transaction

    from linli.core.bulk import insert_rows
    from linli.supplies.models import Movement

    written = 0
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column_of = {f.name: f.column for f in Movement._meta.concrete_fields}
        columns = ", ".join(quote(column_of[name]) for name in COLUMNS)
        sql = f"COPY {quote(Movement._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
                written += 1
                if written % 100_000 == 0:
                    log(f"  {written:,} movements")
        return written
    with transaction.atomic():
        for chunk in chunks(rows, CHUNK):
            insert_rows(Movement, COLUMNS, chunk)
            written += len(chunk)
            if written % 100_000 == 0:
                log(f"  {written:,} movements")
    return written


def build() -> None:
    from django.db import connection, transaction

    from linli.core.bulk import insert_rows
    from linli.supplies.models import Item, Lot

    rng = random.Random(20261102)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -524288")  # 512 MiB: keep the indexes being filled in memory
    points, warehouses, _measured, actors = build_world(log)
    lot_rows = plan_lots(rng, points, warehouses)
    with transaction.atomic():
        insert_rows(Lot, LOT_COLUMNS, lot_rows)
    ids = dict(Lot.objects.values_list("batch", "pk"))
    items = {i.pk: i for i in Item.objects.all()}
    lots = [
        LotPlan(
            id=ids[batch],
            item_id=item_id,
            point_id=point_id,
            expiry=expiry,
            received=received.timestamp(),
            scale=SCALE.get(items[item_id].code, 2),
            whole=items[item_id].indivisible,
        )
        for item_id, point_id, batch, expiry, _s, _su, _a, _o, received in lot_rows
    ]
    log(f"{len(lots):,} lots; writing {MOVEMENTS:,} movements …")
    written = write_movements(movement_rows(rng, lots, actors))
    assert written == MOVEMENTS, written
    with transaction.atomic(), connection.cursor() as cursor:
        # Lots are not append-only: their running totals are set to what the ledger adds up to.
        cursor.executemany(
            f"UPDATE {connection.ops.quote_name(Lot._meta.db_table)} SET on_hand = %s WHERE id = %s",
            [(str(lot.balance), lot.id) for lot in lots],
        )
    analyze()


def open_dataset() -> float:
    """This benchmark's database with its data set; the seconds spent building it (0 if cached)."""
    return open_cached_dataset(NAME, dataset_cache(), build)


def median_ms(call: Callable[[], T], runs: int) -> tuple[float, T]:
    """The median of `runs` timed calls after a warm-up one (the database's pages, Django's
    compiled queries), and the warm-up's result."""
    result = call()
    samples = []
    for _ in range(runs):
        with Timer() as timer:
            call()
        samples.append(timer.seconds * 1000)
    return round(statistics.median(samples), 1), result


def run() -> Figures:
    build_seconds = open_dataset()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from linli.registry.models import Community
    from linli.supplies import selectors
    from linli.supplies.models import Lot, Movement

    community = Community.objects.get(code=MEASURED)
    with CaptureQueriesContext(connection) as board_queries:
        selectors.board(community, on=DAY)
    with CaptureQueriesContext(connection) as balance_queries:
        selectors.balances(community, on=DAY)
    with query_logging_off():
        board_ms, rows = median_ms(lambda: selectors.board(community, on=DAY), RUNS)
        balances_ms, balances = median_ms(lambda: selectors.balances(community, on=DAY), RUNS)
        log(
            f"board: {len(rows)} items, {sum(r.is_short for r in rows)} short; balances: {len(balances)} rows"
        )
        log(f"board {board_ms} ms, balances {balances_ms} ms (medians of {RUNS}); checking the ledger …")
        ledger_ms, mismatches = median_ms(selectors.ledger_mismatches, LEDGER_RUNS)
    figures: Figures = {
        "ms": max(board_ms, balances_ms),
        "board_ms": board_ms,
        "balances_ms": balances_ms,
        "board_queries": len(board_queries),
        "balances_queries": len(balance_queries),
        "board_rows": len(rows),
        "balance_rows": len(balances),
        "population": selectors.population(community),
        "movements": Movement.objects.count(),
        "lots": Lot.objects.count(),
        "ledger_check_ms": ledger_ms,
        "mismatches": len(mismatches),
    }
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
