"""Times as people read them on a phone: the local HH:MM, with the date only when it is not today."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def hm(when: dt.datetime | None) -> str:
    """Local time as HH:MM, with the date when it is not today."""
    if when is None:
        return ""
    local = timezone.localtime(when)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")
