"""Small SVG charts drawn on the server, for the PDF (WeasyPrint runs no JavaScript; the page draws the
same series with Chart.js): lines over days and (stacked) bars by unit."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, WenQuanYi Micro Hei, sans-serif"
Series = tuple[str, Sequence[float | int | None], str]  # name, values, colour

LEFT, RIGHT, TOP, BOTTOM = 44, 10, 28, 36


def nice_max(value: float) -> tuple[float, float]:
    """An axis maximum at or above `value` in four round steps: (maximum, step)."""
    if value <= 0:
        return 4.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    if step < 1 and float(value).is_integer():
        step = 1
    return step * 4, step


def _number(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 10_000:g}万"


def _frame(
    width: int, height: int, labels: Sequence[str], top: float, step: float, suffix: str, series: list[Series]
) -> list[str]:
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">'
    ]
    for n in range(5):
        y = TOP + plot_h - plot_h * n / 4
        parts.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3ea"/>')
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#5c6877">'
            f"{escape(_number(step * n))}{escape(suffix)}</text>"
        )
    every = max(1, math.ceil(len(labels) / 14))
    slot = plot_w / max(1, len(labels))
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = LEFT + slot * (i + 0.5)
        text = escape(label if len(label) <= 6 else label[:6] + "…")
        parts.append(
            f'<text x="{x:.1f}" y="{height - BOTTOM + 15}" text-anchor="middle" fill="#5c6877">{text}</text>'
        )
    x = LEFT
    for name, _values, colour in series:
        parts.append(f'<rect x="{x}" y="6" width="11" height="11" fill="{colour}"/>')
        parts.append(f'<text x="{x + 15}" y="16" fill="#1b2430">{escape(name)}</text>')
        x += 28 + 6 * len(name) + 5 * sum(1 for ch in name if ord(ch) > 0x2E80)
    return parts


def line_svg(
    labels: Sequence[str],
    series: list[Series],
    *,
    width: int = 520,
    height: int = 190,
    suffix: str = "",
    y_max: float | None = None,
) -> SafeString:
    """Lines over the labels (days); a missing value (None) breaks the line."""
    values = [v for _n, vs, _c in series for v in vs if v is not None]
    top, step = nice_max(y_max if y_max is not None else max(values, default=0))
    parts = _frame(width, height, labels, top, step, suffix, series)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    for _name, vs, colour in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x = LEFT + slot * (i + 0.5)
            y = TOP + plot_h - plot_h * min(float(v), top) / top
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>')
        if segment:
            segments.append(segment)
        for points in segments:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # built from numbers and escaped labels


def bar_svg(
    labels: Sequence[str],
    series: list[Series],
    *,
    width: int = 520,
    height: int = 190,
    suffix: str = "",
    y_max: float | None = None,
) -> SafeString:
    """Bars by label, the series stacked (one series: plain bars)."""
    totals = [sum(float(vs[i] or 0) for _n, vs, _c in series) for i in range(len(labels))]
    top, step = nice_max(y_max if y_max is not None else max(totals, default=0))
    parts = _frame(width, height, labels, top, step, suffix, series)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = min(28.0, slot * 0.6)
    for i in range(len(labels)):
        base = 0.0
        x = LEFT + slot * (i + 0.5) - bar / 2
        for _name, vs, colour in series:
            v = float(vs[i] or 0)
            if v <= 0:
                continue
            h = plot_h * min(v, top - base) / top
            y = TOP + plot_h - plot_h * base / top - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
            base += v
    parts.append("</svg>")
    return mark_safe("".join(parts))
