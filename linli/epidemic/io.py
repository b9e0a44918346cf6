"""The return report a department gets back for its dispatched list (回传表): every row as it was sent,
what the match found, and what the worker verified."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.excel import write_xlsx
from linli.core.models import User
from linli.epidemic.models import DispatchBatch, DispatchRecord


def report_unmasked(actor: User, batch: DispatchBatch) -> bool:
    """Full ID numbers and phones go back to the department that sent them and to staff who may reveal;
    everyone else (observers, team members, other departments) gets them masked."""
    return (
        actor.is_superuser or actor.can_reveal or (actor.pk is not None and actor.pk == batch.received_by_id)
    )


def return_report_xlsx(batch: DispatchBatch, records: Iterable[DispatchRecord], *, unmasked: bool) -> bytes:
    headers = [
        _("Row"),
        _("Name"),
        _("ID number"),
        _("Phone"),
        _("Address"),
        _("Control type"),
        _("Match"),
        _("Evidence"),
        _("Building"),
        _("Worker"),
        _("Deadline"),
        _("Result"),
        _("Note"),
        _("Verified at"),
        _("On time"),
        _("Merged rows"),
        _("Notes"),
    ]

    def when(value: object) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""  # type: ignore[arg-type]

    rows = (
        [
            r.row,
            r.name,
            r.id_number if unmasked else r.masked_id_number,
            r.phone if unmasked else r.masked_phone,
            r.address,
            r.control_type.name,
            r.get_outcome_display(),
            r.get_evidence_display(),
            r.household.building.number if r.household_id and r.household else r.building,
            r.assignee.name if r.assignee else _("data group"),
            when(r.due_at),
            r.get_result_display() if r.result else (_("done") if r.verified_at else _("open")),
            r.result_note,
            when(r.verified_at),
            (_("yes") if r.verified_at <= r.due_at else _("late")) if r.verified_at else "",
            r.merged_rows,
            r.note,
        ]
        for r in records
    )
    return write_xlsx(
        headers,
        rows,
        title=_("Return report %(id)d") % {"id": batch.pk},
        widths=[6, 10, 21, 13, 26, 10, 14, 12, 8, 10, 17, 12, 20, 17, 8, 10, 40],
    )
