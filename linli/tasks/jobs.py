"""Background work for the task engine."""

from __future__ import annotations

from django_tasks import task


@task()
def deadline_scan_job() -> dict[str, int]:
    from linli.tasks.services import deadline_scan

    result = deadline_scan()
    return {"claimed": result.claimed, "notifications": result.notifications}
