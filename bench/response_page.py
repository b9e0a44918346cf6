"""The response page with 5,000 tasks: server time and query count, as the commander sees it.

The community and 200-step plan of plan_activation, activated as a drill; then response tasks are
added with tasks_create (mixed teams and positions, some due in the past) and moved through their
statuses with bulk updates (about a third done, some in progress or blocked, a few cancelled), with a
hundred and fifty log entries, a situation report and some staff on duty. The page is first measured
at 50 tasks, then the same response is grown to 5,000.

Server time is the time of a whole request through Django's test Client (middleware, view and
template, the session save; no network), taken after warm-up with SQL logging off; queries are
counted with CaptureQueriesContext on a separate request. The JSON read, GET /api/v1/responses/<id>,
and one team's own view of the board (?team=medical, 833 tasks) are timed the same way.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from bench.common import Figures, Target, child_main, log, open_database, percentile, query_logging_off
from bench.plan_activation import TEAMS, Place, build_community, build_plan, plan_document

if TYPE_CHECKING:
    from django.test import Client

    from linli.response.models import Response

DESCRIPTION = "response page (HTML and JSON) with 5,000 tasks: server time and query count"
NAME = "response_page"
TASKS = 5000
FEW = 50
WARM_UP = 5
SAMPLES = 60
TARGETS = {"ms_p95": Target("<=", 300), "queries_constant": Target("==", True)}


def add_tasks(place: Place, response: Response, total: int) -> None:
    """Grow the response to `total` tasks, then give all of them a realistic mix of statuses."""
    from django.db.models import F
    from django.utils import timezone

    from linli.plans.models import PositionRole
    from linli.response.models import Assignment
    from linli.tasks.models import Task
    from linli.tasks.services import TaskSpec, tasks_create

    have = response.tasks().count()
    posts = list(Assignment.objects.filter(response=response).select_related("position").order_by("id"))
    leaders = {a.position.team: a.user_id for a in posts if a.position.role != PositionRole.MEMBER}
    start = response.activated_at
    specs = []
    for n in range(have, total):
        team = TEAMS[n % len(TEAMS)]
        team_posts = [a for a in posts if a.position.team == team]
        post = team_posts[n % len(team_posts)] if n % 11 else None  # some nobody holds
        # Due from two hours before the activation to six hours after it: many are overdue now.
        due = start + dt.timedelta(minutes=(n * 37) % 480 - 120)
        specs.append(
            TaskSpec(
                title=f"入户核查第{n // 40 + 1}栋{n % 40 + 1:02d}户燃气阀门",
                due_at=due,
                community_id=response.community_id,
                assignee_id=post.user_id if post else None,
                team=team,
                position_title=post.position.title if post else "",
                leader_id=leaders.get(team) or place.commander.pk,
                commander_id=place.commander.pk,
                priority=Task.Priority.HIGH if n % 3 else Task.Priority.NORMAL,
                source=Task.Source.RESPONSE,
                source_id=response.pk,
                stage="response",
                order=1000 + n,
                escalation_minutes=15,
            )
        )
    tasks_create(specs)
    ids = list(response.tasks().order_by("id").values_list("id", flat=True))
    now = timezone.now()

    def where(*residues: int, modulo: int = 10) -> list[int]:
        return [pk for i, pk in enumerate(ids) if i % modulo in residues]

    Task.objects.filter(id__in=ids).update(
        status=Task.Status.OPEN, done_at=None, done_by=None, started_at=None, result=""
    )
    Task.objects.filter(id__in=where(0, 1, 2)).update(
        status=Task.Status.DONE,
        done_at=F("due_at") + dt.timedelta(minutes=5),
        done_by_id=F("assignee_id"),
        started_at=F("due_at") - dt.timedelta(minutes=20),
        next_escalation_at=None,
        result="已完成",
    )
    Task.objects.filter(id__in=where(3, 4)).update(status=Task.Status.IN_PROGRESS, started_at=now)
    Task.objects.filter(id__in=where(5)).update(status=Task.Status.BLOCKED, result="钥匙在物业，等待开门")
    Task.objects.filter(id__in=where(7, modulo=50)).update(
        status=Task.Status.CANCELLED, result="重复任务", next_escalation_at=None
    )


def add_activity(place: Place, response: Response) -> None:
    from linli.response.models import Assignment, LogEntry
    from linli.response.services import response_on_duty, response_sitrep

    for user in place.staff[:8]:
        response_on_duty(actor=user, response=response)
    LogEntry.objects.bulk_create(
        LogEntry(
            response=response, actor=place.staff[n % 5], kind=LogEntry.Kind.NOTE, text=f"现场情况更新{n}"
        )
        for n in range(150)
    )
    response_sitrep(
        actor=place.commander,
        response=response,
        situation="3号楼2单元燃气泄漏，已关闭总阀",
        objectives="两小时内完成全楼入户核查",
        actions="疏散2单元居民，设置警戒区",
        resources="抢修车1辆，志愿者12人",
        needs="临时安置点饮用水",
    )
    assert Assignment.objects.filter(response=response, on_duty_at__isnull=False).exists()


def count_queries(client: Client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}")
    return len(captured)


def time_requests(client: Client, path: str) -> list[float]:
    with query_logging_off():
        for _ in range(WARM_UP):
            client.get(path)
        times = []
        for _ in range(SAMPLES):
            start = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}")
    return times


def run() -> Figures:
    open_database(NAME)

    from django.test import Client

    from linli.response.services import response_activate

    place = build_community()
    plan = build_plan(place, plan_document(steps=40))
    response = response_activate(actor=place.commander, plan=plan, level=2, reason="燃气泄漏", drill=True)
    add_activity(place, response)
    page = f"/responses/{response.pk}/"
    api = f"/api/v1/responses/{response.pk}"
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(place.commander)

    add_tasks(place, response, FEW)
    queries_few = count_queries(client, page)
    api_queries_few = count_queries(client, api)
    few_ms = time_requests(client, page)
    log(f"{FEW} tasks: {queries_few} queries, p50 {percentile(few_ms, 0.5):.0f} ms")

    add_tasks(place, response, TASKS)
    tasks = response.tasks().count()
    log(f"{tasks} tasks; timing {SAMPLES} requests of the page and of the API …")
    queries = count_queries(client, page)
    api_queries = count_queries(client, api)
    page_ms = time_requests(client, page)
    api_ms = time_requests(client, api)
    team_ms = time_requests(client, f"{page}?team=medical")
    size = len(client.get(page).content)
    return {
        "ms_p50": round(percentile(page_ms, 0.50), 1),
        "ms_p95": round(percentile(page_ms, 0.95), 1),
        "ms_max": round(max(page_ms), 1),
        "queries_5000": queries,
        "queries_50": queries_few,
        "queries_constant": queries == queries_few,
        "ms_p50_at_50": round(percentile(few_ms, 0.50), 1),
        "team_ms_p50": round(percentile(team_ms, 0.50), 1),
        "team_ms_p95": round(percentile(team_ms, 0.95), 1),
        "api_ms_p50": round(percentile(api_ms, 0.50), 1),
        "api_ms_p95": round(percentile(api_ms, 0.95), 1),
        "api_queries_5000": api_queries,
        "api_queries_50": api_queries_few,
        "page_kb": round(size / 1024),
        "tasks": tasks,
    }


if __name__ == "__main__":
    child_main(run)
