"""Reading epidemic data: control types, who is responsible for a building, batches and verifications."""

from __future__ import annotations

from dataclasses import dataclass, field

from linli.core.models import User
from linli.core.roles import Role
from linli.epidemic.models import ControlType
from linli.registry.models import Building, Grid


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


def routing_for(community_id: int) -> Routing:
    commander = (
        User.objects.filter(
            community_id=community_id, role=Role.COMMUNITY_ADMIN, is_active=True, grid__isnull=True
        )
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    leaders = dict(Grid.objects.filter(community_id=community_id).values_list("id", "leader_id"))
    # A grid without a named leader: its grid-leader account, if there is one.
    missing = [g for g, leader in leaders.items() if leader is None]
    if missing:
        for grid_id, user_id in (
            User.objects.filter(grid_id__in=missing, role=Role.GRID_LEADER, is_active=True)
            .order_by("id")
            .values_list("grid_id", "id")
        ):
            if leaders.get(grid_id) is None:
                leaders[grid_id] = user_id
    active = set(User.objects.filter(community_id=community_id, is_active=True).values_list("id", flat=True))
    routing = Routing(community_id=community_id, commander_id=commander, grid_leaders=leaders)
    for building_id, grid_id, worker_id in Building.objects.filter(community_id=community_id).values_list(
        "id", "grid_id", "worker_id"
    ):
        leader = leaders.get(grid_id) if grid_id else None
        worker = worker_id if worker_id in active else None
        routing.buildings[building_id] = (grid_id, worker or leader, leader)
    return routing
