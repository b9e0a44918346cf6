"""Scheduling mass testing (核酸筛查): one community of about 7,300 residents, and the whole district.

The data set is the district of registry_search (seed_demo("district"): 27 communities, 190,592
residents; the first community, 潘家园南里 `nanli`, is seed 002's 33 buildings and 7,300 residents) with
what a testing day meets on top of the demo's tags (over-80s, children, disabled, needs help, pregnant):
about 1% of the people bed-bound (mostly over 70), and in every community a few dozen people under
control, all active: ~6 households at home isolation (次密接, `secondary_contact`, whole households),
~25 people under health monitoring (时空伴随, `companion`) and 3 close contacts away in central
isolation (`close_contact`). So the normal and priority lanes, the separate route, door-to-door sampling
and "away" are all exercised. It is cached in bench/out on SQLite (by the hash of this file, demo.py and
the migrations) and rebuilt on PostgreSQL.

Each community gets a campaign for tomorrow, opened with screening.services.campaign_open (untimed):
three sampling sites of 250 people per hour in the normal lane and 60 in the priority lane, the first
with a separate route of 40 per hour, 07:00–19:00 in 30-minute slots (about 9,000 normal and 2,100
priority places for 7,300 people).

Timed: screening.services.campaign_schedule(actor=<the community's commander>, campaign=...), which
counts the area again from the registry, plans, and writes the slots and one Participant per person.
Campaigns are per community, so `district_seconds` is the sum of the first scheduling of one campaign
in each of the 27 communities, one after the other (nanli's first, `community_seconds`, included). Each
scheduling runs on a new database connection (opened untimed), as each commander's request would; see
fresh_connection. `community_reschedule_seconds` is nanli scheduled a second time (its previous plan
deleted and written again).

`census_seconds`, `plan_seconds` and `insert_seconds` split the district total: the time spent in
selectors.census, scheduling.plan and core.bulk.insert_rows during the timed calls (measured by wrapping
those three functions, a few microseconds per call); `other_seconds` is the rest (locking, deletes,
reading back the slot ids, building the rows, the audit row, the commit with its foreign-key checks).
With BENCH_PROFILE=1 the district runs are also profiled with cProfile (bench/out/screening_schedule.prof;
the top functions go to stderr). `district_cpu_seconds` is this process's CPU time in the timed calls:
on SQLite nearly all the work, so it tells what the wall-clock figure would be on an idle machine when
other processes compete for the CPUs (`load_average` says how busy the machine was); on PostgreSQL the
server's share is missing from it.

Of nanli's first schedule: `people` to test, `door` (sampled at home), `lanes`, `away`, `slots_used`,
`max_load` / `capacity` (the fullest slot's load against its capacity) and `controlled_from` (the start
of the separate route); `district_people` and `district_door` are the totals of the 27 campaigns.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    peak_mb,
    query_logging_off,
    schema_fingerprint,
    snapshot_database,
    uses_sqlite_files,
)

DESCRIPTION = "schedule mass testing: one community (7,300 residents), then all 27 (~190,000)"
NAME = "screening_schedule"
CACHE_PREFIX = "screening-district"  # shared with bench.checkin
COMMUNITY = "nanli"
SEED = 2022_04
BED_BOUND_OLD = 0.06  # of the people over 70
BED_BOUND_OTHERS = 0.003
HOME_HOUSEHOLDS = 6  # whole households at home isolation (secondary contacts), per community
MONITORED = 25  # people under health monitoring (spatio-temporal companions), per community
CENTRAL = 3  # close contacts away in central isolation, per community
STARTS_AT = dt.time(7, 0)
ENDS_AT = dt.time(19, 0)
SLOT_MINUTES = 30
TARGETS = {"community_seconds": Target("<=", 0.5), "district_seconds": Target("<=", 5)}


def sites() -> list[Any]:
    from linli.screening.services import SiteValues

    return [
        SiteValues(name="南门广场", normal_per_hour=250, priority_per_hour=60, controlled_per_hour=40),
        SiteValues(name="社区活动中心", normal_per_hour=250, priority_per_hour=60),
        SiteValues(name="北区停车场", normal_per_hour=250, priority_per_hour=60),
    ]


def testing_day() -> dt.date:
    from django.utils import timezone

    return timezone.localdate() + dt.timedelta(days=1)


# --- the data set -----------------------------------------------------------------------------------


def dataset_cache() -> Path:
    key = fingerprint(Path(__file__), ROOT / "linli" / "registry" / "demo.py", extra=schema_fingerprint())
    return OUT_DIR / f"{CACHE_PREFIX}-{key}.sqlite3"


def add_testing_day_people() -> Figures:
    """Bed-bound tags and people under control in every community (see the module's docstring)."""
    from django.db import transaction
    from django.utils import timezone

    from linli.core.bulk import insert_rows
    from linli.epidemic.catalogue import load_control_types
    from linli.epidemic.models import ControlCase, ControlType
    from linli.registry.demo import TODAY
    from linli.registry.models import Community, Residency, Resident, SpecialCare, SpecialKind

    rng = random.Random(SEED)
    load_control_types()
    types = {
        t.key: t
        for t in ControlType.objects.filter(
            community__isnull=True, key__in=["secondary_contact", "companion", "close_contact"]
        )
    }
    now = timezone.now()
    over_70 = dt.date(TODAY.year - 70, TODAY.month, TODAY.day)
    tagged: list[tuple[int, str, str]] = []
    cases: list[ControlCase] = []
    with transaction.atomic():
        tags = set(
            SpecialCare.objects.filter(kind=SpecialKind.BED_BOUND).values_list("resident_id", flat=True)
        )
        for community in Community.objects.order_by("pk"):
            people = list(
                Resident.objects.filter(community=community, residency__in=[Residency.BOTH, Residency.LIVING])
                .order_by("pk")
                .values_list("pk", "household_id", "grid_id", "birth_date")
            )
            for pk, _household, _grid, born in people:
                share = BED_BOUND_OLD if born <= over_70 else BED_BOUND_OTHERS
                if pk not in tags and rng.random() < share:
                    tagged.append((pk, SpecialKind.BED_BOUND, ""))
            households: dict[int, list[tuple[int, int | None]]] = {}
            for pk, household, grid, _born in people:
                households.setdefault(household, []).append((pk, grid))
            taken: set[int] = set()
            for household in rng.sample(sorted(households), HOME_HOUSEHOLDS):
                for member, member_grid in households[household]:
                    cases.append(_case(community.pk, member, member_grid, types["secondary_contact"], now))
                    taken.add(member)
            others = [p for p in people if p[0] not in taken]
            for n, (pk, _household, grid, _born) in enumerate(rng.sample(others, MONITORED + CENTRAL)):
                key = "companion" if n < MONITORED else "close_contact"
                cases.append(_case(community.pk, pk, grid, types[key], now))
        insert_rows(SpecialCare, ["resident", "kind", "note"], tagged)
        ControlCase.objects.bulk_create(cases, batch_size=500)
    log(f"added {len(tagged):,} bed-bound tags and {len(cases):,} active control cases")
    return {"bed_bound_added": len(tagged), "control_cases": len(cases)}


def _case(community_id: int, resident_id: int, grid_id: int | None, kind: Any, now: dt.datetime) -> Any:
    from django.utils import timezone

    from linli.epidemic.models import ControlCase

    started = now - dt.timedelta(days=random.Random(resident_id).randint(0, 4))
    return ControlCase(
        community_id=community_id,
        grid_id=grid_id,
        resident_id=resident_id,
        control_type=kind,
        measure=kind.measure,
        started_at=started,
        release_on=timezone.localtime(started).date() + dt.timedelta(days=kind.days),
    )


def open_dataset(name: str) -> float:
    """This benchmark's database with the district and the testing-day people; the seconds spent
    building what was not cached (0 when it all was)."""
    cache = dataset_cache()
    if uses_sqlite_files() and cache.exists():
        open_database(name, source=cache)
        return 0.0
    from bench.registry_search import open_district

    seconds = open_district(name)
    with Timer() as timer:
        add_testing_day_people()
        analyze()
    seconds += timer.seconds
    if uses_sqlite_files():
        for stale in OUT_DIR.glob(f"{CACHE_PREFIX}-*.sqlite3"):
            stale.unlink()
        snapshot_database(name, cache)
    return seconds


def commander_of(community: Any) -> Any:
    """The community's commander (its community administrator)."""
    from linli.core.models import User
    from linli.core.roles import Role

    return User.objects.filter(role=Role.COMMUNITY_ADMIN, community=community).order_by("pk").first()


def open_campaign(community: Any, actor: Any) -> Any:
    from linli.screening.services import campaign_open

    return campaign_open(
        actor=actor,
        community=community,
        day=testing_day(),
        name="全员核酸筛查",
        starts_at=STARTS_AT,
        ends_at=ENDS_AT,
        slot_minutes=SLOT_MINUTES,
        pool_size=10,
        sites=sites(),
    )


# --- timing the parts -------------------------------------------------------------------------------


@contextmanager
def phase_timers() -> Iterator[dict[str, float]]:
    """Seconds spent in census, plan and insert_rows while campaign_schedule runs (wrapped in place)."""
    from linli.screening import scheduling, services

    spent = {"census": 0.0, "plan": 0.0, "insert": 0.0}

    def timed(key: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with Timer() as timer:
                result = function(*args, **kwargs)
            spent[key] += timer.seconds
            return result

        return wrapper

    saved = (services.census, scheduling.plan, services.insert_rows)
    services.census = timed("census", services.census)  # type: ignore[assignment]
    scheduling.plan = timed("plan", scheduling.plan)  # type: ignore[assignment]
    services.insert_rows = timed("insert", services.insert_rows)  # type: ignore[assignment]
    try:
        yield spent
    finally:
        services.census, scheduling.plan, services.insert_rows = saved  # type: ignore[assignment]


@contextmanager
def profiled(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        OUT_DIR.mkdir(exist_ok=True)
        profile.dump_stats(OUT_DIR / f"{NAME}.prof")
        for order in ("cumulative", "tottime"):
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats(order).print_stats(30)
            log(text.getvalue())


def fresh_connection() -> None:
    """Each commander schedules in a request of their own: a new database connection (opened untimed).

    On one long-lived PostgreSQL connection the deferred foreign-key checks of the Participant rows keep
    the plan made when screening_slot was nearly empty (a sequential scan), and each scheduling gets
    slower as the table grows: that is a finding to report, not the case to time."""
    from django.db import connection

    connection.close()
    connection.ensure_connection()


def run() -> Figures:
    build_seconds = open_dataset(NAME)

    from linli.registry.models import Community
    from linli.screening.models import Campaign
    from linli.screening.services import campaign_schedule

    communities = list(Community.objects.order_by("pk"))
    first = next(c for c in communities if c.code == COMMUNITY)
    communities.remove(first)
    communities.insert(0, first)
    campaigns: list[tuple[Any, Campaign]] = []
    for community in communities:
        actor = commander_of(community)
        campaigns.append((actor, open_campaign(community, actor)))
    log(f"{len(campaigns)} campaigns opened for {testing_day()}")

    summaries = []
    seconds: list[float] = []
    cpu = 0.0
    with query_logging_off(), phase_timers() as spent, profiled(bool(os.environ.get("BENCH_PROFILE"))):
        for actor, campaign in campaigns:
            fresh_connection()
            started = time.process_time()
            with Timer() as timer:
                summary = campaign_schedule(actor=actor, campaign=campaign)
            cpu += time.process_time() - started
            seconds.append(timer.seconds)
            summaries.append(summary)
            log(
                f"  {campaign.community.name}: {timer.seconds:.3f} s, {summary.people:,} people, "
                f"{summary.door} at home, {summary.slots_used} slots, fullest {summary.max_load}/"
                f"{summary.max_capacity}"
            )
    district_phases = dict(spent)
    with query_logging_off(), phase_timers() as spent:
        actor, campaign = campaigns[0]
        fresh_connection()
        with Timer() as again:
            second = campaign_schedule(actor=actor, campaign=campaign)
    log(f"  {campaign.community.name} again: {again.seconds:.3f} s ({dict(spent)})")
    if (second.people, second.slots_used, second.max_load) != (
        summaries[0].people,
        summaries[0].slots_used,
        summaries[0].max_load,
    ):
        raise AssertionError(f"scheduling again gave another plan: {summaries[0]} then {second}")

    nanli = summaries[0]
    district = sum(seconds)
    counts = Campaign.objects.get(pk=campaigns[0][1].pk).counts
    figures: Figures = {
        "community_seconds": round(seconds[0], 3),
        "district_seconds": round(district, 2),
        "district_cpu_seconds": round(cpu, 2),
        "community_reschedule_seconds": round(again.seconds, 3),
        "max_load": nanli.max_load,
        "capacity": nanli.max_capacity,
        "people": nanli.people,
        "door": nanli.door,
        "slots_used": nanli.slots_used,
        "lanes": {k[5:]: v for k, v in sorted(counts.items()) if k.startswith("lane_")},
        "away": counts.get("away", 0),
        "controlled_from": nanli.controlled_from.isoformat(timespec="minutes")
        if nanli.controlled_from
        else None,
        "district_people": sum(s.people for s in summaries),
        "district_door": sum(s.door for s in summaries),
        "communities": len(summaries),
        "slowest_community_seconds": round(max(seconds), 3),
        "census_seconds": round(district_phases["census"], 2),
        "plan_seconds": round(district_phases["plan"], 2),
        "insert_seconds": round(district_phases["insert"], 2),
        "other_seconds": round(district - sum(district_phases.values()), 2),
        "peak_mb": peak_mb(),
        "load_average": round(os.getloadavg()[0], 1),
    }
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
