"""Choosing volunteers for needs.

A volunteer can serve a need when they are active, in the need's street, hold every skill it asks for
(a skill that needs a certificate counts only with one valid for the whole shift), are available in
the shift's periods (or on call), and have no overlapping shift. Among those, the cost of sending
them is, in order of weight: distance (same building, same grid, same community, elsewhere in the
street), current load (live shifts in the coming week), and fairness (hours served in the last 30
days: those who served least go first).

One need is ranked directly. Many needs at once are one min-cost flow (OR-Tools): source → need
(capacity = people needed) → volunteer (capacity 1, cost as above) → sink, with an "unmet" arc per
need at a prohibitive cost, so the solver fills as much as possible at the least total cost and
never gives one volunteer two needs of the batch. The graph keeps, for each need, only as many of
its cheapest candidates as can matter (see `_safe_list_lengths`), so the answer is the optimum of
the full graph at a size that grows with the needs, not with the 68,945 volunteers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Q, Sum
from django.utils import timezone

from linli.volunteers.models import Certificate, Need, PointEntry, Shift, Skill, Volunteer, period_bits

DISTANCE_COST = 1_000  # per step: same building 0, same grid 1, same community 2, same street 3
LOAD_COST = 200  # per live shift in the coming week
FAIRNESS_COST = 10  # per hour served in the last 30 days, up to FAIRNESS_CAP hours
FAIRNESS_CAP = 100
UNMET_COST = 10_000_000  # per place left empty: worse than any assignment
FAIRNESS_DAYS = 30
LOAD_DAYS = 7


@dataclass
class Pool:
    """Volunteers that may serve, as parallel arrays (index i is one volunteer)."""

    ids: np.ndarray
    street: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    building: np.ndarray
    availability: np.ndarray
    on_call: np.ndarray
    base_cost: np.ndarray  # load and fairness: the part of the cost that does not depend on the need
    skills: dict[int, np.ndarray]  # skill id → bool array (held, ignoring certificates)
    certificates: dict[int, list[tuple[int, dt.date, dt.date | None]]]  # skill id → (index, issued, expires)
    shifts: tuple[np.ndarray, np.ndarray, np.ndarray]  # live shifts: (index, start ts, end ts)
    certified_skills: frozenset[int]
    index: dict[int, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def load_pool(
    *, street_ids: Iterable[int], skill_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> Pool:
    """Read every active volunteer of the streets (who hold one of `skill_ids`, when given) in a few
    flat queries."""
    now = now or timezone.now()
    qs = Volunteer.objects.filter(street_id__in=list(street_ids), status=Volunteer.Status.ACTIVE)
    wanted = list(skill_ids) if skill_ids is not None else None
    if wanted:
        qs = qs.filter(skills__in=wanted).distinct()
    rows = list(
        qs.values_list("pk", "community_id", "grid_id", "building_id", "availability", "on_call", "street_id")
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = {int(pk): i for i, pk in enumerate(ids)}
    n = len(rows)

    def column(k: int) -> np.ndarray:
        return np.array([r[k] or 0 for r in rows], dtype=np.int64)

    skills: dict[int, np.ndarray] = {}
    through = Volunteer.skills.through.objects.filter(volunteer_id__in=qs.values("pk"))
    if wanted:
        through = through.filter(skill_id__in=wanted)
    for volunteer_id, skill_id in through.values_list("volunteer_id", "skill_id"):
        i = index.get(volunteer_id)
        if i is not None:
            skills.setdefault(skill_id, np.zeros(n, dtype=bool))[i] = True
    certified = frozenset(Skill.objects.filter(needs_certificate=True).values_list("pk", flat=True))
    certificates: dict[int, list[tuple[int, dt.date, dt.date | None]]] = defaultdict(list)
    certs = Certificate.objects.filter(volunteer_id__in=qs.values("pk"), skill_id__in=certified)
    for volunteer_id, skill_id, issued, expires in certs.values_list(
        "volunteer_id", "skill_id", "issued_on", "expires_on"
    ):
        i = index.get(volunteer_id)
        if i is not None:
            certificates[skill_id].append((i, issued, expires))
    base = np.zeros(n, dtype=np.int64)
    hours = (
        PointEntry.objects.filter(
            volunteer_id__in=qs.values("pk"), at__gte=now - dt.timedelta(days=FAIRNESS_DAYS)
        )
        .values("volunteer_id")
        .annotate(h=Sum("hours"))
    )
    for row in hours:
        i = index.get(row["volunteer_id"])
        if i is not None:
            base[i] += FAIRNESS_COST * min(int(row["h"] or 0), FAIRNESS_CAP)
    live = Shift.objects.filter(
        volunteer_id__in=qs.values("pk"),
        status__in=[Shift.Status.OFFERED, Shift.Status.ACCEPTED],
        ends_at__gt=now,
    )
    loads = (
        live.filter(starts_at__lt=now + dt.timedelta(days=LOAD_DAYS))
        .values("volunteer_id")
        .annotate(n=Count("pk"))
    )
    for row in loads:
        i = index.get(row["volunteer_id"])
        if i is not None:
            base[i] += LOAD_COST * row["n"]
    shift_rows = list(live.values_list("volunteer_id", "starts_at", "ends_at"))
    shifts = (
        np.array([index[r[0]] for r in shift_rows if r[0] in index], dtype=np.int64),
        np.array([r[1].timestamp() for r in shift_rows if r[0] in index], dtype=np.float64),
        np.array([r[2].timestamp() for r in shift_rows if r[0] in index], dtype=np.float64),
    )
    return Pool(
        ids=ids,
        street=column(6),
        community=column(1),
        grid=column(2),
        building=column(3),
        availability=column(4),
        on_call=np.array([bool(r[5]) for r in rows], dtype=bool),
        base_cost=base,
        skills=skills,
        certificates=dict(certificates),
        shifts=shifts,
        certified_skills=certified,
        index=index,
    )


@dataclass
class NeedSpec:
    """What the solver needs to know of a need (a saved Need or one posted to the API)."""

    key: int  # the Need's id, or its position in an API request
    community_id: int
    grid_id: int | None
    building_id: int | None
    skill_ids: tuple[int, ...]
    count: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    exclude: frozenset[int] = frozenset()  # volunteer ids already asked for this need
    street_id: int | None = None  # volunteers serve needs of their own street

    @classmethod
    def of(cls, need: Need, exclude: Iterable[int] = ()) -> NeedSpec:
        building = need.building
        return cls(
            key=need.pk,
            community_id=need.community_id,
            grid_id=building.grid_id if building else None,
            building_id=need.building_id,
            skill_ids=tuple(sorted(s.pk for s in need.skills.all())),
            count=need.count,
            starts_at=need.starts_at,
            ends_at=need.ends_at,
            exclude=frozenset(exclude),
            street_id=need.street_id,
        )


def eligible(pool: Pool, need: NeedSpec) -> np.ndarray:
    """A bool array: who may serve this need."""
    ok = np.ones(len(pool), dtype=bool) if need.street_id is None else pool.street == need.street_id
    first, last = timezone.localdate(need.starts_at), timezone.localdate(need.ends_at)
    for skill_id in need.skill_ids:
        held = pool.skills.get(skill_id)
        if held is None:
            return np.zeros(len(pool), dtype=bool)
        if skill_id in pool.certified_skills:
            valid = np.zeros(len(pool), dtype=bool)
            for i, issued, expires in pool.certificates.get(skill_id, []):
                if issued <= first and (expires is None or expires >= last):
                    valid[i] = True
            held = held & valid
        ok &= held
    bits = period_bits(need.starts_at, need.ends_at)
    if bits >> 21:  # a night shift: on-call volunteers only
        ok &= pool.on_call
    else:
        ok &= pool.on_call | ((pool.availability & bits) == bits)
    who, start, end = pool.shifts
    if len(who):
        clash = (start < need.ends_at.timestamp()) & (end > need.starts_at.timestamp())
        ok[who[clash]] = False
    if need.exclude:
        ok[[pool.index[v] for v in need.exclude if v in pool.index]] = False
    return ok


def costs(pool: Pool, need: NeedSpec) -> np.ndarray:
    steps = np.full(len(pool), 3, dtype=np.int64)
    steps[pool.community == need.community_id] = 2
    if need.grid_id:
        steps[(pool.community == need.community_id) & (pool.grid == need.grid_id)] = 1
    if need.building_id:
        steps[pool.building == need.building_id] = 0
    return steps * DISTANCE_COST + pool.base_cost


def candidates(pool: Pool, need: NeedSpec, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of eligible volunteers and their costs, cheapest first (ties: lower id first)."""
    ok = np.flatnonzero(eligible(pool, need))
    cost = costs(pool, need)[ok]
    if limit is not None and len(ok) > limit:
        part = np.argpartition(cost, limit - 1)[:limit]
        ok, cost = ok[part], cost[part]
    order = np.lexsort((pool.ids[ok], cost))
    return ok[order], cost[order]


@dataclass
class Solution:
    assigned: dict[int, list[tuple[int, int]]]  # need key → [(volunteer id, cost)]
    unmet: dict[int, int]  # need key → places left empty
    cost: int  # total cost of the assigned places
    edges: int = 0

    @property
    def filled(self) -> int:
        return sum(len(v) for v in self.assigned.values())


def solve(pool: Pool, needs: Sequence[NeedSpec]) -> Solution:
    """The least-cost assignment of volunteers to needs, filling as many places as possible."""
    from ortools.graph.python import min_cost_flow

    lists = [candidates(pool, need) for need in needs]
    keep = [min(len(c[0]), bound) for c, bound in zip(lists, _safe_list_lengths(needs), strict=True)]
    n_needs = len(needs)
    sink = n_needs + len(pool) + 1
    source = sink - 1
    counts = np.array([need.count for need in needs], dtype=np.int64)
    empty = np.zeros(0, np.int64)
    starts = np.concatenate([np.full(k, j, dtype=np.int64) for j, k in enumerate(keep)] or [empty])
    ends = np.concatenate([lists[j][0][:k] + n_needs for j, k in enumerate(keep)] or [empty])
    arc_costs = np.concatenate([lists[j][1][:k] for j, k in enumerate(keep)] or [empty])
    people = np.unique(ends)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(n_needs, source), np.arange(n_needs), counts, np.zeros(n_needs, dtype=np.int64)
    )
    first = flow.num_arcs()
    flow.add_arcs_with_capacity_and_unit_cost(starts, ends, np.ones(len(starts), dtype=np.int64), arc_costs)
    flow.add_arcs_with_capacity_and_unit_cost(
        people,
        np.full(len(people), sink),
        np.ones(len(people), dtype=np.int64),
        np.zeros(len(people), dtype=np.int64),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(n_needs), np.full(n_needs, sink), counts, np.full(n_needs, UNMET_COST, dtype=np.int64)
    )
    total = int(counts.sum())
    flow.set_nodes_supplies(np.array([source, sink]), np.array([total, -total]))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min cost flow failed: {status}")
    taken = np.flatnonzero(flow.flows(np.arange(first, first + len(starts))))
    assigned: dict[int, list[tuple[int, int]]] = {need.key: [] for need in needs}
    for arc in taken:
        person = int(ends[arc]) - n_needs
        assigned[needs[int(starts[arc])].key].append((int(pool.ids[person]), int(arc_costs[arc])))
    for chosen in assigned.values():
        chosen.sort(key=lambda p: (p[1], p[0]))
    unmet = {need.key: need.count - len(assigned[need.key]) for need in needs}
    cost = sum(c for chosen in assigned.values() for _v, c in chosen)
    return Solution(assigned, {k: v for k, v in unmet.items() if v}, cost, edges=len(starts))


def _safe_list_lengths(needs: Sequence[NeedSpec]) -> list[int]:
    """How many of its cheapest candidates each need must keep so that the optimum of the pruned
    graph is the optimum of the full one.

    Exchange argument: suppose every optimum sends need j someone v outside its kept list L_j. In such
    an optimum j takes at most count_j − 1 people of L_j, and the other needs of the street (only they
    can take the same volunteers) at most their places. So if |L_j| ≥ count_j + those places, someone
    in L_j is free; they cost j no more than v, and swapping them in keeps the assignment optimal with
    one fewer person outside the lists. Repeating gives an optimum inside the kept graph. The bound is
    the street's places, so the graph grows with the needs, not with the volunteers."""
    places: dict[int | None, int] = defaultdict(int)
    for need in needs:
        places[need.street_id] += need.count
    everywhere = places.get(None, 0)  # a need without a street competes with every need
    total = sum(places.values())
    return [total if need.street_id is None else places[need.street_id] + everywhere for need in needs]


def greedy(pool: Pool, needs: Sequence[NeedSpec]) -> Solution:
    """The baseline a person would do by hand: each need in turn takes its cheapest free candidates."""
    taken: set[int] = set()
    assigned: dict[int, list[tuple[int, int]]] = {}
    unmet: dict[int, int] = {}
    for need in sorted(needs, key=lambda n: (n.starts_at, n.key)):
        ids, cost = candidates(pool, need)
        people: list[tuple[int, int]] = []
        for i, c in zip(ids, cost, strict=True):
            if len(people) == need.count:
                break
            if int(i) not in taken:
                taken.add(int(i))
                people.append((int(pool.ids[i]), int(c)))
        assigned[need.key] = people
        if len(people) < need.count:
            unmet[need.key] = need.count - len(people)
    return Solution(assigned, unmet, sum(c for p in assigned.values() for _v, c in p))


def shortfall_reasons(need: NeedSpec, pool: Pool) -> dict[str, int]:
    """Why fewer people are eligible than asked: counts of near misses, to say so plainly."""
    held = np.ones(len(pool), dtype=bool)
    for skill_id in need.skill_ids:
        held &= pool.skills.get(skill_id, np.zeros(len(pool), dtype=bool))
    without_certificate = held & ~eligible(
        pool,
        NeedSpec(
            need.key, need.community_id, None, None, need.skill_ids, need.count, need.starts_at, need.ends_at
        ),
    )
    return {"with_skill": int(held.sum()), "not_eligible_now": int(without_certificate.sum())}


def skill_filter(skill_ids: Sequence[int]) -> Q:
    return Q(skills__in=list(skill_ids))
