"""Spot checks (seed 001: 抽查): each day a random 10 % of each grid's reporters get a verification call.

The draw is reproducible: the same day, grid and reporters always give the same people (the random
generator is seeded with the day and the grid, and the reporters are taken in id order); the list drawn is
kept, with the report each check is about. It is made once a day for each grid, at SPOT_CHECK_TIME (14:00
by default, when most have reported) or earlier by hand; a grid with nobody reporting by then is drawn at
the next pass after someone does.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.access import scope_q
from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.health.models import SelfReport, SpotCheck

SHARE = 0.10


def _draw_time() -> dt.time:
    hour, _sep, minute = str(getattr(settings, "SPOT_CHECK_TIME", "14:00")).partition(":")
    return dt.time(int(hour), int(minute or 0))


def draw(reporter_ids: list[int], *, day: dt.date, grid_id: int | None, community_id: int) -> list[int]:
    """Which of the reporters are checked: ceil(10 %) of them, the same ones whenever asked again."""
    ids = sorted(set(reporter_ids))
    if not ids:
        return []
    count = math.ceil(len(ids) * SHARE)
    rng = random.Random(f"linli-spot-check:{day.isoformat()}:{community_id}:{grid_id or 0}")
    return sorted(rng.sample(ids, count))


def spot_checks_draw(
    *, community_id: int, day: dt.date, actor: User | None = None, now: dt.datetime | None = None
) -> int:
    """Draw the day's checks for every grid of the community that has none yet. Safe to run twice."""
    now = now or timezone.now()
    reports = SelfReport.objects.filter(community_id=community_id, day=day, current=True)
    done_grids = set(
        SpotCheck.objects.filter(community_id=community_id, day=day)
        .values_list("grid_id", flat=True)
        .distinct()
    )
    by_grid: dict[int | None, dict[int, int]] = {}
    rows_seen: list[tuple[int, int, int | None]] = list(reports.values_list("id", "resident_id", "grid_id"))
    for report_id, resident_id, grid_id in rows_seen:
        if grid_id not in done_grids:
            by_grid.setdefault(grid_id, {})[resident_id] = report_id
    rows = []
    for grid_id, reporters in by_grid.items():
        for resident_id in draw(list(reporters), day=day, grid_id=grid_id, community_id=community_id):
            rows.append(
                SpotCheck(
                    community_id=community_id,
                    grid_id=grid_id,
                    day=day,
                    resident_id=resident_id,
                    report_id=reporters[resident_id],
                    drawn_at=now,
                )
            )
    with transaction.atomic():
        # Two workers drawing at once: the unique (day, resident) keeps one of each.
        SpotCheck.objects.bulk_create(rows, ignore_conflicts=True)
        if rows and actor is not None:
            audit_record(
                actor=actor,
                action=AuditLog.Action.CREATE,
                detail=_("%(n)s drawn for %(day)s") % {"n": len(rows), "day": day},
                community_id=community_id,
            )
    return len(rows)


def spot_checks_due(now: dt.datetime | None = None) -> int:
    """The periodic job: once the day's draw time has come, draw for every community with reports."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.time() < _draw_time():
        return 0
    day = local.date()
    # Every community with reports: spot_checks_draw skips the grids drawn already (by hand this morning).
    waiting = (
        SelfReport.objects.filter(day=day, current=True).values_list("community_id", flat=True).distinct()
    )
    return sum(spot_checks_draw(community_id=c, day=day, now=now) for c in list(waiting))


def spot_checks_for(actor: User, day: dt.date) -> QuerySet[SpotCheck]:
    return (
        SpotCheck.objects.filter(scope_q(actor), day=day)
        .select_related(
            "report", "resident__household__building", "resident__household__entrance", "checked_by"
        )
        .order_by("grid_id", "resident__household__building__sort_key", "resident_id")
    )


def spot_check_get(actor: User, pk: int) -> SpotCheck:
    check = SpotCheck.objects.filter(scope_q(actor), pk=pk).select_related("resident__household").first()
    if check is None:
        raise Http404
    return check


def spot_check_record(*, actor: User, check: SpotCheck, result: str, note: str = "") -> SpotCheck:
    if actor.is_read_only:
        raise PermissionDenied(_("Your role may look but not change anything."))
    if result not in SpotCheck.Result.values or result == SpotCheck.Result.PENDING:
        raise ValidationError(_("Choose what the call found."))
    if result == SpotCheck.Result.MISMATCH and not note.strip():
        raise ValidationError(_("Say what did not match the report."))
    check.result = result
    check.note = note.strip()[:300]
    check.checked_by = actor
    check.checked_at = timezone.now()
    with transaction.atomic():
        check.save(update_fields=["result", "note", "checked_by", "checked_at"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=check.resident,
            detail=_("spot check: %(result)s") % {"result": check.get_result_display()},
        )
    return check
