"""The daily prevention report (防控日报) for the district: 27 communities, about 190,000 residents, 14 days
of self-reports.

The data set is the district of registry_search (seed_demo("district"): 5 streets, 27 communities, 157
grids, 190,592 residents) with two weeks of what the report counts, for the report dated DAY (its flows
are DAY-1's, its stocks as at DAY 08:30):

- self-reports for the 14 days before DAY: each day 85–95 % of the people living in each community
  report (the share varies by community and day), 0.4 % of them abnormal (half with a fever), a few
  antigen positives, and 0.3 % reported twice (the first row superseded, `current` off);
- spot checks of a tenth of DAY-1's reporters;
- in each community ~60 control cases over the fortnight (most active, some released, a few cancelled);
- weekly visit plans for 3 % of the residents, with last week's and this week's visits (some missing, so
  some are overdue);
- ~4,000 tasks per community created over the fortnight (about 108,000): 90 % done (some late), 4 %
  cancelled, the rest open (most of them overdue by now), 1 % from key sites;
- a plan and a response in a few communities, pharmacy reports, key sites with samples (one positive),
  volunteers with shifts, and a storage point with stock and targets in every community.

Rows are written with core.bulk.insert_rows (COPY on PostgreSQL). On SQLite the data set is cached in
bench/out by the hash of this file, registry/demo.py and the migrations; on PostgreSQL
(BENCH_DATABASE_URL) it is rebuilt on every run.

Timed, at a fixed "now" (DAY 08:30, so the cached data never ages) and with query logging off:
`seconds` is reports.services.daily_reports_generate(day=DAY): every count for the whole district, the
roll-up and the upsert of 189 snapshots (157 grids, 27 communities, 5 streets); `regenerate_seconds`
is the same again (the rows exist: the update path); `count_seconds` the counting alone
(figures.daily_figures for the 27 communities); `street_read_seconds` the street office opening its
report (selectors.report_for on the stored snapshot plus selectors.history, 14 days) and
`street_live_seconds` a street's report computed live (report_for for DAY-1, which has no snapshot;
street2, 6 communities). `queries` is the number of SQL statements one generation runs.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    open_database,
    query_logging_off,
    schema_fingerprint,
    snapshot_database,
    uses_sqlite_files,
)

DESCRIPTION = "daily report for the district (27 communities, ~190,000 residents, 14 days of reports)"
NAME = "daily_report"
DAY = dt.date(2026, 11, 2)  # the report's date; registry.demo's TODAY is the day before
DAYS = 14
SEED = 2022_11
CHUNK = 100_000
TASKS_PER_COMMUNITY = 4_000
TARGETS = {"seconds": Target("<=", 1), "street_read_seconds": Target("<=", 1)}

SELF_REPORT_COLUMNS = [
    "community",
    "grid",
    "building",
    "resident",
    "day",
    "submitted_at",
    "temperature",
    "symptoms",
    "at_home",
    "away_note",
    "antigen",
    "photo",
    "abnormal",
    "current",
    "recorded_by",
    "ip",
]
SPOT_CHECK_COLUMNS = [
    "community",
    "grid",
    "day",
    "resident",
    "report",
    "drawn_at",
    "result",
    "note",
    "checked_by",
    "checked_at",
]


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def dataset_cache() -> Path:
    key = fingerprint(Path(__file__), ROOT / "linli" / "registry" / "demo.py", extra=schema_fingerprint())
    return OUT_DIR / f"{NAME}-{key}.sqlite3"


# --- the data set -----------------------------------------------------------------------------------


def people_by_community() -> dict[int, list[tuple[int, int | None, int]]]:
    """Residents living here, per community: (resident, grid, building)."""
    from linli.registry.models import Residency, Resident

    out: dict[int, list[tuple[int, int | None, int]]] = {}
    rows = (
        Resident.objects.filter(residency__in=[Residency.BOTH, Residency.LIVING])
        .order_by("community_id", "pk")
        .values_list("community_id", "pk", "grid_id", "household__building_id")
    )
    for community_id, pk, grid_id, building_id in rows.iterator(chunk_size=20_000):
        out.setdefault(community_id, []).append((pk, grid_id, building_id))
    return out


def self_report_rows(
    people: dict[int, list[tuple[int, int | None, int]]], rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    from linli.health.models import Antigen

    for n in range(DAYS, 0, -1):
        day = DAY - dt.timedelta(days=n)
        morning = local(day, 7)
        for community_id, members in people.items():
            rate = rng.uniform(0.85, 0.95)
            for pk, grid_id, building_id in members:
                if rng.random() > rate:
                    continue
                roll = rng.random()
                temperature, symptoms, antigen = Decimal(f"36.{rng.randint(1, 8)}"), "", Antigen.NONE
                if roll < 0.002:
                    temperature, symptoms = Decimal(f"{rng.uniform(37.3, 39.0):.1f}"), "cough"
                elif roll < 0.0038:
                    symptoms = "sore_throat"
                elif roll < 0.004:
                    antigen, symptoms = Antigen.POSITIVE, "fatigue"
                submitted = morning + dt.timedelta(minutes=rng.randrange(14 * 60))
                row = [
                    community_id,
                    grid_id,
                    building_id,
                    pk,
                    day,
                    submitted,
                    temperature,
                    symptoms,
                    True,
                    "",
                ]
                if rng.random() < 0.003:  # reported twice: the first stays, superseded
                    yield (*row, Antigen.NONE, "", False, False, None, None)
                yield (*row, antigen, "", bool(symptoms) or antigen == Antigen.POSITIVE, True, None, None)


def insert_chunked(model: Any, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    from bench.deadline_scan import chunks
    from linli.core.bulk import insert_rows

    total = 0
    for chunk in chunks(rows, CHUNK):
        insert_rows(model, columns, chunk)
        total += len(chunk)
    return total


def add_spot_checks(rng: random.Random) -> int:
    from linli.core.bulk import insert_rows
    from linli.health.models import SelfReport, SpotCheck

    day = DAY - dt.timedelta(days=1)
    reports = SelfReport.objects.filter(day=day, current=True).values_list(
        "pk", "community_id", "grid_id", "resident_id"
    )
    results = [SpotCheck.Result.CONFIRMED] * 8 + [SpotCheck.Result.MISMATCH, SpotCheck.Result.UNREACHABLE]
    rows = []
    for pk, community_id, grid_id, resident_id in reports.iterator(chunk_size=20_000):
        if rng.random() < 0.1:
            result = rng.choice([*results, SpotCheck.Result.PENDING])
            checked = None if result == SpotCheck.Result.PENDING else local(day, 15)
            rows.append(
                (community_id, grid_id, day, resident_id, pk, local(day, 10), result, "", None, checked)
            )
    insert_rows(SpotCheck, SPOT_CHECK_COLUMNS, rows)
    return len(rows)


def add_control_cases(people: dict[int, list[tuple[int, int | None, int]]], rng: random.Random) -> int:
    from django.utils import timezone

    from linli.epidemic.catalogue import load_control_types
    from linli.epidemic.models import ControlCase, ControlType

    load_control_types()
    kinds = list(
        ControlType.objects.filter(
            community__isnull=True, key__in=["close_contact", "secondary_contact", "companion"]
        )
    )
    cases = []
    for community_id, members in people.items():
        for pk, grid_id, _building in rng.sample(members, 60):
            kind = rng.choice(kinds)
            started = local(DAY, 9) - dt.timedelta(hours=rng.randrange(14 * 24))
            status, released = ControlCase.Status.ACTIVE, None
            roll = rng.random()
            if roll < 0.2:
                status, released = ControlCase.Status.RELEASED, started + dt.timedelta(days=rng.randint(1, 7))
                if released > local(DAY, 8):
                    status, released = ControlCase.Status.ACTIVE, None
            elif roll < 0.25:
                status = ControlCase.Status.CANCELLED
            cases.append(
                ControlCase(
                    community_id=community_id,
                    grid_id=grid_id,
                    resident_id=pk,
                    control_type=kind,
                    measure=kind.measure,
                    status=status,
                    started_at=started,
                    released_at=released,
                    release_on=timezone.localtime(started).date() + dt.timedelta(days=kind.days),
                )
            )
    ControlCase.objects.bulk_create(cases, batch_size=1000)
    return len(cases)


def add_visits(people: dict[int, list[tuple[int, int | None, int]]], rng: random.Random) -> tuple[int, int]:
    from linli.health.models import Visit, VisitGroup, VisitPlan, week_of

    plans = [
        VisitPlan(
            community_id=community_id,
            grid_id=grid_id,
            resident_id=pk,
            group=rng.choice(VisitGroup.values),
            weekday=rng.randrange(7),
            starts_on=DAY - dt.timedelta(days=60),
        )
        for community_id, members in people.items()
        for pk, grid_id, _building in rng.sample(members, len(members) * 3 // 100)
    ]
    VisitPlan.objects.bulk_create(plans, batch_size=2000)
    yesterday = DAY - dt.timedelta(days=1)
    visits = []
    for plan in VisitPlan.objects.all().iterator(chunk_size=5000):
        for monday in (week_of(yesterday) - dt.timedelta(days=7), week_of(yesterday)):
            due = monday + dt.timedelta(days=plan.weekday)
            if due > yesterday or rng.random() > 0.9:
                continue
            visits.append(
                Visit(
                    community_id=plan.community_id,
                    grid_id=plan.grid_id,
                    resident_id=plan.resident_id,
                    plan=plan,
                    week=monday,
                    visited_at=local(due, rng.randint(9, 17)),
                )
            )
    Visit.objects.bulk_create(visits, batch_size=2000)
    return len(plans), len(visits)


def task_rows(
    community_ids: list[int], grids: dict[int, list[int]], rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    from linli.tasks.models import Task

    sources = [Task.Source.MANUAL] * 4 + [Task.Source.VISIT, Task.Source.CONTROL, Task.Source.HEALTH]
    start = local(DAY - dt.timedelta(days=DAYS), 0)
    cutoff = local(DAY, 8, 30)
    for community_id in community_ids:
        for _n in range(TASKS_PER_COMMUNITY):
            created = start + dt.timedelta(minutes=rng.randrange(DAYS * 24 * 60))
            due = created + dt.timedelta(hours=rng.randint(1, 48))
            source = Task.Source.KEY_SITE if rng.random() < 0.01 else rng.choice(sources)
            roll = rng.random()
            status, done_at = Task.Status.OPEN, None
            if roll < 0.9:
                done_at = created + dt.timedelta(
                    minutes=rng.randrange(int((due - created).total_seconds() // 60 * 1.3) + 1)
                )
                status = Task.Status.DONE if done_at <= cutoff else Task.Status.OPEN
                done_at = done_at if done_at <= cutoff else None
            elif roll < 0.94:
                status, done_at = Task.Status.CANCELLED, created + dt.timedelta(hours=1)
            grid = rng.choice(grids.get(community_id) or [None])
            yield (
                community_id,
                grid,
                "入户核查",
                "",
                None,
                "",
                "",
                None,
                None,
                due,
                Task.Priority.NORMAL,
                status,
                source,
                None,
                "",
                0,
                "",
                created,
                None,
                done_at,
                None,
                0,
                30,
                None,
            )


def add_incidents_and_volunteers(
    communities: list[Any], grids: dict[int, list[int]], rng: random.Random
) -> None:
    from bench.plan_activation import plan_document
    from linli.health.models import EnvSample, KeySite, PharmacyReport, SiteKind
    from linli.plans.document import plan_build
    from linli.response.models import Response
    from linli.volunteers.models import Need, Shift, Volunteer

    yesterday = DAY - dt.timedelta(days=1)
    for index, community in enumerate(communities):
        if index % 9 == 0:
            plan = plan_build(plan_document(steps=4), community=community)
            Response.objects.create(
                plan=plan,
                plan_version=1,
                community=community,
                title="燃气泄漏处置",
                level=4,
                reason="基准",
                activated_at=local(yesterday, 14),
            )
        site = KeySite.objects.create(
            community=community, grid_id=grids[community.pk][0], name="冷链超市", kind=SiteKind.COLD_CHAIN
        )
        EnvSample.objects.create(
            site=site,
            taken_on=yesterday,
            result=EnvSample.Result.POSITIVE if index == 3 else EnvSample.Result.NEGATIVE,
            result_at=local(yesterday, 16),
        )
        PharmacyReport.objects.bulk_create(
            [
                PharmacyReport(
                    community=community,
                    pharmacy_name="社区药房",
                    buyer_name="购药人",
                    medicine="布洛芬",
                    bought_at=local(yesterday, rng.randint(8, 20)),
                )
                for _n in range(rng.randint(0, 4))
            ]
        )
        need = Need.objects.create(
            community=community,
            street_id=community.street_id,
            title="卡口值守",
            count=10,
            starts_at=local(yesterday, 18),
            ends_at=local(DAY, 12),
        )
        volunteers = Volunteer.objects.bulk_create(
            [
                Volunteer(
                    community=community,
                    street_id=community.street_id,
                    name=f"志愿者{n}",
                    phone=f"198{community.pk:04d}{n:04d}",
                )
                for n in range(10)
            ]
        )
        Shift.objects.bulk_create(
            [
                Shift(
                    need=need,
                    volunteer=v,
                    starts_at=need.starts_at,
                    ends_at=need.ends_at,
                    status=Shift.Status.ACCEPTED,
                    checked_in_at=local(yesterday, 18),
                    checked_out_at=local(yesterday, 22) if n < 7 else None,
                    hours=Decimal("4.00") if n < 7 else None,
                )
                for n, v in enumerate(volunteers)
            ]
        )


def add_supplies(communities: list[Any], rng: random.Random) -> None:
    from linli.supplies.models import Item, Lot, StoragePoint, Target

    items = list(Item.objects.filter(per_person_day__isnull=False)[:6])
    lots = []
    for street_id in sorted({c.street_id for c in communities}):
        warehouse = StoragePoint.objects.create(
            street_id=street_id, name="街道仓库", address="街道", keeper="仓管", phone="1"
        )
        lots += [
            Lot(item=item, point=warehouse, batch="W1", on_hand=Decimal(rng.randint(1000, 50000)))
            for item in items
        ]
    for community in communities:
        point = StoragePoint.objects.create(
            community=community, name="应急物资点", address="社区", keeper="仓管", phone="1"
        )
        for item in items:
            lots.append(
                Lot(
                    item=item,
                    point=point,
                    batch="C1",
                    expiry=DAY + dt.timedelta(days=rng.randint(-10, 400)),
                    on_hand=Decimal(rng.randint(0, 30000)),
                )
            )
        Target.objects.bulk_create([Target(community=community, item=item, days=30) for item in items[:3]])
    Lot.objects.bulk_create(lots)


def build() -> Figures:
    from django.db import transaction

    from bench.deadline_scan import COLUMNS as TASK_COLUMNS
    from linli.health.models import SelfReport
    from linli.registry.models import Community, Grid
    from linli.tasks.models import Task

    rng = random.Random(SEED)
    communities = list(Community.objects.order_by("pk"))
    grids: dict[int, list[int]] = {}
    for community_id, grid_id in Grid.objects.order_by("pk").values_list("community_id", "pk"):
        grids.setdefault(community_id, []).append(grid_id)
    people = people_by_community()
    with transaction.atomic():
        with Timer() as timer:
            reports = insert_chunked(SelfReport, SELF_REPORT_COLUMNS, self_report_rows(people, rng))
        log(f"  {reports:,} self-reports in {timer.seconds:.1f} s")
        checks = add_spot_checks(rng)
        cases = add_control_cases(people, rng)
        plans, visits = add_visits(people, rng)
        tasks = insert_chunked(Task, TASK_COLUMNS, task_rows([c.pk for c in communities], grids, rng))
        add_incidents_and_volunteers(communities, grids, rng)
        add_supplies(communities, rng)
    log(
        f"  {checks:,} spot checks, {cases:,} control cases, {plans:,} visit plans, {visits:,} visits, "
        f"{tasks:,} tasks"
    )
    analyze()
    return {"self_reports": reports, "tasks": tasks}


def open_dataset() -> float:
    """This benchmark's database with the district and its fortnight of records; the seconds spent
    building what was not cached."""
    from bench.registry_search import open_district

    cache = dataset_cache()
    if uses_sqlite_files() and cache.exists():
        open_database(NAME, source=cache)
        return 0.0
    seconds = open_district(NAME)
    log("adding a fortnight of reports, cases, visits and tasks …")
    with Timer() as timer:
        build()
    seconds += timer.seconds
    log(f"built in {timer.seconds:.1f} s")
    if uses_sqlite_files():
        for stale in OUT_DIR.glob(f"{NAME}-*.sqlite3"):
            stale.unlink()
        snapshot_database(NAME, cache)
    return seconds


# --- the run ----------------------------------------------------------------------------------------


def run() -> Figures:
    build_seconds = open_dataset()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from linli.core.models import User
    from linli.health.models import SelfReport
    from linli.registry.models import Community, Street
    from linli.reports import selectors as sel
    from linli.reports.figures import daily_figures, rollup
    from linli.reports.models import DailyReport
    from linli.reports.services import daily_reports_generate
    from linli.tasks.models import Task

    now = local(DAY, 8, 30)
    street_office = User.objects.get(username="street")
    admin = User.objects.get(username="admin")
    ids = list(Community.objects.values_list("pk", flat=True))
    DailyReport.objects.all().delete()
    with query_logging_off():
        with Timer() as first:
            made = daily_reports_generate(day=DAY, now=now)
        with Timer() as again:
            daily_reports_generate(day=DAY, now=now)
        with Timer() as counting:
            counted = daily_figures(ids, DAY, now=now)
        with Timer() as rolling:
            rollup(counted)
        connection.close()
        connection.ensure_connection()
        with Timer() as read:
            report = sel.report_for(street_office, "panjiayuan", DAY, now=now)
            points = sel.history(street_office, "panjiayuan", current=report)
        with Timer() as live:
            live_report = sel.report_for(admin, "street2", DAY - dt.timedelta(days=1), now=now)
    with CaptureQueriesContext(connection) as queries:
        daily_reports_generate(day=DAY, now=now)
    log(
        f"generate {first.seconds:.3f} s ({made} reports), again {again.seconds:.3f} s, "
        f"counting {counting.seconds:.3f} s, roll-up {rolling.seconds:.3f} s, "
        f"street read {read.seconds:.3f} s, street live {live.seconds:.3f} s, {len(queries)} queries"
    )
    district = {
        r.code: r.data["figures"] for r in DailyReport.objects.filter(day=DAY, scope=DailyReport.Scope.STREET)
    }
    reporting = [f["reporting"] for f in district.values()]
    expected, reported = sum(r["expected"] for r in reporting), sum(r["reported"] for r in reporting)
    assert report.status == "snapshot" and live_report.status == "live" and len(points) == 14
    return {
        "seconds": round(first.seconds, 3),
        "regenerate_seconds": round(again.seconds, 3),
        "count_seconds": round(counting.seconds, 3),
        "rollup_seconds": round(rolling.seconds, 3),
        "street_read_seconds": round(read.seconds, 3),
        "street_live_seconds": round(live.seconds, 3),
        "queries": len(queries),
        "reports": made,
        "streets": Street.objects.count(),
        "district_expected": expected,
        "district_reported": reported,
        "district_rate": round(reported / expected, 4) if expected else None,
        "district_under_control": sum(f["control"]["active"] for f in district.values()),
        "district_abnormal": sum(r["abnormal"] for r in reporting),
        "district_tasks_overdue": sum(f["tasks"]["overdue"] for f in district.values()),
        "district_visits_overdue": sum(f["visits"]["overdue"] for f in district.values()),
        "self_report_rows": SelfReport.objects.count(),
        "task_rows": Task.objects.count(),
        **({"build_seconds": round(build_seconds, 1)} if build_seconds else {}),
    }


if __name__ == "__main__":
    child_main(run)
