"""Calling a campaign's people to time slots (seed 000: "分批、分时轮流核酸，避免居民间过多接触"; "密接、次密接
人员可安排在最后检测，单独规划路线"). A pure function of its inputs, so its rules can be tested by themselves:

- no slot is called above its capacity (a lane's people per hour × the slot's length);
- a household comes together: its members share one time (the priority members in the priority lane);
- buildings go to sites in their order, in runs proportional to each site's capacity, so neighbours
  share a site and a building is called over consecutive slots;
- the load is spread over the day rather than packed into the morning, so queues stay short;
- people under health monitoring come last, on the separate route, after every other slot has ended.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from linli.screening.models import Lane

SITE_LANES: tuple[str, ...] = (Lane.NORMAL.value, Lane.PRIORITY.value)


class Person(NamedTuple):
    id: int
    household: int
    building: int
    lane: str  # Lane.NORMAL, PRIORITY or CONTROLLED


@dataclass(frozen=True)
class SiteCapacity:
    id: int
    per_hour: dict[str, int]  # lane → people per hour


@dataclass
class PlannedSlot:
    site: int
    lane: str
    window: int  # 0 is the first slot of the day
    capacity: int
    load: int = 0


@dataclass
class Plan:
    windows: int
    minutes: int
    slots: dict[tuple[int, str, int], PlannedSlot] = field(default_factory=dict)
    # person id → (site, lane, window)
    placed: dict[int, tuple[int, str, int]] = field(default_factory=dict)
    unplaced: list[int] = field(default_factory=list)
    # The first window of the separate route (every other slot ends before it); None without one.
    controlled_from: int | None = None

    def max_load(self) -> PlannedSlot | None:
        """The fullest slot relative to its capacity."""
        used = [s for s in self.slots.values() if s.load]
        return max(used, key=lambda s: (s.load / s.capacity, s.load), default=None)


def slot_capacity(per_hour: int, minutes: int) -> int:
    return per_hour * minutes // 60


def plan(people: Sequence[Person], sites: Sequence[SiteCapacity], *, windows: int, minutes: int) -> Plan:
    """`people` in calling order (building, entrance, room); `windows` slots of `minutes` each."""
    result = Plan(windows=windows, minutes=minutes)
    for site in sites:
        for lane, per_hour in site.per_hour.items():
            capacity = slot_capacity(per_hour, minutes)
            if capacity <= 0:
                continue
            for window in range(windows):
                result.slots[(site.id, lane, window)] = PlannedSlot(site.id, lane, window, capacity)

    controlled = [p for p in people if p.lane == Lane.CONTROLLED]
    others = [p for p in people if p.lane != Lane.CONTROLLED]
    last_window = windows
    if controlled:
        route = [s for s in sites if slot_capacity(s.per_hour.get(Lane.CONTROLLED, 0), minutes) > 0]
        per_window = sum(slot_capacity(s.per_hour[Lane.CONTROLLED], minutes) for s in route)
        if per_window == 0:
            result.unplaced.extend(p.id for p in controlled)
        else:
            needed = math.ceil(len(controlled) / per_window)
            last_window = max(windows - needed, 0)
            result.controlled_from = last_window
            _fill_route(result, controlled, route, last_window)
    _fill_sites(result, others, sites, last_window)
    return result


def _fill_route(result: Plan, people: list[Person], route: list[SiteCapacity], first: int) -> None:
    """The separate route: one person after another from `first` to the end of the day."""
    queue = iter(people)
    for window in range(first, result.windows):
        for site in route:
            slot = result.slots[(site.id, Lane.CONTROLLED, window)]
            while slot.load < slot.capacity:
                person = next(queue, None)
                if person is None:
                    return
                slot.load += 1
                result.placed[person.id] = (site.id, Lane.CONTROLLED, window)
    result.unplaced.extend(p.id for p in queue)


class _Household:
    __slots__ = ("building", "count", "members")

    def __init__(self, building: int) -> None:
        self.building = building
        self.members: dict[str, list[int]] = {}  # lane → person ids
        self.count = 0

    def size(self) -> int:
        return self.count

    def at_site(self, has_priority: bool) -> dict[str, list[int]]:
        """The members by lane at a site; without a priority lane, everyone queues in the normal one."""
        if has_priority or not self.members.get(Lane.PRIORITY):
            return self.members
        return {Lane.NORMAL: self.members.get(Lane.NORMAL, []) + self.members[Lane.PRIORITY]}


def _households(people: list[Person]) -> list[_Household]:
    """In the order of their first member."""
    by_id: dict[int, _Household] = {}
    for pid, household_id, building, lane in people:
        household = by_id.get(household_id)
        if household is None:
            household = by_id[household_id] = _Household(building)
        ids = household.members.get(lane)
        if ids is None:
            household.members[lane] = [pid]
        else:
            ids.append(pid)
        household.count += 1
    return list(by_id.values())


def _site_runs(
    households: list[_Household], sites: list[SiteCapacity], minutes: int
) -> list[list[_Household]]:
    """Split the households into consecutive runs of whole buildings, one run per site, in proportion to
    each site's capacity."""
    weights = [sum(slot_capacity(s.per_hour.get(lane, 0), minutes) for lane in SITE_LANES) for s in sites]
    total_weight = sum(weights)
    runs: list[list[_Household]] = [[] for _ in sites]
    if total_weight == 0 or not households:
        return runs
    by_building: list[list[_Household]] = []
    for h in households:
        if by_building and by_building[-1][0].building == h.building:
            by_building[-1].append(h)
        else:
            by_building.append([h])
    total = sum(h.size() for h in households)
    site_index = 0
    done = 0
    target = total * weights[0] / total_weight
    for group in by_building:
        size = sum(h.size() for h in group)
        # Move on when this building would overshoot the site's share by more than half of itself.
        while site_index < len(sites) - 1 and (weights[site_index] == 0 or done + size / 2 > target):
            site_index += 1
            target += total * weights[site_index] / total_weight
        runs[site_index].extend(group)
        done += size
    return runs


# How far above its even share of the day a slot may be filled, tried in turn: households come whole, so
# the even share alone often leaves the last few without a slot. Filling to capacity is the last resort.
SLACKS = (0, 1, 2, 4, 8, 16)


def _fill_sites(result: Plan, people: list[Person], sites: Sequence[SiteCapacity], windows: int) -> None:
    if not people:
        return
    minutes = result.minutes
    # A site takes the households of its buildings only if it has a normal lane (the priority lane is for
    # some of a household's members, never a whole building).
    usable = [s for s in sites if slot_capacity(s.per_hour.get(Lane.NORMAL, 0), minutes) > 0]
    if not usable or windows <= 0:
        result.unplaced.extend(p.id for p in people)
        return
    runs = _site_runs(_households(people), usable, minutes)
    # What does not fit at a site goes on to the next one (its buildings are the neighbours).
    carried: list[_Household] = []
    for site, run in zip(usable, runs, strict=True):
        has_priority = slot_capacity(site.per_hour.get(Lane.PRIORITY, 0), minutes) > 0
        households = carried + run
        needs = _SiteNeeds(result, site, [h.at_site(has_priority) for h in households])
        if any(_fill_site(result, site, needs, windows, slack=slack) is not None for slack in SLACKS):
            carried = []
            continue
        left = _fill_site(result, site, needs, windows, slack=None) or []
        carried = [households[i] for i in left]
    result.unplaced.extend(pid for h in carried for ids in h.members.values() for pid in ids)


class _SiteNeeds:
    """What stays the same between the attempts at one site: its lanes and their capacity, each household's
    count per lane, whether it fits in a slot at all, and each lane's demand and largest household."""

    def __init__(self, result: Plan, site: SiteCapacity, households: list[dict[str, list[int]]]) -> None:
        self.households = households
        self.lanes = [lane for lane in SITE_LANES if (site.id, lane, 0) in result.slots]
        self.caps = {lane: result.slots[(site.id, lane, 0)].capacity for lane in self.lanes}
        self.need = [tuple((lane, len(ids)) for lane, ids in m.items() if ids) for m in households]
        self.whole = [all(n <= self.caps.get(lane, 0) for lane, n in need) for need in self.need]
        self.demand = dict.fromkeys(self.lanes, 0)
        self.largest = dict.fromkeys(self.lanes, 0)
        for need in self.need:
            for lane, n in need:
                if lane in self.demand:
                    self.demand[lane] += n
                    self.largest[lane] = max(self.largest[lane], n)


def _fill_site(
    result: Plan, site: SiteCapacity, needs: _SiteNeeds, windows: int, *, slack: int | None
) -> list[int] | None:
    """Place the households (members by lane) in order, each at the first window from the current one where
    all its members fit; returns the indexes of the households that did not fit. With a `slack`, each slot
    takes only its share of the day's load plus the slack, and nothing is written unless everyone fits
    (else None). Without, slots fill to capacity."""
    caps = needs.caps
    limit = dict(caps)
    if slack is not None:
        for lane in needs.lanes:
            share = math.ceil(needs.demand[lane] / windows) + needs.largest[lane] - 1 + slack
            limit[lane] = min(caps[lane], max(share, 1))
    loads = {lane: [0] * windows for lane in needs.lanes}
    chosen: list[tuple[dict[str, list[int]], int]] = []  # whole households: (members, window)
    singles: list[tuple[int, str, int]] = []  # members of households larger than a slot: (id, lane, window)
    window = 0
    left: list[int] = []
    for index, (members, need, whole) in enumerate(
        zip(needs.households, needs.need, needs.whole, strict=True)
    ):
        if not whole:
            # Larger than a whole slot (a dormitory "household"): its members go one by one.
            fitted = []
            for lane, ids in members.items():
                lane_loads, lane_limit = loads[lane], limit[lane]
                for pid in ids:
                    while window < windows and lane_loads[window] >= lane_limit:
                        window += 1
                    if window >= windows:
                        break
                    lane_loads[window] += 1
                    fitted.append((pid, lane, window))
            if len(fitted) < sum(n for _lane, n in need):
                if slack is not None:
                    return None
                for _pid, lane, w in fitted:
                    loads[lane][w] -= 1
                left.append(index)
                continue
            singles.extend(fitted)
            continue
        if len(need) == 1:
            ((lane, n),) = need
            lane_loads, room = loads[lane], limit[lane] - n
            while window < windows and lane_loads[window] > room:
                window += 1
        else:
            while window < windows and any(loads[lane][window] + n > limit[lane] for lane, n in need):
                window += 1
        if window >= windows:
            if slack is not None:
                return None
            left.append(index)
            continue
        for lane, n in need:
            loads[lane][window] += n
        chosen.append((members, window))
    for lane, lane_loads in loads.items():
        for w, load in enumerate(lane_loads):
            if load:
                result.slots[(site.id, lane, w)].load += load
    placed = result.placed
    for members, w in chosen:
        for lane, ids in members.items():
            placed.update(dict.fromkeys(ids, (site.id, lane, w)))
    for pid, lane, w in singles:
        placed[pid] = (site.id, lane, w)
    return left
