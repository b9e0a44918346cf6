"""Epidemic API: departments send dispatched lists and read back each record's match and verification."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Router, Schema, Status, UploadedFile

from linli.api.models import Permission
from linli.api.permissions import require_permission
from linli.core.excel import XLSX_CONTENT_TYPE
from linli.core.http import actor_of
from linli.core.spreadsheet import SpreadsheetError
from linli.epidemic import selectors as sel
from linli.epidemic.forms import MAX_LIST_BYTES
from linli.epidemic.intake import DuplicateList, can_send_lists, dispatch_list_receive
from linli.epidemic.io import return_report_export
from linli.registry.selectors import community_get

router = Router(tags=["epidemic"])


class ErrorOut(Schema):
    detail: str


class DuplicateOut(Schema):
    detail: str
    batch: int


class Counts(Schema):
    resident: int = 0
    household: int = 0
    ambiguous: int = 0
    not_found: int = 0
    invalid: int = 0


class BatchCreated(Schema):
    batch: int
    rows: int
    counts: Counts
    duplicates_merged: int
    tasks_created: int
    deadline: dt.datetime


class ProgressOut(Schema):
    total: int
    verified: int
    open: int
    late: int
    complete: bool
    completed_at: dt.datetime | None
    next_due: dt.datetime | None = None  # the earliest deadline among the open records


class RowOut(Schema):
    row: int
    merged_rows: str
    name: str
    id_number: str  # masked
    id_valid: bool
    control_type: str
    outcome: str
    evidence: str
    score: int | None
    notes: str
    candidates: int
    resident: int | None
    household: int | None
    worker: str
    due_at: dt.datetime
    result: str
    result_note: str
    verified_at: dt.datetime | None
    on_time: bool | None


class BatchOut(Schema):
    batch: int
    community: str
    sender: str
    filename: str
    received_at: dt.datetime
    deadline: dt.datetime
    rows: int
    counts: Counts
    duplicates_merged: int
    progress: ProgressOut
    records: list[RowOut]


@router.post(
    "/dispatch-lists",
    response={201: BatchCreated, 400: ErrorOut, 403: ErrorOut, 409: DuplicateOut},
)
def dispatch_list_create(
    request: HttpRequest,
    community: str,
    file: File[UploadedFile],  # type: ignore[type-arg]
    sender: str = "",
    control_type: str = "",
) -> Status:
    """Send a dispatched list (multipart `file`: .xlsx, .xls or .csv). Every record is matched to the
    registry and routed as a verification task at once. `control_type` (a key such as `close_contact`)
    applies to records without a type column. The same file again is refused with 409 and the first batch."""
    require_permission(request, Permission.DISPATCH)
    actor = actor_of(request)
    target = community_get(actor, community)
    if not can_send_lists(actor):
        raise PermissionDenied("your role may not send dispatched lists")
    if (file.size or 0) > MAX_LIST_BYTES:
        return Status(400, ErrorOut(detail="the file is larger than 20 MB"))
    chosen = None
    if control_type:
        chosen = next((t for t in sel.control_types_for(target.pk) if t.key == control_type), None)
        if chosen is None:
            keys = ", ".join(t.key for t in sel.control_types_for(target.pk))
            return Status(400, ErrorOut(detail=f"unknown control_type {control_type!r}; one of: {keys}"))
    try:
        result = dispatch_list_receive(
            actor=actor,
            community=target,
            content=file.read(),
            filename=file.name or "upload",
            sender=sender,
            control_type=chosen,
        )
    except DuplicateList as exc:
        return Status(409, DuplicateOut(detail=str(exc), batch=exc.batch.pk))
    except SpreadsheetError as exc:
        return Status(400, ErrorOut(detail=str(exc)))
    return Status(
        201,
        BatchCreated(
            batch=result.batch.pk,
            rows=result.batch.rows,
            counts=Counts(**result.counts),
            duplicates_merged=result.duplicates_merged,
            tasks_created=result.tasks_created,
            deadline=result.batch.deadline,
        ),
    )


@router.get("/dispatch-lists/{batch_id}", response=BatchOut)
def dispatch_list_detail(request: HttpRequest, batch_id: int) -> BatchOut:
    """Progress against the deadline, and every row's outcome with its evidence and verification."""
    require_permission(request, Permission.DISPATCH)
    actor = actor_of(request)
    batch = sel.batch_get(actor, batch_id)
    records = sel.records_for(actor).filter(batch=batch)
    progress = sel.batch_progress(records, [batch.pk]).get(batch.pk, sel.Progress())
    rows = [
        RowOut(
            row=r.row,
            merged_rows=r.merged_rows,
            name=r.name,
            id_number=r.masked_id_number,
            id_valid=r.id_valid,
            control_type=r.control_type.key,
            outcome=r.outcome,
            evidence=r.evidence,
            score=r.score,
            notes=r.note,
            candidates=len(r.candidates),
            resident=r.resident_id,
            household=r.household_id,
            worker=r.assignee.name if r.assignee else "",
            due_at=r.due_at,
            result=r.result,
            result_note=r.result_note,
            verified_at=r.verified_at,
            on_time=(r.verified_at <= r.due_at) if r.verified_at else None,
        )
        for r in records.select_related("control_type", "assignee").order_by("row")
    ]
    return BatchOut(
        batch=batch.pk,
        community=batch.community.code,
        sender=batch.sender,
        filename=batch.filename,
        received_at=batch.received_at,
        deadline=batch.deadline,
        rows=batch.rows,
        counts=Counts(**batch.counts),
        duplicates_merged=batch.duplicates_merged,
        progress=ProgressOut(
            total=progress.total,
            verified=progress.done,
            open=progress.open,
            late=progress.late,
            complete=batch.completed_at is not None,
            completed_at=batch.completed_at,
            next_due=progress.next_due,
        ),
        records=rows,
    )


@router.get("/dispatch-lists/{batch_id}/report.xlsx")
def dispatch_list_report(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The return report (回传表) as .xlsx: each row as sent, its match and what the worker found."""
    require_permission(request, Permission.DISPATCH)
    actor = actor_of(request)
    batch = sel.batch_get(actor, batch_id)
    response = HttpResponse(return_report_export(actor, batch), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="return-{batch.pk}-{timezone.localtime():%Y%m%d%H%M}.xlsx"'
    )
    return response
