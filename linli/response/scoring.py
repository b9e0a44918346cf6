"""Drill scoring from the timings, so drills are compared on what happened rather than on impressions."""

from __future__ import annotations

import datetime as dt

from linli.plans.models import Phase
from linli.response.models import Response
from linli.tasks.models import Task

# A post should be filled within this time; after FULL_STAFFING_LATE the staffing half scores nothing.
FULL_STAFFING_TARGET = dt.timedelta(minutes=30)
FULL_STAFFING_LATE = dt.timedelta(minutes=120)
TASK_WEIGHT = 70
STAFFING_WEIGHT = 30


def staffing_points(response: Response) -> float:
    took = response.time_to_staffing
    if took is None:
        return 0.0
    if took <= FULL_STAFFING_TARGET:
        return float(STAFFING_WEIGHT)
    if took >= FULL_STAFFING_LATE:
        return 0.0
    share = (FULL_STAFFING_LATE - took) / (FULL_STAFFING_LATE - FULL_STAFFING_TARGET)
    return STAFFING_WEIGHT * share


def scored_tasks(response: Response) -> list[Task]:
    """The activation and response steps: the termination steps start when the drill ends."""
    qs = response.tasks().exclude(stage=Phase.TERMINATION)
    return list(qs.select_related("assignee").order_by("order", "id"))


def on_time_share(tasks: list[Task]) -> float | None:
    if not tasks:
        return None
    return sum(1 for t in tasks if t.finished_on_time) / len(tasks)


def drill_score(response: Response) -> int:
    """70 points for steps finished by their deadline, 30 for how fast every post was staffed."""
    share = on_time_share(scored_tasks(response)) or 0.0
    return round(TASK_WEIGHT * share + staffing_points(response))
