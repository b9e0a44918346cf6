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
    # Self-reports received and not yet written (a worker is asked at once; this is the safety net).
    Periodic("self_report_inbox", 60, "linli.health.jobs.self_report_inbox_job"),
    # Missed disinfections at key sites, and the day's spot-check draw once its hour has come.
    Periodic("key_site_scan", 300, "linli.health.jobs.key_site_scan_job"),
    Periodic("spot_check_draw", 900, "linli.health.jobs.spot_check_draw_job"),
    # The daily report is made once its hour (08:30 by default) has come; a later run finds it made.
    Periodic("daily_report", 300, "linli.reports.jobs.daily_report_job"),
    # Messages for SMS, email, group robots and webhooks: retries coming due, leases of a dead worker.
    Periodic("outbox_deliver", 15, "linli.comms.jobs.outbox_deliver_job"),
    Periodic("notification_digest", 300, "linli.comms.jobs.digest_job"),
    Periodic("broadcast_escalate", 300, "linli.comms.jobs.broadcast_escalate_job"),
]
