"""Who a broadcast reaches. Residents: the people living in the scope (the whole community, chosen buildings,
or special populations, the age-derived ones included), one recipient each. Texts go to phones, not
people: a resident without a mobile is reached on their household's phone (a child, a grandparent), and a
phone shared by a family gets one SMS whose confirmation counts for everyone on it. A household with no
mobile at all is visited instead. Staff: the community's active staff accounts in the scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from linli.comms.models.broadcasts import Audience, Broadcast
from linli.core.identity import mobile_number
from linli.core.models import User
from linli.core.roles import OUTSIDE_ROLES, Role
from linli.health.selfreport import LIVING_HERE
from linli.registry.models import (
    DERIVED_KINDS,
    INFANT_MAX_YEARS,
    Building,
    Relation,
    Resident,
    SpecialCare,
    SpecialKind,
)

Scope = Broadcast.Scope


@dataclass(frozen=True)
class Target:
    """One recipient to write: a resident (with their building) or a staff account, and the phone the SMS
    goes to ("" when there is none)."""

    resident_id: int | None
    user_id: int | None
    building_id: int | None
    household_id: int | None
    phone: str


def years_ago(years: int, today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def special_q(kinds: Sequence[str], today: dt.date | None = None) -> Q:
    """Residents of any of the special populations: recorded tags, and over-80s and infants by birth date
    (as Resident.special_kinds() derives them), in SQL."""
    today = today or timezone.localdate()
    parts: list[Q] = []
    recorded = [k for k in kinds if k not in DERIVED_KINDS]
    if recorded:
        parts.append(Q(Exists(SpecialCare.objects.filter(resident_id=OuterRef("pk"), kind__in=recorded))))
    if SpecialKind.OVER_80 in kinds:
        parts.append(Q(birth_date__lte=years_ago(80, today)))
    if SpecialKind.INFANT in kinds:
        parts.append(Q(birth_date__gt=years_ago(INFANT_MAX_YEARS, today)))
    return reduce(or_, parts) if parts else Q(pk__in=[])


def mobile(phone: str) -> str:
    """The phone if it can receive an SMS (a mobile number), else ""."""
    return mobile_number(phone) or ""


def resident_targets(
    *, community_id: int, scope: str, building_ids: Sequence[int] = (), special_kinds: Sequence[str] = ()
) -> list[Target]:
    """The residents in scope, building by building and room by room, each with the phone that reaches them."""
    qs = Resident.objects.filter(community_id=community_id, residency__in=LIVING_HERE)
    if scope == Scope.BUILDINGS:
        qs = qs.filter(household__building_id__in=list(building_ids))
    elif scope == Scope.SPECIAL:
        qs = qs.filter(special_q(special_kinds))
    rows = list(
        qs.order_by().values_list("pk", "phone", "household_id", "household__building_id", "relation")
    )
    # Each household's phone for its members who have none: the householder's mobile, else anyone's (of the
    # whole household, not only those in scope: an over-80 is reached on the daughter's phone).
    needy = {household_id for _pk, phone, household_id, _b, _r in rows if not mobile(phone)}
    household_phone: dict[int, str] = {}
    if needy:
        ids = list(needy)
        for start in range(0, len(ids), 5000):
            members = (
                Resident.objects.filter(household_id__in=ids[start : start + 5000], residency__in=LIVING_HERE)
                .exclude(phone="")
                .order_by()
                .values_list("household_id", "phone", "relation")
            )
            ranked = sorted(members, key=lambda m: m[2] != Relation.SELF)
            for household_id, phone, _relation in ranked:
                if household_id not in household_phone and mobile(phone):
                    household_phone[household_id] = mobile(phone)
    targets = [
        Target(
            resident_id=pk,
            user_id=None,
            building_id=building_id,
            household_id=household_id,
            phone=mobile(phone) or household_phone.get(household_id, ""),
        )
        for pk, phone, household_id, building_id, _relation in rows
    ]
    targets.sort(key=lambda t: (t.building_id or 0, t.household_id or 0, t.resident_id or 0))
    return targets


STAFF_EXCLUDED = frozenset({Role.DEPARTMENT, *OUTSIDE_ROLES})


def staff_targets(*, community_id: int, scope: str, building_ids: Sequence[int] = ()) -> list[Target]:
    """The community's active staff (not department systems, volunteers or service accounts); for chosen
    buildings, the staff of their grids and the buildings' own workers."""
    qs = User.objects.filter(community_id=community_id, is_active=True, is_service_account=False).exclude(
        role__in=list(STAFF_EXCLUDED)
    )
    if scope == Scope.BUILDINGS:
        grids = Building.objects.filter(pk__in=list(building_ids)).values("grid_id")
        workers = Building.objects.filter(pk__in=list(building_ids), worker__isnull=False).values("worker_id")
        qs = qs.filter(Q(grid_id__in=grids) | Q(pk__in=workers))
    return [
        Target(resident_id=None, user_id=pk, building_id=None, household_id=None, phone="")
        for pk in qs.order_by("pk").values_list("pk", flat=True)
    ]


def targets_for(
    *,
    community_id: int,
    audience: str,
    scope: str,
    building_ids: Sequence[int] = (),
    special_kinds: Sequence[str] = (),
) -> list[Target]:
    if audience == Audience.STAFF:
        return staff_targets(community_id=community_id, scope=scope, building_ids=building_ids)
    return resident_targets(
        community_id=community_id, scope=scope, building_ids=building_ids, special_kinds=special_kinds
    )


@dataclass(frozen=True)
class Preview:
    """What the compose page says before Send: "will reach 2,341 phones in 12 buildings; 37 households
    have no phone"."""

    audience: str
    people: int
    phones: int
    buildings: int
    households: int
    households_without_phone: int


def preview(
    *,
    community_id: int,
    audience: str,
    scope: str,
    building_ids: Sequence[int] = (),
    special_kinds: Sequence[str] = (),
) -> Preview:
    targets = targets_for(
        community_id=community_id,
        audience=audience,
        scope=scope,
        building_ids=building_ids,
        special_kinds=special_kinds,
    )
    households: dict[int, bool] = {}
    for t in targets:
        if t.household_id is not None:
            households[t.household_id] = households.get(t.household_id, False) or bool(t.phone)
    return Preview(
        audience=audience,
        people=len(targets),
        phones=len({t.phone for t in targets if t.phone}),
        buildings=len({t.building_id for t in targets if t.building_id}),
        households=len(households),
        households_without_phone=sum(1 for reached in households.values() if not reached),
    )
