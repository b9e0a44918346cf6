"""The return report a department gets back for its dispatched list (回传表): every row as it was sent,
what the match found, and what the worker verified."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from linli.core.excel import write_xlsx
from linli.core.models import User
from linli.epidemic.models import DispatchBatch, DispatchRecord


def return_report_export(actor: User, batch: DispatchBatch) -> bytes:
    """The return report of a batch the actor may see (loaded through selectors.batch_get), audited."""
    from linli.core.audit import audit_record
    from linli.epidemic.selectors import records_for

    records = (
        records_for(actor)
        .filter(batch=batch)
        .select_related("control_type", "assignee", "household__building")
        .order_by("row")
    )
    unmasked = report_unmasked(actor, batch)
    content = return_report_xlsx(batch, records, unmasked=unmasked)
    audit_record(
        actor=actor,
        action="export",
        target=batch,
        detail="return report" + (" (full ID numbers and phones)" if unmasked else " (masked)"),
    )
    return content


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
        _("Verification note"),
        _("Verified at"),
        _("On time"),
        _("Merged rows"),
        _("Match notes"),
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
            r.household.building.number if r.household_id and r.household else "",
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


def titled_sheet_xlsx(title: str | None, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A sheet as departments send them: a title merged across the top (when given), the header, rows.
    The demo lists, the tests and the benchmark write theirs with it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
