"""Reading control cases: scoped lists, one case, a worker's pipelines, and a case's steps."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from linli.core.access import scope_q
from linli.core.models import User
from linli.core.roles import ScopeLevel
from linli.epidemic.models import ControlCase, HealthChange, TestResult
from linli.tasks.models import Task

SOURCE = Task.Source.CONTROL


def cases_for(actor: User) -> QuerySet[ControlCase]:
    """Cases the actor may see: their street, community, or (grid staff) their grid."""
    return ControlCase.objects.filter(scope_q(actor))


def case_get(actor: User, pk: int) -> ControlCase:
    case = (
        cases_for(actor)
        .select_related(
            "resident__household__building",
            "resident__household__entrance",
            "resident__health",
            "control_type",
            "community",
            "grid",
            "record",
            "released_by",
            "created_by",
        )
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404
    return case


def _open_steps(now: dt.datetime) -> QuerySet[Task]:
    return Task.objects.filter(source=SOURCE, source_id=OuterRef("pk"), status__in=Task.OPEN_STATUSES)


def with_progress(qs: QuerySet[ControlCase], now: dt.datetime | None = None) -> QuerySet[ControlCase]:
    """Each case with its number of late steps and its next open deadline; late cases first."""
    now = now or timezone.now()
    late = (
        _open_steps(now)
        .filter(due_at__lt=now)
        .order_by()
        .values("source_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    next_due = _open_steps(now).order_by().values("source_id").annotate(m=Min("due_at")).values("m")
    return (
        qs.annotate(
            late_steps=Coalesce(Subquery(late, output_field=IntegerField()), Value(0)),
            next_due=Subquery(next_due),
        )
        .annotate(
            _late_first=Case(
                When(late_steps__gt=0, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .select_related(
            "resident__household__building",
            "resident__household__entrance",
            "resident__health",
            "control_type",
            "grid",
        )
        .order_by("_late_first", "next_due", "release_on", "id")
    )


@dataclass
class CaseFilters:
    status: str = ControlCase.Status.ACTIVE  # or "" for all
    type_key: str = ""
    late: bool = False
    q: str = ""


def cases_list(actor: User, filters: CaseFilters, now: dt.datetime | None = None) -> QuerySet[ControlCase]:
    now = now or timezone.now()
    qs = cases_for(actor)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.type_key:
        qs = qs.filter(control_type__key=filters.type_key)
    if filters.late:
        qs = qs.filter(Exists(_open_steps(now).filter(due_at__lt=now)))
    if filters.q:
        qs = qs.filter(Q(resident__name__contains=filters.q) | Q(resident__phone__endswith=filters.q))
    return with_progress(qs, now)


def case_counts(actor: User, now: dt.datetime | None = None) -> dict[str, object]:
    """Active cases by type (one row per key, a community copy counted with its built-in) and late ones."""
    now = now or timezone.now()
    active = cases_for(actor).filter(status=ControlCase.Status.ACTIVE)
    by_type = list(
        active.values("control_type__key")
        .annotate(n=Count("id"), name=Min("control_type__name"))
        .order_by("control_type__key")
    )
    return {
        "active": sum(r["n"] for r in by_type),
        "late": active.filter(Exists(_open_steps(now).filter(due_at__lt=now))).count(),
        "by_type": [{"key": r["control_type__key"], "name": r["name"], "n": r["n"]} for r in by_type],
    }


def case_steps(case: ControlCase) -> list[Task]:
    """Every step in the order of the pipeline: by due time, then by the template's order."""
    return list(
        Task.objects.filter(source=SOURCE, source_id=case.pk)
        .select_related("assignee", "done_by")
        .order_by("due_at", "order", "id")
    )


def health_history(resident_id: int, limit: int = 20) -> list[HealthChange]:
    return list(HealthChange.objects.filter(resident_id=resident_id).select_related("by")[:limit])


def test_results(resident_id: int, limit: int = 20) -> list[TestResult]:
    return list(TestResult.objects.filter(resident_id=resident_id).select_related("recorded_by")[:limit])


test_results.__test__ = False  # type: ignore[attr-defined]


# --- a worker's pipelines ----------------------------------------------------------------------------


@dataclass
class Pipeline:
    case: ControlCase
    steps: list[Task] = field(default_factory=list)  # what to do now: late, today's, then the next one
    late: int = 0
    left: int = 0


def my_pipeline_cases(actor: User, now: dt.datetime | None = None) -> QuerySet[ControlCase]:
    """Active cases with an open step assigned to the actor; for grid staff also every case in their grid."""
    now = now or timezone.now()
    mine = Exists(
        Task.objects.filter(
            source=SOURCE, source_id=OuterRef("pk"), assignee=actor, status__in=Task.OPEN_STATUSES
        )
    )
    cond = Q(mine)
    if actor.scope_level == ScopeLevel.GRID and actor.grid_id:
        cond |= Q(grid_id=actor.grid_id)
    return with_progress(cases_for(actor).filter(cond, status=ControlCase.Status.ACTIVE), now)


def my_pipelines(actor: User, now: dt.datetime | None = None, limit: int = 200) -> list[Pipeline]:
    """The phone list: each active case with the steps to act on now, late cases and late steps first.

    Two queries whatever the number of cases: the cases, then all their open steps.
    """
    now = now or timezone.now()
    cases = list(my_pipeline_cases(actor, now)[:limit])
    if not cases:
        return []
    end_of_day = timezone.make_aware(
        dt.datetime.combine(timezone.localtime(now).date() + dt.timedelta(days=1), dt.time.min)
    )
    steps: dict[int, list[Task]] = defaultdict(list)
    for task in (
        Task.objects.filter(source=SOURCE, source_id__in=[c.pk for c in cases], status__in=Task.OPEN_STATUSES)
        .select_related("assignee")
        .order_by("due_at", "order", "id")
    ):
        steps[task.source_id or 0].append(task)
    result = []
    for case in cases:
        open_steps = steps.get(case.pk, [])
        now_steps = [t for t in open_steps if t.due_at < end_of_day]
        if not now_steps and open_steps:
            now_steps = open_steps[:1]
        result.append(
            Pipeline(
                case=case,
                steps=now_steps,
                late=sum(1 for t in open_steps if t.due_at < now),
                left=len(open_steps),
            )
        )
    return result


def active_case_for(resident_id: int) -> ControlCase | None:
    return (
        ControlCase.objects.filter(resident_id=resident_id, status=ControlCase.Status.ACTIVE)
        .select_related("control_type")
        .first()
    )
