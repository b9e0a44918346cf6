"""Volunteers API: the pool, and one optimal assignment for many needs at once."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from linli.core.access import community_ids_in_scope
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Building
from linli.registry.selectors import community_get
from linli.volunteers import dispatch
from linli.volunteers import selectors as sel
from linli.volunteers.models import Skill, Volunteer
from linli.volunteers.services import can_coordinate

router = Router(tags=["volunteers"])


class VolunteerOut(Schema):
    id: int
    name: str
    tier: str
    status: str
    community: str
    building: str | None
    skills: list[str]
    on_call: bool
    phone: str = Field(description="masked")


@router.get("", response=list[VolunteerOut])
def volunteers(
    request: HttpRequest,
    skill: str = "",
    available: str = "",
    tier: str = "",
    status: str = "",
    limit: int = 200,
) -> list[VolunteerOut]:
    """The caller's volunteers. `skill` is a skill code and counts only with a valid certificate where
    the skill needs one; `available` is "now" or "on_call"."""
    actor: User = request.user  # type: ignore[assignment]
    skill_obj = None
    if skill:
        skill_obj = Skill.objects.filter(code=skill).first()
        if skill_obj is None:
            raise HttpError(400, f"unknown skill {skill!r}")
    qs = sel.pool(actor, skill=skill_obj, available=available, tier=tier, status=status)[
        : max(1, min(limit, 1000))
    ]
    return [
        VolunteerOut(
            id=v.pk,
            name=v.name,
            tier=v.tier,
            status=v.status,
            community=v.community.code,
            building=v.building.number if v.building else None,
            skills=[s.code for s in v.skills.all()],
            on_call=v.on_call,
            phone=v.masked_phone,
        )
        for v in qs
    ]


class NeedIn(Schema):
    skills: list[str] = Field(description="skill codes; a volunteer must hold all of them")
    count: int = Field(ge=1, le=500)
    community: str = Field(description="community code")
    building: int | None = Field(None, description="building id: the place, for distance")
    start: dt.datetime
    end: dt.datetime


class DispatchIn(Schema):
    needs: list[NeedIn] = Field(max_length=2000)


class AssignedOut(Schema):
    volunteer: int
    name: str
    cost: int


class AlternativeOut(Schema):
    skill: str
    volunteers: list[int]


class NeedResultOut(Schema):
    need: int = Field(description="position in the request")
    assigned: list[AssignedOut]
    unmet: int
    reason: str | None = None
    alternatives: list[AlternativeOut] = Field(
        default_factory=list, description="related skills and who could come"
    )


class DispatchOut(Schema):
    needs: list[NeedResultOut]
    filled: int
    unmet: int
    cost: int
    greedy_cost: int
    greedy_filled: int


class ErrorOut(Schema):
    detail: str


MAX_PLACES = 20_000  # one request: far more than a district fills at once
MAX_SHIFT = dt.timedelta(hours=24)


def _aware(value: dt.datetime) -> dt.datetime:
    """Times without a zone are local (Asia/Shanghai), as a person writes them."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@router.post("/dispatch", response={200: DispatchOut, 400: ErrorOut})
def dispatch_needs(request: HttpRequest, data: DispatchIn) -> Status:
    """One least-cost assignment of the caller's volunteers to these needs; nothing is called out.
    Nobody gets two needs whose shifts overlap. Unmet places say why, with the nearest alternatives.
    The cost of a place: 1,000 per step of distance (same building, grid, community, street), 200 per
    live shift this week, 10 per hour served in the last 30 days."""
    actor: User = request.user  # type: ignore[assignment]
    skills = {s.code: s.pk for s in Skill.objects.all()}
    if sum(n.count for n in data.needs) > MAX_PLACES:
        return Status(400, ErrorOut(detail=f"at most {MAX_PLACES} places in one request"))
    specs: list[dispatch.NeedSpec] = []
    streets: set[int] = set()
    for index, need in enumerate(data.needs):
        unknown = [code for code in need.skills if code not in skills]
        if unknown:
            return Status(400, ErrorOut(detail=f"need {index}: unknown skills {unknown}"))
        start, end = _aware(need.start), _aware(need.end)
        if end <= start:
            return Status(400, ErrorOut(detail=f"need {index}: the shift must end after it starts"))
        if end - start > MAX_SHIFT:
            return Status(400, ErrorOut(detail=f"need {index}: a shift is at most 24 hours"))
        community = community_get(actor, need.community)
        if not can_coordinate(actor, community.pk):
            raise PermissionDenied
        building = (
            Building.objects.filter(pk=need.building, community=community).first() if need.building else None
        )
        if need.building and building is None:
            return Status(400, ErrorOut(detail=f"need {index}: unknown building {need.building}"))
        streets.add(community.street_id)
        scope = (
            None
            if actor.is_superuser or actor.role == Role.STREET_ADMIN
            else frozenset(community_ids_in_scope(actor) or [])
        )
        specs.append(
            dispatch.NeedSpec(
                key=index,
                community_id=community.pk,
                grid_id=building.grid_id if building else None,
                building_id=building.pk if building else None,
                skill_ids=tuple(sorted(skills[c] for c in need.skills)),
                count=need.count,
                starts_at=start,
                ends_at=end,
                street_id=community.street_id,
                community_ids=scope,
            )
        )
    wanted = {s for spec in specs for s in spec.skill_ids} if all(spec.skill_ids for spec in specs) else None
    pool = dispatch.load_pool(street_ids=streets, skill_ids=wanted)
    solution = dispatch.solve(pool, specs)
    baseline = dispatch.greedy(pool, specs)
    names = dict(
        Volunteer.objects.filter(
            pk__in=[v for people in solution.assigned.values() for v, _c in people]
        ).values_list("pk", "name")
    )
    codes = {pk: code for code, pk in skills.items()}
    results = []
    for spec in specs:
        unmet = solution.unmet.get(spec.key, 0)
        why = dispatch.shortfall(spec) if unmet else None
        results.append(
            NeedResultOut(
                need=spec.key,
                assigned=[
                    AssignedOut(volunteer=v, name=names[v], cost=c) for v, c in solution.assigned[spec.key]
                ],
                unmet=unmet,
                reason=_reason(why, filled=len(solution.assigned[spec.key])) if why else None,
                alternatives=[
                    AlternativeOut(skill=codes[skill.pk], volunteers=ids) for skill, ids in why.related
                ]
                if why
                else [],
            )
        )
    return Status(
        200,
        DispatchOut(
            needs=results,
            filled=solution.filled,
            unmet=sum(solution.unmet.values()),
            cost=solution.cost,
            greedy_cost=baseline.cost,
            greedy_filled=baseline.filled,
        ),
    )


def _reason(why: dispatch.Shortfall, filled: int) -> str:
    if not why.with_skill:
        return _("Nobody you coordinate has these skills.")
    return _(
        "%(n)d volunteers have the skills: %(lapsed)d without a valid certificate, %(free)d not free then, "
        "%(booked)d already booked; %(filled)d placed here, the others are placed where they cost less."
    ) % {
        "n": why.with_skill,
        "lapsed": why.lapsed,
        "free": why.not_free,
        "booked": why.booked,
        "filled": filled,
    }
