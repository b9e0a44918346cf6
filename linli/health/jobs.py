"""Background work for health monitoring: missed disinfections at key sites and the day's spot-check draw."""

from __future__ import annotations

from django_tasks import task


@task()
def key_site_scan_job() -> None:
    from linli.health.keysites import key_site_scan

    key_site_scan()


@task()
def self_report_inbox_job() -> None:
    """Write the reports received, then once more after BATCH_SECONDS for what came in meanwhile (a
    process asks for a pass at most that often). Never longer: the worker has other jobs (the deadline scan,
    the daily report), and the next report's request, or the periodic job, asks again."""
    import time

    from linli.health.selfreport import BATCH_SECONDS, inbox_process

    if inbox_process() and BATCH_SECONDS:
        time.sleep(BATCH_SECONDS)
        inbox_process()


@task()
def spot_check_draw_job() -> None:
    from linli.health.spotchecks import spot_checks_due

    spot_checks_due()
