"""Access scoping: everyone sees only their street, community or grid.

Every selector that returns people or cases filters with scope_q; the per-aggregate access functions
(e.g. registry.selectors.resident_get) turn "not in scope" into a 404, never a hint that it exists.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from linli.core.models import User
from linli.core.roles import ScopeLevel

NOTHING = Q(pk__in=[])


def community_ids_in_scope(actor: User) -> list[int] | None:
    """The communities the actor may see, or None for "all" (superusers)."""
    from linli.registry.models import Community

    if actor.is_superuser:
        return None
    level = actor.scope_level
    if level in (ScopeLevel.GRID, ScopeLevel.COMMUNITY):
        return [actor.community_id] if actor.community_id else []
    if level == ScopeLevel.STREET:
        return list(Community.objects.filter(street_id=actor.street_id or 0).values_list("id", flat=True))
    return []


def scope_q(actor: User, *, community: str = "community", grid: str | None = "grid") -> Q:
    """A filter for objects the actor may see.

    `community` and `grid` are lookup paths from the queried model to its community id and grid id.
    Pass grid=None for community-wide objects, which grid staff see across their community.
    """
    if not actor.is_authenticated or not actor.is_active:
        return NOTHING
    if actor.is_superuser:
        return Q()
    level = actor.scope_level
    if level == ScopeLevel.GRID and grid is not None:
        return Q(**{f"{grid}_id": actor.grid_id})
    ids = community_ids_in_scope(actor)
    if not ids:
        return NOTHING
    if len(ids) == 1:
        return Q(**{f"{community}_id": ids[0]})
    return Q(**{f"{community}_id__in": ids})


def administers(actor: User, community_id: int | None = None) -> bool:
    """Whether the actor administers the community (its commander, the street office above it, a
    superuser): who runs campaigns, registers key sites, sets visit plans. Without a community: whether the
    actor administers any."""
    from linli.core.roles import ADMIN_ROLES

    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if actor.role not in ADMIN_ROLES:
        return False
    if community_id is None:
        return True
    ids = community_ids_in_scope(actor)
    return ids is None or community_id in ids


def acts(actor: User) -> bool:
    """Staff who do the work (record, log, follow up), not observers, department systems or volunteers'
    accounts, which only look or have their own pages."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    return actor.is_superuser or not (actor.is_read_only or actor.is_outside)


def require_acting(actor: User, message: str = "") -> None:
    """PermissionDenied unless `actor` acts (see acts): a named person's health data (their reports, what
    they bought at a pharmacy) is for the staff who follow people up; observers get counts and masked names."""
    if not acts(actor):
        raise PermissionDenied(message)
