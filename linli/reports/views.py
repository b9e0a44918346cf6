"""The daily report pages: the report of a grid, community or street for a date, with its trends and
charts, and its downloads (.xlsx, PDF)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.audit import audit_record
from linli.core.excel import XLSX_CONTENT_TYPE
from linli.core.http import actor_of, error_text
from linli.core.models import AuditLog, User
from linli.core.pdf import pdf_response
from linli.reports import charts, present
from linli.reports import selectors as sel
from linli.reports.io import report_xlsx


def _day(request: HttpRequest) -> dt.date | None:
    """?date=YYYY-MM-DD, today when absent; None when it is not a date."""
    text = request.GET.get("date", "").strip()
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "reports/bad_request.html", {"message": message}, status=400)


def _load(request: HttpRequest) -> tuple[sel.Report, list[sel.TrendPoint]] | HttpResponse:
    actor = actor_of(request)
    day = _day(request)
    if day is None:
        return _bad_request(request, _("The date must be written YYYY-MM-DD."))
    code = request.GET.get("scope", "").strip() or sel.default_code(actor)
    try:
        report = sel.report_for(actor, code, day)
    except ValidationError as exc:
        return _bad_request(request, error_text(exc))
    return report, sel.history(actor, report.unit.code, current=report)


def _link(code: str, day: dt.date, name: str = "reports:daily") -> str:
    return f"{reverse(name)}?{urlencode({'scope': code, 'date': day.isoformat()})}"


def _readable(actor: User, unit: sel.Unit) -> bool:
    try:
        sel.unit_get(actor, unit.code)
    except Http404:
        return False
    return True


def _context(actor: User, report: sel.Report, points: list[sel.TrendPoint]) -> dict[str, Any]:
    unit = report.unit
    crumbs: list[sel.Unit] = []
    parent = unit.parent
    # Only the levels above that this account may read (a commander has no street report).
    while parent is not None and _readable(actor, parent):
        crumbs.insert(0, parent)
        parent = parent.parent
    today = timezone.localdate()
    return {
        "report": report,
        "unit": unit,
        "figures": report.figures,
        "cards": present.headline(report),
        "rows": present.unit_rows(report),
        "units_title": present.units_title(report),
        "measures": present.measure_rows(report.figures),
        "types": present.type_rows(report.figures),
        "supplies": present.supply_rows(report),
        "points": points,
        "chart_data": present.chart_data(report, points),
        "crumbs": [(c, _link(c.code, report.day)) for c in crumbs],
        "prev_url": _link(unit.code, report.day - dt.timedelta(days=1)),
        "next_url": _link(unit.code, report.day + dt.timedelta(days=1)) if report.day < today else "",
        "today_url": _link(unit.code, today) if report.day != today else "",
        "xlsx_url": _link(unit.code, report.day, "reports:daily_xlsx"),
        "pdf_url": _link(unit.code, report.day, "reports:daily_pdf"),
        "community_level": unit.scope != "grid",
        "street_level": unit.scope == "street",
    }


@login_required
def daily(request: HttpRequest) -> HttpResponse:
    loaded = _load(request)
    if isinstance(loaded, HttpResponse):
        return loaded
    report, points = loaded
    actor = actor_of(request)
    context = _context(actor, report, points)
    context["choices"] = sel.units_for(actor)
    context["today"] = timezone.localdate()
    return render(request, "reports/daily.html", context)


def _filename(report: sel.Report, extension: str) -> str:
    return f"{report.unit.name}-{_('daily report')}-{report.day.isoformat()}.{extension}"


def _audit_export(request: HttpRequest, report: sel.Report, what: str) -> None:
    unit = report.unit
    audit_record(
        actor=actor_of(request),
        action=AuditLog.Action.EXPORT,
        target=unit.grid or unit.community or unit.street,
        target_label=_("Daily report %(day)s · %(name)s")
        % {"day": report.day.isoformat(), "name": unit.name},
        detail=what,
        street_id=unit.street.pk,
        community_id=unit.community.pk if unit.community else None,
    )


@login_required
def daily_xlsx(request: HttpRequest) -> HttpResponse:
    loaded = _load(request)
    if isinstance(loaded, HttpResponse):
        return loaded
    report, points = loaded
    _audit_export(request, report, "daily report .xlsx")
    response = HttpResponse(report_xlsx(report, points), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(_filename(report, 'xlsx'))}"
    return response


def pdf_charts(context: dict[str, Any]) -> dict[str, Any]:
    """The PDF's charts as inline SVG (the PDF runs no JavaScript)."""
    trend, units = context["chart_data"]["trend"], context["chart_data"]["units"]
    out = {
        "rate_trend": charts.line_svg(
            trend["labels"], [(trend["names"]["rate"], trend["rate"], "#1d5fbf")], suffix="%", y_max=100
        ),
        "control_trend": charts.line_svg(
            trend["labels"],
            [
                (trend["names"]["under_control"], trend["under_control"], "#b3261e"),
                (trend["names"]["abnormal"], trend["abnormal"], "#d58512"),
            ],
        ),
    }
    if units["labels"]:
        out["rate_units"] = charts.bar_svg(
            units["labels"], [(units["names"]["rate"], units["rate"], "#1d5fbf")], suffix="%", y_max=100
        )
    if units["labels"] and context["figures"]["control"]["active"]:
        colours = {"central": "#7d1b14", "home": "#b3261e", "monitor": "#e6a23c"}
        out["control_units"] = charts.bar_svg(
            units["labels"],
            [(m["name"], m["values"], colours.get(m["key"], "#888")) for m in units["measures"]],
        )
    return out


@login_required
def daily_pdf(request: HttpRequest) -> HttpResponse:
    loaded = _load(request)
    if isinstance(loaded, HttpResponse):
        return loaded
    report, points = loaded
    context = _context(actor_of(request), report, points)
    context["svg"] = pdf_charts(context)
    context["printed"] = timezone.localtime()
    if request.GET.get("format") == "html":
        return render(request, "reports/daily_pdf.html", context)
    _audit_export(request, report, "daily report PDF")
    return pdf_response(request, "reports/daily_pdf.html", context, _filename(report, "pdf"))
