"""The daily report as .xlsx: one sheet of figures by unit (the grids or communities and the total), one
sheet of the trend over the last days."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from linli.reports.figures import Figures
from linli.reports.present import Row, unit_rows
from linli.reports.selectors import Report, TrendPoint

Column = tuple[str, Callable[[Figures], Any], str]  # header, value, number format ("" for none)


def _get(*path: str) -> Callable[[Figures], Any]:
    def value(figures: Figures) -> Any:
        current: Any = figures
        for key in path:
            if not isinstance(current, dict) or key not in current:
                return None
            current = current[key]
        return current

    return value


def figure_columns(community_level: bool) -> list[Column]:
    columns: list[Column] = [
        (_("Under control"), _get("control", "active"), ""),
        (_("centralised isolation"), _get("control", "by_measure", "central"), ""),
        (_("home isolation"), _get("control", "by_measure", "home"), ""),
        (_("health monitoring"), _get("control", "by_measure", "monitor"), ""),
        (_("New under control"), _get("control", "new"), ""),
        (_("Released"), _get("control", "released"), ""),
        (_("Residents expected to report"), _get("reporting", "expected"), ""),
        (_("Reported"), _get("reporting", "reported"), ""),
        (_("Reporting rate"), _get("reporting", "rate"), "0.0%"),
        (_("Abnormal reports"), _get("reporting", "abnormal"), ""),
        (_("of which fever"), _get("reporting", "fever"), ""),
        (_("Antigen positive"), _get("reporting", "antigen_positive"), ""),
        (_("Spot checks drawn"), _get("spot_checks", "drawn"), ""),
        (_("Spot checks confirmed"), _get("spot_checks", "confirmed"), ""),
        (_("Spot checks not matching"), _get("spot_checks", "mismatch"), ""),
        (_("Spot checks unreachable"), _get("spot_checks", "unreachable"), ""),
        (_("People on the weekly visit list"), _get("visits", "planned"), ""),
        (_("Visits done"), _get("visits", "done"), ""),
        (_("Visits overdue"), _get("visits", "overdue"), ""),
        (_("Tasks created"), _get("tasks", "created"), ""),
        (_("Tasks done"), _get("tasks", "done"), ""),
        (_("Tasks overdue"), _get("tasks", "overdue"), ""),
        (_("Key-site alerts"), _get("incidents", "key_site_alerts"), ""),
        (_("Pharmacy reports"), _get("incidents", "pharmacy_reports"), ""),
        (_("Positive environmental samples"), _get("incidents", "positive_samples"), ""),
    ]
    if community_level:
        columns += [
            (_("Response activations"), _get("incidents", "activations"), ""),
            (_("Active responses"), _get("incidents", "active_responses"), ""),
            (_("Volunteer hours"), _get("volunteers", "hours"), "0.0"),
            (_("Volunteers on duty"), _get("volunteers", "on_duty"), ""),
            (_("Supply items below target"), _get("supplies", "below_target"), ""),
        ]
    return columns


def trend_columns() -> list[tuple[str, Callable[[TrendPoint], Any], str]]:
    return [
        (_("Report date"), lambda p: p.day, "yyyy-mm-dd"),
        (_("Figures of"), lambda p: p.flow_day, "yyyy-mm-dd"),
        (_("Reporting rate"), lambda p: p.rate, "0.0%"),
        (_("Residents expected to report"), lambda p: p.expected, ""),
        (_("Reported"), lambda p: p.reported, ""),
        (_("Under control"), lambda p: p.under_control, ""),
        (_("New under control"), lambda p: p.new, ""),
        (_("Released"), lambda p: p.released, ""),
        (_("Abnormal reports"), lambda p: p.abnormal, ""),
        (_("Tasks overdue"), lambda p: p.tasks_overdue, ""),
        (_("Visits overdue"), lambda p: p.visits_overdue, ""),
    ]


def _header(sheet: Any, headers: list[str]) -> None:
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E8EEF7")
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 18
    for index in range(2, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12


def report_xlsx(report: Report, points: list[TrendPoint]) -> bytes:
    workbook = Workbook()
    figures_sheet = workbook.active
    figures_sheet.title = _("Figures")[:31]
    community_level = report.unit.scope != "grid"
    columns = figure_columns(community_level)
    _header(figures_sheet, [_("Unit"), _("Code"), *(c[0] for c in columns)])
    rows: list[Row] = unit_rows(report) or [
        Row(report.unit.name, report.unit.code, report.unit.scope, report.figures, is_total=True)
    ]
    bold = Font(bold=True)
    for row in rows:
        figures_sheet.append([row.label, row.code, *(value(row.figures) for _h, value, _f in columns)])
        line = figures_sheet.max_row
        for index, (_h, _v, number_format) in enumerate(columns, start=3):
            if number_format:
                figures_sheet.cell(line, index).number_format = number_format
        if row.is_total:
            for cell in figures_sheet[line]:
                cell.font = bold
    trend_sheet = workbook.create_sheet(_("Trend")[:31])
    trend = trend_columns()
    _header(trend_sheet, [c[0] for c in trend])
    for point in points:
        trend_sheet.append([get(point) for _h, get, _f in trend])
        line = trend_sheet.max_row
        for index, (_h, _g, number_format) in enumerate(trend, start=1):
            if number_format:
                trend_sheet.cell(line, index).number_format = number_format
    workbook.properties.title = _("Daily report %(day)s · %(name)s") % {
        "day": report.day.isoformat(),
        "name": report.unit.name,
    }
    workbook.properties.created = timezone.now().replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
