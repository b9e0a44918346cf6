"""Background work for reports: the morning's daily reports."""

from __future__ import annotations

from django_tasks import task


@task()
def daily_report_job() -> None:
    from linli.reports.services import daily_reports_due

    daily_reports_due()
