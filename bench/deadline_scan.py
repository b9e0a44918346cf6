"""The deadline scan over 1,000,000 tasks, 10,000 of them due for escalation.

Ten communities of 20 staff accounts (200 people, a few of them deactivated), each with a plan and two
responses; a million tasks from every source (manual, visit, verification, response steps) over the
past year and the next two months: most done or cancelled, many open and due later, some long overdue
and already escalated to the end of their chain, and 10,000 whose next escalation is due (open, in
progress or blocked; at escalation level 0, 1 or 2, each within one escalation interval of its last
step, as a scan running every minute leaves them). Every task has an assignee (a few none), a leader
and a commander.

One deadline_scan() pass is timed (it must claim the 10,000 and send the notifications), then a
second pass straight after, which finds nothing; the URLs are loaded first, as a running worker has them. Both run at a fixed "now", so the data set never
ages. The tasks are written with insert_rows on SQLite (about a minute; the database is then cached
in bench/out by the hash of this file, the task model and the migrations, and every run starts from a
fresh copy, since the scan changes it) and with COPY on PostgreSQL (rebuilt on every run: the shared
database is flushed before each benchmark).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    OUT_DIR,
    ROOT,
    Figures,
    Target,
    Timer,
    analyze,
    child_main,
    fingerprint,
    log,
    open_cached_dataset,
    query_logging_off,
    schema_fingerprint,
)
from bench.plan_activation import plan_document

DESCRIPTION = "deadline scan over 1,000,000 tasks, 10,000 due for escalation: one pass, then an idle one"
NAME = "deadline_scan"
TASKS = 1_000_000
DUE = 10_000  # every hundredth task
COMMUNITIES = 10
CHUNK = 50_000
# 09:00 in Beijing. The scan runs at this time, not the clock's, so a cached data set stays valid.
NOW = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
TARGETS = {"seconds": Target("<=", 2), "claimed": Target("==", DUE), "idle_claimed": Target("==", 0)}

COLUMNS = [
    "community",
    "grid",
    "title",
    "detail",
    "assignee",
    "team",
    "position_title",
    "leader",
    "commander",
    "due_at",
    "priority",
    "status",
    "source",
    "source_id",
    "stage",
    "order",
    "result",
    "created_at",
    "started_at",
    "done_at",
    "done_by",
    "escalation_level",
    "escalation_minutes",
    "next_escalation_at",
]
TITLES = {
    "manual": "回访{n}号楼独居老人",
    "visit": "入户走访{n}号楼",
    "verification": "核实{n}号楼人户信息",
    "response": "检查{n}号楼燃气阀门",
}
POSITIONS = {
    "command": "总指挥",
    "engineering": "抢险抢修组员",
    "liaison": "联络通讯组员",
    "medical": "医疗救护组员",
    "security": "交通治安组员",
    "logistics": "后勤保障组员",
}


def dataset_cache() -> Path:
    tasks = ROOT / "linli" / "tasks" / "models.py"
    key = fingerprint(Path(__file__), tasks, extra=f"{schema_fingerprint()}-{TASKS}-{DUE}")
    return OUT_DIR / f"{NAME}-{key}.sqlite3"


@dataclass
class Area:
    community_id: int
    grid_ids: list[int]
    commander_id: int
    leader_of_grid: dict[int, int]
    workers: list[tuple[int, int | None]]  # (user id, grid id)
    response_ids: list[int]


def build_areas() -> list[Area]:
    """Ten communities, each with three grids, 20 staff accounts, a plan and two responses."""
    from linli.core.models import User
    from linli.core.roles import Role
    from linli.plans.document import plan_build
    from linli.registry.models import Community, Grid, Street
    from linli.response.models import Response

    street = Street.objects.create(code="bench-street", name="基准街道")
    doc = plan_document(steps=12)
    areas = []
    for c in range(1, COMMUNITIES + 1):
        code = f"bench{c:02d}"
        community = Community.objects.create(street=street, code=code, name=f"基准{c}社区")
        grids = [
            Grid.objects.create(community=community, code=f"{code}-g{n}", number=n, name=f"第{n}网格")
            for n in (1, 2, 3)
        ]
        accounts: list[tuple[str, str, Grid | None]] = [
            ("commander", Role.COMMUNITY_ADMIN, None),
            *[(f"leader{n}", Role.GRID_LEADER, g) for n, g in enumerate(grids, start=1)],
            *[(f"worker{n}", Role.GRID_WORKER, grids[n % 3]) for n in range(1, 11)],
            *[(f"team{n}", Role.TEAM_MEMBER, None) for n in range(1, 7)],
        ]
        users = []
        for n, (username, role, grid) in enumerate(accounts):
            user = User(
                username=f"{code}_{username}",
                display_name=f"{c}社区工作人员{n + 1:02d}",
                role=role,
                community=None if grid else community,
                grid=grid,
                # Someone in every other community has left: the chain skips them.
                is_active=not (c % 2 == 0 and username == "worker3"),
            )
            user.set_unusable_password()
            user.save()
            users.append(user)
        commander = users[0]
        plan = plan_build(doc, community=community)
        responses = [
            Response.objects.create(
                plan=plan,
                plan_version=1,
                community=community,
                title=plan.title,
                level=3,
                is_drill=n == 0,
                reason="基准",
                activated_at=NOW - dt.timedelta(days=30 * (1 - n), hours=2),
                activated_by=commander,
            )
            for n in (0, 1)
        ]
        areas.append(
            Area(
                community_id=community.pk,
                grid_ids=[g.pk for g in grids],
                commander_id=commander.pk,
                leader_of_grid={g.pk: u.pk for g, u in zip(grids, users[1:4], strict=True)},
                workers=[(u.pk, u.grid_id) for u in users[4:]],
                response_ids=[r.pk for r in responses],
            )
        )
    return areas


def task_rows(areas: Sequence[Area], count: int) -> Iterator[tuple[Any, ...]]:
    """The tasks in COLUMNS order, deterministic. Every hundredth one (offset 37) is due for escalation."""
    rng = random.Random(20261102)
    minute = dt.timedelta(minutes=1)
    due_index = 0
    for i in range(count):
        area = rng.choice(areas)
        draw = rng.random()
        source = (
            "response"
            if draw < 0.10
            else "verification"
            if draw < 0.25
            else "visit"
            if draw < 0.40
            else "manual"
        )
        worker_id, worker_grid = rng.choice(area.workers)
        grid_id = worker_grid or rng.choice(area.grid_ids)
        assignee_id: int | None = worker_id if rng.random() > 0.01 else None
        minutes = 15 if source == "response" else 30
        team = rng.choice(list(POSITIONS)) if source == "response" else ""
        source_id = rng.choice(area.response_ids) if source == "response" else None
        level = 0
        started_at = done_at = next_at = None
        done_by = None
        result = ""
        if i % 100 == 37:
            # Due for escalation now: level 0, 1 or 2, within one interval of its last step.
            level = (0, 0, 0, 0, 0, 0, 0, 1, 1, 2)[due_index % 10]
            due_index += 1
            due = NOW - level * minutes * minute - dt.timedelta(seconds=rng.randrange(minutes * 60))
            next_at = due + level * minutes * minute
            status = ("open", "open", "open", "in_progress", "blocked")[due_index % 5]
        else:
            state = rng.random()
            if state < 0.20:
                status = "open"
                due = NOW + dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 60))
                next_at = due
            elif state < 0.21:
                # Overdue and already escalated once; its next step is still to come.
                status = "in_progress"
                level = 1
                due = NOW - dt.timedelta(seconds=rng.randrange(1, minutes * 60))
                next_at = due + minutes * minute
            elif state < 0.24:
                # Long overdue; everyone in the chain has heard.
                status = rng.choice(("open", "blocked"))
                level = 3
                due = NOW - dt.timedelta(minutes=rng.randrange(120, 60 * 24 * 90))
            else:
                due = NOW - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 365))
                if state < 0.28:
                    status = "cancelled"
                    result = "不再需要"
                    done_at = due - dt.timedelta(minutes=rng.randrange(1, 600))
                else:
                    status = "done"
                    result = "已完成"
                    started_at = due - dt.timedelta(minutes=rng.randrange(10, 600))
                    done_at = due + dt.timedelta(minutes=rng.randrange(-300, 120))
                    done_by = assignee_id
        if status in ("in_progress", "blocked") and started_at is None:
            started_at = due - dt.timedelta(minutes=30)
        if status == "blocked":
            result = "联系不上住户"
        yield (
            area.community_id,
            None if source in ("manual", "response") else grid_id,
            TITLES[source].format(n=i % 40 + 1),
            "",
            assignee_id,
            team,
            POSITIONS.get(team, ""),
            area.leader_of_grid.get(grid_id) or area.commander_id,
            area.commander_id,
            due,
            2 if source == "response" else 3,
            status,
            source,
            source_id,
            "response" if source == "response" else "",
            i % 50 if source == "response" else 0,
            result,
            due - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 3)),
            started_at,
            done_at,
            done_by,
            level,
            minutes,
            next_at,
        )


def chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def insert_tasks(areas: Sequence[Area]) -> None:
    from django.db import connection, transaction

    from linli.core.bulk import insert_rows
    from linli.tasks.models import Task

    written = 0
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column_of = {f.name: f.column for f in Task._meta.concrete_fields}
        columns = [column_of[name] for name in COLUMNS]
        sql = f"COPY {quote(Task._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[attr-defined]
            for row in task_rows(areas, TASKS):
                copy.write_row(row)
                written += 1
                if written % 100_000 == 0:
                    log(f"  {written:,} tasks")
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size = -524288")  # 512 MiB: keep the indexes being filled in memory
    with transaction.atomic():
        for chunk in chunks(task_rows(areas, TASKS), CHUNK):
            insert_rows(Task, COLUMNS, chunk)
            written += len(chunk)
            if written % 100_000 == 0:
                log(f"  {written:,} tasks")


def build() -> None:

    areas = build_areas()
    log(f"writing {TASKS:,} tasks …")
    insert_tasks(areas)
    analyze()


def open_dataset() -> float:
    """This benchmark's database with its data set; the seconds spent building it (0 if cached)."""
    return open_cached_dataset(NAME, dataset_cache(), build)


def run() -> Figures:
    build_seconds = open_dataset()

    from django.urls import reverse

    from linli.comms.models import Notification
    from linli.response.models import LogEntry
    from linli.tasks.models import Task
    from linli.tasks.services import deadline_scan

    # A worker has its URLs loaded by its first pass; this process has not made one yet.
    reverse("tasks:overdue")
    due = Task.objects.filter(next_escalation_at__lte=NOW, status__in=Task.OPEN_STATUSES).count()
    log(f"{due:,} tasks due for escalation; scanning …")
    log_entries = LogEntry.objects.count()
    with query_logging_off():
        with Timer() as first:
            result = deadline_scan(now=NOW)
        log(f"first pass: {first.seconds:.2f} s, {result.claimed:,} claimed in {result.passes} batches")
        with Timer() as idle:
            again = deadline_scan(now=NOW)
    figures: Figures = {
        "seconds": round(first.seconds, 3),
        "claimed": result.claimed,
        "notifications": result.notifications,
        "batches": result.passes,
        "log_entries": LogEntry.objects.count() - log_entries,
        "idle_seconds": round(idle.seconds, 3),
        "idle_claimed": again.claimed,
        "tasks": Task.objects.count(),
        "due_before": due,
        "notifications_stored": Notification.objects.count(),
    }
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
