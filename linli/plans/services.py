"""Writing plans: copying from a template, versioned edits that never lose a colleague's changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.plans.document import plan_build, plan_document
from linli.plans.models import Plan, PlanRevision
from linli.registry.models import Community


class PlanConflict(ValidationError):
    """Someone saved the plan since this person opened it."""


def can_edit_plan(actor: User, plan: Plan) -> bool:
    if plan.is_template:
        return actor.is_superuser
    return actor.is_active and actor.is_admin_role


def _require_edit(actor: User, plan: Plan) -> None:
    if not can_edit_plan(actor, plan):
        raise PermissionDenied(_("Only the community's commander or administrator may change plans."))


def _record_revision(*, actor: User, plan: Plan, note: str) -> None:
    PlanRevision.objects.create(
        plan=plan, version=plan.version, actor=actor, note=note[:300], snapshot=plan_document(plan)
    )


def plan_copy(*, actor: User, source: Plan, community: Community, title: str = "") -> Plan:
    """A community's own plan, copied from a template or another plan. Staffing is copied between a
    community's own plans only: a template's or another community's people are not ours."""
    if not actor.is_admin_role:
        raise PermissionDenied(_("Only the community's commander or administrator may create plans."))
    doc = plan_document(source, with_holders=source.community_id == community.pk)
    doc["title"] = title.strip() or doc["title"]
    with transaction.atomic():
        plan = plan_build(doc, community=community, source=source, updated_by=actor)
        _record_revision(
            actor=actor,
            plan=plan,
            note=_("Copied from “%(title)s” v%(v)d") % {"title": source.title, "v": source.version},
        )
        audit_record(
            actor=actor, action=AuditLog.Action.CREATE, target=plan, detail=f"copy of plan {source.pk}"
        )
    return plan


def plan_change(
    *, actor: User, plan: Plan, expected_version: int, note: str, change: Callable[[], Any]
) -> Plan:
    """Apply `change` as the next version, or refuse if someone saved since `expected_version`.

    The version check is a conditional UPDATE, so two people saving at the same moment cannot both win.
    """
    _require_edit(actor, plan)
    with transaction.atomic():
        won = Plan.objects.filter(pk=plan.pk, version=expected_version).update(
            version=expected_version + 1, updated_by=actor, updated_at=timezone.now()
        )
        if not won:
            latest = plan.revisions.select_related("actor").first()
            who = latest.actor.name if latest and latest.actor else _("someone")
            when = timezone.localtime(latest.at).strftime("%H:%M") if latest else ""
            raise PlanConflict(
                _(
                    "%(who)s saved version %(version)d of this plan at %(when)s while you were editing. "
                    "Your changes were not saved; they are still in the form below. "
                    "Open the plan again to see the new version, then make your changes there."
                )
                % {"who": who, "version": latest.version if latest else expected_version + 1, "when": when}
            )
        change()
        plan.refresh_from_db()
        _record_revision(actor=actor, plan=plan, note=note)
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=plan, detail=note[:500])
    return plan


def plan_set_archived(*, actor: User, plan: Plan, archived: bool) -> Plan:
    def change() -> None:
        Plan.objects.filter(pk=plan.pk).update(is_archived=archived)

    note = _("Archived") if archived else _("Restored from the archive")
    return plan_change(actor=actor, plan=plan, expected_version=plan.version, note=note, change=change)
