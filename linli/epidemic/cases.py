"""Control cases (管控) and health status (健康码): writes.

A case is a pipeline of Tasks (source "control", source_id = the case) generated from its ControlType's
step template; seed 002's "100 people under isolation are 100 pipelines". A resident's colour is derived
here from their active case and their test results, and changes are kept as history.
Reads are in case_selectors.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.services import notify
from linli.comms.webhooks import case_created as webhook_case_created
from linli.core.access import scope_q
from linli.core.audit import audit_record
from linli.core.clock import local_at
from linli.core.models import AuditLog, User
from linli.core.roles import REVEAL_ROLES, Role
from linli.epidemic.models import (
    Colour,
    ControlCase,
    ControlType,
    DispatchRecord,
    HealthChange,
    HealthStatus,
    Measure,
    StepKind,
    StepOwner,
    TestResult,
)
from linli.epidemic.selectors import Routing, control_type_get, routing_for
from linli.registry.models import Community, Resident
from linli.tasks.models import Task, Team
from linli.tasks.services import (
    Escalation,
    TaskEvent,
    TaskSpec,
    can_work_on,
    on_escalation,
    on_task_event,
    task_set_status,
    tasks_create,
)

SOURCE = Task.Source.CONTROL
# When a "day N" step, a daily step and the release step fall due (local time).
DAY_STEP_TIME = dt.time(18, 0)
RELEASE_TIME = dt.time(10, 0)
# A positive test counts for this many days (the most recent result in the window decides).
TEST_WINDOW_DAYS = 14

_TEAM_OF_OWNER: dict[str, str] = {
    StepOwner.LOGISTICS: Team.LOGISTICS,
    StepOwner.MEDICAL: Team.MEDICAL,
    StepOwner.LIAISON: Team.LIAISON,
    StepOwner.SECURITY: Team.SECURITY,
}


# --- who may act -------------------------------------------------------------------------------------


def can_manage_cases(actor: User) -> bool:
    """Staff who work with residents put them under control and run the pipeline; observers only look."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    return actor.role in REVEAL_ROLES


def can_edit_types(actor: User) -> bool:
    return actor.is_active and (actor.is_superuser or actor.role == Role.COMMUNITY_ADMIN)


def can_do_step(actor: User, case: ControlCase, task: Task) -> bool:
    """The step's owner and escalation chain (the task engine's rule), and whoever runs the case."""
    if not case.is_active or not task.is_open:
        return False
    return can_work_on(actor, task) or can_manage_cases(actor)


def _require_manage(actor: User) -> None:
    if not can_manage_cases(actor):
        raise PermissionDenied(_("You may look at control cases but not change them."))


def _require_in_scope(actor: User, resident: Resident) -> None:
    if not Resident.objects.filter(scope_q(actor), pk=resident.pk).exists():
        raise PermissionDenied(_("This resident is not in your area."))


def _require_active(case: ControlCase) -> None:
    if not case.is_active:
        raise ValidationError(_("This case is already %(status)s.") % {"status": case.get_status_display()})


# --- the step template -------------------------------------------------------------------------------


def _local_start(case: ControlCase) -> dt.date:
    return timezone.localtime(case.started_at).date()


def release_moment(case: ControlCase) -> dt.datetime:
    return local_at(case.release_on, RELEASE_TIME)


def period_days(case: ControlCase) -> int:
    """Days under control: day 1 is the start date, the last day is the day before release."""
    return max((case.release_on - _local_start(case)).days, 0)


@dataclass
class _Owners:
    routing: Routing
    building_id: int
    grid_id: int | None

    def spec_kwargs(self, owner: str) -> dict[str, Any]:
        return self.routing.task_owners(self.building_id, _TEAM_OF_OWNER.get(owner, ""))


def _owners(routing: Routing, resident: Resident) -> _Owners:
    building_id = resident.household.building_id
    return _Owners(routing, building_id, routing.for_building(building_id)[0] or resident.grid_id)


def _daily_title(title: str, day: int) -> str:
    return f"{title}（第{day}天）"


# A case opened in the evening (lists arrive at night) must not start with day 1's steps already late.
OPENING_GRACE = dt.timedelta(hours=2)


def _not_before_opening(case: ControlCase, due: dt.datetime) -> dt.datetime:
    return max(due, case.started_at + OPENING_GRACE)


def _step_specs(
    case: ControlCase, steps: list[dict[str, Any]], owners: _Owners, *, days: Iterable[int] | None = None
) -> list[TaskSpec]:
    """Tasks for a case's template. With `days`, only the daily steps of those days (an extension)."""
    start = _local_start(case)
    specs: list[TaskSpec] = []
    total = period_days(case)
    # On a task list among many cases' steps, each says whose it is.
    household = case.resident.household
    who = f" · {case.resident.name} {household.building.number}-{household.entrance.number}-{household.room}"
    for index, step in enumerate(steps):
        kind = step.get("kind", StepKind.STEP)
        title = str(step.get("title", "")).strip() or _("Step")
        base = {
            "community_id": case.community_id,
            "grid_id": owners.grid_id,
            "source": SOURCE,
            "source_id": case.pk,
            "stage": kind,
            "order": index,
            **owners.spec_kwargs(step.get("owner", StepOwner.WORKER)),
        }
        if kind == StepKind.DAILY:
            for day in days if days is not None else range(1, total + 1):
                due = _not_before_opening(case, local_at(start + dt.timedelta(days=day - 1), DAY_STEP_TIME))
                specs.append(TaskSpec(title=_daily_title(title, day) + who, due_at=due, **base))
            continue
        if days is not None:
            continue
        if kind == StepKind.RELEASE:
            due = release_moment(case)
        elif step.get("hours") is not None:
            due = case.started_at + dt.timedelta(hours=float(step["hours"]))
        elif step.get("day") is not None:
            due = _not_before_opening(
                case, local_at(start + dt.timedelta(days=int(step["day"]) - 1), DAY_STEP_TIME)
            )
        else:
            due = case.started_at + dt.timedelta(hours=1)
        if kind != StepKind.RELEASE and due > release_moment(case):
            continue  # a test on day 7 of a period shortened to 5 days
        specs.append(TaskSpec(title=title + who, due_at=due, **base))
    return specs


def _notify_owners(tasks: list[Task], case: ControlCase, title: str) -> None:
    ids = {t.assignee_id for t in tasks if t.assignee_id} | {
        t.leader_id for t in tasks if t.assignee_id is None and t.leader_id
    }
    if ids:
        notify(users=User.objects.filter(pk__in=ids), title=title, url=case.get_absolute_url())


# --- opening, changing, releasing ---------------------------------------------------------------------


def case_open(
    *,
    actor: User,
    resident: Resident,
    control_type: ControlType,
    started_at: dt.datetime | None = None,
    record: DispatchRecord | None = None,
    note: str = "",
) -> ControlCase:
    _require_manage(actor)
    _require_in_scope(actor, resident)
    if control_type_get(resident.community_id, control_type.pk) is None:
        raise ValidationError(_("This control type is not used in the resident's community."))
    if record is not None and record.community_id != resident.community_id:
        raise ValidationError(_("The dispatched record belongs to another community."))
    current = (
        ControlCase.objects.filter(resident=resident, status=ControlCase.Status.ACTIVE)
        .select_related("control_type")
        .first()
    )
    if current is not None:
        raise ValidationError(_already_text(resident, current))
    started_at = started_at or timezone.now()
    release_on = timezone.localtime(started_at).date() + dt.timedelta(days=control_type.days)
    routing = routing_for(resident.community_id)
    resident = Resident.objects.select_related("household").get(pk=resident.pk)
    owners = _owners(routing, resident)
    try:
        with transaction.atomic():
            case = ControlCase.objects.create(
                community_id=resident.community_id,
                grid_id=owners.grid_id,
                resident=resident,
                control_type=control_type,
                measure=control_type.measure,
                record=record,
                started_at=started_at,
                release_on=release_on,
                created_by=actor,
                note=note.strip()[:300],
            )
            tasks = tasks_create(_step_specs(case, list(control_type.steps or []), owners))
            audit_record(
                actor=actor,
                action=AuditLog.Action.CREATE,
                target=case,
                detail=_("%(type)s until %(date)s, %(n)d steps")
                % {"type": control_type.name, "date": release_on.isoformat(), "n": len(tasks)},
            )
            _refresh(
                [resident.pk],
                actor=actor,
                reason=control_type.name,
            )
            # Departments subscribed to case.created (the CDC) hear of it once this commits.
            webhook_case_created(case)
    except IntegrityError as exc:  # two workers opened a case for the same person at the same moment
        current = ControlCase.objects.filter(resident=resident, status=ControlCase.Status.ACTIVE).first()
        if current is None:
            raise
        raise ValidationError(_already_text(resident, current)) from exc
    _notify_owners(
        tasks,
        case,
        _("Under control: %(name)s (%(type)s) — steps for you")
        % {"name": resident.name, "type": control_type.name},
    )
    return case


def _already_text(resident: Resident, case: ControlCase) -> str:
    return _("%(name)s is already under control (%(type)s, release on %(date)s). Open that case instead.") % {
        "name": resident.name,
        "type": case.control_type.name,
        "date": case.release_on.isoformat(),
    }


def case_steps(case: ControlCase) -> Any:
    return Task.objects.filter(source=SOURCE, source_id=case.pk)


def case_change_release(*, actor: User, case: ControlCase, release_on: dt.date, reason: str) -> ControlCase:
    """Extend or shorten a case. Shortening cancels the open steps due after the new release; extending
    adds the daily steps of the new days. The release step moves with the date."""
    _require_manage(actor)
    _require_active(case)
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Give a reason for changing the release date."))
    start = _local_start(case)
    if release_on <= start:
        raise ValidationError(_("The release date must be after the first day of control."))
    if release_on < timezone.localdate():
        raise ValidationError(_("The new release date has already passed; release the case instead."))
    old = case.release_on
    if release_on == old:
        raise ValidationError(_("That is already the release date."))
    given = case
    with transaction.atomic():
        case = (
            ControlCase.objects.select_for_update().select_related("control_type", "resident").get(pk=case.pk)
        )
        _require_active(case)
        case.release_on = release_on
        moment = release_moment(case)
        steps = case_steps(case)
        steps.filter(stage=StepKind.RELEASE, status__in=Task.OPEN_STATUSES).update(
            due_at=moment, next_escalation_at=moment, escalation_level=0
        )
        cancelled = (
            steps.filter(status__in=Task.OPEN_STATUSES, due_at__gt=moment)
            .exclude(stage=StepKind.RELEASE)
            .update(
                status=Task.Status.CANCELLED,
                result=_("release date brought forward"),
                done_at=timezone.now(),
                next_escalation_at=None,
            )
        )
        added: list[Task] = []
        if release_on > old:
            added = _add_daily_steps(case)
        case.changes = [
            *case.changes,
            {
                "at": timezone.now().isoformat(),
                "by": actor.name,
                "from": old.isoformat(),
                "to": release_on.isoformat(),
                "reason": reason[:300],
            },
        ]
        case.save(update_fields=["release_on", "changes"])
        given.release_on, given.changes = case.release_on, case.changes
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=case,
            detail=reason[:500],
            changes={"release_on": [old.isoformat(), release_on.isoformat()]}
            | ({"steps cancelled": [0, cancelled]} if cancelled else {})
            | ({"steps added": [0, len(added)]} if added else {}),
        )
        _refresh([case.resident_id], actor=actor, reason=case.control_type.name)
    _notify_owners(
        list(steps.filter(status__in=Task.OPEN_STATUSES)),
        case,
        _("Release date of %(name)s changed to %(date)s")
        % {"name": case.resident.name, "date": release_on.isoformat()},
    )
    return case


def _add_daily_steps(case: ControlCase) -> list[Task]:
    """The daily steps of the days that have none (after an extension, or a shortening undone)."""
    template = list(case.control_type.steps or [])
    start = _local_start(case)
    have = {
        (order, timezone.localtime(due).date())
        for order, due in case_steps(case)
        .filter(stage=StepKind.DAILY)
        .exclude(status=Task.Status.CANCELLED)
        .values_list("order", "due_at")
    }
    resident = Resident.objects.select_related("household").get(pk=case.resident_id)
    owners = _owners(routing_for(case.community_id), resident)
    specs = []
    for spec in _step_specs(case, template, owners, days=range(1, period_days(case) + 1)):
        if (spec.order, timezone.localtime(spec.due_at).date()) not in have and spec.due_at.date() >= start:
            specs.append(spec)
    return tasks_create(specs) if specs else []


def case_release(*, actor: User | None, case: ControlCase, check: bool = True) -> ControlCase:
    """Release: the release step is done, every other open step is cancelled, the colour is refreshed."""
    if check and actor is not None:
        _require_manage(actor)
    _require_active(case)
    now = timezone.now()
    with transaction.atomic():
        won = ControlCase.objects.filter(pk=case.pk, status=ControlCase.Status.ACTIVE).update(
            status=ControlCase.Status.RELEASED, released_at=now, released_by=actor
        )
        if not won:
            case.refresh_from_db()
            _require_active(case)
        steps = case_steps(case).filter(status__in=Task.OPEN_STATUSES)
        steps.filter(stage=StepKind.RELEASE).update(
            status=Task.Status.DONE, done_at=now, done_by=actor, next_escalation_at=None
        )
        steps.update(status=Task.Status.CANCELLED, result=_("released"), done_at=now, next_escalation_at=None)
        case.status, case.released_at, case.released_by = ControlCase.Status.RELEASED, now, actor
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=case,
            detail=_("released"),
            changes={"status": [ControlCase.Status.ACTIVE, ControlCase.Status.RELEASED]},
        )
        _refresh([case.resident_id], actor=actor, reason=_("released from control"))
    return case


def case_cancel(*, actor: User, case: ControlCase, reason: str) -> ControlCase:
    """Opened by mistake, or the person turned out not to be ours: close the pipeline without a release."""
    _require_manage(actor)
    _require_active(case)
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Give a reason for cancelling the case."))
    now = timezone.now()
    with transaction.atomic():
        won = ControlCase.objects.filter(pk=case.pk, status=ControlCase.Status.ACTIVE).update(
            status=ControlCase.Status.CANCELLED, note=reason[:300]
        )
        if not won:
            case.refresh_from_db()
            _require_active(case)
        case_steps(case).filter(status__in=Task.OPEN_STATUSES).update(
            status=Task.Status.CANCELLED, result=reason[:300], done_at=now, next_escalation_at=None
        )
        case.status, case.note = ControlCase.Status.CANCELLED, reason[:300]
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=case,
            detail=reason[:500],
            changes={"status": [ControlCase.Status.ACTIVE, ControlCase.Status.CANCELLED]},
        )
        _refresh([case.resident_id], actor=actor, reason=_("control case cancelled"))
    return case


def case_step_done(*, actor: User, case: ControlCase, task: Task, result: str = "") -> Task:
    """Tick a step off. The step's owner goes through the task engine; the person running the case may
    also tick off a team's step (the property company told them the door sensor is on)."""
    if task.source != SOURCE or task.source_id != case.pk:
        raise ValidationError(_("This step belongs to another case."))
    _require_active(case)
    if not can_work_on(actor, task):
        _require_manage(actor)
    # Through the task engine either way: its listener (_on_step_event) releases the case on the release
    # step and refreshes the colour on a test step.
    return task_set_status(actor=actor, task=task, status=Task.Status.DONE, result=result, authorised=True)


def test_record(
    *,
    actor: User,
    case_or_resident: ControlCase | Resident,
    taken_on: dt.date,
    result: str,
    step_task: Task | None = None,
) -> TestResult:
    """A test result; on a case's test step it completes the step. A positive result turns the resident red
    and tells the commander and the grid worker at once."""
    _require_manage(actor)
    if result not in TestResult.Result.values:
        raise ValidationError(_("Choose negative or positive."))
    if taken_on > timezone.localdate():
        raise ValidationError(_("The sampling date is in the future."))
    if isinstance(case_or_resident, ControlCase):
        case: ControlCase | None = case_or_resident
        resident = case_or_resident.resident
    else:
        resident = case_or_resident
        case = ControlCase.objects.filter(resident=resident, status=ControlCase.Status.ACTIVE).first()
    _require_in_scope(actor, resident)
    if step_task is not None:
        if case is None or step_task.source != SOURCE or step_task.source_id != case.pk:
            raise ValidationError(_("This test step belongs to another case."))
        if step_task.stage != StepKind.TEST:
            raise ValidationError(_("This step is not a test."))
    with transaction.atomic():
        test = TestResult.objects.create(
            community_id=resident.community_id,
            resident=resident,
            taken_on=taken_on,
            result=result,
            case=case,
            source=_("control case") if case else "",
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=test,
            target_label=f"{resident.name} {test}",
        )
        if step_task is not None and step_task.is_open and case is not None:
            case_step_done(actor=actor, case=case, task=step_task, result=test.get_result_display())
        _refresh(
            [resident.pk],
            actor=actor,
            reason=_("positive test on %(date)s") % {"date": taken_on.isoformat()}
            if result == TestResult.Result.POSITIVE
            else _("negative test on %(date)s") % {"date": taken_on.isoformat()},
        )
    if result == TestResult.Result.POSITIVE:
        routing = routing_for(resident.community_id)
        _grid, worker_id, leader_id = routing.for_building(resident.household.building_id)
        ids = {i for i in (routing.commander_id, worker_id, leader_id) if i}
        notify(
            users=User.objects.filter(pk__in=ids),
            title=_("Positive test: %(name)s, %(address)s")
            % {"name": resident.name, "address": resident.household},
            url=case.get_absolute_url() if case else reverse("registry:resident", args=[resident.pk]),
            urgent=True,
        )
    return test


test_record.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


# --- health status -----------------------------------------------------------------------------------


def health_colours(resident_ids: Iterable[int], now: dt.datetime | None = None) -> dict[int, tuple[str, str]]:
    """{resident id: (colour, reason)} derived from active cases, overdue test steps and test results."""
    ids = list(set(resident_ids))
    now = now or timezone.now()
    result: dict[int, tuple[str, str]] = {pk: (Colour.GREEN, "") for pk in ids}
    if not ids:
        return result
    cases = list(
        ControlCase.objects.filter(resident_id__in=ids, status=ControlCase.Status.ACTIVE).values_list(
            "id", "resident_id", "control_type__colour", "control_type__name"
        )
    )
    overdue_cases = set(
        Task.objects.filter(
            source=SOURCE,
            source_id__in=[c[0] for c in cases],
            stage=StepKind.TEST,
            status__in=Task.OPEN_STATUSES,
            due_at__lt=now,
        ).values_list("source_id", flat=True)
    )
    since = timezone.localtime(now).date() - dt.timedelta(days=TEST_WINDOW_DAYS - 1)
    latest: dict[int, tuple[str, dt.date]] = {}
    for resident_id, res, taken_on in (
        TestResult.objects.filter(resident_id__in=ids, taken_on__gte=since)
        .order_by("resident_id", "-taken_on", "-id")
        .values_list("resident_id", "result", "taken_on")
    ):
        latest.setdefault(resident_id, (res, taken_on))
    rank = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}

    def raise_to(pk: int, colour: str, reason: str) -> None:
        if rank[colour] > rank[result[pk][0]]:  # type: ignore[index]
            result[pk] = (colour, reason)

    for case_id, resident_id, colour, name in cases:
        if case_id in overdue_cases:
            raise_to(resident_id, Colour.YELLOW, _("%(type)s: a test is overdue") % {"type": name})
        raise_to(resident_id, colour, _("under control: %(type)s") % {"type": name})
    for resident_id, (res, taken_on) in latest.items():
        if res == TestResult.Result.POSITIVE:
            raise_to(resident_id, Colour.RED, _("positive test on %(date)s") % {"date": taken_on.isoformat()})
    return result


def health_refresh(resident_ids: Iterable[int], *, actor: User | None = None, reason: str = "") -> int:
    """Write each resident's colour; a history row only when the colour changes. Returns how many changed."""
    with transaction.atomic():
        return _refresh(resident_ids, actor=actor, reason=reason)


def _refresh(resident_ids: Iterable[int], *, actor: User | None, reason: str = "") -> int:
    colours = health_colours(resident_ids)
    if not colours:
        return 0
    now = timezone.now()
    current = {h.resident_id: h for h in HealthStatus.objects.filter(resident_id__in=list(colours))}
    history: list[HealthChange] = []
    for resident_id, (colour, why) in colours.items():
        row = current.get(resident_id)
        before = row.colour if row else Colour.GREEN
        text = (why or reason)[:200]
        if colour == before:
            if row is not None and why and row.reason != why[:200]:
                HealthStatus.objects.filter(pk=row.pk).update(reason=why[:200])
            continue
        if colour == Colour.GREEN:
            HealthStatus.objects.filter(resident_id=resident_id).delete()
            text = (reason or _("no active control, no positive test"))[:200]
        else:
            HealthStatus.objects.update_or_create(
                resident_id=resident_id, defaults={"colour": colour, "reason": text, "since": now}
            )
        history.append(
            HealthChange(
                resident_id=resident_id,
                colour=colour,
                reason=text,
                at=now,
                by=actor if actor is not None and actor.pk else None,
            )
        )
    HealthChange.objects.bulk_create(history)
    return len(history)


def health_refresh_overdue(now: dt.datetime | None = None) -> int:
    """For the periodic job: residents whose test step has gone overdue turn yellow, and everyone not
    green is derived again, so a positive test older than the window lets them go back to green."""
    case_ids = (
        Task.objects.filter(
            source=SOURCE,
            stage=StepKind.TEST,
            status__in=Task.OPEN_STATUSES,
            due_at__lt=now or timezone.now(),
        )
        .values_list("source_id", flat=True)
        .distinct()
    )
    ids = set(
        ControlCase.objects.filter(pk__in=case_ids, status=ControlCase.Status.ACTIVE).values_list(
            "resident_id", flat=True
        )
    )
    changed = health_refresh(sorted(ids), reason=_("a test is overdue"))
    stale = set(HealthStatus.objects.exclude(colour=Colour.GREEN).values_list("resident_id", flat=True)) - ids
    return changed + health_refresh(sorted(stale))


# --- control types -----------------------------------------------------------------------------------

_WHEN = re.compile(
    r"^(?:(?P<hours>\d+(?:\.\d+)?)\s*(?:h|小时)|(?:day|第)\s*(?P<day>\d+)\s*天?)$", re.IGNORECASE
)


# The words a community writes in the step template, in Chinese or as the stored keys.
OWNER_WORDS = {
    "网格员": "worker",
    "后勤": "logistics",
    "医疗": "medical",
    "联络": "liaison",
    "治安": "security",
}
KIND_WORDS = {
    "步骤": "step",
    "检测": "test",
    "核酸": "test",
    "每天": "daily",
    "每日": "daily",
    "解除": "release",
}


def steps_parse(text: str) -> list[dict[str, Any]]:
    """One step a line: `标题 | owner | kind | when` (when: "4h", "day 3", or empty for daily/release).

    Raises one ValidationError listing every bad line, so a long template is fixed in one go.
    """
    steps: list[dict[str, Any]] = []
    errors: list[str] = []
    owners = "、".join(OWNER_WORDS)
    kinds = "、".join(dict.fromkeys(KIND_WORDS))
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "|" not in line.replace("｜", "|"):
            errors.append(
                _("Line %(n)d: separate the parts with “|”: title | owner | kind | when.") % {"n": number}
            )
            continue
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        parts += [""] * (4 - len(parts))
        if len(parts) > 4:
            errors.append(_("Line %(n)d: too many “|” — write title | owner | kind | when.") % {"n": number})
            continue
        title, owner, kind, when = parts
        owner, kind = OWNER_WORDS.get(owner, owner.lower()), KIND_WORDS.get(kind, kind.lower())
        line_errors = []
        if not title:
            line_errors.append(_("the title is missing"))
        if owner not in StepOwner.values:
            line_errors.append(
                _("owner “%(owner)s” is not one of %(owners)s") % {"owner": owner, "owners": owners}
            )
        kind = kind or StepKind.STEP
        if kind not in StepKind.values:
            line_errors.append(_("kind “%(kind)s” is not one of %(kinds)s") % {"kind": kind, "kinds": kinds})
        step: dict[str, Any] = {"title": title[:200], "owner": owner, "kind": kind}
        match = _WHEN.match(when) if when else None
        if when and match is None:
            line_errors.append(_("when “%(when)s” should be like 4h or day 3") % {"when": when})
        elif kind in (StepKind.DAILY, StepKind.RELEASE) and when:
            line_errors.append(_("a daily or release step has no time; leave the last column empty"))
        elif kind in (StepKind.STEP, StepKind.TEST) and not when:
            line_errors.append(_("say when it is due, like 4h or day 3"))
        elif match is not None:
            if match.group("hours"):
                hours = float(match.group("hours"))
                step["hours"] = int(hours) if hours.is_integer() else hours
            else:
                day = int(match.group("day"))
                if day < 1:
                    line_errors.append(_("day 1 is the first day of control"))
                step["day"] = day
        if line_errors:
            errors.append(_("Line %(n)d: %(problems)s.") % {"n": number, "problems": "; ".join(line_errors)})
        else:
            steps.append(step)
    if not errors and not steps:
        errors.append(_("Write at least one step."))
    if not errors and sum(1 for s in steps if s["kind"] == StepKind.RELEASE) != 1:
        errors.append(_("Write exactly one release step (kind “release”)."))
    if errors:
        raise ValidationError(errors)
    return steps


def steps_text(steps: list[dict[str, Any]]) -> str:
    lines = []
    for s in steps:
        if s.get("hours") is not None:
            when = f"{s['hours']}小时"
        elif s.get("day") is not None:
            when = f"第{s['day']}天"
        else:
            when = ""
        owner = next((w for w, key in OWNER_WORDS.items() if key == s.get("owner")), s.get("owner", ""))
        kind = next((w for w, key in KIND_WORDS.items() if key == s.get("kind")), s.get("kind", ""))
        lines.append(f"{s.get('title', '')} | {owner} | {kind} | {when}".rstrip(" |"))
    return "\n".join(lines)


def control_type_save(
    *, actor: User, community: Community, control_type: ControlType, values: dict[str, Any]
) -> ControlType:
    """Save a community's type. Editing a built-in one makes the community's own copy with the same key,
    so the other communities keep the default."""
    if not can_edit_types(actor) or (not actor.is_superuser and actor.community_id != community.pk):
        raise PermissionDenied(_("Only the community's administrator may change its control types."))
    if values.get("measure") not in Measure.values or values.get("colour") not in Colour.values:
        raise ValidationError(_("Choose a measure and a colour."))
    days = values.get("days") or control_type.days
    late = [s["title"] for s in values.get("steps") or [] if (s.get("day") or 0) > days]
    if late:
        # Such a step would never be made: cases skip steps after their release.
        raise ValidationError(
            _(
                "These steps fall after the last day (%(days)d): %(titles)s. Change their day or the days under control."
            )
            % {"days": days, "titles": "、".join(late)}
        )
    with transaction.atomic():
        if control_type.community_id is None:
            own = ControlType.objects.filter(community=community, key=control_type.key).first()
            target = own or ControlType(community=community, key=control_type.key, order=control_type.order)
            action = AuditLog.Action.UPDATE if own else AuditLog.Action.CREATE
        elif control_type.community_id == community.pk:
            target, action = control_type, AuditLog.Action.UPDATE
        else:
            raise PermissionDenied(_("This control type belongs to another community."))
        before = {f: getattr(target, f, None) for f in values}
        for field, value in values.items():
            setattr(target, field, value)
        target.save()
        audit_record(
            actor=actor,
            action=action,
            target=target,
            changes={k: [str(before[k]), str(values[k])] for k in values if before[k] != values[k]},
        )
    return target


# --- listeners: the generic task page and the deadline scan -------------------------------------------


def _on_step_event(event: TaskEvent) -> None:
    task = event.task
    if event.what != "status" or task.source_id is None:
        return
    case = ControlCase.objects.filter(pk=task.source_id).select_related("control_type").first()
    if case is None or not case.is_active:
        return
    if task.stage == StepKind.RELEASE and task.status == Task.Status.DONE:
        case_release(actor=event.actor, case=case, check=False)
    elif task.stage == StepKind.TEST:
        _refresh([case.resident_id], actor=event.actor, reason=case.control_type.name)


def _on_escalation(events: list[Escalation]) -> None:
    # The scan's first level fires when a step falls due: an overdue test turns the resident yellow.
    case_ids = {e.source_id for e in events if e.level == 1 and e.source_id}
    if not case_ids:
        return
    tests = Task.objects.filter(pk__in=[e.task_id for e in events], stage=StepKind.TEST).values_list(
        "source_id", flat=True
    )
    residents = ControlCase.objects.filter(
        Q(pk__in=list(tests)), status=ControlCase.Status.ACTIVE
    ).values_list("resident_id", flat=True)
    if residents:
        _refresh(list(residents), actor=None, reason=_("a test is overdue"))


on_task_event(SOURCE, _on_step_event)
on_escalation(SOURCE, _on_escalation)
