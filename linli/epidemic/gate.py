"""Closed-area gate control (封控区出入管理): exit passes and the checks at the gate.

While a closed-management response (a public-health plan's active response) covers some buildings, the
residents who live there are locked in. Staff apply for an exit on a resident's behalf, the response's
commander or site commander (or the community's administrator) approves it with a time window, and the
guard at the gate scans the pass's QR. Every check is a GateCheck row, the refused ones included: the
log is what a commander reads when someone asks "who let him out?".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.services import notify
from linli.core.access import community_ids_in_scope, scope_q
from linli.core.audit import audit_record, diff
from linli.core.clock import hm
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.epidemic.models import ClosedArea, ExitPass, GateCheck, normalise_pass_code
from linli.plans.models import Category, PositionRole
from linli.registry.models import Building, Residency, Resident
from linli.response.models import Assignment, Response
from linli.response.selectors import responses_for

# Who approves exits besides the community's administrators: the response's command posts.
APPROVER_POSTS = (PositionRole.COMMANDER, PositionRole.SITE_COMMANDER)
LIVES_HERE = (Residency.BOTH, Residency.LIVING)
# A pass is for one trip: a hospital visit or a duty shift, not a standing permit.
MAX_WINDOW = dt.timedelta(hours=24)
DEFAULT_WINDOW = dt.timedelta(hours=4)


# --- who may do what ---------------------------------------------------------------------------------


def is_closed_management(response: Response) -> bool:
    return response.plan.category == Category.PUBLIC_HEALTH


def can_act(actor: User, response: Response) -> bool:
    """Staff of the response's community who may act: apply for exits and check passes at the gate."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if actor.is_read_only or actor.is_outside:
        return False
    ids = community_ids_in_scope(actor)
    return ids is None or response.community_id in ids


def can_decide(actor: User, response: Response) -> bool:
    """The response's commander or site commander, or an administrator of its community."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if actor.is_read_only or actor.is_outside:
        return False
    if actor.role == Role.COMMUNITY_ADMIN and actor.community_id == response.community_id:
        return True
    return response.assignments.filter(user=actor, position__role__in=APPROVER_POSTS).exists()


def approvers(response: Response) -> QuerySet[User]:
    posts = Assignment.objects.filter(response=response, position__role__in=APPROVER_POSTS).exclude(user=None)
    return User.objects.filter(is_active=True).filter(
        Q(role=Role.COMMUNITY_ADMIN, community_id=response.community_id) | Q(pk__in=posts.values("user_id"))
    )


# --- selectors ---------------------------------------------------------------------------------------


def closed_responses_for(actor: User) -> QuerySet[Response]:
    """Active closed-management responses the actor may see, newest first."""
    return (
        responses_for(actor)
        .filter(status=Response.Status.ACTIVE, plan__category=Category.PUBLIC_HEALTH)
        .select_related("community", "plan")
        .order_by("-activated_at")
    )


def closed_response_get(actor: User, pk: int) -> Response:
    """A closed-management response in scope, running or ended (its log stays readable); else 404."""
    response = (
        responses_for(actor)
        .filter(pk=pk, plan__category=Category.PUBLIC_HEALTH)
        .select_related("community", "plan")
        .first()
    )
    if response is None:
        raise Http404
    return response


def covered_buildings(response: Response) -> QuerySet[Building]:
    if response.whole_community:
        return Building.objects.filter(community_id=response.community_id)
    return Building.objects.filter(community_id=response.community_id, pk__in=response.buildings.values("pk"))


def locked_in_residents(response: Response) -> QuerySet[Resident]:
    """Everyone who lives in the covered buildings (not those only registered there). Not scoped: callers
    that show people narrow it with scope_q."""
    qs = Resident.objects.filter(community_id=response.community_id, residency__in=LIVES_HERE)
    if not response.whole_community:
        qs = qs.filter(household__building__in=response.buildings.values("pk"))
    return qs


def locked_in_by_building(response: Response) -> list[dict[str, Any]]:
    """[{"number", "n"}] in building order, one grouped query."""
    return list(
        locked_in_residents(response)
        .values("household__building__number", "household__building__sort_key")
        .annotate(n=Count("id"))
        .order_by("household__building__sort_key", "household__building__number")
    )


def _pass_relations(qs: QuerySet[ExitPass]) -> QuerySet[ExitPass]:
    return qs.select_related(
        "resident__health",
        "resident__household__building",
        "resident__household__entrance",
        "response",
        "requested_by",
        "decided_by",
    )


def passes_for(actor: User, response: Response, *, decider: bool | None = None) -> QuerySet[ExitPass]:
    """The response's passes the actor may see: all of them for its approvers, else the actor's area.

    `decider` saves a query when the caller already knows whether the actor approves here."""
    qs = ExitPass.objects.filter(response=response)
    if decider is None:
        decider = can_decide(actor, response)
    if not decider:
        qs = qs.filter(scope_q(actor, grid="resident__grid"))
    return _pass_relations(qs)


def pass_get(actor: User, pk: int) -> ExitPass:
    """The one way to load a pass by id; out of scope is a 404."""
    exit_pass = _pass_relations(ExitPass.objects.filter(scope_q(actor, grid=None), pk=pk)).first()
    if exit_pass is None:
        raise Http404
    if (
        not can_decide(actor, exit_pass.response)
        and not ExitPass.objects.filter(scope_q(actor, grid="resident__grid"), pk=pk).exists()
    ):
        raise Http404
    return exit_pass


def closed_area_of(response: Response) -> ClosedArea | None:
    return ClosedArea.objects.filter(response=response).first()


def pass_by_token(actor: User, token: str) -> ExitPass | None:
    """The pass a QR code names, if it belongs to a community the actor works in. Whoever holds the code
    may show it at any gate, so grid staff on gate duty see passes of other grids here."""
    if not token:
        return None
    return _pass_relations(
        ExitPass.objects.filter(scope_q(actor, grid=None), token=normalise_pass_code(token))
    ).first()


def gate_checks_for(actor: User, response: Response, *, decider: bool | None = None) -> QuerySet[GateCheck]:
    qs = GateCheck.objects.filter(response=response)
    if decider is None:
        decider = can_decide(actor, response)
    if not decider:
        area = scope_q(actor, grid="resident__grid")
        qs = qs.filter(area | Q(resident__isnull=True))
    return qs.select_related("resident__household__building", "exit_pass", "by")


def open_pass_q(now: dt.datetime) -> Q:
    """Passes that still stand: waiting, or approved and either out now or still usable."""
    return Q(status=ExitPass.Status.PENDING) | Q(
        Q(out_at__isnull=False) | Q(valid_until__gte=now),
        status=ExitPass.Status.APPROVED,
        back_at__isnull=True,
    )


# --- time in plain words ------------------------------------------------------------------------------


def window_text(exit_pass: ExitPass) -> str:
    if exit_pass.valid_from is None or exit_pass.valid_until is None:
        return ""
    start = timezone.localtime(exit_pass.valid_from)
    end = timezone.localtime(exit_pass.valid_until)
    tail = end.strftime("%H:%M") if start.date() == end.date() else hm(exit_pass.valid_until)
    return f"{hm(exit_pass.valid_from)}–{tail}"


# --- writes -------------------------------------------------------------------------------------------


def closed_area_settings(
    *, actor: User, response: Response, pickup_point: str, gates: str, notes: str
) -> ClosedArea:
    if not can_decide(actor, response):
        raise PermissionDenied(_("Only the commander or site commander may change the gate settings."))
    with transaction.atomic():
        area, created = ClosedArea.objects.select_for_update().get_or_create(response=response)
        before = {"pickup_point": area.pickup_point, "gates": area.gates, "notes": area.notes}
        area.pickup_point = pickup_point.strip()[:200]
        area.gates = gates.strip()[:200]
        area.notes = notes.strip()
        area.save()
        after = {"pickup_point": area.pickup_point, "gates": area.gates, "notes": area.notes}
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
            target=area,
            community_id=response.community_id,
            changes=diff(before, after),
        )
    return area


def _check_open(response: Response) -> None:
    if not response.is_active:
        raise ValidationError(_("This closed-management response has ended."))
    if not is_closed_management(response):
        raise ValidationError(_("This response is not a closed-management response."))


def exit_request(
    *, actor: User, response: Response, resident: Resident, reason: str, detail: str = ""
) -> ExitPass:
    """Apply for one exit on a resident's behalf. The caller loads the resident with resident_get, so it
    is in the actor's area."""
    if not can_act(actor, response):
        raise PermissionDenied(_("You cannot apply for exits in this response."))
    _check_open(response)
    if reason not in ExitPass.Reason.values:
        raise ValidationError(_("Choose the reason for going out."))
    detail = detail.strip()
    if reason == ExitPass.Reason.OTHER and not detail:
        raise ValidationError(_("Say why the resident needs to go out."))
    if not locked_in_residents(response).filter(pk=resident.pk).exists():
        raise ValidationError(
            _("%(name)s does not live in the buildings under closed management.") % {"name": resident.name}
        )
    now = timezone.now()
    with transaction.atomic():
        # Two workers applying for the same person at once must not make two passes.
        Resident.objects.select_for_update().filter(pk=resident.pk).first()
        standing = (
            ExitPass.objects.filter(response=response, resident=resident).filter(open_pass_q(now)).first()
        )
        if standing is not None:
            if standing.status == ExitPass.Status.PENDING:
                message = _("%(name)s already has a request waiting for approval.")
            else:
                message = _("%(name)s already has an approved pass that has not been used up.")
            raise ValidationError(message % {"name": resident.name})
        exit_pass = ExitPass.objects.create(
            community_id=response.community_id,
            response=response,
            resident=resident,
            reason=reason,
            detail=detail[:300],
            requested_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=exit_pass,
            detail=f"exit request {reason}: {detail}"[:500],
        )
        notify(
            users=approvers(response).exclude(pk=actor.pk),
            title=_("Exit request: %(name)s, %(reason)s")
            % {"name": resident.name, "reason": exit_pass.get_reason_display()},
            body=detail,
            url=exit_pass.get_absolute_url(),
        )
    return exit_pass


def _locked_pass(exit_pass: ExitPass) -> ExitPass:
    return ExitPass.objects.select_for_update().select_related("resident", "response").get(pk=exit_pass.pk)


def exit_decide(
    *,
    actor: User,
    exit_pass: ExitPass,
    approve: bool,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    note: str = "",
) -> ExitPass:
    response = exit_pass.response
    if not can_decide(actor, response):
        raise PermissionDenied(_("Only the commander or site commander may approve exits."))
    _check_open(response)
    note = note.strip()
    now = timezone.now()
    if approve:
        if valid_from is None or valid_until is None:
            raise ValidationError(_("Give the time window: from when until when the resident may be out."))
        if valid_until <= valid_from:
            raise ValidationError(_("The window must end after it starts."))
        if valid_until - valid_from > MAX_WINDOW:
            raise ValidationError(_("A pass is for one trip: the window may be at most 24 hours."))
        if valid_until <= now:
            raise ValidationError(_("That window is already over."))
    elif not note:
        raise ValidationError(_("Give the reason for refusing; the applicant sees it."))
    with transaction.atomic():
        locked = _locked_pass(exit_pass)
        if locked.status != ExitPass.Status.PENDING:
            raise ValidationError(
                _("This request has already been decided: %(status)s.")
                % {"status": locked.get_status_display()}
            )
        locked.status = ExitPass.Status.APPROVED if approve else ExitPass.Status.REFUSED
        locked.decided_by = actor
        locked.decided_at = now
        locked.decision_note = note[:300]
        if approve:
            locked.valid_from, locked.valid_until = valid_from, valid_until
        locked.save()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=locked,
            detail=(f"exit approved {window_text(locked)}" if approve else "exit refused")
            + (f": {note}" if note else ""),
        )
        if locked.requested_by_id and locked.requested_by_id != actor.pk and locked.requested_by is not None:
            if approve:
                title = _("Exit approved: %(name)s, %(window)s") % {
                    "name": locked.resident.name,
                    "window": window_text(locked),
                }
            else:
                title = _("Exit refused: %(name)s") % {"name": locked.resident.name}
            notify(users=[locked.requested_by], title=title, body=note, url=locked.get_absolute_url())
    exit_pass.refresh_from_db()
    return exit_pass


def can_cancel(actor: User, exit_pass: ExitPass) -> bool:
    if exit_pass.status not in (ExitPass.Status.PENDING, ExitPass.Status.APPROVED) or exit_pass.out_at:
        return False
    return (exit_pass.requested_by_id == actor.pk and can_act(actor, exit_pass.response)) or can_decide(
        actor, exit_pass.response
    )


def exit_cancel(*, actor: User, exit_pass: ExitPass, note: str = "") -> ExitPass:
    """The applicant or an approver withdraws a pass that has not been used."""
    if not can_cancel(actor, exit_pass):
        if exit_pass.out_at:
            raise ValidationError(_("The resident is already out on this pass; record their return instead."))
        if exit_pass.status not in (ExitPass.Status.PENDING, ExitPass.Status.APPROVED):
            raise ValidationError(_("This pass is no longer open."))
        raise PermissionDenied(_("Only the applicant or an approver may cancel this pass."))
    with transaction.atomic():
        locked = _locked_pass(exit_pass)
        if locked.status not in (ExitPass.Status.PENDING, ExitPass.Status.APPROVED) or locked.out_at:
            raise ValidationError(_("This pass is no longer open."))
        locked.status = ExitPass.Status.CANCELLED
        if note.strip():
            locked.decision_note = note.strip()[:300]
        locked.save(update_fields=["status", "decision_note"])
        audit_record(
            actor=actor, action=AuditLog.Action.UPDATE, target=locked, detail=f"exit cancelled {note}".strip()
        )
    exit_pass.refresh_from_db()
    return exit_pass


def suggested_direction(exit_pass: ExitPass) -> str:
    """What the guard most likely wants to record next for this pass."""
    if exit_pass.out_at and not exit_pass.back_at:
        return GateCheck.Direction.IN
    return GateCheck.Direction.OUT


def gate_verdict(exit_pass: ExitPass | None, direction: str, now: dt.datetime) -> tuple[bool, str]:
    """Whether to let the pass's holder through, and why, in words a guard reads aloud. No writes: the
    check page shows this on GET and gate_check decides with it under a lock."""
    if exit_pass is None:
        return False, _("No such pass.")
    if direction == GateCheck.Direction.IN:
        if exit_pass.out_at is None:
            return False, _("No exit was recorded on this pass.")
        if exit_pass.back_at is not None:
            return False, _("Already back since %(time)s.") % {"time": hm(exit_pass.back_at)}
        if exit_pass.valid_until and now > exit_pass.valid_until:
            return True, _("Back late: the window ended at %(time)s.") % {"time": hm(exit_pass.valid_until)}
        if not exit_pass.response.is_active:
            return True, _("Closed management has ended.")
        return True, _("Back within the window.")
    if not exit_pass.response.is_active:
        return False, _("Closed management has ended; passes are no longer checked.")
    if exit_pass.status == ExitPass.Status.PENDING:
        return False, _("Not approved yet.")
    if exit_pass.status == ExitPass.Status.REFUSED:
        return False, _("The request was refused.")
    if exit_pass.status == ExitPass.Status.CANCELLED:
        return False, _("The pass was cancelled.")
    if exit_pass.back_at is not None:
        return False, _("Pass already used: out %(out)s, back %(back)s.") % {
            "out": hm(exit_pass.out_at),
            "back": hm(exit_pass.back_at),
        }
    if exit_pass.out_at is not None:
        return False, _("Already out since %(time)s.") % {"time": hm(exit_pass.out_at)}
    assert exit_pass.valid_from is not None and exit_pass.valid_until is not None  # approved passes have one
    if not exit_pass.valid_from <= now <= exit_pass.valid_until:
        return False, _("Outside its window %(window)s.") % {"window": window_text(exit_pass)}
    return True, _("Approved, within its window %(window)s.") % {"window": window_text(exit_pass)}


def _response_for_unknown_code(actor: User, response: Response | None) -> Response:
    if response is not None:
        return response
    running = list(closed_responses_for(actor)[:2])
    if len(running) == 1:
        return running[0]
    # Nowhere to file the refusal: a guard of several closed areas enters codes from one area's page.
    raise ValidationError(_("No such pass."))


def gate_check(
    *,
    actor: User,
    token: str,
    direction: str,
    gate: str = "",
    response: Response | None = None,
) -> GateCheck:
    """Record one check at the gate and, when it lets the person through, the pass's out/back time.

    Refusals are recorded too. `response` says where a code that matches no pass is filed; without it
    the actor's one running closed area is used."""
    if direction not in GateCheck.Direction.values:
        raise ValidationError(_("Choose out or in."))
    now = timezone.now()
    with transaction.atomic():
        found = pass_by_token(actor, token)
        if found is not None and not can_act(actor, found.response):
            raise PermissionDenied(_("Only staff on duty may record gate checks."))
        exit_pass = _locked_pass(found) if found is not None else None
        if exit_pass is None:
            where = _response_for_unknown_code(actor, response)
            if not can_act(actor, where):
                raise PermissionDenied(_("Only staff on duty may record gate checks."))
        else:
            where = exit_pass.response
        allowed, reason = gate_verdict(exit_pass, direction, now)
        if allowed and exit_pass is not None:
            if direction == GateCheck.Direction.OUT:
                exit_pass.out_at = now
                exit_pass.save(update_fields=["out_at"])
            else:
                exit_pass.back_at = now
                exit_pass.save(update_fields=["back_at"])
        check = GateCheck.objects.create(
            community_id=where.community_id,
            response=where,
            exit_pass=exit_pass,
            resident=exit_pass.resident if exit_pass is not None else None,
            direction=direction,
            allowed=allowed,
            reason=reason[:200],
            gate=gate.strip()[:50],
            by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=check,
            target_label=str(exit_pass.resident) if exit_pass is not None else token[:40],
            detail=f"gate {direction} {'allowed' if allowed else 'refused'}: {reason}",
        )
    return check


def check_url(exit_pass: ExitPass) -> str:
    return reverse("epidemic:gate_check", args=[exit_pass.token])
