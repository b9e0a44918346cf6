"""Periodic background work. `manage.py run_scheduler` enqueues each job on the task queue when it is due;
the workers (`manage.py db_worker`, as many as needed, on any machine) run it. Every job is safe to run
twice, so a second scheduler on another app server does no harm."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int
    job: str  # dotted path to a django_tasks task


PERIODIC = [
    Periodic("deadline_scan", 60, "linli.tasks.jobs.deadline_scan_job"),
    # Health status follows time too: an overdue test turns yellow, an old positive test expires.
    Periodic("health_refresh", 900, "linli.epidemic.jobs.health_refresh_job"),
]
