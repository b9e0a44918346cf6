"""Reading tasks. A task is visible to its assignee, its escalation chain and the staff of its area."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from linli.core.access import scope_q
from linli.core.models import User
from linli.tasks.models import Task


def task_q(actor: User) -> Q:
    if not actor.is_authenticated or not actor.is_active:
        return Q(pk__in=[])
    area = (Q(grid__isnull=True) & scope_q(actor, grid=None)) | (Q(grid__isnull=False) & scope_q(actor))
    return Q(assignee=actor) | Q(leader=actor) | Q(commander=actor) | area


def tasks_for(actor: User) -> QuerySet[Task]:
    return Task.objects.filter(task_q(actor))


def task_get(actor: User, pk: int) -> Task:
    task = tasks_for(actor).select_related("assignee", "done_by", "leader", "commander").filter(pk=pk).first()
    if task is None:
        raise Http404
    return task


def urgency_order(qs: QuerySet[Task], now: dt.datetime | None = None) -> QuerySet[Task]:
    """Open before finished, overdue first, then soonest due; finished ones most recent first."""
    now = now or timezone.now()
    return qs.annotate(
        _bucket=Case(
            When(status__in=Task.OPEN_STATUSES, due_at__lt=now, then=Value(0)),
            When(status__in=Task.OPEN_STATUSES, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("_bucket", "due_at", "order", "id")


def tasks_mine(actor: User, *, overdue: bool = False, finished: bool = False) -> QuerySet[Task]:
    """My open tasks, overdue first (or only the overdue ones); or what I finished, latest first."""
    qs = Task.objects.filter(assignee=actor)
    if finished:
        return qs.exclude(status__in=Task.OPEN_STATUSES).order_by("-done_at", "-id")
    qs = qs.filter(status__in=Task.OPEN_STATUSES)
    if overdue:
        qs = qs.filter(due_at__lt=timezone.now())
    return urgency_order(qs)


def tasks_overdue_for(actor: User) -> QuerySet[Task]:
    """What a supervisor watches: overdue tasks in their area and tasks they are escalation contacts for."""
    qs = tasks_for(actor).filter(status__in=Task.OPEN_STATUSES, due_at__lt=timezone.now())
    return urgency_order(qs).select_related("assignee")


def tasks_needing_reassignment(actor: User) -> QuerySet[Task]:
    """Open tasks whose assignee left (deactivated) or that nobody holds."""
    return (
        tasks_for(actor)
        .filter(status__in=Task.OPEN_STATUSES)
        .filter(Q(assignee__isnull=True) | Q(assignee__is_active=False))
        .select_related("assignee")
        .order_by("due_at", "id")
    )
