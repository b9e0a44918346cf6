"""Reads for the volunteer force, scoped to the actor's community or street."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from linli.core.access import community_ids_in_scope, scope_q
from linli.core.models import User
from linli.core.roles import Role
from linli.tasks.models import Team
from linli.volunteers.models import (
    Certificate,
    Enterprise,
    Need,
    PointEntry,
    Shift,
    Skill,
    Volunteer,
    period_bits,
)

# Which skill staffs which plan team when volunteers fill its posts.
TEAM_SKILL = {
    Team.LIAISON: "liaison",
    Team.LOGISTICS: "logistics",
    Team.SECURITY: "security",
    Team.MEDICAL: "first-aid",
    Team.ENGINEERING: "electrician",
}
EXPIRY_WARNING_DAYS = 60


def volunteers_for(actor: User) -> QuerySet[Volunteer]:
    """Staff see the volunteers serving their community (grid staff too: volunteers work across grids);
    street staff see the street's."""
    return Volunteer.objects.filter(scope_q(actor, grid=None)).select_related(
        "community", "building", "enterprise"
    )


def volunteer_get(actor: User, pk: int) -> Volunteer:
    volunteer = volunteers_for(actor).filter(pk=pk).first()
    if volunteer is None:
        raise Http404
    return volunteer


def valid_certificate_q(skill: Skill | int, on: dt.date, prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}skill": skill,
            f"{prefix}issued_on__lte": on,
        }
    ) & (Q(**{f"{prefix}expires_on__isnull": True}) | Q(**{f"{prefix}expires_on__gte": on}))


def pool(
    actor: User,
    *,
    tier: str = "",
    skill: Skill | None = None,
    status: str = "",
    available: str = "",
    q: str = "",
) -> QuerySet[Volunteer]:
    """The coordinator's pool. `skill` counts only with a valid certificate where the skill needs one;
    `available` is "now" (this period of the week, or on call) or "on_call"."""
    qs = volunteers_for(actor)
    if tier:
        qs = qs.filter(tier=tier)
    if status:
        qs = qs.filter(status=status)
    if skill is not None:
        qs = qs.filter(skills=skill)
        if skill.needs_certificate:
            today = timezone.localdate()
            qs = qs.filter(
                Exists(
                    Certificate.objects.filter(valid_certificate_q(skill, today), volunteer=OuterRef("pk"))
                )
            )
    if available == "on_call":
        qs = qs.filter(on_call=True)
    elif available == "now":
        now = timezone.now()
        bits = period_bits(now, now + dt.timedelta(minutes=1))
        if bits >> 21:  # the night: only those on call
            qs = qs.filter(on_call=True)
        else:
            qs = qs.annotate(free=F("availability").bitand(bits)).filter(Q(on_call=True) | Q(free=bits))
    if q.strip():
        qs = qs.filter(Q(name__contains=q.strip()) | Q(phone__endswith=q.strip()))
    return qs.prefetch_related("skills").order_by("status", "name")


def pool_counts(actor: User) -> dict[str, dict[str, int]]:
    qs = volunteers_for(actor)
    by_status = dict(qs.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    by_tier = dict(
        qs.filter(status=Volunteer.Status.ACTIVE)
        .values_list("tier")
        .annotate(n=Count("pk"))
        .values_list("tier", "n")
    )
    return {"status": by_status, "tier": by_tier}


def expiring_certificates(actor: User, days: int = EXPIRY_WARNING_DAYS) -> list[Certificate]:
    today = timezone.localdate()
    return list(
        Certificate.objects.filter(
            volunteer__in=volunteers_for(actor).filter(status=Volunteer.Status.ACTIVE),
            expires_on__lte=today + dt.timedelta(days=days),
            expires_on__gte=today - dt.timedelta(days=days),
        )
        .exclude(
            # Renewed: a certificate for the same skill that is valid now and lasts longer.
            Exists(
                Certificate.objects.filter(
                    volunteer=OuterRef("volunteer"), skill=OuterRef("skill"), issued_on__lte=today
                ).filter(Q(expires_on__isnull=True) | Q(expires_on__gt=OuterRef("expires_on")))
            )
        )
        .select_related("volunteer", "skill")
        .order_by("expires_on")
    )


@dataclass
class SkillGap:
    skill: Skill
    team: str
    posts: int  # volunteer posts for this team in the community's largest plan
    have: int  # active volunteers with the skill (and a valid certificate where needed)

    @property
    def gap(self) -> int:
        return max(0, self.posts - self.have)


def skill_gaps(community_id: int) -> list[SkillGap]:
    """Per skill: how many posts the community's plans give to volunteers (the largest plan counts:
    one runs at a time) against how many active volunteers can fill them."""
    from linli.plans.models import Position

    posts: dict[str, int] = defaultdict(int)
    per_plan: dict[tuple[int, str], int] = defaultdict(int)
    for plan_id, team in Position.objects.filter(
        plan__community_id=community_id,
        plan__is_template=False,
        plan__is_archived=False,
        filled_by__contains="志愿者",
    ).values_list("plan_id", "team"):
        per_plan[(plan_id, team)] += 1
    for (_plan, team), n in per_plan.items():
        posts[team] = max(posts[team], n)
    skills = {s.code: s for s in Skill.objects.filter(code__in=TEAM_SKILL.values())}
    today = timezone.localdate()
    rows = []
    for team, code in TEAM_SKILL.items():
        skill = skills.get(code)
        if skill is None:
            continue
        have = Volunteer.objects.filter(
            community_id=community_id, status=Volunteer.Status.ACTIVE, skills=skill
        )
        if skill.needs_certificate:
            have = have.filter(
                Exists(
                    Certificate.objects.filter(valid_certificate_q(skill, today), volunteer=OuterRef("pk"))
                )
            )
        rows.append(SkillGap(skill, str(Team(team).label), posts.get(team, 0), have.count()))
    return rows


def needs_for(actor: User, *, open_only: bool = True) -> QuerySet[Need]:
    qs = Need.objects.filter(scope_q(actor, grid=None)).select_related("community", "building", "response")
    if open_only:
        qs = qs.filter(status=Need.Status.OPEN, ends_at__gt=timezone.now())
    return qs.prefetch_related("skills").annotate(
        accepted=Count("shifts", filter=Q(shifts__status=Shift.Status.ACCEPTED)),
        offered=Count("shifts", filter=Q(shifts__status=Shift.Status.OFFERED)),
    )


def need_get(actor: User, pk: int) -> Need:
    need = needs_for(actor, open_only=False).filter(pk=pk).first()
    if need is None:
        raise Http404
    return need


def year_points(
    volunteer_ids: QuerySet[Volunteer] | list[int], year: int
) -> dict[int, tuple[Decimal, Decimal]]:
    rows = (
        PointEntry.objects.filter(volunteer__in=volunteer_ids, at__year=year)
        .values("volunteer_id")
        .annotate(points=Sum("points"), hours=Sum("hours"))
    )
    return {r["volunteer_id"]: (r["points"] or Decimal(0), r["hours"] or Decimal(0)) for r in rows}


def honour_roll(actor: User, year: int, limit: int = 50) -> list[tuple[Volunteer, Decimal, Decimal]]:
    """The year's most committed volunteers: points, then hours."""
    rows = (
        PointEntry.objects.filter(volunteer__in=volunteers_for(actor), at__year=year)
        .values("volunteer_id")
        .annotate(points=Sum("points"), hours=Sum("hours"))
        .order_by("-points", "-hours", "volunteer_id")[:limit]
    )
    people = Volunteer.objects.select_related("enterprise").in_bulk([r["volunteer_id"] for r in rows])
    return [(people[r["volunteer_id"]], r["points"], r["hours"]) for r in rows]


def enterprises_for(actor: User) -> QuerySet[Enterprise]:
    """An enterprise contact sees their own; coordinators of the street see its enterprises."""
    from linli.volunteers.services import COORDINATOR_ROLES

    if actor.is_superuser:
        return Enterprise.objects.all()
    if actor.role == Role.ENTERPRISE:
        return Enterprise.objects.filter(accounts=actor)
    if actor.street_id and actor.role in COORDINATOR_ROLES:
        return Enterprise.objects.filter(street_id=actor.street_id)
    return Enterprise.objects.none()


def enterprise_get(actor: User, pk: int) -> Enterprise:
    enterprise = enterprises_for(actor).filter(pk=pk).first()
    if enterprise is None:
        raise Http404
    return enterprise


def enterprise_people(
    actor: User, enterprise: Enterprise, year: int
) -> list[tuple[Volunteer, Decimal, Decimal]]:
    """The enterprise's people with the year's points and hours: all of them for its own contact,
    those of the viewer's communities for staff."""
    people = enterprise.volunteers.select_related("community").prefetch_related("skills").order_by("name")
    if actor.role != Role.ENTERPRISE and not actor.is_superuser:
        people = people.filter(community_id__in=community_ids_in_scope(actor) or [])
    rows = list(people)
    totals = year_points([v.pk for v in rows], year)
    return [(v, *totals.get(v.pk, (Decimal(0), Decimal(0)))) for v in rows]


def my_shifts(volunteer: Volunteer) -> dict[str, list[Shift]]:
    now = timezone.now()
    shifts = list(
        volunteer.shifts.filter(ends_at__gt=now - dt.timedelta(days=30))
        .select_related("need__building", "need__community")
        .order_by("starts_at")
    )
    return {
        "offered": [s for s in shifts if s.status == Shift.Status.OFFERED and s.ends_at > now],
        # Still to do, or done without checking out yet (the check-out button stays until they do).
        "upcoming": [
            s
            for s in shifts
            if s.status == Shift.Status.ACCEPTED
            and s.checked_out_at is None
            and (s.ends_at > now or s.checked_in_at)
        ],
        "done": [s for s in shifts if s.checked_out_at is not None][-10:],
    }
