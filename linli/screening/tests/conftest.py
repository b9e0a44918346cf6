"""A small community for campaigns: the shared world plus a few families with an over-80, a child, a
bed-bound resident and people under control."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from django.utils import timezone

from linli.conftest import World
from linli.epidemic.models import ControlCase, ControlType
from linli.factories import HouseholdFactory, ResidentFactory
from linli.registry.models import Resident, SpecialCare, SpecialKind
from linli.screening import services
from linli.screening.models import Campaign


@dataclass
class Area:
    world: World
    elder: Resident  # over 80, building 1
    child: Resident  # building 1
    bedbound: Resident  # building 2
    isolated: Resident  # home isolation (secondary contact), building 2
    monitored: Resident  # health monitoring (companion), building 1
    day: dt.date


def _case(resident: Resident, key: str) -> None:
    control_type = ControlType.objects.get(community__isnull=True, key=key)
    ControlCase.objects.create(
        community_id=resident.community_id,
        grid_id=resident.grid_id,
        resident=resident,
        control_type=control_type,
        measure=control_type.measure,
        started_at=timezone.now(),
        release_on=timezone.localdate() + dt.timedelta(days=7),
    )


# Every test runs on a testing day at 08:00 local time (07:00 sampling has begun; check-in is open once
# notices are out), whatever the clock says when the suite runs.
TESTING_DAY = dt.date(2030, 6, 3)


@pytest.fixture(autouse=True)
def testing_day_morning() -> Iterator[None]:
    when = timezone.make_aware(dt.datetime.combine(TESTING_DAY, dt.time(8, 0)))
    with time_machine.travel(when, tick=True):
        yield


@pytest.fixture
def area(world: World) -> Area:
    day = timezone.localdate()
    h1 = HouseholdFactory(building=world.building1, room="102")
    elder = ResidentFactory(household=h1, name="张老", birth_date=dt.date(1935, 1, 1))
    child = ResidentFactory(household=h1, name="张小", birth_date=day - dt.timedelta(days=365 * 6))
    ResidentFactory(household=h1, name="张中")
    h2 = HouseholdFactory(building=world.building2, room="202")
    bedbound = ResidentFactory(household=h2, name="刘卧")
    SpecialCare.objects.create(resident=bedbound, kind=SpecialKind.BED_BOUND)
    isolated = ResidentFactory(household=h2, name="刘隔")
    _case(isolated, "secondary_contact")
    monitored = ResidentFactory(household=HouseholdFactory(building=world.building1, room="103"), name="陈伴")
    _case(monitored, "companion")
    return Area(world, elder, child, bedbound, isolated, monitored, day)


@pytest.fixture
def campaign(area: Area) -> Campaign:
    return services.campaign_open(actor=area.world.commander, community=area.world.community, day=area.day)


@pytest.fixture
def notified(area: Area, campaign: Campaign) -> Campaign:
    """Scheduled, with its notices out: check-in is open on the day."""
    services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    services.campaign_notify(actor=area.world.commander, campaign=campaign)
    campaign.refresh_from_db()
    return campaign
