from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from linli.conftest import World
from linli.core.models import User
from linli.core.roles import Role
from linli.factories import UserFactory
from linli.volunteers.models import ALL_WEEK, Certificate, Skill, Volunteer


@dataclass
class Force:
    world: World
    liaison_lead: User  # team member of the community: coordinates volunteers
    skills: dict[str, Skill]


@pytest.fixture
def force(world: World) -> Force:
    from linli.volunteers.catalogue import load_skills

    load_skills()
    lead = UserFactory(username="liaison", role=Role.TEAM_MEMBER, community=world.community)
    return Force(world, lead, {s.code: s for s in Skill.objects.all()})


def make_volunteer(
    force: Force,
    name: str,
    *skills: str,
    building=None,  # type: ignore[no-untyped-def]
    certified_until: dt.date | None = None,
    availability: int = ALL_WEEK,
    on_call: bool = True,
    phone: str | None = None,
    user: bool = True,
) -> Volunteer:
    world = force.world
    number = phone or f"139{Volunteer.objects.count():08d}"
    account = UserFactory(username=number, role=Role.VOLUNTEER) if user else None
    v = Volunteer.objects.create(
        community=world.community,
        name=name,
        phone=number,
        building=building,
        status=Volunteer.Status.ACTIVE,
        availability=availability,
        on_call=on_call,
        user=account,
    )
    for code in skills:
        skill = force.skills[code]
        v.skills.add(skill)
        if skill.needs_certificate:
            Certificate.objects.create(
                volunteer=v,
                skill=skill,
                number=f"C-{v.pk}-{code}",
                issuer="红十字会",
                issued_on=timezone.localdate() - dt.timedelta(days=365),
                expires_on=certified_until or timezone.localdate() + dt.timedelta(days=365),
            )
    return v


def tonight() -> tuple[dt.datetime, dt.datetime]:
    start = (timezone.localtime() + dt.timedelta(days=1)).replace(hour=19, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(hours=4)
