"""Writing the audit log. Every service that writes, reveals or exports calls audit_record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from linli.core.models import AuditLog, User
from linli.core.request_context import current_origin


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that changed."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if _plain(before.get(key)) != _plain(after.get(key))
    }


def _area_of(target: models.Model | None) -> tuple[int | None, int | None]:
    if target is None:
        return None, None
    community_id = getattr(target, "community_id", None)
    street_id = getattr(target, "street_id", None)
    if community_id and not street_id:
        community = getattr(target, "community", None)
        street_id = getattr(community, "street_id", None)
    return street_id, community_id


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    target_label: str = "",
    detail: str = "",
    changes: dict[str, Any] | None = None,
    community_id: int | None = None,
    street_id: int | None = None,
) -> AuditLog:
    where = current_origin()
    target_street, target_community = _area_of(target)
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.name if actor is not None else "system")[:150],
        ip=where.ip,
        user_agent=where.user_agent,
        via=where.via,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        street_id=street_id or target_street,
        community_id=community_id or target_community,
        detail=detail[:500],
        changes=changes or {},
    )


def reveal_logged(
    *,
    actor: User,
    target: models.Model,
    value: str,
    detail: str,
    target_label: str = "",
    community_id: int | None = None,
) -> str:
    """A full ID number or phone for a role that may see one (else PermissionDenied), with its audit row.
    The caller has loaded `target` in the actor's scope."""
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext as _

    if not actor.can_reveal:
        raise PermissionDenied(_("Your role may not see full ID numbers or phone numbers."))
    audit_record(
        actor=actor,
        action=AuditLog.Action.REVEAL,
        target=target,
        target_label=target_label,
        detail=detail,
        community_id=community_id,
    )
    return value
