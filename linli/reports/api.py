"""Daily report API: GET /api/v1/reports/daily?scope=CODE&date=YYYY-MM-DD, the same figures as the page.

CODE is a grid's, community's or street's code the caller may read (404 otherwise, and for an unknown
code); the date defaults to today, and a malformed or future date is a 400."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from linli.api.models import Permission
from linli.api.permissions import require_permission
from linli.core.http import actor_of, error_text
from linli.reports import selectors as sel

router = Router(tags=["reports"])


class ErrorOut(Schema):
    detail: str


class ControlOut(Schema):
    active: int
    new: int
    released: int
    by_measure: dict[str, int]  # central, home, monitor
    by_type: dict[str, int]  # control type name → people


class ReportingOut(Schema):
    expected: int
    reported: int
    rate: float | None  # reported / expected, 0..1
    abnormal: int
    fever: int  # of the abnormal
    antigen_positive: int


class SpotChecksOut(Schema):
    drawn: int
    confirmed: int
    mismatch: int
    unreachable: int
    pending: int


class VisitsOut(Schema):
    planned: int
    done: int
    overdue: int


class TasksOut(Schema):
    created: int
    done: int
    overdue: int


class IncidentsOut(Schema):
    key_site_alerts: int
    pharmacy_reports: int
    positive_samples: int
    # Community and street reports only.
    activations: int | None = None
    active_responses: int | None = None


class VolunteersOut(Schema):
    hours: float
    on_duty: int


class SupplyItemOut(Schema):
    item: str
    name: str
    name_en: str = ""
    unit: str
    on_hand: float | None
    daily_use: float | None
    days: float | None
    target_days: int | None
    target: float | None
    shortfall: float | None
    short: bool
    community: str  # a street's report lists the items below target in each of its communities
    community_name: str


class SuppliesOut(Schema):
    tracked: int
    below_target: int
    items: list[SupplyItemOut]


class FiguresOut(Schema):
    control: ControlOut
    reporting: ReportingOut
    spot_checks: SpotChecksOut
    visits: VisitsOut
    tasks: TasksOut
    incidents: IncidentsOut
    # Community and street reports only.
    volunteers: VolunteersOut | None = None
    supplies: SuppliesOut | None = None


class UnitOut(Schema):
    scope: str  # grid, none (buildings without a grid) or community
    code: str
    name: str
    figures: FiguresOut


class DailyReportOut(Schema):
    scope: str  # grid, community or street
    code: str
    name: str
    date: dt.date
    flow_date: dt.date  # the day the flows (reports, visits, new cases, tasks done) cover
    as_at: dt.datetime  # when the stocks (under control, overdue, supplies) are counted
    status: str  # snapshot, live (computed now for a date without a snapshot) or pending (today, before generation)
    generated_at: dt.datetime | None
    sent_at: dt.datetime | None
    figures: FiguresOut
    units: list[UnitOut]  # a community's grids, a street's communities


# Figures a grid does not have (volunteers, supplies, response activations) are left out, not null.
@router.get("/daily", response={200: DailyReportOut, 400: ErrorOut, 404: ErrorOut}, exclude_unset=True)
def daily(request: HttpRequest, scope: str = "", date: str = "") -> dict[str, object] | Status:
    """A grid's, community's or street's daily report (防控日报) for a date: the stored snapshot, or
    computed live for a date without one."""
    require_permission(request, Permission.REPORTS)
    actor = actor_of(request)
    if date:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            return Status(400, ErrorOut(detail="date must be YYYY-MM-DD"))
    else:
        day = timezone.localdate()
    try:
        report = sel.report_for(actor, scope or sel.default_code(actor), day)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=error_text(exc)))
    data = report.data
    # A dict, not DailyReportOut: ninja validates it, and exclude_unset then leaves out what it lacks.
    return {
        "scope": report.unit.scope,
        "code": report.unit.code,
        "name": report.unit.name,
        "date": report.day,
        "flow_date": dt.date.fromisoformat(data["flow_day"]),
        "as_at": report.as_at,
        "status": report.status,
        "generated_at": report.generated_at,
        "sent_at": report.sent_at,
        "figures": report.figures,
        "units": report.units,
    }
