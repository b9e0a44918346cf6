"""Reading plans. Templates are shared by everyone; a community's plans are seen by its staff only."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from linli.core.access import scope_q
from linli.core.models import User
from linli.plans.models import Phase, Plan, Position, PositionHolder, Step
from linli.tasks.models import Team


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


def team_leads(positions: list[Position]) -> dict[str, Position]:
    """Each team's lead post (commander, site commander or leader): it owns steps that name no post."""
    leads: dict[str, Position] = {}
    for position in positions:
        if position.is_lead:
            leads.setdefault(position.team, position)
    return leads


@dataclass
class Card:
    """A response card: one post's duties, first actions in order, recovery steps and whom it reports to."""

    position: Position
    first_actions: list[Step]
    recovery: list[Step]
    leader: Position | None
    live_url: str = ""  # filled in by the page, which knows the site's address
    qr: str = ""


def response_cards(plan: Plan, positions: list[Position]) -> list[Card]:
    steps = list(plan.steps.all())
    leads = team_leads(positions)
    cards = []
    for position in positions:
        lead = leads.get(position.team)
        mine = [
            s
            for s in steps
            if s.position_id == position.pk
            or (s.position_id is None and lead is not None and lead.pk == position.pk)
        ]
        if not mine and lead is not None and not position.is_lead:
            # Members act on their team's steps alongside the leader.
            mine = [s for s in steps if s.team == position.team]
        cards.append(
            Card(
                position=position,
                first_actions=[s for s in mine if s.phase != Phase.TERMINATION],
                recovery=[s for s in mine if s.phase == Phase.TERMINATION],
                leader=lead if lead is not None and lead.pk != position.pk else None,
            )
        )
    return cards


def procedure(plan: Plan) -> list[tuple[str, str, list[tuple[str, str, list[Step]]]]]:
    """The steps by team, then by phase, in order; teams and phases without steps are left out."""
    steps = list(plan.steps.select_related("position"))
    result = []
    for team, label in Team.choices:
        team_steps = [s for s in steps if s.team == team]
        phases = [
            (ph, str(ph_label), [s for s in team_steps if s.phase == ph]) for ph, ph_label in Phase.choices
        ]
        if team_steps:
            result.append((str(team), str(label), [p for p in phases if p[2]]))
    return result
