"""Demo daily reports: the last 14 mornings' snapshots, so the report has history and trends, and today's
(generated and sent at once when the demo is loaded after 08:30). Run after the other demo data.

The self-reports they count come from the health demo (linli.health.demo), which covers these days."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from linli.registry.models import Community
from linli.reports.figures import scheduled_at
from linli.reports.models import DailyReport
from linli.reports.services import daily_reports_due, daily_reports_generate

DAYS = 14


def seed_demo_reports(community_code: str = "nanli", now: dt.datetime | None = None) -> bool:
    """Snapshots for the last DAYS days (and today's once it is past the report time). False when the
    community is missing or already has reports."""
    now = now or timezone.now()
    community = Community.objects.filter(code=community_code).first()
    if community is None or DailyReport.objects.filter(community=community).exists():
        return False
    today = timezone.localtime(now).date()
    days = [today - dt.timedelta(days=n) for n in range(DAYS, 0, -1)]
    with transaction.atomic():
        for day in days:
            at = scheduled_at(day)
            daily_reports_generate(day=day, now=at)
            DailyReport.objects.filter(day=day, sent_at__isnull=True).update(
                sent_at=at + dt.timedelta(seconds=40)
            )
    daily_reports_due(now)
    return True
