"""Background work for health monitoring: missed disinfections at key sites and the day's spot-check draw."""

from __future__ import annotations

from django_tasks import task


@task()
def key_site_scan_job() -> None:
    from linli.health.keysites import key_site_scan

    key_site_scan()


@task()
def spot_check_draw_job() -> None:
    from linli.health.spotchecks import spot_checks_due

    spot_checks_due()
