from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from linli.core.models import User
from linli.tasks.models import Task
from linli.tasks.selectors import task_get, tasks_for, urgency_order
from linli.tasks.services import TaskConflict, task_set_status

router = Router(tags=["tasks"])
MAX_TASKS = 500


class TaskOut(Schema):
    id: int
    title: str
    status: str
    priority: int
    due_at: dt.datetime
    overdue: bool
    assignee: str | None
    team: str
    source: str
    source_id: int | None
    done_at: dt.datetime | None
    result: str


class StatusIn(Schema):
    status: str
    result: str = ""


class ErrorOut(Schema):
    detail: str


def task_out(task: Task, now: dt.datetime) -> TaskOut:
    return TaskOut(
        id=task.pk,
        title=task.title,
        status=task.status,
        priority=task.priority,
        due_at=task.due_at,
        overdue=task.is_overdue(now),
        assignee=task.assignee.username if task.assignee else None,
        team=task.team,
        source=task.source,
        source_id=task.source_id,
        done_at=task.done_at,
        result=task.result,
    )


@router.get("", response=list[TaskOut])
def tasks(
    request: HttpRequest,
    mine: bool = False,
    overdue: bool = False,
    open: bool = True,
    response: int | None = None,
) -> list[TaskOut]:
    """Tasks in the caller's view, overdue first then soonest due (at most 500)."""
    actor: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    qs = Task.objects.filter(assignee=actor) if mine else tasks_for(actor)
    if open or overdue:
        qs = qs.filter(status__in=Task.OPEN_STATUSES)
    if overdue:
        qs = qs.filter(due_at__lt=now)
    if response is not None:
        qs = qs.filter(source=Task.Source.RESPONSE, source_id=response)
    return [task_out(t, now) for t in urgency_order(qs, now).select_related("assignee")[:MAX_TASKS]]


@router.post("/{task_id}/status", response={200: TaskOut, 400: ErrorOut, 409: ErrorOut})
def set_status(request: HttpRequest, task_id: int, data: StatusIn) -> Status:
    actor: User = request.user  # type: ignore[assignment]
    task = task_get(actor, task_id)
    try:
        task = task_set_status(actor=actor, task=task, status=data.status, result=data.result)
    except TaskConflict as exc:
        return Status(409, ErrorOut(detail=" ".join(exc.messages)))
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=" ".join(exc.messages)))
    return Status(200, task_out(task, timezone.now()))
