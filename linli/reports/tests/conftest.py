"""A day of records in the shared world for the daily report dated DAY (a Tuesday): its flows are
YESTERDAY's (a Monday), its stocks as at DAY 08:30. Every figure below is one the tests assert."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from linli.conftest import World
from linli.epidemic.models import ControlCase, ControlType
from linli.factories import BuildingFactory, HouseholdFactory, ResidentFactory
from linli.health.models import (
    Antigen,
    EnvSample,
    KeySite,
    PharmacyReport,
    SelfReport,
    SiteKind,
    SpotCheck,
    Visit,
    VisitGroup,
    VisitPlan,
    week_of,
)
from linli.registry.models import Residency, Resident
from linli.response.models import Response
from linli.tasks.models import Task
from linli.volunteers.models import Need, Shift, Volunteer

DAY = dt.date(2030, 6, 4)
YESTERDAY = DAY - dt.timedelta(days=1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def days_before(n: int, hour: int = 10) -> dt.datetime:
    return at(DAY - dt.timedelta(days=n), hour)


@pytest.fixture(autouse=True)
def report_morning() -> Iterator[None]:
    """Every test starts at DAY 08:30 local time, when the report is generated."""
    with time_machine.travel(at(DAY, 8, 30), tick=False):
        yield


@dataclass
class Scene:
    world: World
    r1b: Resident  # grid 1, fever yesterday
    r1c: Resident  # grid 1, released yesterday
    r1d: Resident  # grid 1, registered here but living elsewhere: not expected to report
    r2b: Resident  # grid 2, living here (registered elsewhere)
    loose: Resident  # a building without a grid


def _report(resident: Resident, day: dt.date, temperature: str, **extra: object) -> SelfReport:
    return SelfReport.objects.create(
        community_id=resident.community_id,
        grid_id=resident.grid_id,
        building_id=resident.household.building_id,
        resident=resident,
        day=day,
        submitted_at=at(day, 8),
        temperature=Decimal(temperature),
        **extra,
    )


def _case(resident: Resident, key: str, started: dt.datetime, **extra: object) -> ControlCase:
    kind = ControlType.objects.get(community__isnull=True, key=key)
    return ControlCase.objects.create(
        community_id=resident.community_id,
        grid_id=resident.grid_id,
        resident=resident,
        control_type=kind,
        measure=kind.measure,
        started_at=started,
        release_on=timezone.localtime(started).date() + dt.timedelta(days=kind.days),
        **extra,
    )


def _task(world: World, grid: object, *, created: dt.datetime, due: dt.datetime, **extra: object) -> Task:
    task = Task.objects.create(community=world.community, grid=grid, title="任务", due_at=due, **extra)
    Task.objects.filter(pk=task.pk).update(created_at=created)
    return task


@pytest.fixture
def scene(world: World, small_plan: object) -> Scene:
    w = world
    r1b = ResidentFactory(household=HouseholdFactory(building=w.building1))
    r1c = ResidentFactory(household=HouseholdFactory(building=w.building1))
    r1d = ResidentFactory(household=HouseholdFactory(building=w.building1), residency=Residency.REGISTERED)
    r2b = ResidentFactory(household=HouseholdFactory(building=w.building2), residency=Residency.LIVING)
    no_grid = BuildingFactory(community=w.community, grid=None, number="99")
    loose = ResidentFactory(household=HouseholdFactory(building=no_grid))

    # Self-reports: grid 1 two (one fever, reported twice), grid 2 one (antigen positive), no grid one,
    # the other community one; r1c reported only the day before yesterday.
    first = _report(w.resident1, YESTERDAY, "36.5")
    _report(r1b, YESTERDAY, "36.6", current=False)
    _report(r1b, YESTERDAY, "38.2", abnormal=True, symptoms="cough")
    second = _report(w.resident2, YESTERDAY, "36.4", antigen=Antigen.POSITIVE, abnormal=True)
    _report(loose, YESTERDAY, "36.5")
    _report(w.other_resident, YESTERDAY, "36.7")
    _report(r1c, YESTERDAY - dt.timedelta(days=1), "36.5")
    for resident, report, result in (
        (w.resident1, first, SpotCheck.Result.CONFIRMED),
        (w.resident2, second, SpotCheck.Result.MISMATCH),
    ):
        SpotCheck.objects.create(
            community_id=resident.community_id,
            grid_id=resident.grid_id,
            day=YESTERDAY,
            resident=resident,
            report=report,
            drawn_at=at(YESTERDAY, 10),
            result=result,
        )

    # Control: grid 1 one active (new yesterday, central) and one released yesterday; grid 2 two active
    # at 08:30 (one is released at 08:45, after the report's time); one cancelled; one starting at 09:00.
    _case(w.resident1, "close_contact", at(YESTERDAY, 10))
    _case(
        r1c,
        "secondary_contact",
        days_before(8),
        status=ControlCase.Status.RELEASED,
        released_at=at(YESTERDAY, 15),
    )
    _case(r2b, "companion", days_before(5))
    _case(w.resident2, "companion", days_before(3), status=ControlCase.Status.CANCELLED)
    _case(
        w.resident2,
        "companion",
        days_before(6),
        status=ControlCase.Status.RELEASED,
        released_at=at(DAY, 8, 45),
    )
    _case(r1d, "companion", at(DAY, 9))

    # Visits (Monday plans): resident1's is overdue; r2b was visited yesterday.
    VisitPlan.objects.create(
        community=w.community,
        grid=w.grid1,
        resident=w.resident1,
        group=VisitGroup.ELDERLY_ALONE,
        weekday=0,
        starts_on=DAY - dt.timedelta(days=30),
    )
    plan2 = VisitPlan.objects.create(
        community=w.community,
        grid=w.grid2,
        resident=r2b,
        group=VisitGroup.CHRONIC,
        weekday=0,
        starts_on=DAY - dt.timedelta(days=30),
    )
    Visit.objects.create(
        community=w.community,
        grid=w.grid2,
        resident=r2b,
        plan=plan2,
        week=week_of(YESTERDAY),
        visited_at=at(YESTERDAY, 15),
        visitor=w.bob,
    )

    # Tasks: grid 1 one created yesterday and overdue, one done yesterday, one cancelled; grid 2 one done
    # at 08:45 (so overdue at 08:30) and one not yet due; no grid: a key-site alert created yesterday.
    _task(w, w.grid1, created=at(YESTERDAY, 9), due=at(DAY, 8))
    _task(
        w,
        w.grid1,
        created=days_before(3),
        due=at(YESTERDAY, 18),
        status=Task.Status.DONE,
        done_at=at(YESTERDAY, 12),
    )
    _task(
        w,
        w.grid1,
        created=days_before(3),
        due=at(YESTERDAY, 9),
        status=Task.Status.CANCELLED,
        done_at=at(YESTERDAY, 13),
    )
    _task(
        w,
        w.grid2,
        created=days_before(3),
        due=at(YESTERDAY, 12),
        status=Task.Status.DONE,
        done_at=at(DAY, 8, 45),
    )
    _task(w, w.grid2, created=days_before(3), due=at(DAY, 12))
    _task(w, None, created=at(YESTERDAY, 20), due=at(DAY, 20), source=Task.Source.KEY_SITE)

    # Incidents: a pharmacy report from building 2, a positive sample at a grid 1 site, a response
    # activated yesterday (the drill beside it does not count).
    PharmacyReport.objects.create(
        community=w.community,
        pharmacy_name="好药师",
        buyer_name="王建国",
        medicine="布洛芬",
        bought_at=at(YESTERDAY, 16),
        building=w.building2,
        resident=w.resident2,
    )
    site = KeySite.objects.create(
        community=w.community, grid=w.grid1, name="冷链店", kind=SiteKind.COLD_CHAIN
    )
    EnvSample.objects.create(
        site=site, taken_on=YESTERDAY, result=EnvSample.Result.POSITIVE, result_at=at(YESTERDAY, 11)
    )
    EnvSample.objects.create(
        site=site, taken_on=YESTERDAY, result=EnvSample.Result.NEGATIVE, result_at=at(YESTERDAY, 11)
    )
    for drill in (False, True):
        Response.objects.create(
            plan=small_plan,
            plan_version=1,
            community=w.community,
            title="演练" if drill else "燃气泄漏",
            level=4,
            is_drill=drill,
            reason="测试",
            activated_at=at(YESTERDAY, 14),
        )

    # Volunteers: 3.5 hours yesterday evening, one volunteer on duty since 07:00.
    need = Need.objects.create(
        community=w.community,
        street=w.community.street,
        title="值守",
        count=2,
        starts_at=at(YESTERDAY, 18),
        ends_at=at(DAY, 12),
    )
    for n, (checked_in, checked_out, hours) in enumerate(
        ((at(YESTERDAY, 18), at(YESTERDAY, 21, 30), Decimal("3.5")), (at(DAY, 7), None, None))
    ):
        volunteer = Volunteer.objects.create(
            community=w.community, street=w.community.street, name=f"志愿者{n}", phone=f"1390000000{n}"
        )
        Shift.objects.create(
            need=need,
            volunteer=volunteer,
            starts_at=need.starts_at,
            ends_at=need.ends_at,
            status=Shift.Status.ACCEPTED,
            checked_in_at=checked_in,
            checked_out_at=checked_out,
            hours=hours,
        )
    return Scene(world=w, r1b=r1b, r1c=r1c, r1d=r1d, r2b=r2b, loose=loose)
