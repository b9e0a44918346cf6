"""Template filters for deadlines: a tired worker reads "overdue 25 min", not a timestamp."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.clock import hm

register = template.Library()


def _span(delta: dt.timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return _("%(m)d min") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes} if minutes else _("%(h)d h") % {"h": hours}
    return _("%(d)d days") % {"d": hours // 24}


@register.filter
def duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "—"
    text = _span(delta)
    return f"−{text}" if delta < dt.timedelta(0) else text


@register.filter
def due_in(when: dt.datetime | None) -> str:
    """'overdue 25 min' or 'in 1 h 5 min'."""
    if when is None:
        return ""
    delta = when - timezone.now()
    if delta < dt.timedelta(0):
        return _("overdue %(span)s") % {"span": _span(delta)}
    return _("in %(span)s") % {"span": _span(delta)}


@register.filter
def lateness(task: object) -> str:
    """How a finished task compares with its deadline: 'on time (12 min early)' or 'late 8 min'."""
    delta = task.lateness()  # type: ignore[attr-defined]
    if delta is None:
        return ""
    if delta <= dt.timedelta(0):
        return _("on time (%(span)s early)") % {"span": _span(delta)}
    return _("late %(span)s") % {"span": _span(delta)}


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


register.filter("hm", hm)


@register.filter
def qty(value: object) -> str:
    """A quantity without trailing zeros: 34, 2.5, 0.125 (Decimal fields carry three places)."""
    if value is None or value == "":
        return "—"
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def abs_int(value: object) -> int:
    return abs(int(str(value)))


@register.filter
def invalid_fields(form: Any) -> list[Any]:
    """The form's fields that have errors (a form-wide error alone lists none)."""
    return [field for field in form if field.errors]


@register.filter
def masked_name(name: str) -> str:
    """张*三: for pages whose reader may count people but not know them (observers)."""
    from linli.core.identity import mask_name

    return mask_name(name)


@register.filter
def masked_phone(phone: str) -> str:
    """138****1234."""
    from linli.core.identity import mask_phone

    return mask_phone(phone)
