"""The figures of the daily prevention report (防控日报, seed 001: due at 09:00).

Definitions (decided for issue 7):

- The report dated D is generated at DAILY_REPORT_TIME (default 08:30) local time (TIME_ZONE,
  Asia/Shanghai) on D. Its *flows* cover the local day D-1, [00:00, 24:00); its *stocks* are as at the
  generation time, i.e. D 08:30. A report made later (the job runs every 5 minutes, a backfill, a live
  computation for a past date) still describes D 08:30 as far as the records allow: residents living
  here, visit plans, visits entered late, tasks cancelled in bulk (no done_at) and stock (lots keep no
  history) are read as they are now, so a live figure for a past date can differ from that morning's
  snapshot, which is why snapshots are kept. A preview of today before 08:30 is as at now.
- Figures are counted per grid, with a "no grid" bucket per community for rows whose building has no
  grid, and summed to the community and the street. Rates are recomputed from the sums, never averaged.

Per grid (and no-grid bucket):

- control: ControlCase active at the generation time (started by then, and still active or released
  after it; cancelled cases never count) by control type name and by measure (central / home /
  monitor); `new` started in D-1, `released` released in D-1 (cancelled cases excluded).
- reporting: `expected` residents living here (Resident.residency BOTH or LIVING, see
  Resident.lives_here); `reported` current SelfReports for day D-1; `rate` = reported / expected;
  `abnormal`, of which `fever` (temperature ≥ FEVER_AT); `antigen_positive`.
- spot_checks: SpotChecks for day D-1: drawn / confirmed / mismatch / unreachable (and still pending).
- visits: `done` Visits with visited_at in D-1; `overdue` VisitPlan.objects.overdue(D-1) (the rule lives
  there); `planned` active plans.
- tasks: `done` (status done, done_at in D-1), `created` in D-1, `overdue`: open at the generation time
  (open now, or finished after it) and due before it.
- incidents: `key_site_alerts` (tasks from key sites created in D-1), `pharmacy_reports` (bought_at in
  D-1, grid of the buyer's building), `positive_samples` (environmental samples with a positive result
  in D-1, grid of the site).

Per community only (no per-grid figure; the street sums them):

- incidents: `activations` (non-drill responses activated in D-1) and `active_responses` (non-drill,
  active at the generation time). There is no incident model yet.
- volunteers: `hours` (Shift.hours of shifts checked out in D-1, community of the shift's need) and
  `on_duty` (volunteers checked in and not out at the generation time).
- supplies: days of supply per tracked item (supplies.selectors.board's rules, computed for every
  community in a fixed number of grouped queries), and the items under their target. Lots keep no
  history, so a past date shows today's stock.

Everything is computed with a fixed number of grouped queries (GROUP BY community, grid) for any number
of communities; nothing runs per grid or per community.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from linli.core.clock import local_at
from linli.epidemic.models import ControlCase, Measure
from linli.health.models import (
    FEVER_AT,
    Antigen,
    EnvSample,
    PharmacyReport,
    SelfReport,
    SpotCheck,
    Visit,
    VisitPlan,
)
from linli.registry.models import Community, Residency, Resident
from linli.response.models import Response
from linli.supplies.selectors import boards
from linli.tasks.models import Task
from linli.volunteers.models import Shift

Figures = dict[str, Any]
# A grid bucket: (community id, grid id), grid None for buildings without a grid.
Bucket = tuple[int, int | None]

ZERO = Decimal(0)
FIGURES_VERSION = 1


def report_time() -> dt.time:
    """DAILY_REPORT_TIME ("HH:MM") as a time of day."""
    hour, _sep, minute = str(settings.DAILY_REPORT_TIME).strip().partition(":")
    return dt.time(int(hour), int(minute or 0))


def scheduled_at(day: dt.date) -> dt.datetime:
    """When the report dated `day` is generated: DAILY_REPORT_TIME local time on that day."""
    return local_at(day, report_time())


@dataclass(frozen=True)
class Window:
    """The report dated `day`: flows over [start, end) (the local day before), stocks as at `as_at`."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime
    as_at: dt.datetime

    @property
    def flow_day(self) -> dt.date:
        return flow_day_of(self.day)


def flow_day_of(day: dt.date) -> dt.date:
    """The day a report's flows cover (self-reports, visits, new cases, tasks done): the day before it."""
    return day - dt.timedelta(days=1)


def window_for(day: dt.date, now: dt.datetime | None = None) -> Window:
    """The report's window. Stocks are as at the generation time, or as at `now` when that is earlier
    (a preview of today's report before it is generated)."""
    now = now or timezone.now()
    return Window(
        day=day,
        start=local_at(day - dt.timedelta(days=1), dt.time(0, 0)),
        end=local_at(day, dt.time(0, 0)),
        as_at=min(now, scheduled_at(day)),
    )


# --- the shape of the figures ----------------------------------------------------------------------


def grid_zero() -> Figures:
    """A grid's (or the no-grid bucket's) figures before counting."""
    return {
        "control": {
            "active": 0,
            "new": 0,
            "released": 0,
            "by_measure": {m: 0 for m in Measure.values},
            "by_type": {},
        },
        "reporting": {
            "expected": 0,
            "reported": 0,
            "rate": None,
            "abnormal": 0,
            "fever": 0,
            "antigen_positive": 0,
        },
        "spot_checks": {"drawn": 0, "confirmed": 0, "mismatch": 0, "unreachable": 0, "pending": 0},
        "visits": {"planned": 0, "done": 0, "overdue": 0},
        "tasks": {"created": 0, "done": 0, "overdue": 0},
        "incidents": {"key_site_alerts": 0, "pharmacy_reports": 0, "positive_samples": 0},
    }


def community_zero() -> Figures:
    """The figures only a community (and a street) has, added to the sum of its grids."""
    return {
        "incidents": {"activations": 0, "active_responses": 0},
        "volunteers": {"hours": 0.0, "on_duty": 0},
        "supplies": {"tracked": 0, "below_target": 0, "items": []},
    }


# Keys that are not summed: recomputed from the sums, or lists combined separately.
_NOT_SUMMED = {"rate", "items"}


def add_into(total: Figures, part: Figures) -> Figures:
    """Add `part`'s counts to `total` (nested dicts by key); rates and lists are left to finish()."""
    for key, value in part.items():
        if key in _NOT_SUMMED:
            total.setdefault(key, [] if key == "items" else None)
            continue
        if isinstance(value, dict):
            add_into(total.setdefault(key, {}), value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
    return total


def finish(figures: Figures) -> Figures:
    """Recompute what is derived from sums: the reporting rate, rounded hours, sorted type counts."""
    reporting = figures["reporting"]
    expected = reporting["expected"]
    reporting["rate"] = round(reporting["reported"] / expected, 4) if expected else None
    control = figures["control"]
    control["by_type"] = dict(sorted(control["by_type"].items(), key=lambda kv: (-kv[1], kv[0])))
    if "volunteers" in figures:
        figures["volunteers"]["hours"] = round(float(figures["volunteers"]["hours"]), 2)
    return figures


def total_of(parts: Iterable[Figures], *, community_level: bool) -> Figures:
    total = grid_zero()
    if community_level:
        add_into(total, community_zero())
    for part in parts:
        add_into(total, part)
    return finish(total)


# --- counting ---------------------------------------------------------------------------------------


@dataclass
class DayFigures:
    """What daily_figures counted for a set of communities: per grid bucket, and per community the
    figures that have no grid."""

    window: Window
    buckets: dict[Bucket, Figures] = field(default_factory=dict)
    communities: dict[int, Figures] = field(default_factory=dict)
    # Every resident, whatever their residency: the supplies board's full load.
    population: dict[int, int] = field(default_factory=dict)

    def bucket(self, community_id: int, grid_id: int | None) -> Figures:
        key = (community_id, grid_id)
        if key not in self.buckets:
            self.buckets[key] = grid_zero()
        return self.buckets[key]

    def community(self, community_id: int) -> Figures:
        if community_id not in self.communities:
            self.communities[community_id] = community_zero()
        return self.communities[community_id]


def daily_figures(
    community_ids: Iterable[int], day: dt.date, *, now: dt.datetime | None = None
) -> DayFigures:
    """Count the report dated `day` for these communities (see the module's docstring), with a fixed
    number of grouped queries however many communities and grids there are.

    Not scoped: callers pass only communities the actor may see (selectors.report_for), or all of them
    (services.daily_reports_generate)."""
    ids = sorted(set(community_ids))
    out = DayFigures(window_for(day, now))
    if not ids:
        return out
    for community_id in ids:
        out.community(community_id)
    w = out.window
    _count_residents(out, ids)
    _count_reports(out, ids, w)
    _count_spot_checks(out, ids, w)
    _count_control(out, ids, w)
    _count_visits(out, ids, w)
    _count_tasks(out, ids, w)
    _count_incidents(out, ids, w)
    _count_volunteers(out, ids, w)
    _count_supplies(out, ids, w)
    for figures in out.buckets.values():
        finish(figures)
    return out


def _in(window: Window, field_name: str) -> Q:
    return Q(**{f"{field_name}__gte": window.start, f"{field_name}__lt": window.end})


def _count_residents(out: DayFigures, ids: list[int]) -> None:
    """Residents living here (BOTH or LIVING) per grid, counted as everyone by grid (the grid index
    alone answers it) less those registered here but living elsewhere (the index on community and
    residency finds them): reading every resident's row to check their residency took four times as
    long for the district."""
    from linli.registry.models import Grid

    grid_community = dict(Grid.objects.filter(community_id__in=ids).values_list("pk", "community_id"))
    everyone = (
        Resident.objects.filter(grid__community_id__in=ids)
        .values_list("grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for grid_id, n in everyone:
        community_id = grid_community[grid_id]
        out.bucket(community_id, grid_id)["reporting"]["expected"] += n
        out.population[community_id] = out.population.get(community_id, 0) + n
    loose = (
        Resident.objects.filter(community_id__in=ids, grid__isnull=True)
        .values_list("community_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, n in loose:
        out.bucket(community_id, None)["reporting"]["expected"] += n
        out.population[community_id] = out.population.get(community_id, 0) + n
    away = (
        Resident.objects.filter(community_id__in=ids, residency=Residency.REGISTERED)
        .values_list("community_id", "grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, n in away:
        out.bucket(community_id, grid_id)["reporting"]["expected"] -= n


def _count_reports(out: DayFigures, ids: list[int], w: Window) -> None:
    rows = (
        SelfReport.objects.filter(community_id__in=ids, day=w.flow_day, current=True)
        .values_list("community_id", "grid_id")
        .annotate(
            n_reported=Count("id"),
            n_abnormal=Count("id", filter=Q(abnormal=True)),
            n_fever=Count("id", filter=Q(abnormal=True, temperature__gte=FEVER_AT)),
            n_positive=Count("id", filter=Q(antigen=Antigen.POSITIVE)),
        )
        .order_by()
    )
    for community_id, grid_id, reported, abnormal, fever, positive in rows:
        figures = out.bucket(community_id, grid_id)["reporting"]
        figures["reported"] += reported
        figures["abnormal"] += abnormal
        figures["fever"] += fever
        figures["antigen_positive"] += positive


def _count_spot_checks(out: DayFigures, ids: list[int], w: Window) -> None:
    result = SpotCheck.Result
    rows = (
        SpotCheck.objects.filter(community_id__in=ids, day=w.flow_day)
        .values_list("community_id", "grid_id")
        .annotate(
            drawn=Count("id"),
            confirmed=Count("id", filter=Q(result=result.CONFIRMED)),
            mismatch=Count("id", filter=Q(result=result.MISMATCH)),
            unreachable=Count("id", filter=Q(result=result.UNREACHABLE)),
            pending=Count("id", filter=Q(result=result.PENDING)),
        )
        .order_by()
    )
    for community_id, grid_id, drawn, confirmed, mismatch, unreachable, pending in rows:
        figures = out.bucket(community_id, grid_id)["spot_checks"]
        figures["drawn"] += drawn
        figures["confirmed"] += confirmed
        figures["mismatch"] += mismatch
        figures["unreachable"] += unreachable
        figures["pending"] += pending


def _active_at(when: dt.datetime) -> Q:
    """Cases under control at `when`: started by then, and active still or released after it."""
    status = ControlCase.Status
    return Q(started_at__lte=when) & (
        Q(status=status.ACTIVE) | Q(status=status.RELEASED, released_at__gt=when)
    )


def _count_control(out: DayFigures, ids: list[int], w: Window) -> None:
    active = (
        ControlCase.objects.filter(_active_at(w.as_at), community_id__in=ids)
        .values_list("community_id", "grid_id", "control_type__name", "measure")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, type_name, measure, n in active:
        control = out.bucket(community_id, grid_id)["control"]
        control["active"] += n
        control["by_measure"][measure] = control["by_measure"].get(measure, 0) + n
        control["by_type"][type_name] = control["by_type"].get(type_name, 0) + n
    flows = (
        ControlCase.objects.filter(_in(w, "started_at") | _in(w, "released_at"), community_id__in=ids)
        .exclude(status=ControlCase.Status.CANCELLED)
        .values_list("community_id", "grid_id")
        .annotate(
            new=Count("id", filter=_in(w, "started_at")),
            released=Count("id", filter=_in(w, "released_at")),
        )
        .order_by()
    )
    for community_id, grid_id, new, released in flows:
        control = out.bucket(community_id, grid_id)["control"]
        control["new"] += new
        control["released"] += released


def _count_visits(out: DayFigures, ids: list[int], w: Window) -> None:
    done = (
        Visit.objects.filter(_in(w, "visited_at"), community_id__in=ids)
        .values_list("community_id", "grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, n in done:
        out.bucket(community_id, grid_id)["visits"]["done"] += n
    overdue = (
        VisitPlan.objects.filter(community_id__in=ids)
        .overdue(w.flow_day)
        .values_list("community_id", "grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, n in overdue:
        out.bucket(community_id, grid_id)["visits"]["overdue"] += n
    planned = (
        VisitPlan.objects.filter(community_id__in=ids, active=True)
        .values_list("community_id", "grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, n in planned:
        out.bucket(community_id, grid_id)["visits"]["planned"] += n


def _count_tasks(out: DayFigures, ids: list[int], w: Window) -> None:
    """Four narrow queries, each answered by an index on tasks (community with created_at, done_at, or
    status and due_at), so the count does not grow with months of finished tasks."""
    tasks = Task.objects.filter(community_id__in=ids)

    def add(rows: Iterable[tuple[Any, ...]], *keys: tuple[str, str]) -> None:
        for community_id, grid_id, *counts in rows:
            figures = out.bucket(community_id, grid_id)
            for (group, name), n in zip(keys, counts, strict=True):
                figures[group][name] += n

    by_grid = ("community_id", "grid_id")
    add(
        tasks.filter(_in(w, "created_at"))
        .values_list(*by_grid)
        .annotate(n=Count("id"), alerts=Count("id", filter=Q(source=Task.Source.KEY_SITE)))
        .order_by(),
        ("tasks", "created"),
        ("incidents", "key_site_alerts"),
    )
    add(
        tasks.filter(_in(w, "done_at"), status=Task.Status.DONE)
        .values_list(*by_grid)
        .annotate(n=Count("id"))
        .order_by(),
        ("tasks", "done"),
    )
    # Overdue at the generation time: open now, or finished (done or cancelled) after it.
    late = Q(due_at__lt=w.as_at, created_at__lte=w.as_at)
    add(
        tasks.filter(late, status__in=Task.OPEN_STATUSES)
        .values_list(*by_grid)
        .annotate(n=Count("id"))
        .order_by(),
        ("tasks", "overdue"),
    )
    add(
        tasks.filter(late, done_at__gt=w.as_at)
        .exclude(status__in=Task.OPEN_STATUSES)
        .values_list(*by_grid)
        .annotate(n=Count("id"))
        .order_by(),
        ("tasks", "overdue"),
    )


def _count_incidents(out: DayFigures, ids: list[int], w: Window) -> None:
    pharmacy = (
        PharmacyReport.objects.filter(_in(w, "bought_at"), community_id__in=ids)
        .values_list("community_id", "building__grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, n in pharmacy:
        out.bucket(community_id, grid_id)["incidents"]["pharmacy_reports"] += n
    samples = (
        EnvSample.objects.filter(
            _in(w, "result_at"), site__community_id__in=ids, result=EnvSample.Result.POSITIVE
        )
        .values_list("site__community_id", "site__grid_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community_id, grid_id, n in samples:
        out.bucket(community_id, grid_id)["incidents"]["positive_samples"] += n
    active_then = Q(activated_at__lte=w.as_at) & (
        Q(terminated_at__isnull=True) | Q(terminated_at__gt=w.as_at)
    )
    responses = (
        Response.objects.filter(_in(w, "activated_at") | active_then, community_id__in=ids, is_drill=False)
        .values_list("community_id")
        .annotate(
            activations=Count("id", filter=_in(w, "activated_at")),
            active=Count("id", filter=active_then),
        )
        .order_by()
    )
    for community_id, activations, active in responses:
        incidents = out.community(community_id)["incidents"]
        incidents["activations"] += activations
        incidents["active_responses"] += active


def _count_volunteers(out: DayFigures, ids: list[int], w: Window) -> None:
    on_duty = Q(checked_in_at__lte=w.as_at) & (Q(checked_out_at__isnull=True) | Q(checked_out_at__gt=w.as_at))
    dec: DecimalField[Decimal, Decimal] = DecimalField(max_digits=12, decimal_places=2)
    rows = (
        Shift.objects.filter(_in(w, "checked_out_at") | on_duty, need__community_id__in=ids)
        .values_list("need__community_id")
        .annotate(
            n_hours=Coalesce(Sum("hours", filter=_in(w, "checked_out_at")), Value(ZERO, output_field=dec)),
            n_on_duty=Count("volunteer_id", filter=on_duty, distinct=True),
        )
        .order_by()
    )
    for community_id, hours, n in rows:
        volunteers = out.community(community_id)["volunteers"]
        volunteers["hours"] = round(float(volunteers["hours"]) + float(hours or 0), 2)
        volunteers["on_duty"] += n


# --- supplies: the days-of-supply board for many communities at once ----------------------------------


def _count_supplies(out: DayFigures, ids: list[int], w: Window) -> None:
    for community_id, rows in boards(ids, on=w.day, population=out.population).items():
        tracked = [r for r in rows if r.days_of_supply is not None or r.target_quantity is not None]
        supplies = out.community(community_id)["supplies"]
        supplies["tracked"] = len(tracked)
        supplies["below_target"] = sum(1 for r in tracked if r.is_short)
        supplies["items"] = [_supply_item(r) for r in tracked]


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _supply_item(row: Any) -> dict[str, Any]:
    return {
        "item": row.item.code,
        "name": row.item.name,
        "name_en": row.item.name_en,
        "unit": row.item.unit,
        "on_hand": _number(row.on_hand),
        "daily_use": _number(row.daily_use.quantize(Decimal("0.001")) if row.daily_use else row.daily_use),
        "days": _number(row.days_of_supply),
        "target_days": row.target_days,
        "target": _number(row.target_quantity),
        "shortfall": _number(row.shortfall),
        "short": row.is_short,
    }


# --- rolling up: the payload of each grid's, community's and street's report -------------------------


@dataclass
class UnitReport:
    """One report's snapshot: what DailyReport stores for a grid, community or street."""

    scope: str  # DailyReport.Scope
    code: str
    street_id: int
    community_id: int | None
    grid_id: int | None
    data: Figures


NO_GRID = "none"  # a unit row for a community's buildings without a grid


def _has_counts(figures: Figures) -> bool:
    for key, value in figures.items():
        if key in _NOT_SUMMED:
            continue
        if isinstance(value, dict) and _has_counts(value):
            return True
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            return True
    return False


def _payload(
    scope: str, code: str, name: str, window: Window, figures: Figures, units: list[Figures]
) -> Figures:
    return {
        "version": FIGURES_VERSION,
        "scope": scope,
        "code": code,
        "name": name,
        "day": window.day.isoformat(),
        "flow_day": window.flow_day.isoformat(),
        "as_at": window.as_at.isoformat(),
        "figures": figures,
        "units": units,
    }


def rollup(counted: DayFigures) -> list[UnitReport]:
    """Every grid's, community's and street's report from daily_figures' counts (two more queries for
    the names). A street's report covers only the communities that were counted."""
    from linli.registry.models import Grid

    w = counted.window
    ids = list(counted.communities)
    communities = list(
        Community.objects.filter(pk__in=ids).select_related("street").order_by("street__code", "code")
    )
    grids: dict[int, list[Grid]] = defaultdict(list)
    for grid in Grid.objects.filter(community_id__in=ids).order_by("community_id", "number"):
        grids[grid.community_id].append(grid)
    out: list[UnitReport] = []
    by_street: dict[int, list[tuple[Community, Figures]]] = defaultdict(list)
    for community in communities:
        units: list[Figures] = []
        parts: list[Figures] = []
        for grid in grids[community.pk]:
            figures = counted.buckets.get((community.pk, grid.pk)) or finish(grid_zero())
            parts.append(figures)
            units.append({"scope": "grid", "code": grid.code, "name": grid.name, "figures": figures})
            out.append(
                UnitReport(
                    "grid",
                    grid.code,
                    community.street_id,
                    community.pk,
                    grid.pk,
                    _payload("grid", grid.code, grid.name, w, figures, []),
                )
            )
        loose = counted.buckets.get((community.pk, None))
        if loose is not None and _has_counts(loose):
            parts.append(loose)
            units.append({"scope": NO_GRID, "code": "", "name": "", "figures": loose})
        own = counted.community(community.pk)
        figures = total_of([*parts, own], community_level=True)
        figures["supplies"]["items"] = [
            {"community": community.code, "community_name": community.name, **item}
            for item in own["supplies"]["items"]
        ]
        out.append(
            UnitReport(
                "community",
                community.code,
                community.street_id,
                community.pk,
                None,
                _payload("community", community.code, community.name, w, figures, units),
            )
        )
        by_street[community.street_id].append((community, figures))
    for street_id, members in by_street.items():
        street = members[0][0].street
        figures = total_of([f for _c, f in members], community_level=True)
        figures["supplies"]["items"] = [
            item for _c, f in members for item in f["supplies"]["items"] if item["short"]
        ]
        units = [{"scope": "community", "code": c.code, "name": c.name, "figures": f} for c, f in members]
        out.append(
            UnitReport(
                "street",
                street.code,
                street_id,
                None,
                None,
                _payload("street", street.code, street.name, w, figures, units),
            )
        )
    return out
