"""Times as people read them on a phone: the local HH:MM, with the date only when it is not today."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def local_at(day: dt.date, time: dt.time) -> dt.datetime:
    """A day and a wall-clock time in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, time))


def span(start: dt.datetime, end: dt.datetime) -> str:
    """A time window as HH:MM–HH:MM in local time."""
    return f"{timezone.localtime(start):%H:%M}–{timezone.localtime(end):%H:%M}"


def hm(when: dt.datetime | None) -> str:
    """Local time as HH:MM, with the date when it is not today."""
    if when is None:
        return ""
    local = timezone.localtime(when)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")
