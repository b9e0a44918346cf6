"""The report as people read it: headline cards with their status colours, the table by grid or
community, and the charts' series. Shared by the page, the PDF and the .xlsx, so they show the same."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from linli.epidemic.models import Measure
from linli.reports.figures import NO_GRID, Figures
from linli.reports.selectors import Report, TrendPoint

# Seed 001 asks for every resident's report every day: below 85 % the grid has work to do.
RATE_GOOD = 0.95
RATE_FAIR = 0.85


def rate_class(rate: float | None) -> str:
    if rate is None:
        return ""
    if rate >= RATE_GOOD:
        return "green"
    if rate >= RATE_FAIR:
        return "yellow"
    return "red"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass
class Card:
    key: str
    label: str
    value: str
    note: str
    tone: str  # green, yellow, red or "" (neutral)


def headline(report: Report) -> list[Card]:
    f = report.figures
    control, reporting = f["control"], f["reporting"]
    tasks, visits = f["tasks"], f["visits"]
    return [
        Card(
            "control",
            _("Under control"),
            str(control["active"]),
            _("new %(new)d · released %(released)d")
            % {"new": control["new"], "released": control["released"]},
            "",
        ),
        Card(
            "rate",
            _("Reporting rate"),
            percent(reporting["rate"]),
            _("%(reported)d of %(expected)d residents")
            % {"reported": reporting["reported"], "expected": reporting["expected"]},
            rate_class(reporting["rate"]),
        ),
        Card(
            "abnormal",
            _("Abnormal reports"),
            str(reporting["abnormal"]),
            _("fever %(fever)d · antigen positive %(positive)d")
            % {"fever": reporting["fever"], "positive": reporting["antigen_positive"]},
            "red" if reporting["abnormal"] or reporting["antigen_positive"] else "green",
        ),
        Card(
            "tasks",
            _("Overdue tasks"),
            str(tasks["overdue"]),
            _("done yesterday %(done)d · new %(created)d")
            % {"done": tasks["done"], "created": tasks["created"]},
            "red" if tasks["overdue"] else "green",
        ),
        Card(
            "visits",
            _("Overdue visits"),
            str(visits["overdue"]),
            _("done yesterday %(done)d · %(planned)d people on the weekly visit list")
            % {"done": visits["done"], "planned": visits["planned"]},
            "red" if visits["overdue"] else "green",
        ),
    ]


def unit_label(unit: Figures) -> str:
    return _("No grid") if unit["scope"] == NO_GRID else str(unit["name"])


@dataclass
class Row:
    label: str
    code: str  # "" for the no-grid bucket and the total
    scope: str
    figures: Figures
    is_total: bool = False

    @property
    def rate_class(self) -> str:
        return rate_class(self.figures["reporting"]["rate"])

    @property
    def rate(self) -> str:
        return percent(self.figures["reporting"]["rate"])


def unit_rows(report: Report) -> list[Row]:
    """The table by grid (a community's report) or by community (a street's), with its total."""
    rows = [Row(unit_label(u), u["code"], u["scope"], u["figures"]) for u in report.units]
    if rows:
        rows.append(Row(_("Total"), "", report.unit.scope, report.figures, is_total=True))
    return rows


def units_title(report: Report) -> str:
    return _("By community") if report.unit.scope == "street" else _("By grid")


def measure_rows(figures: Figures) -> list[tuple[str, int]]:
    by_measure = figures["control"]["by_measure"]
    return [(str(Measure(m).label), int(by_measure.get(m, 0))) for m in Measure.values]


def type_rows(figures: Figures) -> list[tuple[str, int]]:
    return [(str(name), int(n)) for name, n in figures["control"]["by_type"].items()]


def item_label(item: Figures) -> str:
    language = translation.get_language() or ""
    if item.get("name_en") and not language.startswith("zh"):
        return str(item["name_en"])
    return str(item["name"])


def supply_rows(report: Report) -> list[Figures]:
    """Tracked items (a community) or the items under target in each community (a street), short first."""
    supplies = report.figures.get("supplies")
    if not supplies:
        return []
    rows = []
    for item in supplies["items"]:
        rows.append({**item, "label": item_label(item)})
    rows.sort(key=lambda r: (not r["short"], r["days"] is None, r["days"] or 0))
    return rows


# --- charts ---------------------------------------------------------------------------------------


def day_label(day: dt.date) -> str:
    return f"{day.month}/{day.day}"


def trend_series(points: list[TrendPoint]) -> dict[str, Any]:
    """The 14-day trend: reporting rate (%), people under control and abnormal reports. Each point is a
    morning's report, labelled with the day its figures cover (the day before): the health board of that
    day shows the same reporting rate."""
    return {
        "labels": [day_label(p.flow_day) for p in points],
        "rate": [None if p.rate is None else round(p.rate * 100, 1) for p in points],
        "under_control": [p.under_control for p in points],
        "abnormal": [p.abnormal for p in points],
        "names": {
            "rate": _("Reporting rate (%)"),
            "under_control": _("Under control"),
            "abnormal": _("Abnormal reports"),
        },
    }


def unit_series(report: Report) -> dict[str, Any]:
    """Bars by grid or community: reporting rate, and people under control by measure."""
    units = report.units
    by_measure = {
        m: [int(u["figures"]["control"]["by_measure"].get(m, 0)) for u in units] for m in Measure.values
    }
    return {
        "labels": [unit_label(u) for u in units],
        "rate": [
            None
            if u["figures"]["reporting"]["rate"] is None
            else round(u["figures"]["reporting"]["rate"] * 100, 1)
            for u in units
        ],
        "measures": [
            {"key": m, "name": str(Measure(m).label), "values": by_measure[m]} for m in Measure.values
        ],
        "names": {"rate": _("Reporting rate (%)"), "control": _("Under control")},
    }


def chart_data(report: Report, points: list[TrendPoint]) -> dict[str, Any]:
    return {"trend": trend_series(points), "units": unit_series(report)}
