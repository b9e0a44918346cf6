"""Writing tasks: creating them in bulk, moving them through their statuses, and the deadline scan."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from linli.comms.models import Notification
from linli.comms.services import Message, notify, notify_many
from linli.core.audit import audit_record
from linli.core.bulk import insert_rows
from linli.core.models import AuditLog, User
from linli.core.roles import SUPERVISOR_ROLES
from linli.tasks.models import Task

Status = Task.Status

# --- listeners: the app that created a task hears about what happens to it -------------------------


@dataclass(frozen=True)
class TaskEvent:
    task: Task
    actor: User | None
    what: str  # "status" | "reassigned"


@dataclass(frozen=True)
class Escalation:
    task_id: int
    source_id: int | None
    title: str
    level: int
    recipient_id: int


_status_listeners: dict[str, list[Callable[[TaskEvent], None]]] = defaultdict(list)
_escalation_listeners: dict[str, list[Callable[[list[Escalation]], None]]] = defaultdict(list)


def on_task_event(source: str, listener: Callable[[TaskEvent], None]) -> None:
    if listener not in _status_listeners[source]:
        _status_listeners[source].append(listener)


def on_escalation(source: str, listener: Callable[[list[Escalation]], None]) -> None:
    if listener not in _escalation_listeners[source]:
        _escalation_listeners[source].append(listener)


def _emit(event: TaskEvent) -> None:
    for listener in _status_listeners.get(event.task.source, []):
        listener(event)


# --- creating ---------------------------------------------------------------------------------------


@dataclass
class TaskSpec:
    title: str
    due_at: dt.datetime
    community_id: int
    grid_id: int | None = None
    detail: str = ""
    assignee_id: int | None = None
    team: str = ""
    position_title: str = ""
    leader_id: int | None = None
    commander_id: int | None = None
    priority: int = Task.Priority.NORMAL
    source: str = Task.Source.MANUAL
    source_id: int | None = None
    stage: str = ""
    order: int = 0
    escalation_minutes: int = 30


def _spec_fields(s: TaskSpec) -> dict[str, object]:
    """A new task's columns from its spec (the rest are the model's defaults for a new task)."""
    return {
        "title": s.title[:300],
        "due_at": s.due_at,
        "community_id": s.community_id,
        "grid_id": s.grid_id,
        "detail": s.detail,
        "assignee_id": s.assignee_id,
        "team": s.team,
        "position_title": s.position_title[:100],
        "leader_id": s.leader_id,
        "commander_id": s.commander_id,
        "priority": int(s.priority),
        "source": s.source,
        "source_id": s.source_id,
        "stage": s.stage,
        "order": s.order,
        "escalation_minutes": s.escalation_minutes,
        "next_escalation_at": s.due_at,
    }


def tasks_create(specs: Sequence[TaskSpec]) -> list[Task]:
    """Create many tasks in one insert. The caller audits and notifies (it knows why they exist)."""
    return Task.objects.bulk_create([Task(**_spec_fields(s)) for s in specs], batch_size=500)


# Columns a new task starts with besides its spec's.
_NEW_TASK = {
    "status": Status.OPEN.value,
    "result": "",
    "started_at": None,
    "done_at": None,
    "done_by_id": None,
    "escalation_level": 0,
}


def tasks_insert(specs: Sequence[TaskSpec]) -> int:
    """tasks_create for thousands of tasks whose objects the caller does not need (a dispatched list's
    verifications): the same rows, written with insert_rows, because bulk_create spends most of its time
    turning model instances back into column values."""
    now = timezone.now()
    rows = []
    for spec in specs:
        values = _spec_fields(spec)
        values.update(_NEW_TASK, created_at=now)
        rows.append(values)
    if rows:
        insert_rows(Task, list(rows[0]), [tuple(values.values()) for values in rows])
    return len(rows)


# --- who may act on a task --------------------------------------------------------------------------


def can_work_on(actor: User, task: Task) -> bool:
    """The assignee, the people in its escalation chain, and supervisors of its area may update a task.

    The caller has already loaded the task through selectors.task_get, so it is in the actor's view.
    """
    if not actor.is_active or actor.is_read_only:
        return False
    if actor.is_superuser or actor.pk in (task.assignee_id, task.leader_id, task.commander_id):
        return True
    return actor.role in SUPERVISOR_ROLES


def can_reassign_any(actor: User) -> bool:
    return actor.is_active and (actor.is_superuser or actor.role in SUPERVISOR_ROLES)


def can_reassign(actor: User, task: Task) -> bool:
    if actor.is_superuser:
        return True
    return actor.is_active and (
        actor.role in SUPERVISOR_ROLES or actor.pk in (task.leader_id, task.commander_id)
    )


# --- moving through statuses ------------------------------------------------------------------------


class TaskConflict(ValidationError):
    """Someone else changed the task first; the message says who and when."""


_ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    Status.IN_PROGRESS: (Status.OPEN, Status.BLOCKED),
    Status.BLOCKED: (Status.OPEN, Status.IN_PROGRESS),
    Status.DONE: Task.OPEN_STATUSES,
    Status.CANCELLED: Task.OPEN_STATUSES,
    Status.OPEN: (Status.DONE, Status.CANCELLED, Status.BLOCKED, Status.IN_PROGRESS),
}


def task_set_status(
    *, actor: User, task: Task, status: str, result: str = "", authorised: bool = False
) -> Task:
    """Move a task to `status`. `authorised`: the service of the task's source has already decided the
    actor may (e.g. whoever runs a control case ticks off a team's step)."""
    if not authorised and not can_work_on(actor, task):
        raise PermissionDenied(_("You cannot update this task."))
    if status not in _ALLOWED_FROM:
        raise ValidationError(_("Unknown status."))
    result = result.strip()
    if status == Status.BLOCKED and not result:
        raise ValidationError(_("Say what is blocking the task."))
    if status == Status.CANCELLED and not result:
        raise ValidationError(_("Give a reason for cancelling the task."))
    now = timezone.now()
    values: dict[str, object] = {"status": status}
    if result:
        values["result"] = result
    if status == Status.IN_PROGRESS:
        values["started_at"] = task.started_at or now
    if status in (Status.DONE, Status.CANCELLED):
        values.update(done_at=now, done_by=actor, next_escalation_at=None)
    if status == Status.OPEN:
        values.update(done_at=None, done_by=None, escalation_level=0, next_escalation_at=task.due_at)
    with transaction.atomic():
        won = Task.objects.filter(pk=task.pk, status__in=_ALLOWED_FROM[status]).update(**values)
        if not won:
            fresh = Task.objects.select_related("done_by").get(pk=task.pk)
            if fresh.status == status:
                # Someone else already did it: say who, and lose nothing.
                who = fresh.done_by.name if fresh.done_by else _("someone")
                when = timezone.localtime(fresh.done_at).strftime("%H:%M") if fresh.done_at else ""
                raise TaskConflict(
                    _("Already marked %(status)s by %(who)s at %(when)s.")
                    % {"status": fresh.get_status_display(), "who": who, "when": when}
                )
            raise TaskConflict(
                _("The task is now %(status)s; reload to see it.") % {"status": fresh.get_status_display()}
            )
        before = task.status
        task.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=task,
            changes={"status": [before, task.status]} | ({"result": ["", result]} if result else {}),
        )
        _emit(TaskEvent(task, actor, "status"))
    return task


def task_reassign(*, actor: User, task: Task, assignee: User) -> Task:
    if not can_reassign(actor, task):
        raise PermissionDenied(_("You cannot reassign this task."))
    if not assignee.is_active:
        raise ValidationError(
            _("%(name)s is no longer active; choose someone else.") % {"name": assignee.name}
        )
    if assignee.community_id and assignee.community_id != task.community_id:
        raise ValidationError(_("%(name)s works in another community.") % {"name": assignee.name})
    before = task.assignee.name if task.assignee else ""
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(assignee=assignee)
        task.assignee = assignee
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=task,
            changes={"assignee": [before, assignee.name]},
        )
        _emit(TaskEvent(task, actor, "reassigned"))
    notify(
        users=[assignee],
        kind=Notification.Kind.ASSIGNED,
        title=_("Task assigned to you: %(title)s") % {"title": task.title},
        url=task.get_absolute_url(),
        urgent=task.is_overdue(),
    )
    return task


def tasks_take_over(
    *,
    source: str,
    source_id: int,
    team: str,
    position_title: str,
    assignee: User,
    as_leader: bool = False,
    as_commander: bool = False,
) -> int:
    """Someone fills a post after the tasks were made: its unheld open tasks become theirs, and they join
    the escalation chain where it had nobody. Returns how many tasks they now hold."""
    tasks = Task.objects.filter(source=source, source_id=source_id)
    taken = tasks.filter(
        assignee__isnull=True, team=team, position_title=position_title, status__in=Task.OPEN_STATUSES
    ).update(assignee=assignee)
    if as_leader:
        tasks.filter(team=team, leader__isnull=True).update(leader=assignee)
    if as_commander:
        tasks.filter(commander__isnull=True).update(commander=assignee)
    return taken


def tasks_cancel_for_source(*, source: str, source_id: int, reason: str) -> int:
    """Close a source's open tasks at once (a response that ends takes its unfinished steps with it)."""
    return tasks_cancel(Task.objects.filter(source=source, source_id=source_id), reason=reason)


def tasks_cancel(tasks: QuerySet[Task], *, reason: str) -> int:
    """Cancel those of `tasks` still open, with the reason as their result; they stop escalating."""
    return tasks.filter(status__in=Task.OPEN_STATUSES).update(
        status=Status.CANCELLED, result=reason, next_escalation_at=None
    )


# --- the deadline scan ------------------------------------------------------------------------------


@dataclass
class ScanResult:
    claimed: int = 0
    notifications: int = 0
    passes: int = 0


def deadline_scan(*, now: dt.datetime | None = None, batch: int = 5000) -> ScanResult:
    """Escalate every task whose next escalation time has come, once, however many workers run this.

    Each batch is claimed by one conditional UPDATE that also sets the next escalation time (now plus
    the task's delay): a row is ours only if it was still due when our UPDATE reached it. On PostgreSQL
    a second worker's UPDATE waits for ours and then re-checks that condition, so it skips what we took,
    and a row claimed in this pass is not due again until its delay has passed.
    """
    now = now or timezone.now()
    result = ScanResult()
    delays = (
        Task.objects.filter(next_escalation_at__lte=now, status__in=Task.OPEN_STATUSES)
        .order_by()
        .values_list("escalation_minutes", flat=True)
        .distinct()
    )
    for minutes in sorted(set(delays)):
        while True:
            claimed, sent = _scan_batch(now, minutes, batch)
            result.passes += 1
            result.claimed += claimed
            result.notifications += sent
            if claimed < batch:
                break
    return result


def _update_returning_supported() -> bool:
    # PostgreSQL, and SQLite from 3.35 (the same versions that return columns from an INSERT).
    return bool(connection.features.can_return_columns_from_insert)


def _claim(now: dt.datetime, minutes: int, batch: int) -> list[int]:
    """The ids of up to `batch` due tasks with this delay that this call won."""
    following = now + dt.timedelta(minutes=minutes)
    if not _update_returning_supported():
        # SQLite before 3.35 has no UPDATE … RETURNING: claim row by row, still conditionally.
        due = Task.objects.filter(
            next_escalation_at__lte=now, escalation_minutes=minutes, status__in=Task.OPEN_STATUSES
        ).values_list("id", flat=True)[:batch]
        return [
            pk
            for pk in list(due)
            if Task.objects.filter(pk=pk, next_escalation_at__lte=now).update(
                escalation_level=F("escalation_level") + 1, next_escalation_at=following
            )
        ]
    table = connection.ops.quote_name(Task._meta.db_table)
    statuses = list(Task.OPEN_STATUSES)
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"UPDATE {table} SET escalation_level = escalation_level + 1, next_escalation_at = %s "
        f"WHERE id IN (SELECT id FROM {table} WHERE next_escalation_at <= %s AND escalation_minutes = %s "
        f"AND status IN ({', '.join(['%s'] * len(statuses))}) LIMIT %s) "
        "AND next_escalation_at <= %s RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(following), adapt(now), minutes, *statuses, batch, adapt(now)])
        return [row[0] for row in cursor.fetchall()]


def _scan_batch(now: dt.datetime, minutes: int, batch: int) -> tuple[int, int]:
    with transaction.atomic():
        ids = _claim(now, minutes, batch)
        if not ids:
            return 0, 0
        rows = [
            _Claimed(*values)
            for values in Task.objects.filter(id__in=ids).values_list(
                "id",
                "title",
                "source",
                "source_id",
                "due_at",
                "escalation_level",
                "assignee_id",
                "assignee__is_active",
                "leader_id",
                "leader__is_active",
                "commander_id",
                "commander__is_active",
            )
        ]
        finished: list[int] = []
        by_recipient: dict[int, list[_Claimed]] = defaultdict(list)
        escalations: dict[str, list[Escalation]] = defaultdict(list)
        for row in rows:
            chain = row.chain()
            level = row.escalation_level
            if level <= len(chain):
                recipient = chain[level - 1]
                row.as_owner = recipient == row.assignee_id
                by_recipient[recipient].append(row)
                escalations[row.source].append(Escalation(row.id, row.source_id, row.title, level, recipient))
            if level >= len(chain):
                finished.append(row.id)
        if finished:
            # Nobody further up the chain: stop scanning it, and record the last step so that a
            # reopened task restarts cleanly.
            Task.objects.filter(id__in=finished).update(escalation_level=3, next_escalation_at=None)
        sent = notify_many(_overdue_messages(by_recipient))
        for source, events in escalations.items():
            for listener in _escalation_listeners.get(source, []):
                listener(events)
    return len(ids), sent


@dataclass
class _Claimed:
    id: int
    title: str
    source: str
    source_id: int | None
    due_at: dt.datetime
    escalation_level: int
    assignee_id: int | None
    assignee_active: bool | None
    leader_id: int | None
    leader_active: bool | None
    commander_id: int | None
    commander_active: bool | None
    as_owner: bool = False

    def chain(self) -> list[int]:
        """Who hears about it at each level: active people only, each once."""
        chain: list[int] = []
        for user_id, active in (
            (self.assignee_id, self.assignee_active),
            (self.leader_id, self.leader_active),
            (self.commander_id, self.commander_active),
        ):
            if user_id and active and user_id not in chain:
                chain.append(user_id)
        return chain


DIGEST_LINES = 20


def _overdue_messages(by_recipient: dict[int, list[_Claimed]]) -> Iterable[Message]:
    """One message per person per pass: a single task by name, several as a digest."""
    for user_id, rows in by_recipient.items():
        if len(rows) == 1 and rows[0].as_owner:
            row = rows[0]
            yield Message(
                user_id=user_id,
                kind=Notification.Kind.OVERDUE,
                urgent=True,
                title=_("Overdue: %(title)s") % {"title": row.title},
                body=_("It was due at %(due)s.") % {"due": _hm(row.due_at)},
                url=reverse("tasks:detail", args=[row.id]),
            )
            continue
        lines = [f"· {_hm(r.due_at)}  {r.title}" for r in rows[:DIGEST_LINES]]
        if len(rows) > DIGEST_LINES:
            lines.append(_("… and %(n)d more") % {"n": len(rows) - DIGEST_LINES})
        own = all(r.as_owner for r in rows)
        yield Message(
            user_id=user_id,
            kind=Notification.Kind.DIGEST,
            urgent=True,
            title=ngettext("%(n)d task is overdue", "%(n)d tasks are overdue", len(rows)) % {"n": len(rows)},
            body="\n".join(lines),
            url=reverse("tasks:mine") + "?overdue=1" if own else reverse("tasks:overdue"),
        )


def _hm(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%m-%d %H:%M")
