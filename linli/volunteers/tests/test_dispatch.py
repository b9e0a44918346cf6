"""Ranking, call-outs, answers, back-fill, double-booking, check-in, hours and points; the solver."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from linli.volunteers import dispatch
from linli.volunteers.models import PointEntry, Shift
from linli.volunteers.services import (
    backfill,
    call_out,
    call_out_best,
    check_in,
    check_out,
    need_create,
    rank_candidates,
    shift_answer,
)
from linli.volunteers.tests.conftest import Force, make_volunteer, tonight

pytestmark = pytest.mark.django_db


def first_aid_need(force: Force, count: int = 2, **kwargs):  # type: ignore[no-untyped-def]
    start, end = kwargs.pop("window", tonight())
    return need_create(
        actor=force.liaison_lead,
        community=force.world.community,
        title="12号楼夜间值守",
        skills=[force.skills["first-aid"]],
        count=count,
        starts_at=start,
        ends_at=end,
        building=force.world.building1,
        **kwargs,
    )


def test_ranking_prefers_a_valid_certificate_then_the_same_building_then_fewer_hours(force: Force) -> None:
    near = make_volunteer(force, "近邻", "first-aid", building=force.world.building1)
    far = make_volunteer(force, "远处", "first-aid", building=force.world.building2)
    lapsed = make_volunteer(
        force,
        "证书过期",
        "first-aid",
        building=force.world.building1,
        certified_until=timezone.localdate() - dt.timedelta(days=1),
    )
    busy_near = make_volunteer(force, "近邻但常值班", "first-aid", building=force.world.building1)
    PointEntry.objects.create(volunteer=busy_near, reason="hours", hours=Decimal(40), points=Decimal(40))
    make_volunteer(force, "无技能", "liaison", building=force.world.building1)
    need = first_aid_need(force)
    ranked = [c.volunteer for c in rank_candidates(need)]
    assert ranked == [near, busy_near, far]
    assert lapsed not in ranked


def test_a_call_out_for_a_skill_nobody_has_finds_nobody(force: Force) -> None:
    make_volunteer(force, "护士", "nursing")
    need = first_aid_need(force)
    assert rank_candidates(need) == []
    assert call_out_best(actor=force.liaison_lead, need=need) == []


def test_accept_decline_and_backfill(force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid", building=force.world.building1)
    b = make_volunteer(force, "乙", "first-aid", building=force.world.building1)
    c = make_volunteer(force, "丙", "first-aid", building=force.world.building2)
    need = first_aid_need(force, count=2)
    shifts = call_out_best(actor=force.liaison_lead, need=need)
    assert {s.volunteer for s in shifts} == {a, b}
    shift_answer(actor=a.user, shift=Shift.objects.get(volunteer=a), accept=True)  # type: ignore[arg-type]
    shift_answer(actor=b.user, shift=Shift.objects.get(volunteer=b), accept=False)  # type: ignore[arg-type]
    assert Shift.objects.get(need=need, volunteer=c).status == Shift.Status.OFFERED  # back-filled at once
    with pytest.raises(PermissionDenied):
        shift_answer(actor=a.user, shift=Shift.objects.get(volunteer=c), accept=True)  # type: ignore[arg-type]
    assert backfill(need=need) == []  # every place is taken or offered


def test_nobody_is_double_booked_into_overlapping_shifts(force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid", "liaison")
    first = first_aid_need(force, count=1)
    start, end = tonight()
    second = need_create(
        actor=force.liaison_lead,
        community=force.world.community,
        title="联络值守",
        skills=[force.skills["liaison"]],
        count=1,
        starts_at=start + dt.timedelta(hours=2),
        ends_at=end + dt.timedelta(hours=2),
    )
    call_out(actor=force.liaison_lead, need=first, volunteers=[a])
    assert call_out(actor=force.liaison_lead, need=second, volunteers=[a]) == []  # already called out then
    assert rank_candidates(second) == []
    # Even an offer made by hand cannot be accepted over an accepted overlapping shift.
    shift_answer(actor=a.user, shift=Shift.objects.get(need=first), accept=True)  # type: ignore[arg-type]
    stray = Shift.objects.create(need=second, volunteer=a, starts_at=second.starts_at, ends_at=second.ends_at)
    with pytest.raises(ValidationError, match="already have a shift"):
        shift_answer(actor=a.user, shift=stray, accept=True)  # type: ignore[arg-type]


def test_check_in_and_out_accrue_hours_and_night_points(force: Force) -> None:
    import time_machine

    a = make_volunteer(force, "甲", "first-aid")
    start, end = tonight()
    need = first_aid_need(force, count=1, window=(start, end))
    call_out(actor=force.liaison_lead, need=need, volunteers=[a])
    shift_answer(actor=a.user, shift=Shift.objects.get(), accept=True)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="an hour before"):
        check_in(actor=a.user, need=need, at=start - dt.timedelta(hours=3))  # type: ignore[arg-type]
    with time_machine.travel(start - dt.timedelta(minutes=20)):
        check_in(actor=a.user, need=need)  # type: ignore[arg-type]
    shift = check_out(actor=a.user, need=need, at=end + dt.timedelta(minutes=30))  # type: ignore[arg-type]
    assert shift.hours == Decimal("4.00")  # from the shift's start to its end: no guessed overtime
    points = {e.reason: e.points for e in PointEntry.objects.filter(volunteer=a)}
    assert points["hours"] == Decimal("4.0") and points["night"] == Decimal("0.5")  # 22:00–23:00 × 0.5
    assert check_out(actor=a.user, need=need).pk == shift.pk  # type: ignore[arg-type]
    assert PointEntry.objects.filter(volunteer=a).count() == 2


def test_someone_without_an_accepted_shift_cannot_check_in(force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    need = first_aid_need(force, count=1)
    with pytest.raises(ValidationError):
        check_in(actor=a.user, need=need, at=need.starts_at)  # type: ignore[arg-type]


def test_one_assignment_beats_greedy_and_never_gives_one_person_two_needs(force: Force) -> None:
    w = force.world
    both = make_volunteer(force, "两样都会", "first-aid", "liaison", building=w.building1)
    only_liaison = make_volunteer(force, "只会联络", "liaison", building=w.building2)
    start, end = tonight()
    medical = dispatch.NeedSpec(
        1, w.community.pk, w.grid1.pk, w.building1.pk, (force.skills["first-aid"].pk,), 1, start, end
    )
    liaison = dispatch.NeedSpec(
        0,
        w.community.pk,
        w.grid1.pk,
        w.building1.pk,
        (force.skills["liaison"].pk,),
        1,
        start - dt.timedelta(hours=1),
        end,
    )
    pool = dispatch.load_pool(street_ids=[w.community.street_id])
    best = dispatch.solve(pool, [liaison, medical])
    greedy = dispatch.greedy(pool, [liaison, medical])
    assert best.assigned == {0: [(only_liaison.pk, 2000)], 1: [(both.pk, 0)]}  # same community, other grid
    assert best.unmet == {} and greedy.unmet == {
        1: 1
    }  # greedy gives "both" to liaison and leaves medical empty
    assert best.filled == 2 > greedy.filled


def test_the_solver_matches_brute_force_on_small_random_cases() -> None:
    import itertools
    import random

    import numpy as np

    rng = random.Random(3)
    now = timezone.now()  # every need at the same time: one person, one need
    for _case in range(60):
        people, n_needs = rng.randint(1, 7), rng.randint(1, 3)  # more people than places: pruning bites
        counts = [rng.randint(1, 2) for _ in range(n_needs)]
        cost = [[rng.choice([None, rng.randint(0, 3000)]) for _ in range(people)] for _ in range(n_needs)]
        pool = dispatch.Pool(
            ids=np.arange(1, people + 1),
            street=np.ones(people, dtype=np.int64),
            community=np.zeros(people, dtype=np.int64),
            grid=np.zeros(people, dtype=np.int64),
            building=np.zeros(people, dtype=np.int64),
            availability=np.zeros(people, dtype=np.int64),
            on_call=np.ones(people, dtype=bool),
            base_cost=np.zeros(people, dtype=np.int64),
            skills={},
            certificates={},
            shifts=(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)),
            certified_skills=frozenset(),
        )
        specs = [
            dispatch.NeedSpec(j, 0, None, None, (), counts[j], now, now + dt.timedelta(hours=1), street_id=1)
            for j in range(n_needs)
        ]
        original = dispatch.candidates

        def fake(pool, need, limit=None, cost=cost):  # type: ignore[no-untyped-def]
            row = [(i, c) for i, c in enumerate(cost[need.key]) if c is not None]
            row.sort(key=lambda x: (x[1], x[0]))
            return np.array([i for i, _c in row], dtype=np.int64), np.array(
                [c for _i, c in row], dtype=np.int64
            )

        dispatch.candidates = fake  # type: ignore[assignment]
        try:
            got = dispatch.solve(pool, specs)
        finally:
            dispatch.candidates = original  # type: ignore[assignment]
        best = None
        for choice in itertools.product(*[range(-1, n_needs) for _ in range(people)]):
            filled = [0] * n_needs
            total = 0
            ok = True
            for person, j in enumerate(choice):
                if j < 0:
                    continue
                if cost[j][person] is None:
                    ok = False
                    break
                filled[j] += 1
                total += cost[j][person]
            if not ok or any(f > c for f, c in zip(filled, counts, strict=True)):
                continue
            key = (-sum(filled), total)
            best = key if best is None or key < best else best
        assert best is not None
        assert (-got.filled, got.cost) == best
