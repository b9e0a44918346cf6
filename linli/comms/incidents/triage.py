"""Staff act on an incident: tasks for a team or the building's grid worker, a plan activation, "not an
incident", closing it, a word back to the reporter, its spot on the plan, the reporter's phone revealed.

Tasks made here have source INCIDENT and the incident's id as source_id: the task's page links back to the
incident, and incident_tasks() finds them again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.comms.incidents.common import site_text, tell_reporter
from linli.comms.models import Incident, Notification
from linli.comms.services import Message, notify_many
from linli.core.access import acts, community_ids_in_scope
from linli.core.audit import audit_record, reveal_logged
from linli.core.http import public_url
from linli.core.models import AuditLog, User
from linli.epidemic.selectors import routing_for
from linli.plans.models import LEVELS, Plan
from linli.registry.models import Building
from linli.response.models import Response
from linli.response.services import ActivationRefused, can_activate, response_activate, response_note
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskSpec, tasks_cancel, tasks_create

TASK_SOURCE = Task.Source.INCIDENT
WORKER = "worker"  # a task target: the building's grid worker
NOTE_MAX = 500


def incident_tasks_q(incident_id: int) -> dict[str, object]:
    return {"source": TASK_SOURCE, "source_id": incident_id}


def can_act_on(actor: User, incident: Incident) -> bool:
    """Community staff who do the work; observers, departments and other communities only look (or 404)."""
    if not acts(actor):
        return False
    ids = community_ids_in_scope(actor)
    return ids is None or incident.community_id in ids


def _require_act(actor: User, incident: Incident) -> None:
    if not can_act_on(actor, incident):
        raise PermissionDenied(_("Your role may look at incidents but not act on them."))


def _require_open(incident: Incident) -> None:
    if not incident.is_open:
        raise ValidationError(
            _("This incident is already %(status)s.") % {"status": incident.get_status_display()}
        )


def _stamp(text: str, now: dt.datetime) -> str:
    return f"{timezone.localtime(now):%m-%d %H:%M} {text}"


def _reply_text(incident: Incident, note: str, now: dt.datetime) -> str:
    """What the reporter reads on their page: every word staff sent them, oldest first, with its time. A
    reporter who left a mobile number also gets the words by SMS, with the link to the page."""
    note = note.strip()
    if not note:
        return incident.triage_note
    tell_reporter(
        incident,
        site_text(gettext_noop("Community staff about your report: %(note)s"), note=note[:200]),
        key=f"incident:{incident.pk}:note:{now:%Y%m%d%H%M%S%f}",
    )
    line = _stamp(note[:NOTE_MAX], now)
    return f"{incident.triage_note}\n{line}" if incident.triage_note else line


def _mark_triaged(incident: Incident, actor: User, now: dt.datetime, **more: object) -> None:
    fields: dict[str, object] = {"status": Incident.Status.TRIAGED, **more}
    if incident.triaged_at is None:
        fields.update(triaged_by=actor, triaged_at=now)
    Incident.objects.filter(pk=incident.pk).update(**fields)
    for key, value in fields.items():
        setattr(incident, key, value)


def _locked(incident: Incident) -> Incident:
    """The incident again under a row lock: two staff clicking at once do not both act on an open incident."""
    fresh = Incident.objects.select_for_update().get(pk=incident.pk)
    incident.status, incident.triage_note = fresh.status, fresh.triage_note
    incident.triaged_at, incident.response_id = fresh.triaged_at, fresh.response_id
    incident.triaged_by_id = fresh.triaged_by_id
    return incident


def _task_title(incident: Incident) -> str:
    return _("Incident: %(kind)s · %(where)s") % {
        "kind": incident.get_kind_display(),
        "where": incident.where,
    }


def _task_detail(incident: Incident, instructions: str) -> str:
    lines = []
    if instructions.strip():
        lines.append(instructions.strip())
    if incident.description:
        lines.append(_("Reported: %(text)s") % {"text": incident.description})
    if incident.urgent:
        lines.append(_("The reporter says someone is in danger."))
    lines.append(
        _("Incident #%(id)s, photos and location: %(url)s")
        % {
            "id": incident.pk,
            "url": public_url(reverse("comms:incident", args=[incident.pk])),
        }
    )
    return "\n".join(lines)


def incident_tasks_create(
    *,
    actor: User,
    incident: Incident,
    targets: Sequence[str],
    due_at: dt.datetime,
    instructions: str = "",
    assignee: User | None = None,
    reply: str = "",
    now: dt.datetime | None = None,
) -> list[Task]:
    """One task per target: WORKER (the building's grid worker, the grid leader when it has none) or a team
    (Team values), and one for `assignee` when given. The incident is then being handled."""
    _require_act(actor, incident)
    now = now or timezone.now()
    targets = list(dict.fromkeys(t for t in targets if t))
    if not targets and assignee is None:
        raise ValidationError({"targets": [_("Choose who does it: the grid worker, a team or a person.")]})
    unknown = [t for t in targets if t != WORKER and t not in Team.values]
    if unknown:
        raise ValidationError({"targets": [_("Choose teams from the list.")]})
    if WORKER in targets and incident.building_id is None:
        raise ValidationError(
            {"targets": [_("The incident is not at a building: choose a team or a person instead.")]}
        )
    if due_at <= now:
        raise ValidationError({"due_at": [_("The deadline must be in the future.")]})
    if assignee is not None and (assignee.community_id != incident.community_id or not assignee.is_active):
        raise ValidationError({"assignee": [_("Choose someone of this community's staff.")]})
    routing = routing_for(incident.community_id)
    grid_id = routing.for_building(incident.building_id)[0]
    priority = Task.Priority.URGENT if incident.urgent else Task.Priority.HIGH
    with translation.override(settings.LANGUAGE_CODE):
        title, detail = _task_title(incident), _task_detail(incident, instructions)
    specs = []
    for target in targets:
        owners = routing.task_owners(incident.building_id, "" if target == WORKER else target)
        if target == WORKER and owners.get("assignee_id") is None:
            owners["assignee_id"] = routing.commander_id
        specs.append(
            TaskSpec(
                title=title,
                detail=detail,
                due_at=due_at,
                community_id=incident.community_id,
                grid_id=grid_id,
                priority=priority,
                source=TASK_SOURCE,
                source_id=incident.pk,
                **owners,
            )
        )
    if assignee is not None:
        above = routing.task_owners(incident.building_id)
        specs.append(
            TaskSpec(
                title=title,
                detail=detail,
                due_at=due_at,
                community_id=incident.community_id,
                grid_id=grid_id,
                assignee_id=assignee.pk,
                leader_id=above["leader_id"],
                commander_id=above["commander_id"],
                priority=priority,
                source=TASK_SOURCE,
                source_id=incident.pk,
            )
        )
    with transaction.atomic():
        _locked(incident)
        _require_open(incident)
        tasks = tasks_create(specs)
        _mark_triaged(incident, actor, now, triage_note=_reply_text(incident, reply, now))
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=incident,
            target_label=f"#{incident.pk} {incident.get_kind_display()}",
            detail=site_text(
                gettext_noop("%(n)s task(s) created, due %(time)s"),
                n=len(tasks),
                time=timezone.localtime(due_at).strftime("%m-%d %H:%M"),
            ),
            community_id=incident.community_id,
        )
        notify_many(
            Message(
                user_id=uid,
                title=task.title,
                body=task.detail,
                url=reverse("tasks:detail", args=[task.pk]),
                kind=Notification.Kind.ASSIGNED,
                urgent=incident.urgent,
            )
            for task in tasks
            for uid in [task.assignee_id or task.leader_id]
            if uid and uid != actor.pk
        )
    return tasks


# Which plans suit which incident: a plan copied from one of these built-in templates, or one whose title
# says so.
PLAN_MATCH: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Incident.Kind.FIRE: (("building-fire",), ("火", "fire")),
    Incident.Kind.GAS: (("building-fire",), ("燃气", "gas", "火")),
    Incident.Kind.WATER: (("rainstorm-flood", "utility-outage"), ("涝", "水", "flood", "water")),
    Incident.Kind.POWER: (("utility-outage",), ("停电", "电", "power", "outage")),
    Incident.Kind.STRUCTURE: ((), ("倒塌", "地震", "collapse", "earthquake")),
    Incident.Kind.INJURY: ((), ("急救", "medical")),
}


def plan_matches(incident: Incident, plan: Plan, template_key: str = "") -> int:
    """How well a plan fits the incident: 2 for its kind's built-in template, 1 for a title that says so."""
    keys, words = PLAN_MATCH.get(incident.kind, ((), ()))
    if template_key and template_key in keys:
        return 2
    title = plan.title.lower()
    return 1 if any(w in title for w in words) else 0


def incident_activate_plan(
    *,
    actor: User,
    incident: Incident,
    plan: Plan,
    level: int,
    reason: str = "",
    whole_community: bool = True,
    buildings: Sequence[Building] = (),
    drill: bool = False,
    reply: str = "",
    now: dt.datetime | None = None,
) -> tuple[Response, bool]:
    """Activate `plan` for the incident (response.services.response_activate), or, when it is already running
    for that area, join the incident to the running response and log it there. Returns (response, started)."""
    _require_act(actor, incident)
    if plan.community_id != incident.community_id or plan.is_template:
        raise ValidationError({"plan": [_("Choose one of this community's plans.")]})
    if not can_activate(actor, plan):
        raise PermissionDenied(_("Only the community's commander may activate a plan."))
    if level not in LEVELS:
        raise ValidationError({"level": [_("Choose a response level from I to IV.")]})
    now = now or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        default_reason = _("Incident #%(id)s: %(kind)s · %(where)s") % {
            "id": incident.pk,
            "kind": incident.get_kind_display(),
            "where": incident.where,
        }
    reason = reason.strip() or default_reason
    with transaction.atomic():
        _locked(incident)
        _require_open(incident)
        started = True
        try:
            response = response_activate(
                actor=actor,
                plan=plan,
                level=level,
                reason=reason,
                whole_community=whole_community,
                buildings=buildings,
                drill=drill,
                now=now,
            )
        except ActivationRefused as exc:
            if exc.existing is None:
                raise
            response, started = exc.existing, False
            with translation.override(settings.LANGUAGE_CODE):
                response_note(actor=actor, response=response, text=default_reason)
        _mark_triaged(incident, actor, now, response=response, triage_note=_reply_text(incident, reply, now))
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=incident,
            target_label=f"#{incident.pk} {incident.get_kind_display()}",
            detail=site_text(
                gettext_noop("plan activated: %(plan)s")
                if started
                else gettext_noop("joined the running response: %(plan)s"),
                plan=plan.title,
            ),
            community_id=incident.community_id,
        )
    return response, started


def _finish(
    *,
    actor: User,
    incident: Incident,
    status: str,
    note: str,
    cancel_tasks: bool,
    label: str,
    now: dt.datetime | None,
) -> Incident:
    _require_act(actor, incident)
    note = note.strip()
    if not note:
        raise ValidationError({"note": [_("Write a short note: the reporter reads it.")]})
    now = now or timezone.now()
    with transaction.atomic():
        _locked(incident)
        _require_open(incident)
        Incident.objects.filter(pk=incident.pk).update(
            status=status,
            closed_at=now,
            triaged_by_id=incident.triaged_by_id or actor.pk,
            triaged_at=incident.triaged_at or now,
            triage_note=_reply_text(incident, note, now),
        )
        cancelled = 0
        if cancel_tasks:
            with translation.override(settings.LANGUAGE_CODE):
                reason = _("The incident was closed: %(note)s") % {"note": note[:200]}
            cancelled = tasks_cancel(Task.objects.filter(**incident_tasks_q(incident.pk)), reason=reason)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=incident,
            target_label=f"#{incident.pk} {incident.get_kind_display()}",
            detail=f"{label}: {note[:200]}"
            + (site_text(gettext_noop(" (%(n)s open task(s) cancelled)"), n=cancelled) if cancelled else ""),
            changes={"status": [incident.status, status]},
            community_id=incident.community_id,
        )
    incident.refresh_from_db()
    return incident


def incident_reject(
    *, actor: User, incident: Incident, note: str, now: dt.datetime | None = None
) -> Incident:
    """Not an incident (a prank, a duplicate, a misunderstanding): closed with a note the reporter reads; its
    open tasks are cancelled."""
    return _finish(
        actor=actor,
        incident=incident,
        status=Incident.Status.REJECTED,
        note=note,
        cancel_tasks=True,
        label=site_text(gettext_noop("not an incident")),
        now=now,
    )


def incident_close(
    *,
    actor: User,
    incident: Incident,
    note: str,
    cancel_tasks: bool = False,
    now: dt.datetime | None = None,
) -> Incident:
    """Dealt with: closed with a note the reporter reads (what was done)."""
    return _finish(
        actor=actor,
        incident=incident,
        status=Incident.Status.CLOSED,
        note=note,
        cancel_tasks=cancel_tasks,
        label=site_text(gettext_noop("closed")),
        now=now,
    )


def incident_reply(*, actor: User, incident: Incident, note: str, now: dt.datetime | None = None) -> Incident:
    """A word to the reporter without changing anything else ("the property company is on its way")."""
    _require_act(actor, incident)
    if not note.strip():
        raise ValidationError({"note": [_("Write what the reporter should read.")]})
    now = now or timezone.now()
    with transaction.atomic():
        _locked(incident)
        Incident.objects.filter(pk=incident.pk).update(triage_note=_reply_text(incident, note, now))
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=incident,
            target_label=f"#{incident.pk} {incident.get_kind_display()}",
            detail=site_text(gettext_noop("to the reporter: %(note)s"), note=note.strip()[:200]),
            community_id=incident.community_id,
        )
    incident.refresh_from_db()
    return incident


def incident_locate(*, actor: User, incident: Incident, x: object, y: object) -> Incident:
    """Staff put the incident on the plan themselves ("the garage, by the east ramp")."""
    _require_act(actor, incident)
    try:
        fx, fy = float(str(x)), float(str(y))
    except (TypeError, ValueError):
        raise ValidationError(_("The spot must be on the plan.")) from None
    if not (0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0):
        raise ValidationError(_("The spot must be on the plan."))
    with transaction.atomic():
        before = [incident.plan_x, incident.plan_y]
        Incident.objects.filter(pk=incident.pk).update(plan_x=fx, plan_y=fy)
        incident.plan_x, incident.plan_y = fx, fy
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=incident,
            target_label=f"#{incident.pk} {incident.get_kind_display()}",
            detail=site_text(gettext_noop("placed on the site plan")),
            changes={"plan": [before, [round(fx, 4), round(fy, 4)]]},
            community_id=incident.community_id,
        )
    return incident


def incident_reveal_phone(*, actor: User, incident: Incident) -> str:
    """The reporter's full phone, to call them back; logged."""
    return reveal_logged(
        actor=actor,
        target=incident,
        value=incident.reporter_phone,
        target_label=f"#{incident.pk} {incident.get_kind_display()}",
        detail=site_text(gettext_noop("reporter's phone")),
        community_id=incident.community_id,
    )
