"""Running a response: activation, staffing, the log, situation reports, level changes, termination, review."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.models import Notification
from linli.comms.services import Message, notify, notify_many
from linli.comms.webhooks import response_activated as webhook_response_activated
from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.plans.models import LEVELS, Phase, Plan, Position, PositionRole
from linli.plans.selectors import positions_with_holders, team_leads
from linli.registry.models import Building
from linli.response.models import Assignment, LogEntry, Response, SituationReport
from linli.response.scoring import drill_score
from linli.tasks.models import Task, Team
from linli.tasks.services import (
    Escalation,
    TaskEvent,
    TaskSpec,
    tasks_cancel_for_source,
    tasks_create,
    tasks_take_over,
)

COMMAND_ROLES = (PositionRole.COMMANDER, PositionRole.SITE_COMMANDER)
# A response step that slips reaches the team leader, then the commander, 15 minutes apart.
RESPONSE_ESCALATION_MINUTES = 15


class ActivationRefused(ValidationError):
    def __init__(self, message: str, existing: Response | None = None) -> None:
        super().__init__(message)
        self.existing = existing


def can_activate(actor: User, plan: Plan) -> bool:
    return actor.is_active and actor.is_admin_role and not plan.is_template


def can_command(actor: User, response: Response) -> bool:
    """The community's commanders and administrators, and whoever holds a command post in this response."""
    if not actor.is_active:
        return False
    if actor.is_admin_role:
        return True
    return response.assignments.filter(user=actor, position__role__in=COMMAND_ROLES).exists()


def can_write_log(actor: User) -> bool:
    return actor.is_active and not actor.is_read_only


def _people_on(response: Response) -> QuerySet[User]:
    return User.objects.filter(pk__in=response.assignments.exclude(user=None).values("user_id"))


def _log(response: Response, actor: User | None, kind: str, text: str) -> LogEntry:
    return LogEntry.objects.create(response=response, actor=actor, kind=kind, text=text)


def _overlapping(plan: Plan, whole_community: bool, buildings: Sequence[Building]) -> Response | None:
    active = Response.objects.filter(plan=plan, status=Response.Status.ACTIVE)
    if whole_community:
        return active.first()
    ids = [b.pk for b in buildings]
    return (active.filter(whole_community=True) | active.filter(buildings__in=ids)).distinct().first()


def _pick_holders(position: Position) -> list[Assignment]:
    """Everyone named for the post, or its stand-ins when no one named can be reached through the system."""
    holders = list(position.holders.all())
    usable = [h for h in holders if (h.user is not None and h.user.is_active) or (h.user is None and h.name)]
    primary = [h for h in usable if not h.is_standin]
    chosen = primary or [h for h in usable if h.is_standin][:1]
    return [Assignment(position=position, **h.person()) for h in chosen]


def response_activate(
    *,
    actor: User,
    plan: Plan,
    level: int,
    reason: str,
    whole_community: bool = True,
    buildings: Sequence[Building] = (),
    drill: bool = False,
    now: dt.datetime | None = None,
) -> Response:
    if not can_activate(actor, plan):
        raise PermissionDenied(_("Only the community's commander may activate a plan."))
    if plan.is_archived:
        raise ValidationError(_("This plan is archived; restore it before activating it."))
    if level not in LEVELS:
        raise ValidationError(_("Choose a response level from I to IV."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for activating the plan."))
    if not whole_community and not buildings:
        raise ValidationError(_("Choose the buildings the response covers, or the whole community."))
    if any(b.community_id != plan.community_id for b in buildings):
        raise ValidationError(_("Some of the buildings are not in this plan's community."))
    now = now or timezone.now()
    with transaction.atomic():
        # Serialise activations of one plan, so two commanders clicking at once get one response.
        Plan.objects.select_for_update().filter(pk=plan.pk).first()
        existing = _overlapping(plan, whole_community, buildings)
        if existing is not None:
            raise ActivationRefused(
                _("This plan is already active for this area (activated %(when)s).")
                % {"when": timezone.localtime(existing.activated_at).strftime("%m-%d %H:%M")},
                existing=existing,
            )
        response = Response.objects.create(
            plan=plan,
            plan_version=plan.version,
            community_id=plan.community_id or 0,
            title=plan.title,
            level=level,
            is_drill=drill,
            reason=reason.strip(),
            whole_community=whole_community,
            activated_at=now,
            activated_by=actor,
        )
        if not whole_community:
            response.buildings.set(buildings)
        positions = positions_with_holders(plan)
        assignments = []
        for position in positions:
            for a in _pick_holders(position):
                a.response = response
                assignments.append(a)
        Assignment.objects.bulk_create(assignments)
        _create_tasks(response, positions, assignments, (Phase.ACTIVATION, Phase.RESPONSE), now)
        gaps = [p for p in positions if not any(a.position_id == p.pk for a in assignments)]
        scope = _("whole community") if whole_community else "、".join(str(b) for b in buildings)
        text = _("%(who)s activated %(level)s for %(scope)s: %(reason)s") % {
            "who": actor.name,
            "level": LEVELS[level][0],
            "scope": scope,
            "reason": response.reason,
        }
        if gaps:
            text += " " + _("Unstaffed positions: %(gaps)s.") % {"gaps": "、".join(p.title for p in gaps)}
        _log(response, actor, LogEntry.Kind.ACTIVATED, text)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=response,
            detail=f"plan {plan.pk} v{plan.version} level {level}{' drill' if drill else ''}",
        )
        # Departments subscribed to response.activated (police, street office) hear of it once this commits.
        webhook_response_activated(response)
        _notify_assigned(response, assignments)
    return response


def _escalation_chain(
    positions: Sequence[Position], first_user: dict[int, int]
) -> tuple[dict[str, int], int | None]:
    """Each team's leader account and the commander's, for the tasks' escalation chain."""
    leader: dict[str, int] = {}
    commander = None
    for p in positions:
        user_id = first_user.get(p.pk)
        if user_id is None:
            continue
        if p.role == PositionRole.COMMANDER and commander is None:
            commander = user_id
        if p.role in (PositionRole.LEADER, PositionRole.SITE_COMMANDER) and p.team not in leader:
            leader[p.team] = user_id
    if commander is not None:
        leader.setdefault(Team.COMMAND, commander)
    return leader, commander


def _create_tasks(
    response: Response,
    positions: list[Position],
    assignments: Sequence[Assignment],
    phases: Sequence[str],
    start: dt.datetime,
) -> list[Task]:
    by_id = {p.pk: p for p in positions}
    leads = team_leads(positions)
    first_user: dict[int, int] = {}
    for a in assignments:
        if a.user_id and a.position_id not in first_user:
            first_user[a.position_id] = a.user_id
    leader, commander = _escalation_chain(positions, first_user)
    steps = response.plan.steps.filter(phase__in=phases).order_by("order", "id")
    specs = []
    for step in steps:
        position = by_id.get(step.position_id or 0) or leads.get(step.team)
        specs.append(
            TaskSpec(
                title=step.text,
                due_at=start + dt.timedelta(minutes=step.within_minutes),
                community_id=response.community_id,
                assignee_id=first_user.get(position.pk) if position else None,
                team=step.team,
                position_title=position.title if position else "",
                leader_id=leader.get(step.team) or commander,
                commander_id=commander,
                priority=Task.Priority.URGENT if step.phase == Phase.ACTIVATION else Task.Priority.HIGH,
                source=Task.Source.RESPONSE,
                source_id=response.pk,
                stage=step.phase,
                order=step.order,
                escalation_minutes=RESPONSE_ESCALATION_MINUTES,
            )
        )
    return tasks_create(specs)


def _notify_assigned(response: Response, assignments: Sequence[Assignment]) -> None:
    kind = _("Drill") if response.is_drill else _("Response")
    messages = []
    seen = set()
    for a in assignments:
        if not a.user_id or a.user_id in seen:
            continue
        seen.add(a.user_id)
        messages.append(
            Message(
                user_id=a.user_id,
                kind=Notification.Kind.RESPONSE,
                urgent=True,
                title=_("%(kind)s: %(title)s — you are %(position)s")
                % {"kind": kind, "title": response.title, "position": a.position.title},
                body=response.reason,
                url=response.get_absolute_url(),
            )
        )
    notify_many(messages)


def response_on_duty(*, actor: User, response: Response, now: dt.datetime | None = None) -> int:
    """The person reports on duty (到岗); the response is fully staffed when every post has someone."""
    now = now or timezone.now()
    with transaction.atomic():
        n = Assignment.objects.filter(response=response, user=actor, on_duty_at__isnull=True).update(
            on_duty_at=now
        )
        if n:
            _log(response, actor, LogEntry.Kind.STAFFING, _("%(who)s is on duty.") % {"who": actor.name})
            _update_staffed(response, now)
    return n


def _update_staffed(response: Response, now: dt.datetime) -> None:
    if response.staffed_at is not None:
        return
    post_ids = set(response.plan.positions.values_list("pk", flat=True))
    on_duty = set(
        Assignment.objects.filter(response=response, on_duty_at__isnull=False).values_list(
            "position_id", flat=True
        )
    )
    if post_ids and post_ids <= on_duty:
        Response.objects.filter(pk=response.pk, staffed_at__isnull=True).update(staffed_at=now)
        response.staffed_at = now
        _log(response, None, LogEntry.Kind.STAFFING, _("Every position is staffed."))


def response_assign(
    *,
    actor: User,
    response: Response,
    position: Position,
    user: User | None = None,
    name: str = "",
    phone: str = "",
) -> Assignment:
    """Fill a gap (or add someone) during the response; the post's unheld tasks go to them."""
    if not can_command(actor, response):
        raise PermissionDenied(_("Only the commander may change the staffing."))
    if position.plan_id != response.plan_id:
        raise ValidationError(_("That position is not in this plan."))
    if user is None and not name.strip():
        raise ValidationError(_("Choose a staff account or enter a name."))
    if user is not None and (not user.is_active or user.community_id not in (None, response.community_id)):
        raise ValidationError(_("Choose an active staff member of this community."))
    with transaction.atomic():
        if (
            user is not None
            and Assignment.objects.filter(response=response, position=position, user=user).exists()
        ):
            raise ValidationError(_("%(name)s already holds this position.") % {"name": user.name})
        assignment = Assignment.objects.create(
            response=response, position=position, user=user, name=name.strip(), phone=phone.strip()
        )
        if user is not None:
            tasks_take_over(
                source=Task.Source.RESPONSE,
                source_id=response.pk,
                team=position.team,
                position_title=position.title,
                assignee=user,
                as_leader=position.role in (PositionRole.LEADER, PositionRole.SITE_COMMANDER),
                as_commander=position.role == PositionRole.COMMANDER,
            )
            _notify_assigned(response, [assignment])
        _log(
            response,
            actor,
            LogEntry.Kind.STAFFING,
            _("%(who)s assigned %(name)s to %(position)s.")
            % {"who": actor.name, "name": assignment.label, "position": position.title},
        )
        audit_record(
            actor=actor, action=AuditLog.Action.UPDATE, target=response, detail=f"assign {position.title}"
        )
    return assignment


def response_note(*, actor: User, response: Response, text: str) -> LogEntry:
    if not can_write_log(actor):
        raise PermissionDenied(_("Observers cannot write in the log."))
    if not text.strip():
        raise ValidationError(_("Write something first."))
    return _log(response, actor, LogEntry.Kind.NOTE, text.strip())


def response_sitrep(*, actor: User, response: Response, **fields: str) -> SituationReport:
    if not can_write_log(actor):
        raise PermissionDenied(_("Observers cannot file situation reports."))
    if not fields.get("situation", "").strip():
        raise ValidationError(_("Describe the situation."))
    report = SituationReport.objects.create(
        response=response, actor=actor, **{k: v.strip() for k, v in fields.items()}
    )
    _log(
        response,
        actor,
        LogEntry.Kind.SITREP,
        _("Situation report: %(text)s") % {"text": report.situation[:200]},
    )
    return report


def response_change_level(*, actor: User, response: Response, level: int, reason: str) -> Response:
    if not can_command(actor, response):
        raise PermissionDenied(_("Only the commander may change the response level."))
    if not response.is_active:
        raise ValidationError(_("The response has ended."))
    if level not in LEVELS or level == response.level:
        raise ValidationError(_("Choose a different level."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for the change."))
    before = response.level
    with transaction.atomic():
        Response.objects.filter(pk=response.pk).update(level=level)
        response.level = level
        _log(
            response,
            actor,
            LogEntry.Kind.LEVEL,
            _("%(who)s changed the level from %(old)s to %(new)s: %(reason)s")
            % {
                "who": actor.name,
                "old": LEVELS[before][0],
                "new": LEVELS[level][0],
                "reason": reason.strip(),
            },
        )
        audit_record(
            actor=actor, action=AuditLog.Action.UPDATE, target=response, changes={"level": [before, level]}
        )
        notify(
            users=_people_on(response),
            kind=Notification.Kind.RESPONSE,
            urgent=True,
            title=_("%(title)s is now %(level)s") % {"title": response.title, "level": LEVELS[level][0]},
            body=reason.strip(),
            url=response.get_absolute_url(),
        )
    return response


def response_terminate(
    *,
    actor: User,
    response: Response,
    criteria_met: Sequence[str],
    note: str = "",
    now: dt.datetime | None = None,
) -> Response:
    """End the response once the plan's criteria are met (or the commander says why not).

    Unfinished steps are cancelled and the plan's termination & recovery steps start now.
    """
    if not can_command(actor, response):
        raise PermissionDenied(_("Only the commander may end the response."))
    if not response.is_active:
        raise ValidationError(_("The response has already ended."))
    criteria = response.plan.termination_criteria_list
    missing = [c for c in criteria if c not in criteria_met]
    if missing and not note.strip():
        raise ValidationError(
            _(
                "Not all termination criteria are confirmed (%(missing)s). Tick them, or say why you end it anyway."
            )
            % {"missing": "；".join(missing)}
        )
    now = now or timezone.now()
    with transaction.atomic():
        won = Response.objects.filter(pk=response.pk, status=Response.Status.ACTIVE).update(
            status=Response.Status.TERMINATED,
            terminated_at=now,
            terminated_by=actor,
            termination_note=note.strip(),
            criteria_met=[c for c in criteria if c in criteria_met],
        )
        if not won:
            raise ValidationError(_("The response has already ended."))
        response.refresh_from_db()
        if response.is_drill:
            # Scored on the steps as they stood when the drill ended.
            response.score = drill_score(response)
            Response.objects.filter(pk=response.pk).update(score=response.score)
        cancelled = tasks_cancel_for_source(
            source=Task.Source.RESPONSE, source_id=response.pk, reason=_("Response terminated")
        )
        positions = positions_with_holders(response.plan)
        assignments = list(response.assignments.all())
        _create_tasks(response, positions, assignments, (Phase.TERMINATION,), now)
        text = _("%(who)s ended the response.") % {"who": actor.name}
        if missing:
            text += " " + _("Criteria not confirmed: %(missing)s. Reason: %(note)s") % {
                "missing": "；".join(missing),
                "note": note.strip(),
            }
        if cancelled:
            text += " " + _("%(n)d unfinished tasks were cancelled.") % {"n": cancelled}
        _log(response, actor, LogEntry.Kind.TERMINATED, text)
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=response, detail="terminated")
        notify(
            users=_people_on(response),
            kind=Notification.Kind.RESPONSE,
            title=_("%(title)s has ended; recovery steps follow") % {"title": response.title},
            url=response.get_absolute_url(),
        )
    return response


def response_review(*, actor: User, response: Response, went_well: str, to_improve: str) -> Response:
    if not can_command(actor, response):
        raise PermissionDenied(_("Only the commander may write the after-action review."))
    if response.is_active:
        raise ValidationError(_("End the response before writing its review."))
    with transaction.atomic():
        Response.objects.filter(pk=response.pk).update(
            went_well=went_well.strip(), to_improve=to_improve.strip(), reviewed_at=timezone.now()
        )
        response.refresh_from_db()
        _log(
            response,
            actor,
            LogEntry.Kind.REVIEW,
            _("%(who)s wrote the after-action review.") % {"who": actor.name},
        )
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=response, detail="review")
    return response


# --- the task engine tells us what happens to our tasks ----------------------------------------------


def on_task_event(event: TaskEvent) -> None:
    task = event.task
    if task.source_id is None:
        return
    who = event.actor.name if event.actor else _("system")
    if event.what == "reassigned":
        text = _("%(who)s gave “%(task)s” to %(name)s.") % {
            "who": who,
            "task": task.title[:80],
            "name": task.assignee.name if task.assignee else "",
        }
    else:
        text = _("%(who)s: “%(task)s” is %(status)s.") % {
            "who": who,
            "task": task.title[:80],
            "status": task.get_status_display(),
        }
        if task.result:
            text += f" {task.result}"
    LogEntry.objects.create(response_id=task.source_id, actor=event.actor, kind=LogEntry.Kind.TASK, text=text)


def on_escalations(events: list[Escalation]) -> None:
    names = {
        pk: display or username
        for pk, display, username in User.objects.filter(pk__in={e.recipient_id for e in events}).values_list(
            "pk", "display_name", "username"
        )
    }
    by_response: dict[int, list[Escalation]] = defaultdict(list)
    for e in events:
        if e.source_id is not None:
            by_response[e.source_id].append(e)

    def text(e: Escalation) -> str:
        # The first step tells the person who holds the task; later steps go up the chain.
        message = (
            _("Overdue: “%(task)s” — %(name)s was told.")
            if e.level == 1
            else _("Overdue: “%(task)s” — escalated to %(name)s.")
        )
        return message % {"task": e.title[:80], "name": names.get(e.recipient_id, "")}

    LogEntry.objects.bulk_create(
        LogEntry(response_id=response_id, kind=LogEntry.Kind.TASK, text=text(e))
        for response_id, items in by_response.items()
        for e in items
    )
