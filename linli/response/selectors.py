"""Reading responses: the response page's board, staffing, counts and the after-action review."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from linli.core.access import scope_q
from linli.core.models import User
from linli.plans.models import Phase, Position
from linli.response.models import Assignment, LogEntry, Response, SituationReport
from linli.response.scoring import on_time_share, scored_tasks
from linli.tasks.models import Task, Team
from linli.tasks.selectors import urgency_order


def responses_for(actor: User) -> QuerySet[Response]:
    if not actor.is_authenticated or not actor.is_active:
        return Response.objects.none()
    return Response.objects.filter(scope_q(actor, grid=None))


def response_get(actor: User, pk: int) -> Response:
    response = responses_for(actor).select_related("plan", "community", "activated_by").filter(pk=pk).first()
    if response is None:
        raise Http404
    return response


def responses_list(actor: User) -> QuerySet[Response]:
    return responses_for(actor).select_related("community", "plan").order_by("status", "-activated_at")


@dataclass
class TaskCounts:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def done(self) -> int:
        return self.by_status.get(Task.Status.DONE, 0)

    @property
    def open(self) -> int:
        return sum(self.by_status.get(s, 0) for s in Task.OPEN_STATUSES)


def task_counts_by_team(response: Response) -> dict[str, TaskCounts]:
    """One grouped query: each team's tasks by status, and how many of the open ones are overdue."""
    now = timezone.now()
    counts: dict[str, TaskCounts] = defaultdict(TaskCounts)
    rows = (
        response.tasks()
        .values("team", "status")
        .annotate(n=Count("id"), late=Count("id", filter=Q(due_at__lt=now, status__in=Task.OPEN_STATUSES)))
        .order_by()
    )
    for row in rows:
        team = counts[row["team"]]
        team.by_status[row["status"]] = row["n"]
        team.total += row["n"]
        team.overdue += row["late"]
    return dict(counts)


def task_counts(response: Response, by_team: dict[str, TaskCounts] | None = None) -> TaskCounts:
    total = TaskCounts()
    for team in (task_counts_by_team(response) if by_team is None else by_team).values():
        total.total += team.total
        total.overdue += team.overdue
        for status, n in team.by_status.items():
            total.by_status[status] = total.by_status.get(status, 0) + n
    return total


@dataclass
class TeamBoard:
    team: str
    label: str
    tasks: list[Task]
    counts: TaskCounts
    matching: int = 0

    @property
    def hidden(self) -> int:
        return max(self.matching - len(self.tasks), 0)


def task_board(
    response: Response,
    *,
    team: str = "",
    status: str = "",
    limit: int = 200,
    by_team: dict[str, TaskCounts] | None = None,
) -> list[TeamBoard]:
    """Tasks by team, overdue first within each team. A filter narrows it; `limit` caps rows per team."""
    now = timezone.now()
    by_team = task_counts_by_team(response) if by_team is None else by_team
    qs = response.tasks()
    if team:
        qs = qs.filter(team=team)
    if status == "open":
        qs = qs.filter(status__in=Task.OPEN_STATUSES)
    elif status == "overdue":
        qs = qs.filter(status__in=Task.OPEN_STATUSES, due_at__lt=now)
    elif status:
        qs = qs.filter(status=status)
    matching = {r["team"]: r["n"] for r in qs.values("team").annotate(n=Count("id")).order_by()}
    labels = dict(Team.choices)
    codes = [t for t in Team.values if t in by_team] + [t for t in by_team if t not in Team.values]
    return [
        TeamBoard(
            team=code,
            label=str(labels.get(code, code or "—")),
            tasks=list(urgency_order(qs.filter(team=code), now).select_related("assignee")[:limit]),
            counts=by_team[code],
            matching=matching.get(code, 0),
        )
        for code in codes
        if not team or code == team
    ]


@dataclass
class PostStaffing:
    position: Position
    assignments: list[Assignment]

    @property
    def is_gap(self) -> bool:
        return not self.assignments

    @property
    def on_duty(self) -> bool:
        return any(a.on_duty_at for a in self.assignments)


def staffing(response: Response) -> list[PostStaffing]:
    assignments: dict[int, list[Assignment]] = defaultdict(list)
    for a in response.assignments.select_related("user", "position"):
        assignments[a.position_id].append(a)
    return [PostStaffing(p, assignments.get(p.pk, [])) for p in response.plan.positions.all()]


def my_assignments(actor: User, response: Response) -> list[Assignment]:
    return list(response.assignments.filter(user=actor).select_related("position"))


def log_for(response: Response, limit: int = 100) -> list[LogEntry]:
    return list(response.log.select_related("actor")[:limit])


def latest_sitrep(response: Response) -> SituationReport | None:
    return response.sitreps.select_related("actor").first()


def active_response_for_plan(plan_id: int) -> Response | None:
    return active_responses_by_plan([plan_id]).get(plan_id)


def active_responses_by_plan(plan_ids: list[int]) -> dict[int, Response]:
    active = Response.objects.filter(plan_id__in=plan_ids, status=Response.Status.ACTIVE).order_by(
        "activated_at"
    )
    return {r.plan_id: r for r in active}  # the latest wins


# --- after-action review ------------------------------------------------------------------------------


@dataclass
class TeamTiming:
    team: str
    label: str
    total: int
    on_time: int
    late: int
    unfinished: int

    @property
    def share(self) -> float | None:
        return self.on_time / self.total if self.total else None


@dataclass
class AfterAction:
    tasks: list[Task]
    teams: list[TeamTiming]
    time_to_staffing: dt.timedelta | None
    on_time_share: float | None
    recovery_tasks: list[Task]


def after_action(response: Response) -> AfterAction:
    tasks = scored_tasks(response)
    recovery = list(
        response.tasks().filter(stage=Phase.TERMINATION).select_related("assignee").order_by("order", "id")
    )
    labels = dict(Team.choices)
    per_team: dict[str, list[Task]] = defaultdict(list)
    for t in tasks:
        per_team[t.team].append(t)
    teams = [
        TeamTiming(
            team=code,
            label=str(labels.get(code, code)),
            total=len(items),
            on_time=sum(1 for t in items if t.finished_on_time),
            late=sum(1 for t in items if t.status == Task.Status.DONE and not t.finished_on_time),
            unfinished=sum(1 for t in items if t.status != Task.Status.DONE),
        )
        for code, items in per_team.items()
    ]
    return AfterAction(tasks, teams, response.time_to_staffing, on_time_share(tasks), recovery)


@dataclass
class DrillRow:
    response: Response
    teams: dict[str, float | None]


def drill_history(actor: User) -> tuple[list[DrillRow], list[tuple[str, str]]]:
    """Every drill with each team's on-time share (seed 001: a drill a month)."""
    drills = list(
        responses_for(actor)
        .filter(is_drill=True)
        .select_related("community", "plan")
        .order_by("-activated_at")[:60]
    )
    rows = []
    present: set[str] = set()
    for drill in drills:
        per_team: dict[str, list[Task]] = defaultdict(list)
        for t in scored_tasks(drill):
            per_team[t.team].append(t)
        present |= set(per_team)
        rows.append(DrillRow(drill, {team: on_time_share(items) for team, items in per_team.items()}))
    teams = [(code, str(label)) for code, label in Team.choices if code in present]
    return rows, teams
