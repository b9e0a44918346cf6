"""Reading epidemic data: control types, who is responsible for a building, batches and verifications."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from linli.core.access import scope_q
from linli.core.models import User
from linli.core.roles import Role
from linli.core.selectors import community_commanders
from linli.epidemic.models import ControlType, DispatchBatch, DispatchRecord
from linli.registry.models import Building, Grid
from linli.tasks.models import Team


def control_types_for(community_id: int, *, include_inactive: bool = False) -> list[ControlType]:
    """The community's own types, and the built-in ones it has not replaced (same key)."""
    types = list(ControlType.objects.filter(community_id=community_id).order_by("order", "id")) + list(
        ControlType.objects.filter(community__isnull=True).order_by("order", "id")
    )
    chosen: dict[str, ControlType] = {}
    for t in types:
        chosen.setdefault(t.key, t)
    result = sorted(chosen.values(), key=lambda t: (t.order, t.id))
    return result if include_inactive else [t for t in result if t.is_active]


def control_type_get(community_id: int, pk: int) -> ControlType | None:
    return next((t for t in control_types_for(community_id, include_inactive=True) if t.pk == pk), None)


@dataclass
class Routing:
    """Who answers for each building of a community: its grid, the grid worker, the grid leader, and the
    community commander at the top of every escalation chain."""

    community_id: int
    commander_id: int | None
    buildings: dict[int, tuple[int | None, int | None, int | None]] = field(default_factory=dict)
    grid_leaders: dict[int, int | None] = field(default_factory=dict)

    def for_building(self, building_id: int | None) -> tuple[int | None, int | None, int | None]:
        """(grid_id, worker_id, leader_id) for a building; (None, None, None) when unknown."""
        if building_id is None:
            return None, None, None
        return self.buildings.get(building_id, (None, None, None))

    def task_owners(self, building_id: int | None, team: str = "") -> dict[str, Any]:
        """TaskSpec fields for a task about a building: its grid worker (the grid leader when the building has
        none), or one of the community's teams; above either, the grid leader, then the commander."""
        _grid, worker_id, leader_id = self.for_building(building_id)
        above = {"leader_id": leader_id or self.commander_id, "commander_id": self.commander_id}
        if not team:
            return {"assignee_id": worker_id, **above}
        return {"team": team, "assignee_id": None, "position_title": str(Team(team).label), **above}


def routing_for(community_id: int) -> Routing:
    commander = community_commanders(community_id).values_list("id", flat=True).first()
    leaders: dict[int, int | None] = dict(
        Grid.objects.filter(community_id=community_id).values_list("id", "leader_id")
    )
    # A grid without a named leader: its grid-leader account, if there is one.
    missing = [g for g, leader in leaders.items() if leader is None]
    if missing:
        for grid_id, user_id in (
            User.objects.filter(
                grid_id__in=missing, role=Role.GRID_LEADER, is_active=True, is_service_account=False
            )
            .order_by("id")
            .values_list("grid_id", "id")
        ):
            if leaders.get(grid_id) is None:
                leaders[grid_id] = user_id
    active = set(
        User.objects.filter(community_id=community_id, is_active=True, is_service_account=False).values_list(
            "id", flat=True
        )
    )
    routing = Routing(community_id=community_id, commander_id=commander, grid_leaders=leaders)
    for building_id, grid_id, worker_id in Building.objects.filter(community_id=community_id).values_list(
        "id", "grid_id", "worker_id"
    ):
        leader = leaders.get(grid_id) if grid_id else None
        worker = worker_id if worker_id in active else None
        routing.buildings[building_id] = (grid_id, worker or leader, leader)
    return routing


# --- batches and verifications -----------------------------------------------------------------------


def batches_for(actor: User) -> QuerySet[DispatchBatch]:
    return DispatchBatch.objects.filter(scope_q(actor, grid=None))


def batch_get(actor: User, pk: int) -> DispatchBatch:
    batch = (
        batches_for(actor).select_related("community", "control_type", "received_by").filter(pk=pk).first()
    )
    if batch is None:
        raise Http404
    return batch


def records_for(actor: User) -> QuerySet[DispatchRecord]:
    """Grid staff see their grid's records and the ones they hold; community staff see all of theirs."""
    if not actor.is_authenticated:
        return DispatchRecord.objects.none()
    return DispatchRecord.objects.filter(scope_q(actor) | Q(assignee_id=actor.pk))


def record_get(actor: User, pk: int) -> DispatchRecord:
    record = records_for(actor).select_related("batch", "control_type").filter(pk=pk).first()
    if record is None:
        raise Http404
    return record


@dataclass
class Progress:
    total: int = 0
    done: int = 0
    done_late: int = 0
    open: int = 0
    open_late: int = 0
    next_due: dt.datetime | None = None  # the earliest deadline among the open records

    @property
    def late(self) -> int:
        return self.done_late + self.open_late

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def _progress_annotations(now: dt.datetime) -> dict[str, Any]:
    unverified = Q(verified_at__isnull=True)
    return {
        "total": Count("id"),
        "done": Count("id", filter=~unverified),
        "done_late": Count("id", filter=~unverified & Q(verified_at__gt=F("due_at"))),
        "open": Count("id", filter=unverified),
        "open_late": Count("id", filter=unverified & Q(due_at__lt=now)),
        "next_due": Min("due_at", filter=unverified),
    }


def batch_progress(
    records: QuerySet[DispatchRecord], batch_ids: list[int], now: dt.datetime | None = None
) -> dict[int, Progress]:
    """Done, open and late per batch, in one grouped query over the records the actor may see."""
    rows = (
        records.filter(batch_id__in=batch_ids)
        .order_by()
        .values("batch_id")
        .annotate(**_progress_annotations(now or timezone.now()))
    )
    return {r.pop("batch_id"): Progress(**r) for r in rows}


@dataclass
class WorkerProgress:
    name: str
    user_id: int | None
    progress: Progress


def batch_workers(
    records: QuerySet[DispatchRecord], batch: DispatchBatch, now: dt.datetime | None = None
) -> list[WorkerProgress]:
    """The batch by worker, the data group (no worker) first, then the most late."""
    rows = (
        records.filter(batch=batch)
        .order_by()
        .values("assignee_id")
        .annotate(**_progress_annotations(now or timezone.now()))
    )
    people = {
        u.pk: u.name for u in User.objects.filter(pk__in=[r["assignee_id"] for r in rows if r["assignee_id"]])
    }
    result = []
    for r in rows:
        user_id = r.pop("assignee_id")
        result.append(WorkerProgress(people.get(user_id, "") if user_id else "", user_id, Progress(**r)))
    return sorted(
        result, key=lambda w: (w.user_id is not None, -w.progress.open_late, -w.progress.open, w.name)
    )


def open_first(qs: QuerySet[DispatchRecord]) -> QuerySet[DispatchRecord]:
    """Open ones first by deadline (so the late ones lead), then what was verified, latest first. No
    computed sort key: the (…, verified_at, due_at) indexes give this order without sorting."""
    return qs.order_by(F("verified_at").desc(nulls_first=True), "due_at", "id")


def my_verifications(actor: User, *, finished: bool = False) -> QuerySet[DispatchRecord]:
    qs = DispatchRecord.objects.filter(assignee_id=actor.pk).select_related(
        "control_type", "batch", "verified_by"
    )
    if finished:
        return qs.filter(verified_at__isnull=False).order_by("-verified_at", "-id")
    return open_first(qs.filter(verified_at__isnull=True))


def my_verification_counts(actor: User, now: dt.datetime | None = None) -> Progress:
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    row = (
        DispatchRecord.objects.filter(assignee_id=actor.pk)
        .filter(Q(verified_at__isnull=True) | Q(verified_at__gte=today))
        .aggregate(**_progress_annotations(now))
    )
    return Progress(**row)
