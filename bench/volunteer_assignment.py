"""One optimal assignment of a district's 68,945 volunteers to 1,000 open needs, against greedy.

The data set (seed 003: 城中区 has 68,945 registered volunteers): a district of six streets and 27
communities (four or five a street), each with four to six grids and 20 to 40 buildings, no
residents. The volunteers are spread unevenly over the communities: mostly general, about 35%
professional and 5% expert; one to three of the catalogue's 13 skills each (the experts' and
professionals' more often ones that need a certificate, and every such skill has its Certificate,
about 10% of them lapsed, a few running out within the three days); a home building; a weekly
availability shaped like people's weeks (office workers' evenings and weekends, retired people's
days, weekends only, evenings only, the whole week, or scattered); about 20% on call; most active,
some applied, inactive or suspended. About a third served hours in the last 30 days (PointEntry, with
older entries besides) and 1,500 needs already staffed this week hold their live shifts (accepted or
offered, some declined), so load and fairness costs vary and some people are booked. Then 1,000 open
needs over the next three days: one or two skills (the common ones most asked for), 1 to 8 people, a
building (a few a place instead), two to six hours, mostly by day or in the evening, some at night
(on-call volunteers only).

Measured at a fixed "now" (Monday 09:00 in Beijing), so a cached data set never ages: RUNS times,
dispatch.load_pool (all six streets, the skills the needs ask for) then dispatch.solve on it;
`seconds` is the median of load + solve, the figure the issue asks for, with each part's median
beside it. `peak_mb` is the process's peak resident memory (VmHWM) during those runs, its high-water
mark reset first through /proc/self/clear_refs (the baseline, Django and the interpreter, included;
`peak_source` says if the kernel refused the reset and the figure is the lifetime ru_maxrss); one more
untimed run under tracemalloc gives `traced_peak_mb` (Python and numpy allocations, not OR-Tools').
dispatch.greedy runs on the same pool and needs. Both fill places before anything else (the solver's
unmet arcs cost more than any assignment), so costs compare only at equal `filled`: `same_filled`
says whether they are, `cost_per_filled` is beside each, and `objective` adds UNMET_COST per empty
place (the solver minimises it, so it is never above greedy's). A min-cost flow over every eligible
pair, solved here without dispatch's pruning, checks that its answer is the optimum (`is_optimal`).

The rows are written with insert_rows on SQLite (the database is then cached in bench/out by the hash
of this file, the models, the catalogue and the migrations; candidate_ranking uses the same cache) and
with COPY on PostgreSQL (rebuilt on every run).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import tracemalloc
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
    peak_mb,
    process_peak_mb,
    query_logging_off,
    schema_fingerprint,
)
from bench.deadline_scan import chunks

DESCRIPTION = "one optimal assignment of 68,945 volunteers (6 streets) to 1,000 open needs, vs greedy"
NAME = "volunteer_assignment"
CACHE_PREFIX = "volunteers"  # the data set's cache, shared with candidate_ranking
VOLUNTEERS = 68_945
NEEDS = 1_000
COMMUNITIES_PER_STREET = (5, 5, 5, 4, 4, 4)  # 27 communities
STREET_NAMES = ("城中街道", "公园街道", "中南街道", "城南街道", "水上街道", "潭中街道")
STAFFED_NEEDS = 1_500  # needs already filled this week: their shifts are the volunteers' load
RUNS = 3
CHUNK = 50_000
# 09:00 on a Monday in Beijing: the data set is generated around it and measured at it.
NOW = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
LOCAL = ZoneInfo("Asia/Shanghai")
TARGETS = {"seconds": Target("<=", 2), "peak_mb": Target("<=", 1024), "double_booked": Target("==", 0)}

# How common each skill is among volunteers, and how often needs ask for it.
HELD = {
    "liaison": 14,
    "logistics": 16,
    "security": 14,
    "first-aid": 8,
    "nursing": 4,
    "psychology": 3,
    "media": 5,
    "electrician": 4,
    "plumber": 4,
    "driver": 8,
    "it": 5,
    "translation": 3,
    "sign-language": 1,
}
ASKED = {
    "liaison": 14,
    "logistics": 18,
    "security": 16,
    "first-aid": 12,
    "nursing": 5,
    "psychology": 4,
    "media": 3,
    "electrician": 4,
    "plumber": 4,
    "driver": 6,
    "it": 3,
    "translation": 2,
    "sign-language": 1,
}
# A certified skill is that much more likely for each tier (the professional and expert groups of
# seed 000 are the trained ones).
CERTIFIED_WEIGHT = {"general": 0.3, "professional": 2.0, "expert": 4.0}
PEOPLE_NEEDED = {1: 20, 2: 25, 3: 18, 4: 14, 5: 8, 6: 6, 7: 4, 8: 5}

VOLUNTEER_COLUMNS = [
    "user",
    "community",
    "street",
    "building",
    "grid",
    "enterprise",
    "name",
    "phone",
    "id_number",
    "tier",
    "status",
    "availability",
    "on_call",
    "agreement_signed_at",
    "consent_at",
    "insurer",
    "policy_number",
    "cover",
    "insured_until",
    "applied_at",
    "approved_at",
    "approved_by",
    "notes",
]
CERTIFICATE_COLUMNS = ["volunteer", "skill", "number", "issuer", "issued_on", "expires_on", "scan"]
POINT_COLUMNS = ["volunteer", "shift", "reason", "hours", "points", "note", "at", "by"]
NEED_COLUMNS = [
    "community",
    "street",
    "title",
    "count",
    "building",
    "place",
    "starts_at",
    "ends_at",
    "response",
    "is_drill",
    "status",
    "checkin_token",
    "created_by",
    "created_at",
]
SHIFT_COLUMNS = [
    "need",
    "volunteer",
    "starts_at",
    "ends_at",
    "status",
    "offered_at",
    "answered_at",
    "checked_in_at",
    "checked_out_at",
    "hours",
]
# Who issues the certificates of the skills that need one (catalogue.SKILLS says which).
ISSUERS = {
    "first-aid": "中国红十字会",
    "nursing": "卫生健康委员会",
    "psychology": "心理咨询师协会",
    "electrician": "应急管理局",
    "driver": "公安局交通管理局",
}
INSURERS = ("中国人民财产保险", "中国平安财产保险", "中国太平洋财产保险")


def dataset_cache() -> Path:
    key = fingerprint(
        Path(__file__),
        ROOT / "linli" / "volunteers" / "models.py",
        ROOT / "linli" / "volunteers" / "catalogue.py",
        ROOT / "linli" / "registry" / "demo.py",
        extra=f"{schema_fingerprint()}-{VOLUNTEERS}-{NEEDS}",
    )
    return OUT_DIR / f"{CACHE_PREFIX}-{key}.sqlite3"


def certified_codes() -> set[str]:
    from linli.volunteers.catalogue import SKILLS

    return {code for code, _name, _english, certified in SKILLS if certified}


def week(days: Iterable[int], periods: Iterable[int]) -> int:
    """Availability bits: day 0 is Monday, period 0 the morning (see models.PERIODS)."""
    return sum(1 << (d * 3 + p) for d in days for p in periods)


# (weight, bits) of people's weeks; None is scattered.
WEEKS: list[tuple[int, int | None]] = [
    (30, week(range(5), (2,)) | week((5, 6), (0, 1, 2))),  # office hours: evenings and weekends
    (25, week(range(7), (0, 1))),  # retired: mornings and afternoons
    (10, week((5, 6), (0, 1, 2))),  # weekends
    (10, week(range(7), (2,))),  # evenings
    (10, (1 << 21) - 1),  # any time (models.ALL_WEEK)
    (15, None),
]


@dataclass
class Area:
    community_id: int
    street_id: int
    weight: float  # its share of the district's volunteers
    buildings: list[tuple[int, int]] = field(default_factory=list)  # (building id, grid id)


def build_district(rng: random.Random) -> list[Area]:
    """Six streets of four or five communities, each with grids and buildings."""
    from linli.registry.demo import DISTRICT_NAMES
    from linli.registry.models import Building, Community, Grid, Street, building_sort_key

    areas: list[Area] = []
    names = iter(DISTRICT_NAMES)
    for s, communities in enumerate(COMMUNITIES_PER_STREET, start=1):
        street = Street.objects.create(code=f"va-street{s}", name=STREET_NAMES[s - 1])
        for c in range(1, communities + 1):
            code = f"va{s}-{c}"
            community = Community.objects.create(
                street=street, code=code, name=f"{next(names)}社区", phone=f"0772-{2800000 + s * 100 + c}"
            )
            grids = Grid.objects.bulk_create(
                Grid(community=community, code=f"{code}-g{n}", number=n, name=f"第{n}网格")
                for n in range(1, rng.randint(4, 6) + 1)
            )
            count = rng.randint(20, 40)
            grid_of = [grids[index * len(grids) // count] for index in range(count)]  # in runs, as streets go
            buildings = Building.objects.bulk_create(
                Building(
                    community=community,
                    grid=grid,
                    number=str(index + 1),
                    sort_key=building_sort_key(str(index + 1)),
                    floors=rng.choice((6, 6, 7, 11, 18, 24)),
                )
                for index, grid in enumerate(grid_of)
            )
            area = Area(community.pk, street.pk, rng.uniform(0.5, 1.5))
            area.buildings = [(b.pk, grid.pk) for b, grid in zip(buildings, grid_of, strict=True)]
            areas.append(area)
    return areas


def shares(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, adding up exactly."""
    whole = sum(weights)
    counts = [int(total * w / whole) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def write(model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write rows (values in `columns` order, FKs as ids): COPY on PostgreSQL, insert_rows on SQLite."""
    from django.db import connection

    from linli.core.bulk import insert_rows

    written = 0
    if connection.vendor == "postgresql":
        meta = model._meta
        by_name = {name: f for f in meta.concrete_fields for name in (f.name, f.attname)}
        quote = connection.ops.quote_name
        names = ", ".join(quote(by_name[name].column) for name in columns)
        sql = f"COPY {quote(meta.db_table)} ({names}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
                written += 1
        return written
    for chunk in chunks(iter(rows), CHUNK):  # type: ignore[arg-type]
        insert_rows(model, columns, chunk)
        written += len(chunk)
    return written


def availability(rng: random.Random) -> int:
    bits = rng.choices([b for _w, b in WEEKS], weights=[w for w, _b in WEEKS])[0]
    if bits is None:
        return sum(1 << b for b in range(21) if rng.random() < 0.35)
    for b in range(21):
        if rng.random() < (0.1 if bits >> b & 1 else 0.03):
            bits ^= 1 << b
    return bits


@dataclass
class Person:
    """A volunteer as generated (the id comes back after the insert, by phone)."""

    phone: str
    community_id: int
    status: str
    skills: list[str]


def volunteer_rows(
    rng: random.Random, areas: Sequence[Area], people: list[Person]
) -> Iterator[tuple[Any, ...]]:
    """VOLUNTEERS rows in VOLUNTEER_COLUMNS order; each one's Person is appended to `people`."""
    from linli.registry.demo import PersonFactory

    factory = PersonFactory(rng)
    codes = list(HELD)
    certified = certified_codes()
    skill_weights = {
        tier: [HELD[c] * (CERTIFIED_WEIGHT[tier] if c in certified else 1.0) for c in codes]
        for tier in CERTIFIED_WEIGHT
    }
    for area, count in zip(areas, shares(VOLUNTEERS, [a.weight for a in areas]), strict=True):
        for _n in range(count):
            tier = rng.choices(("general", "professional", "expert"), weights=(60, 35, 5))[0]
            held = 1 + rng.choices((0, 1, 2), weights=(45, 35, 20) if tier != "expert" else (10, 40, 50))[0]
            skills: list[str] = []
            while len(skills) < held:
                code = rng.choices(codes, weights=skill_weights[tier])[0]
                if code not in skills:
                    skills.append(code)
            status = rng.choices(("active", "applied", "inactive", "suspended"), weights=(88, 5, 5, 2))[0]
            applied = NOW - dt.timedelta(days=rng.uniform(5, 1100))
            approved = applied + dt.timedelta(days=rng.uniform(1, 5)) if status != "applied" else None
            building, grid = rng.choice(area.buildings) if rng.random() < 0.95 else (None, None)
            insured = status == "active" and rng.random() < 0.7
            person = Person(factory.phone(), area.community_id, status, skills)
            people.append(person)
            yield (
                None,
                area.community_id,
                area.street_id,
                building,
                grid,
                None,
                factory.name(rng.choice("MF")),
                person.phone,
                "",
                tier,
                status,
                availability(rng),
                rng.random() < (0.2 if tier != "expert" else 0.4),
                applied,
                applied,
                rng.choice(INSURERS) if insured else "",
                f"PB{rng.randrange(10**12):012d}" if insured else "",
                "人身意外伤害保险" if insured else "",
                (NOW + dt.timedelta(days=rng.randint(10, 365))).date() if insured else None,
                applied,
                approved,
                None,
                "",
            )


def certificate_rows(
    rng: random.Random, people: Sequence[Person], ids: dict[str, int], skills: dict[str, int]
) -> Iterator[tuple[Any, ...]]:
    today = NOW.astimezone(LOCAL).date()
    certified = certified_codes()
    for person in people:
        for code in person.skills:
            if code not in certified:
                continue
            issued = today - dt.timedelta(days=rng.randint(30, 1800))
            draw = rng.random()
            if draw < 0.1:  # lapsed
                expires: dt.date | None = today - dt.timedelta(days=rng.randint(1, 400))
            elif draw < 0.12:  # runs out within the three days of the needs
                expires = today + dt.timedelta(days=rng.randint(0, 2))
            elif draw < 0.2:
                expires = None  # does not expire
            else:
                expires = today + dt.timedelta(days=rng.randint(3, 1500))
            yield (
                ids[person.phone],
                skills[code],
                f"{code[:2].upper()}{rng.randrange(10**10):010d}",
                ISSUERS.get(code, "应急管理局"),
                min(issued, expires) if expires else issued,
                expires,
                "",
            )


def point_rows(rng: random.Random, active: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """Hours served: a third of the active volunteers in the last 30 days, more a longer time ago."""
    for volunteer in active:
        recent = rng.random() < 0.35
        older = rng.random() < 0.5
        for _n in range(rng.randint(1, 6) if recent else 0):
            hours = Decimal(rng.randint(3, 12)) / 2
            at = NOW - dt.timedelta(days=rng.uniform(0, 30))
            yield (volunteer, None, "hours", str(hours), str(hours), "", at, None)
        for _n in range(rng.randint(1, 8) if older else 0):
            hours = Decimal(rng.randint(3, 12)) / 2
            at = NOW - dt.timedelta(days=rng.uniform(31, 365))
            yield (volunteer, None, "hours", str(hours), str(hours), "", at, None)


def need_window(rng: random.Random, first_day: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """A shift of two to six hours: mostly by day or in the evening, some at night."""
    while True:
        day = first_day + dt.timedelta(days=rng.randrange(days))
        kind = rng.choices(("day", "evening", "night"), weights=(60, 25, 15))[0]
        if kind == "day":
            hour, length = rng.randint(8, 14), rng.randint(2, 6)
        elif kind == "evening":
            hour = rng.randint(17, 19)
            length = rng.randint(2, 23 - hour)
        else:
            hour, length = rng.choice((21, 22, 23, 0, 1, 2)), rng.randint(3, 6)
        start = dt.datetime.combine(day, dt.time(hour, rng.choice((0, 30))), tzinfo=LOCAL)
        if start >= NOW + dt.timedelta(hours=1):
            return start.astimezone(dt.UTC), (start + dt.timedelta(hours=length)).astimezone(dt.UTC)


def need_row(
    rng: random.Random,
    area: Area,
    title: str,
    count: int,
    window: tuple[dt.datetime, dt.datetime],
    status: str,
) -> tuple[Any, ...]:
    building = rng.choice(area.buildings)[0] if rng.random() < 0.9 else None
    return (
        area.community_id,
        area.street_id,
        title,
        count,
        building,
        "" if building else "社区广场",
        window[0],
        window[1],
        None,
        False,
        status,
        uuid.UUID(int=rng.getrandbits(128), version=4),
        None,
        NOW - dt.timedelta(hours=rng.uniform(1, 48)),
    )


def write_needs(
    rng: random.Random, areas: Sequence[Area], skills: dict[str, int], *, count: int, status: str, days: int
) -> list[tuple[int, int, int, dt.datetime, dt.datetime]]:
    """`count` needs (with their skills), spread over the areas as the volunteers are; returns
    (need id, community id, people, start, end) of each."""
    from linli.volunteers.models import Need

    first_day = NOW.astimezone(LOCAL).date()
    codes, weights = list(ASKED), list(ASKED.values())
    rows, asked = [], []
    for n in range(count):
        area = rng.choices(areas, weights=[a.weight for a in areas])[0]
        wanted = rng.choices(codes, weights=weights, k=1 if rng.random() < 0.75 else 2)
        wanted = list(dict.fromkeys(wanted))
        people = rng.choices(list(PEOPLE_NEEDED), weights=list(PEOPLE_NEEDED.values()))[0]
        title = f"{'、'.join(wanted)} ×{people} #{status}-{n + 1}"
        rows.append(need_row(rng, area, title, people, need_window(rng, first_day, days), status))
        asked.append(wanted)
    write(Need, NEED_COLUMNS, rows)
    ids = dict(Need.objects.filter(status=status).values_list("title", "pk"))
    write(
        Need.skills.through,
        ["need", "skill"],
        [(ids[row[2]], skills[code]) for row, wanted in zip(rows, asked, strict=True) for code in wanted],
    )
    return [(ids[row[2]], row[0], row[3], row[6], row[7]) for row in rows]


def shift_rows(
    rng: random.Random,
    staffed: Sequence[tuple[int, int, int, dt.datetime, dt.datetime]],
    active_by_community: dict[int, list[int]],
) -> Iterator[tuple[Any, ...]]:
    """The staffed needs' shifts: accepted or offered (live), some declined; nobody booked twice at
    once."""
    booked: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for need, community, people, start, end in staffed:
        pool = active_by_community[community]
        chosen: set[int] = set()
        tries = 0
        while len(chosen) < people and tries < people * 10:
            tries += 1
            volunteer = rng.choice(pool)
            if volunteer in chosen or any(s < end and e > start for s, e in booked[volunteer]):
                continue
            chosen.add(volunteer)
            status = rng.choices(("accepted", "offered", "declined"), weights=(75, 15, 10))[0]
            if status != "declined":
                booked[volunteer].append((start, end))
            offered = start - dt.timedelta(hours=rng.uniform(6, 72))
            answered = offered + dt.timedelta(minutes=rng.uniform(5, 300)) if status != "offered" else None
            yield (need, volunteer, start, end, status, offered, answered, None, None, None)


def build() -> None:
    from django.db import connection, transaction

    from linli.volunteers.catalogue import load_skills
    from linli.volunteers.models import Certificate, PointEntry, Shift, Skill, Volunteer

    rng = random.Random(68945)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -524288")  # 512 MiB: keep the indexes being filled in memory
    with transaction.atomic():
        load_skills()
        skills = dict(Skill.objects.values_list("code", "pk"))
        assert set(HELD) == set(ASKED) == set(skills), "HELD and ASKED must name every skill of the catalogue"
        areas = build_district(rng)
        log(
            f"{len(areas)} communities in {len(COMMUNITIES_PER_STREET)} streets; writing {VOLUNTEERS:,} volunteers …"
        )
        people: list[Person] = []
        write(Volunteer, VOLUNTEER_COLUMNS, volunteer_rows(rng, areas, people))
        ids = dict(Volunteer.objects.values_list("phone", "pk"))
        held = write(
            Volunteer.skills.through,
            ["volunteer", "skill"],
            ((ids[p.phone], skills[code]) for p in people for code in p.skills),
        )
        certificates = write(Certificate, CERTIFICATE_COLUMNS, certificate_rows(rng, people, ids, skills))
        active_by_community: dict[int, list[int]] = defaultdict(list)
        for p in people:
            if p.status == "active":
                active_by_community[p.community_id].append(ids[p.phone])
        active = [v for vs in active_by_community.values() for v in vs]
        points = write(PointEntry, POINT_COLUMNS, point_rows(rng, active))
        log(f"{held:,} skills held, {certificates:,} certificates, {points:,} point entries; needs …")
        # Needs already staffed, from this morning to a week ahead, hold the volunteers' live shifts.
        staffed = write_needs(rng, areas, skills, count=STAFFED_NEEDS, status="closed", days=7)
        shifts = write(Shift, SHIFT_COLUMNS, shift_rows(rng, staffed, active_by_community))
        write_needs(rng, areas, skills, count=NEEDS, status="open", days=3)
        log(f"{STAFFED_NEEDS:,} staffed needs with {shifts:,} shifts; {NEEDS:,} open needs")
    analyze()


def open_dataset(name: str) -> float:
    """This benchmark's database with its data set; the seconds spent building it (0 if cached)."""
    return open_cached_dataset(name, dataset_cache(), build, stale=CACHE_PREFIX)


def reset_peak() -> bool:
    """Reset this process's peak resident memory (VmHWM) to its current size (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def resident_mb() -> float | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def full_graph_optimum(pool: Any, specs: Sequence[Any]) -> tuple[int, int, int]:
    """(cost, places filled, edges) of the optimum over every eligible pair, solved here without any
    pruning, as a check on dispatch.solve's."""
    import numpy as np
    from ortools.graph.python import min_cost_flow

    from linli.volunteers import dispatch

    lists = [dispatch.candidates(pool, spec) for spec in specs]
    n_needs = len(specs)
    source, sink = n_needs + len(pool), n_needs + len(pool) + 1
    counts = np.array([spec.count for spec in specs], dtype=np.int64)
    starts = np.concatenate([np.full(len(people), j, dtype=np.int64) for j, (people, _c) in enumerate(lists)])
    ends = np.concatenate([people + n_needs for people, _c in lists])
    costs = np.concatenate([cost for _p, cost in lists]).astype(np.int64)
    people = np.unique(ends)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(n_needs, source), np.arange(n_needs), counts, np.zeros(n_needs, dtype=np.int64)
    )
    first = flow.num_arcs()
    flow.add_arcs_with_capacity_and_unit_cost(starts, ends, np.ones(len(starts), dtype=np.int64), costs)
    one = np.ones(len(people), dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(people, np.full(len(people), sink), one, 0 * one)
    unmet = np.full(n_needs, dispatch.UNMET_COST, dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(np.arange(n_needs), np.full(n_needs, sink), counts, unmet)
    total = int(counts.sum())
    flow.set_nodes_supplies(np.array([source, sink]), np.array([total, -total]))
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("the full-graph min cost flow failed")
    taken = flow.flows(np.arange(first, first + len(starts))) > 0
    return int(costs[taken].sum()), int(taken.sum()), len(starts)


def open_specs() -> list[Any]:
    from linli.volunteers import dispatch
    from linli.volunteers.models import Need

    needs = Need.objects.filter(status=Need.Status.OPEN).select_related("building").prefetch_related("skills")
    return [dispatch.NeedSpec.of(need) for need in needs.order_by("pk")]


def run() -> Figures:
    build_seconds = open_dataset(NAME)

    from linli.registry.models import Street
    from linli.volunteers import dispatch
    from linli.volunteers.models import Need, Volunteer

    streets = list(Street.objects.filter(code__startswith="va-street").values_list("pk", flat=True))
    with query_logging_off():
        with Timer() as spec_timer:
            specs = open_specs()
        skill_ids = sorted({s for spec in specs for s in spec.skill_ids})
        places = sum(spec.count for spec in specs)
        log(f"{len(specs):,} open needs, {places:,} places, {len(skill_ids)} skills; {RUNS} runs …")

        loads, solves, totals = [], [], []
        baseline_mb = resident_mb()
        reset = reset_peak()
        for n in range(RUNS):
            with Timer() as load:
                pool = dispatch.load_pool(street_ids=streets, skill_ids=skill_ids, now=NOW)
            with Timer() as solve:
                solution = dispatch.solve(pool, specs)
            loads.append(load.seconds)
            solves.append(solve.seconds)
            totals.append(load.seconds + solve.seconds)
            log(
                f"  run {n + 1}: load_pool {load.seconds:.2f} s ({len(pool):,} volunteers), solve "
                f"{solve.seconds:.2f} s ({solution.edges:,} edges)"
            )
            if n < RUNS - 1:
                del pool, solution
        peak = process_peak_mb(os.getpid()) if reset else None
        peak_source = "VmHWM since reset" if peak is not None else "ru_maxrss (lifetime)"
        if peak is None:
            peak = peak_mb()

        with Timer() as greedy_timer:
            baseline = dispatch.greedy(pool, specs)
        with Timer() as candidates_timer:
            for spec in specs:
                dispatch.candidates(pool, spec)
        log(
            f"greedy {greedy_timer.seconds:.2f} s; candidates() for every need {candidates_timer.seconds:.2f} s"
        )
        with Timer() as full_timer:
            full_cost, full_filled, full_edges = full_graph_optimum(pool, specs)
        log(f"full graph: {full_edges:,} edges, {full_timer.seconds:.2f} s, cost {full_cost:,}")

        tracemalloc.start()
        traced_pool = dispatch.load_pool(street_ids=streets, skill_ids=skill_ids, now=NOW)
        dispatch.solve(traced_pool, specs)
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del traced_pool

    assigned = [v for people in solution.assigned.values() for v, _c in people]
    street_of = dict(Volunteer.objects.filter(pk__in=assigned).values_list("pk", "street_id"))
    need_street = dict(Need.objects.filter(pk__in=[s.key for s in specs]).values_list("pk", "street_id"))
    cross_street = sum(
        1 for key, people in solution.assigned.items() for v, _c in people if street_of[v] != need_street[key]
    )
    unmet = sum(solution.unmet.values())
    greedy_unmet = sum(baseline.unmet.values())

    def per_place(cost: int, filled: int) -> float:
        return round(cost / filled, 1) if filled else 0.0

    figures: Figures = {
        "seconds": round(statistics.median(totals), 3),
        "load_seconds": round(statistics.median(loads), 3),
        "solve_seconds": round(statistics.median(solves), 3),
        "peak_mb": peak,
        "peak_source": peak_source,
        "baseline_mb": baseline_mb,
        "peak_above_baseline_mb": round(peak - baseline_mb, 1) if baseline_mb is not None else None,
        "traced_peak_mb": round(traced_peak / 2**20, 1),
        "cost": solution.cost,
        "greedy_cost": baseline.cost,
        "filled": solution.filled,
        "greedy_filled": baseline.filled,
        "same_filled": solution.filled == baseline.filled,
        "cost_per_filled": per_place(solution.cost, solution.filled),
        "greedy_cost_per_filled": per_place(baseline.cost, baseline.filled),
        "objective": solution.cost + dispatch.UNMET_COST * unmet,
        "greedy_objective": baseline.cost + dispatch.UNMET_COST * greedy_unmet,
        "unmet": unmet,
        "greedy_unmet": greedy_unmet,
        "places": places,
        "edges": solution.edges,
        "full_graph_edges": full_edges,
        "full_graph_seconds": round(full_timer.seconds, 3),
        "full_graph_cost": full_cost,
        "is_optimal": (full_cost, full_filled) == (solution.cost, solution.filled),
        "double_booked": len(assigned) - len(set(assigned)),
        "cross_street": cross_street,
        "greedy_seconds": round(greedy_timer.seconds, 3),
        "candidates_seconds": round(candidates_timer.seconds, 3),
        "specs_seconds": round(spec_timer.seconds, 3),
        "volunteers": len(pool),
        "volunteers_registered": Volunteer.objects.count(),
        "needs": len(specs),
    }
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
