"""The scheduling rules as properties over random communities (hypothesis)."""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from linli.screening.models import Lane
from linli.screening.scheduling import Person, Plan, SiteCapacity, plan

LANES = [Lane.NORMAL, Lane.NORMAL, Lane.NORMAL, Lane.PRIORITY, Lane.CONTROLLED]


@st.composite
def communities(draw: st.DrawFn) -> tuple[list[Person], list[SiteCapacity], int, int]:
    buildings = draw(st.integers(1, 8))
    people: list[Person] = []
    household = 0
    for building in range(buildings):
        for _ in range(draw(st.integers(0, 12))):
            household += 1
            for _ in range(draw(st.integers(1, 6))):
                people.append(Person(len(people) + 1, household, building, draw(st.sampled_from(LANES))))
    sites = [
        SiteCapacity(
            n + 1,
            {
                Lane.NORMAL: draw(st.integers(0, 200)),
                Lane.PRIORITY: draw(st.integers(0, 60)),
                Lane.CONTROLLED: draw(st.integers(0, 40)),
            },
        )
        for n in range(draw(st.integers(1, 3)))
    ]
    minutes = draw(st.sampled_from([15, 20, 30, 60]))
    windows = draw(st.integers(1, 24))
    return people, sites, windows, minutes


def _check(people: list[Person], result: Plan) -> None:
    lanes = {p.id: p.lane for p in people}
    # everyone is placed or reported unplaced, once
    assert Counter(list(result.placed) + result.unplaced) == Counter(p.id for p in people)
    # no slot above its capacity, and each slot's load is exactly who was placed there
    placed_load = Counter(result.placed.values())
    for key, slot in result.slots.items():
        assert slot.load == placed_load.get(key, 0)
        assert slot.load <= slot.capacity
    assert set(placed_load) <= set(result.slots)
    # the separate route comes after every other slot has ended
    controlled = [w for pid, (_s, _l, w) in result.placed.items() if lanes[pid] == Lane.CONTROLLED]
    others = [w for pid, (_s, _l, w) in result.placed.items() if lanes[pid] != Lane.CONTROLLED]
    if controlled and others:
        assert min(controlled) > max(others)
    # only people under monitoring use the separate route
    for pid, (_site, lane, _w) in result.placed.items():
        assert (lane == Lane.CONTROLLED) == (lanes[pid] == Lane.CONTROLLED)


@settings(max_examples=150, deadline=None)
@given(communities())
def test_capacity_is_never_exceeded_and_people_under_monitoring_come_last(
    case: tuple[list[Person], list[SiteCapacity], int, int],
) -> None:
    people, sites, windows, minutes = case
    _check(people, plan(people, sites, windows=windows, minutes=minutes))


@settings(max_examples=100, deadline=None)
@given(communities())
def test_a_household_comes_together_at_one_site_and_time(
    case: tuple[list[Person], list[SiteCapacity], int, int],
) -> None:
    people, sites, windows, minutes = case
    result = plan(people, sites, windows=windows, minutes=minutes)
    by_site = {s.id: s for s in sites}
    members: dict[int, list[Person]] = defaultdict(list)
    for p in people:
        if p.lane != Lane.CONTROLLED:
            members[p.household].append(p)
    for household in members.values():
        places = {result.placed[p.id][0::2] for p in household if p.id in result.placed}
        if len(places) != 1 and any(p.id in result.placed for p in household):
            site = by_site[result.placed[next(p.id for p in household if p.id in result.placed)][0]]
            has_priority = site.per_hour[Lane.PRIORITY] * minutes // 60 > 0
            need = Counter(p.lane if has_priority else Lane.NORMAL for p in household)
            # only a household larger than one slot of a lane is split (one by one, by design)
            assert any(n > site.per_hour[lane] * minutes // 60 for lane, n in need.items())


@settings(max_examples=100, deadline=None)
@given(communities())
def test_with_room_to_spare_everyone_is_placed(
    case: tuple[list[Person], list[SiteCapacity], int, int],
) -> None:
    people, _sites, windows, minutes = case
    # one generous site with every lane: at most half its capacity is needed
    per_window = max(len(people), 6) * 2
    roomy = [SiteCapacity(1, {lane: per_window * 60 // minutes for lane in Lane.values})]
    result = plan(people, roomy, windows=max(windows, 2), minutes=minutes)
    assert result.unplaced == []
    _check(people, result)


def test_buildings_go_to_sites_in_runs_and_the_day_is_spread() -> None:
    people = [Person(i, i // 3, i // 60, Lane.NORMAL) for i in range(600)]  # 10 buildings of 60
    sites = [SiteCapacity(1, {Lane.NORMAL: 120}), SiteCapacity(2, {Lane.NORMAL: 120})]
    result = plan(people, sites, windows=20, minutes=30)
    assert not result.unplaced
    site_of_building: dict[int, set[int]] = defaultdict(set)
    for p in people:
        site_of_building[p.building].add(result.placed[p.id][0])
    assert all(len(s) == 1 for s in site_of_building.values())  # neighbours share a site
    assert {next(iter(s)) for s in site_of_building.values()} == {1, 2}
    loads = [s.load for s in result.slots.values() if s.load]
    # 300 people per site over 20 slots of 60: spread to about 15–17 per slot, not 60 in the first five
    assert max(loads) <= 20


def test_what_does_not_fit_at_one_site_goes_on_to_the_next() -> None:
    # two sites of 100 an hour for one hour, three buildings of 60: 180 people fit in 200 places
    people = [Person(i, i // 3, i // 60, Lane.NORMAL) for i in range(180)]
    sites = [SiteCapacity(1, {Lane.NORMAL: 100}), SiteCapacity(2, {Lane.NORMAL: 100})]
    result = plan(people, sites, windows=2, minutes=30)
    assert result.unplaced == []
    _check(people, result)
