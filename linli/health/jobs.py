"""Background work for health monitoring: missed disinfections at key sites and the day's spot-check draw."""

from __future__ import annotations

from django_tasks import task


@task()
def key_site_scan_job() -> None:
    from linli.health.keysites import key_site_scan

    key_site_scan()


@task()
def self_report_inbox_job() -> None:
    """Write the reports received. One more look after BATCH_SECONDS catches what came in while this pass
    ran (a process asks for a pass at most that often)."""
    import time

    from linli.health.selfreport import BATCH_SECONDS, inbox_process

    while inbox_process():
        if not BATCH_SECONDS:
            break
        time.sleep(BATCH_SECONDS)


@task()
def spot_check_draw_job() -> None:
    from linli.health.spotchecks import spot_checks_due

    spot_checks_due()
