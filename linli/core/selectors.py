from __future__ import annotations

from django.db.models import Q, QuerySet

from linli.core.access import community_ids_in_scope
from linli.core.models import AuditLog, User


def audit_for(actor: User) -> QuerySet[AuditLog]:
    """Administrators see their area's log; everyone else sees what they did themselves."""
    qs = AuditLog.objects.select_related("actor")
    if actor.is_superuser:
        return qs
    if actor.is_admin_role:
        ids = community_ids_in_scope(actor) or []
        area = Q(community_id__in=ids)
        if actor.street_id and actor.scope_level == "street":
            area |= Q(street_id=actor.street_id)
        return qs.filter(area | Q(actor=actor))
    return qs.filter(actor=actor)


def audit_for_target(actor: User, target_type: str, target_id: int, limit: int = 50) -> list[AuditLog]:
    """The history of one object; the caller has already checked the actor may see the object."""
    return list(
        AuditLog.objects.filter(target_type=target_type, target_id=str(target_id)).select_related("actor")[
            :limit
        ]
    )


def community_staff(community_id: int | None) -> QuerySet[User]:
    """The people who can be given work in a community: its active staff accounts, not API service accounts."""
    return User.objects.filter(
        community_id=community_id or 0, is_active=True, is_service_account=False
    ).order_by("display_name", "username")


def community_commanders(community_id: int | None) -> QuerySet[User]:
    """The community's commanders (its administrators' own accounts, not a grid's, not API accounts): the top
    of every escalation chain, first by seniority of account."""
    from linli.core.roles import Role

    return community_staff(community_id).filter(role=Role.COMMUNITY_ADMIN, grid__isnull=True).order_by("id")
