"""Background work for epidemic control."""

from __future__ import annotations

from django_tasks import task


@task()
def health_refresh_job() -> dict[str, int]:
    from linli.epidemic.cases import health_refresh_overdue

    return {"changed": health_refresh_overdue()}
