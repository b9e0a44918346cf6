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
from django.db.models import Sum
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
    """Volunteers that may serve, as parallel arrays sorted by id (index i is one volunteer)."""

    ids: np.ndarray
    street: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    building: np.ndarray
    availability: np.ndarray
    on_call: np.ndarray
    base_cost: np.ndarray  # load and fairness: the part of the cost that does not depend on the need
    skills: dict[int, np.ndarray]  # skill id → bool array (held, ignoring certificates)
    # skill id → (volunteer index, issued as a day ordinal, expires as a day ordinal or a far future)
    certificates: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
    shifts: tuple[np.ndarray, np.ndarray, np.ndarray]  # live shifts: (index, start ts, end ts)
    certified_skills: frozenset[int]
    by_street: dict[int, np.ndarray] = field(default_factory=dict)  # street id → indexes
    recent_hours: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # last 30 days, capped
    load: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # live shifts this week

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, volunteer_ids: Iterable[int]) -> np.ndarray:
        wanted = np.fromiter(volunteer_ids, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        at = np.clip(at, 0, max(len(self.ids) - 1, 0))
        return at[(len(self.ids) > 0) & (self.ids[at] == wanted)] if len(self.ids) else np.zeros(0, np.int64)


NO_EXPIRY = dt.date.max.toordinal()


def load_pool(
    *,
    street_ids: Iterable[int],
    skill_ids: Iterable[int] | None = None,
    holding_all: bool = False,
    now: dt.datetime | None = None,
) -> Pool:
    """Read the active volunteers of the streets in a few flat queries. With `holding_all`, only those
    who hold every one of `skill_ids` (one need's ranking); otherwise everyone, with the skills asked
    about (a batch)."""
    now = now or timezone.now()
    streets = list(street_ids)
    qs = Volunteer.objects.filter(street_id__in=streets, status=Volunteer.Status.ACTIVE).order_by("pk")
    wanted = sorted(set(skill_ids)) if skill_ids is not None else None
    if holding_all and wanted:
        for skill_id in wanted:
            qs = qs.filter(skills=skill_id)
    rows = list(
        qs.values_list("pk", "street_id", "community_id", "grid_id", "building_id", "availability", "on_call")
    )
    table = np.array(
        [[r[0], r[1], r[2], r[3] or 0, r[4] or 0, r[5], int(r[6])] for r in rows], dtype=np.int64
    ).reshape(-1, 7)
    ids = table[:, 0]
    # Related rows are read through a join on the volunteer's street and status, not a subquery per table.
    mine = {"volunteer__street_id__in": streets, "volunteer__status": Volunteer.Status.ACTIVE}

    def positions(volunteer_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        wanted_ids = np.array(volunteer_ids, dtype=np.int64)
        at = np.clip(np.searchsorted(ids, wanted_ids), 0, max(len(ids) - 1, 0))
        found = (ids[at] == wanted_ids) if len(ids) else np.zeros(len(wanted_ids), dtype=bool)
        return at, found

    skills: dict[int, np.ndarray] = {}
    through = Volunteer.skills.through.objects.filter(**mine)
    if wanted is not None:
        through = through.filter(skill_id__in=wanted)
    pairs = np.array(list(through.values_list("volunteer_id", "skill_id")), dtype=np.int64).reshape(-1, 2)
    at, found = positions(pairs[:, 0].tolist())
    for skill_id in np.unique(pairs[:, 1]):
        held = np.zeros(len(ids), dtype=bool)
        pick = found & (pairs[:, 1] == skill_id)
        held[at[pick]] = True
        skills[int(skill_id)] = held
    certified = frozenset(Skill.objects.filter(needs_certificate=True).values_list("pk", flat=True))
    certificates: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    cert_rows = list(
        Certificate.objects.filter(
            skill_id__in=[c for c in certified if wanted is None or c in wanted], **mine
        ).values_list("volunteer_id", "skill_id", "issued_on", "expires_on")
    )
    if cert_rows:
        at, found = positions([r[0] for r in cert_rows])
        skill_col = np.array([r[1] for r in cert_rows], dtype=np.int64)
        issued = np.array([r[2].toordinal() for r in cert_rows], dtype=np.int64)
        expires = np.array([r[3].toordinal() if r[3] else NO_EXPIRY for r in cert_rows], dtype=np.int64)
        for skill_id in np.unique(skill_col):
            pick = found & (skill_col == skill_id)
            certificates[int(skill_id)] = (at[pick], issued[pick], expires[pick])
    served = np.zeros(len(ids), dtype=np.int64)
    hours = list(
        PointEntry.objects.filter(at__gte=now - dt.timedelta(days=FAIRNESS_DAYS), **mine)
        .values("volunteer_id")
        .annotate(h=Sum("hours"))
        .values_list("volunteer_id", "h")
    )
    if hours:
        at, found = positions([h[0] for h in hours])
        per_row = np.array([min(int(h[1] or 0), FAIRNESS_CAP) for h in hours], dtype=np.int64)
        served[at[found]] = per_row[found]
    live = Shift.objects.filter(
        status__in=[Shift.Status.OFFERED, Shift.Status.ACCEPTED], ends_at__gt=now, **mine
    )
    shift_rows = list(live.values_list("volunteer_id", "starts_at", "ends_at"))
    at, found = positions([r[0] for r in shift_rows])
    starts = np.array([r[1].timestamp() for r in shift_rows], dtype=np.float64)
    ends = np.array([r[2].timestamp() for r in shift_rows], dtype=np.float64)
    soon = found & (starts < (now + dt.timedelta(days=LOAD_DAYS)).timestamp())
    load = np.zeros(len(ids), dtype=np.int64)
    np.add.at(load, at[soon], 1)
    street = table[:, 1]
    return Pool(
        ids=ids,
        street=street,
        community=table[:, 2],
        grid=table[:, 3],
        building=table[:, 4],
        availability=table[:, 5],
        on_call=table[:, 6].astype(bool),
        base_cost=FAIRNESS_COST * served + LOAD_COST * load,
        skills=skills,
        certificates=certificates,
        shifts=(at[found], starts[found], ends[found]),
        certified_skills=certified,
        by_street={int(s): np.flatnonzero(street == s) for s in np.unique(street)},
        recent_hours=served,
        load=load,
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
    # The communities whose volunteers the caller coordinates (None: the whole street).
    community_ids: frozenset[int] | None = None

    @classmethod
    def of(
        cls, need: Need, exclude: Iterable[int] = (), community_ids: Iterable[int] | None = None
    ) -> NeedSpec:
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
            community_ids=frozenset(community_ids) if community_ids is not None else None,
        )


def _scope(pool: Pool, need: NeedSpec) -> np.ndarray:
    """Indexes of the volunteers who could serve the need at all: its street (and the caller's
    communities)."""
    idx = (
        pool.by_street.get(need.street_id, np.zeros(0, np.int64))
        if need.street_id is not None
        else np.arange(len(pool))
    )
    if need.community_ids is not None:
        idx = idx[np.isin(pool.community[idx], list(need.community_ids))]
    return idx


def eligible_indexes(pool: Pool, need: NeedSpec) -> np.ndarray:
    """Who may serve this need: the skills (with a certificate valid for the whole shift where one is
    needed), free in its periods or on call, no overlapping shift, not asked already."""
    idx = _scope(pool, need)
    ok = np.ones(len(idx), dtype=bool)
    first, last = timezone.localdate(need.starts_at).toordinal(), timezone.localdate(need.ends_at).toordinal()
    for skill_id in need.skill_ids:
        held = pool.skills.get(skill_id)
        if held is None:
            return np.zeros(0, np.int64)
        ok &= held[idx]
        if skill_id in pool.certified_skills:
            valid = np.zeros(len(pool), dtype=bool)
            who, issued, expires = pool.certificates.get(skill_id, (np.zeros(0, np.int64),) * 3)
            valid[who[(issued <= first) & (expires >= last)]] = True
            ok &= valid[idx]
    bits = period_bits(need.starts_at, need.ends_at)
    if bits >> 21:  # a night shift: on-call volunteers only
        ok &= pool.on_call[idx]
    else:
        ok &= pool.on_call[idx] | ((pool.availability[idx] & bits) == bits)
    who, start, end = pool.shifts
    busy = np.zeros(len(pool), dtype=bool)
    if len(who):
        busy[who[(start < need.ends_at.timestamp()) & (end > need.starts_at.timestamp())]] = True
    if need.exclude:
        busy[pool.index_of(need.exclude)] = True
    ok &= ~busy[idx]
    return idx[ok]


def eligible(pool: Pool, need: NeedSpec) -> np.ndarray:
    """A bool array over the pool: who may serve this need."""
    mask = np.zeros(len(pool), dtype=bool)
    mask[eligible_indexes(pool, need)] = True
    return mask


def distance_steps(pool: Pool, need: NeedSpec, idx: np.ndarray | None = None) -> np.ndarray:
    """0 same building, 1 same grid, 2 same community, 3 elsewhere in the street."""
    at = np.arange(len(pool)) if idx is None else idx
    steps = np.full(len(at), 3, dtype=np.int64)
    same_community = pool.community[at] == need.community_id
    steps[same_community] = 2
    if need.grid_id:
        steps[same_community & (pool.grid[at] == need.grid_id)] = 1
    if need.building_id:
        steps[pool.building[at] == need.building_id] = 0
    return steps


def costs(pool: Pool, need: NeedSpec, idx: np.ndarray | None = None) -> np.ndarray:
    at = np.arange(len(pool)) if idx is None else idx
    return distance_steps(pool, need, at) * DISTANCE_COST + pool.base_cost[at]


def candidates(pool: Pool, need: NeedSpec, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of eligible volunteers and their costs, cheapest first, ties to the lower id."""
    ok = eligible_indexes(pool, need)
    cost = costs(pool, need, ok)
    # One sortable key (cost, then id) so a cut at `limit` never depends on the database's row order.
    key = cost * (int(pool.ids.max()) + 1 if len(pool) else 1) + pool.ids[ok]
    if limit is not None and len(ok) > limit:
        part = np.argpartition(key, limit - 1)[:limit]
        ok, cost, key = ok[part], cost[part], key[part]
    order = np.argsort(key, kind="stable")
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


def overlapping_groups(needs: Sequence[NeedSpec]) -> list[list[NeedSpec]]:
    """Needs whose shifts overlap, directly or through others. One volunteer may take one need of a
    group but needs of different groups (Monday's and Tuesday's shifts)."""
    groups: list[list[NeedSpec]] = []
    end: dt.datetime | None = None
    for need in sorted(needs, key=lambda n: (n.starts_at, n.key)):
        if end is None or need.starts_at >= end:
            groups.append([])
            end = need.ends_at
        groups[-1].append(need)
        end = max(end, need.ends_at)
    return groups


def solve(pool: Pool, needs: Sequence[NeedSpec]) -> Solution:
    """The least-cost assignment of volunteers to needs, filling as many places as possible; nobody
    gets two needs whose shifts overlap."""
    total = Solution({}, {}, 0)
    for group in overlapping_groups(needs):
        part = _solve_group(pool, group)
        total.assigned.update(part.assigned)
        total.unmet.update(part.unmet)
        total.cost += part.cost
        total.edges += part.edges
    return total


def _solve_group(pool: Pool, needs: Sequence[NeedSpec]) -> Solution:
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
    assigned: dict[int, list[tuple[int, int]]] = {}
    unmet: dict[int, int] = {}
    for group in overlapping_groups(needs):
        taken: set[int] = set()
        for need in group:
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


@dataclass
class Shortfall:
    """Why a need cannot be filled, in words a coordinator can act on, and who comes nearest."""

    with_skill: int  # volunteers in scope holding every skill asked for
    lapsed: int  # of them, without a certificate valid for the whole shift
    not_free: int  # not free in those periods and not on call
    booked: int  # already on an overlapping shift (or asked for this need)
    related: list[tuple[Skill, list[int]]]  # related skills and up to five eligible volunteer ids each


def shortfall(need: NeedSpec) -> Shortfall:
    """Used when nobody (or too few) can serve: counts of near misses and the nearest alternatives."""
    from linli.volunteers.catalogue import RELATED

    pool = load_pool(
        street_ids=[need.street_id] if need.street_id else [], skill_ids=need.skill_ids, holding_all=True
    )
    idx = _scope(pool, need)
    first, last = timezone.localdate(need.starts_at).toordinal(), timezone.localdate(need.ends_at).toordinal()
    lapsed = np.zeros(len(pool), dtype=bool)
    for skill_id in need.skill_ids:
        if skill_id in pool.certified_skills:
            valid = np.zeros(len(pool), dtype=bool)
            who, issued, expires = pool.certificates.get(skill_id, (np.zeros(0, np.int64),) * 3)
            valid[who[(issued <= first) & (expires >= last)]] = True
            lapsed |= ~valid
    bits = period_bits(need.starts_at, need.ends_at)
    free = pool.on_call | (((pool.availability & bits) == bits) if not bits >> 21 else False)
    eligible_now = eligible(pool, need)
    codes = {s.code: s for s in Skill.objects.filter(pk__in=need.skill_ids)}
    related_codes = [c for code in codes for c in RELATED.get(code, []) if c not in codes]
    related = []
    for skill in Skill.objects.filter(code__in=related_codes):
        alt = NeedSpec(**{**need.__dict__, "skill_ids": (skill.pk,), "exclude": need.exclude})
        alt_pool = load_pool(
            street_ids=[need.street_id] if need.street_id else [], skill_ids=[skill.pk], holding_all=True
        )
        ids, _costs = candidates(alt_pool, alt, limit=5)
        related.append((skill, [int(alt_pool.ids[i]) for i in ids]))
    return Shortfall(
        with_skill=len(idx),
        lapsed=int(lapsed[idx].sum()),
        not_free=int((~free[idx] & ~lapsed[idx]).sum()),
        booked=int((~eligible_now[idx] & ~lapsed[idx] & free[idx]).sum()),
        related=related,
    )
