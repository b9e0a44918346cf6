"""Reading incidents and the site plan. An incident is a community-wide event (a fire in one grid's building
concerns all the community's staff), so staff and observers of the community see all of its incidents;
everyone else gets a 404. The reporter sees their own report through its token."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import pgettext_lazy

from linli.comms.incidents.triage import incident_tasks_q, plan_matches
from linli.comms.models import Incident, IncidentMedia, SitePlan
from linli.core.access import scope_q
from linli.core.models import User
from linli.plans.models import Plan
from linli.registry.models import Building
from linli.tasks.models import Task

Kind = Incident.Kind
Status = Incident.Status

# The letter on a marker (the Chinese UI shows 火, 水, 电 …): a marker must be read at a glance on a phone.
KIND_MARKS = {
    Kind.FIRE: pgettext_lazy("incident mark: fire", "F"),
    Kind.WATER: pgettext_lazy("incident mark: water", "W"),
    Kind.POWER: pgettext_lazy("incident mark: power", "P"),
    Kind.GAS: pgettext_lazy("incident mark: gas", "G"),
    Kind.INJURY: pgettext_lazy("incident mark: injury", "+"),
    Kind.LIFT: pgettext_lazy("incident mark: lift", "L"),
    Kind.SECURITY: pgettext_lazy("incident mark: security", "S"),
    Kind.STRUCTURE: pgettext_lazy("incident mark: structure", "D"),
    Kind.OTHER: pgettext_lazy("incident mark: other", "?"),
}
STATUS_COLOURS = {
    Status.NEW: "#c62828",
    Status.TRIAGED: "#e67e00",
    Status.CLOSED: "#2e7d32",
    Status.REJECTED: "#7b8794",
}
# The list's filters: open (new and being handled) first, as the night shift needs them.
FILTERS = {
    "open": [Status.NEW, Status.TRIAGED],
    "new": [Status.NEW],
    "triaged": [Status.TRIAGED],
    "closed": [Status.CLOSED],
    "rejected": [Status.REJECTED],
    "all": None,
}
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,32}")


def incidents_for(actor: User) -> QuerySet[Incident]:
    return Incident.objects.filter(scope_q(actor, grid=None))


def incident_get(actor: User, pk: int) -> Incident:
    incident = (
        incidents_for(actor)
        .select_related(
            "community", "building__grid", "building__worker", "triaged_by", "reported_by", "response"
        )
        .filter(pk=pk)
        .first()
    )
    if incident is None:
        raise Http404
    return incident


def incident_by_token(token: str) -> Incident | None:
    if not TOKEN_RE.fullmatch(token):
        return None
    return Incident.objects.select_related("community", "building").filter(token=token).first()


def incident_list(community_id: int, show: str = "open") -> QuerySet[Incident]:
    """A community's incidents for the map and the list, newest first (the caller checked the community is
    the actor's)."""
    qs = Incident.objects.filter(community_id=community_id)
    statuses = FILTERS.get(show, FILTERS["open"])
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    return qs.select_related("building").annotate(media_count=Count("media")).order_by("-created_at", "-id")


def status_counts(community_id: int) -> dict[str, int]:
    rows = Incident.objects.filter(community_id=community_id).values_list("status").annotate(n=Count("id"))
    counts = {s: 0 for s in Status.values}
    counts.update({status: n for status, n in rows})
    counts["open"] = counts[Status.NEW] + counts[Status.TRIAGED]
    counts["all"] = sum(counts[s] for s in Status.values)
    return counts


def open_counts(community_ids: list[int]) -> dict[int, int]:
    """Open incidents per community: a street account's chips to choose a community."""
    return dict(
        Incident.objects.filter(community_id__in=community_ids, status__in=FILTERS["open"])
        .values_list("community_id")
        .annotate(n=Count("id"))
        .values_list("community_id", "n")
    )


def siteplan_of(community_id: int) -> SitePlan | None:
    return SitePlan.objects.filter(community_id=community_id).first()


def buildings_on_plan(community_id: int) -> list[Building]:
    """The community's buildings with their placement (None when not placed yet), in number order."""
    return list(
        Building.objects.filter(community_id=community_id)
        .select_related("placement")
        .order_by("sort_key", "number")
    )


def placement_of(building: Building) -> tuple[float, float] | None:
    try:
        p = building.placement  # type: ignore[attr-defined]
    except Building.placement.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None
    return (p.x, p.y)


def incident_media(incident: Incident) -> list[IncidentMedia]:
    return list(incident.media.order_by("id"))


def media_get(actor: User, pk: int) -> IncidentMedia:
    media = (
        IncidentMedia.objects.filter(pk=pk, incident__in=incidents_for(actor).values("pk"))
        .select_related("incident")
        .first()
    )
    if media is None:
        raise Http404
    return media


def incident_tasks(incident: Incident) -> list[Task]:
    return list(
        Task.objects.filter(**incident_tasks_q(incident.pk))  # type: ignore[arg-type]
        .select_related("assignee")
        .order_by("created_at", "id")
    )


@dataclass
class PlanChoice:
    plan: Plan
    score: int


def plans_for_incident(incident: Incident) -> list[PlanChoice]:
    """The community's plans that can be activated, the best fit for the incident's kind first."""
    plans = (
        Plan.objects.filter(community_id=incident.community_id, is_template=False, is_archived=False)
        .select_related("source")
        .order_by("title")
    )
    choices = [
        PlanChoice(p, plan_matches(incident, p, p.source.template_key if p.source is not None else ""))
        for p in plans
    ]
    return sorted(choices, key=lambda c: -c.score)


@dataclass
class Marker:
    incident: Incident
    x: float  # percent
    y: float
    dx: float  # pixels, to fan out markers at one spot
    dy: float
    colour: str
    mark: str


def markers(incidents: list[Incident]) -> list[Marker]:
    """Markers for the incidents on the plan. Several at one spot (one building's) fan out around it, so each
    can be tapped; the newest is drawn last, on top."""
    placed = [i for i in incidents if i.on_plan]
    by_spot: dict[tuple[float, float], int] = {}
    out = []
    for incident in reversed(placed):
        assert incident.plan_x is not None and incident.plan_y is not None
        spot = (round(incident.plan_x, 3), round(incident.plan_y, 3))
        n = by_spot.get(spot, 0)
        by_spot[spot] = n + 1
        if n == 0:
            dx = dy = 0.0
        else:
            ring = (n - 1) // 6 + 1
            angle = (n - 1) % 6 * math.pi / 3 - math.pi / 2
            dx, dy = 26 * ring * math.cos(angle), 26 * ring * math.sin(angle)
        out.append(
            Marker(
                incident=incident,
                x=round(incident.plan_x * 100, 3),
                y=round(incident.plan_y * 100, 3),
                dx=round(dx, 1),
                dy=round(dy, 1),
                colour=STATUS_COLOURS.get(Status(incident.status), "#7b8794"),
                mark=str(KIND_MARKS.get(Kind(incident.kind), "?")),
            )
        )
    return out


def reported_by_me(actor: User, limit: int = 10) -> list[Incident]:
    """A volunteer's or staff member's own recent reports, to follow them on their status pages."""
    if not actor.is_authenticated:
        return []
    return list(
        Incident.objects.filter(Q(reported_by=actor))
        .select_related("building")
        .order_by("-created_at")[:limit]
    )
