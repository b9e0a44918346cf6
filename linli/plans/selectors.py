"""Reading plans. Templates are shared by everyone; a community's plans are seen by its staff only."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from linli.core.access import scope_q
from linli.core.models import User
from linli.plans.models import Plan, Position, PositionHolder


def plans_for(actor: User) -> QuerySet[Plan]:
    if not actor.is_authenticated or not actor.is_active:
        return Plan.objects.none()
    return Plan.objects.filter(Q(is_template=True) | scope_q(actor, grid=None))


def plan_get(actor: User, pk: int) -> Plan:
    plan = plans_for(actor).select_related("community", "source", "updated_by").filter(pk=pk).first()
    if plan is None:
        raise Http404
    return plan


def plan_list(actor: User, *, templates: bool) -> QuerySet[Plan]:
    return (
        plans_for(actor)
        .filter(is_template=templates)
        .select_related("community")
        .annotate(step_count=Count("steps", distinct=True), position_count=Count("positions", distinct=True))
        .order_by("is_archived", "category", "title")
    )


def positions_with_holders(plan: Plan) -> list[Position]:
    holders = PositionHolder.objects.select_related("user")
    return list(plan.positions.prefetch_related(Prefetch("holders", queryset=holders)))


def staffing_gaps(positions: list[Position]) -> list[Position]:
    """Positions nobody fills: neither a person nor a stand-in."""
    return [p for p in positions if not any(h.user_id or h.name for h in p.holders.all())]
