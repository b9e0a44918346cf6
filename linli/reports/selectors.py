"""Reads for the daily report: which grids, communities and streets an account may see, one report
(the snapshot, or computed live), and its history for the trends. The figures and their definitions are
in linli.reports.figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.models import User
from linli.core.roles import ScopeLevel
from linli.registry.models import Community, Grid, Street
from linli.reports.figures import (
    Figures,
    daily_figures,
    flow_day_of,
    rollup,
    scheduled_at,
)
from linli.reports.models import DailyReport

__all__ = [
    "Report",
    "TrendPoint",
    "Unit",
    "daily_figures",
    "history",
    "report_for",
    "unit_get",
    "units_for",
]

HISTORY_DAYS = 14

# Before the system existed: and date arithmetic on year 1 overflows.
EARLIEST = dt.date(2000, 1, 1)


@dataclass
class Unit:
    """A grid, community or street whose report someone reads."""

    scope: str  # DailyReport.Scope
    code: str
    name: str
    street: Street
    community: Community | None = None
    grid: Grid | None = None
    community_ids: list[int] = field(default_factory=list)  # whose figures make this report

    @property
    def parent(self) -> Unit | None:
        if self.grid is not None and self.community is not None:
            return _community_unit(self.community)
        if self.community is not None:
            return _street_unit(self.street)
        return None


def _street_unit(street: Street) -> Unit:
    ids = list(Community.objects.filter(street=street).values_list("pk", flat=True))
    return Unit("street", street.code, street.name, street, community_ids=ids)


def _community_unit(community: Community) -> Unit:
    return Unit(
        "community",
        community.code,
        community.name,
        community.street,
        community=community,
        community_ids=[community.pk],
    )


def _grid_unit(grid: Grid) -> Unit:
    community = grid.community
    return Unit(
        "grid",
        grid.code,
        grid.name,
        community.street,
        community=community,
        grid=grid,
        community_ids=[community.pk],
    )


def unit_get(actor: User, code: str) -> Unit:
    """The grid, community or street with this code, if the actor may read its report; 404 otherwise.

    Street accounts read their street, its communities and grids; community accounts their community and
    its grids; grid accounts their own grid only (the reports count people, and grid staff see only
    their grid's people). Superusers read everything."""
    if not actor.is_authenticated or not actor.is_active or not code:
        raise Http404
    level = None if actor.is_superuser else actor.scope_level
    if not actor.is_superuser and level is None:
        raise Http404
    if actor.is_superuser or level == ScopeLevel.STREET:
        street = Street.objects.filter(code=code).first()
        if street is not None and (actor.is_superuser or street.pk == actor.street_id):
            return _street_unit(street)
    if actor.is_superuser or level in (ScopeLevel.STREET, ScopeLevel.COMMUNITY):
        community = Community.objects.select_related("street").filter(code=code).first()
        if community is not None and _sees_community(actor, community):
            return _community_unit(community)
    grid = Grid.objects.select_related("community__street").filter(code=code).first()
    if grid is not None:
        if actor.is_superuser or (level == ScopeLevel.GRID and grid.pk == actor.grid_id):
            return _grid_unit(grid)
        if level in (ScopeLevel.STREET, ScopeLevel.COMMUNITY) and _sees_community(actor, grid.community):
            return _grid_unit(grid)
    raise Http404


def _sees_community(actor: User, community: Community) -> bool:
    if actor.is_superuser:
        return True
    if actor.scope_level == ScopeLevel.STREET:
        return community.street_id == actor.street_id
    if actor.scope_level == ScopeLevel.COMMUNITY:
        return community.pk == actor.community_id
    return False


def default_code(actor: User) -> str:
    """The report an account opens first: its own grid's, community's or street's."""
    if actor.is_superuser and actor.scope_object is None:
        street = Street.objects.order_by("code").first()
        return street.code if street else ""
    scope = actor.scope_object
    return str(getattr(scope, "code", "")) if scope is not None else ""


@dataclass
class Choice:
    code: str
    name: str
    depth: int  # 0 street, 1 community, 2 grid


def units_for(actor: User) -> list[Choice]:
    """What the scope picker offers: street → community → grid, as far as the actor may read."""
    level = None if actor.is_superuser else actor.scope_level
    if level == ScopeLevel.GRID:
        grid = Grid.objects.filter(pk=actor.grid_id or 0).first()
        return [Choice(grid.code, grid.name, 2)] if grid else []
    if level == ScopeLevel.COMMUNITY:
        communities = list(Community.objects.filter(pk=actor.community_id or 0))
        streets: list[Street] = []
    elif level == ScopeLevel.STREET:
        streets = list(Street.objects.filter(pk=actor.street_id or 0))
        communities = list(Community.objects.filter(street_id=actor.street_id or 0).order_by("code"))
    elif actor.is_superuser:
        streets = list(Street.objects.order_by("code"))
        communities = list(Community.objects.order_by("code"))
    else:
        return []
    grids: dict[int, list[Grid]] = {}
    for grid in Grid.objects.filter(community__in=communities).order_by("community_id", "number"):
        grids.setdefault(grid.community_id, []).append(grid)
    choices: list[Choice] = []

    def add(community: Community) -> None:
        choices.append(Choice(community.code, community.name, 1))
        choices.extend(Choice(g.code, g.name, 2) for g in grids.get(community.pk, []))

    if not streets:
        for community in communities:
            add(community)
    for street in streets:
        choices.append(Choice(street.code, street.name, 0))
        for community in communities:
            if community.street_id == street.pk:
                add(community)
    return choices


# --- one report ----------------------------------------------------------------------------------


@dataclass
class Report:
    """A report as the page, the downloads and the API show it."""

    unit: Unit
    day: dt.date
    data: Figures  # figures.rollup's payload: figures, units (grids or communities), as_at
    status: str  # "snapshot" (generated), "live" (computed now for a date without one), "pending"
    generated_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None

    @property
    def figures(self) -> Figures:
        return self.data["figures"]  # type: ignore[no-any-return]

    @property
    def units(self) -> list[Figures]:
        return self.data.get("units", [])  # type: ignore[no-any-return]

    @property
    def due_at(self) -> dt.datetime:
        return scheduled_at(self.day)

    @property
    def as_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.data["as_at"])

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"


def report_for(actor: User, code: str, day: dt.date, *, now: dt.datetime | None = None) -> Report:
    """The report dated `day` for a grid, community or street the actor may read (404 otherwise).

    The stored snapshot when there is one; else computed live: for a past date as it would have been
    generated, for today before the report time a preview as at now ("pending"). A future date is
    refused (ValidationError)."""
    unit = unit_get(actor, code)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if day > today:
        raise ValidationError(_("There is no report for a future date."))
    if day < EARLIEST:
        raise ValidationError(_("There are no reports before %(day)s.") % {"day": EARLIEST.isoformat()})
    snapshot = DailyReport.objects.filter(scope=unit.scope, code=unit.code, day=day).first()
    if snapshot is not None and snapshot.data.get("figures"):
        return Report(unit, day, snapshot.data, "snapshot", snapshot.generated_at, snapshot.sent_at)
    status = "pending" if day == today and now < scheduled_at(day) else "live"
    return Report(unit, day, compute(unit, day, now=now), status)


def compute(unit: Unit, day: dt.date, *, now: dt.datetime | None = None) -> Figures:
    """A unit's payload computed now from the live data."""
    counted = daily_figures(unit.community_ids, day, now=now)
    for made in rollup(counted):
        if made.scope == unit.scope and made.code == unit.code:
            return made.data
    raise Http404  # a street without communities


# --- history -------------------------------------------------------------------------------------


@dataclass
class TrendPoint:
    day: dt.date
    rate: float | None = None  # reporting rate, 0..1
    expected: int | None = None
    reported: int | None = None
    under_control: int | None = None
    new: int | None = None
    released: int | None = None
    abnormal: int | None = None
    tasks_overdue: int | None = None
    visits_overdue: int | None = None

    @property
    def flow_day(self) -> dt.date:
        return flow_day_of(self.day)

    @classmethod
    def of(cls, day: dt.date, figures: Figures) -> TrendPoint:
        reporting, control = figures["reporting"], figures["control"]
        return cls(
            day=day,
            rate=reporting["rate"],
            expected=reporting["expected"],
            reported=reporting["reported"],
            under_control=control["active"],
            new=control["new"],
            released=control["released"],
            abnormal=reporting["abnormal"],
            tasks_overdue=figures["tasks"]["overdue"],
            visits_overdue=figures["visits"]["overdue"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "rate": self.rate,
            "expected": self.expected,
            "reported": self.reported,
            "under_control": self.under_control,
            "new": self.new,
            "released": self.released,
            "abnormal": self.abnormal,
            "tasks_overdue": self.tasks_overdue,
            "visits_overdue": self.visits_overdue,
        }


def history(
    actor: User,
    code: str,
    days: int = HISTORY_DAYS,
    *,
    end: dt.date | None = None,
    current: Report | None = None,
) -> list[TrendPoint]:
    """The unit's headline figures for the `days` days ending `end` (default today), oldest first, from
    the stored snapshots in one query; a day without a snapshot has empty figures, except `current`'s
    (a report computed live), which is used for its own day."""
    unit = current.unit if current is not None else unit_get(actor, code)
    end = end or (current.day if current is not None else timezone.localdate())
    start = end - dt.timedelta(days=days - 1)
    stored = dict(
        DailyReport.objects.filter(
            scope=unit.scope, code=unit.code, day__gte=start, day__lte=end
        ).values_list("day", "data")
    )
    points = []
    for n in range(days):
        day = start + dt.timedelta(days=n)
        data = stored.get(day)
        if current is not None and day == current.day:
            data = current.data
        points.append(
            TrendPoint.of(day, data["figures"]) if data and data.get("figures") else TrendPoint(day)
        )
    return points
