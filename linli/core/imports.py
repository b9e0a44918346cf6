"""Tracked spreadsheet imports: upload → preview with per-row problems → atomic commit.

An importer (e.g. registry.io.ResidentImporter) says which columns it reads, how it checks each row
and how it writes the accepted ones. This module owns the job's lifecycle, so every import in Linli
behaves the same: nothing is written before the person confirms, commit is all-or-nothing, and the
rejected rows can be downloaded as an .xlsx error report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from linli.core.audit import audit_record
from linli.core.excel import write_xlsx
from linli.core.models import ImportJob, User
from linli.core.request_context import Origin, current_origin, origin
from linli.core.spreadsheet import Column, SpreadsheetError, Table, read_table

PREVIEW_ROWS = 50


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def row_checker(row: int, labels: Mapping[str, object]) -> tuple[list[RowError], Callable[[str, str], None]]:
    """One row's problem list and the function that adds a problem to it, named by the column label a
    person sees in the file."""
    errors: list[RowError] = []

    def fail(column: str, message: str) -> None:
        errors.append(RowError(row, str(labels[column]), message))

    return errors, fail


@dataclass
class CheckResult:
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})


@dataclass
class CommitResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Importer(Protocol):
    kind: ClassVar[str]
    columns: ClassVar[list[Column]]

    def check(self, job: ImportJob, table: Table) -> CheckResult: ...

    def commit(self, job: ImportJob, result: CheckResult, actor: User) -> CommitResult: ...

    def preview_row(self, record: dict[str, Any]) -> dict[str, str]: ...

    def fingerprint(self, job: ImportJob) -> str:
        """What the check read from the database; if it is unchanged, the check still holds."""
        ...


_IMPORTERS: dict[str, Callable[[], Importer]] = {}


def register_importer(factory: Callable[[], Importer]) -> Callable[[], Importer]:
    _IMPORTERS[factory.kind] = factory  # type: ignore[attr-defined]
    return factory


def importer_for(kind: str) -> Importer:
    return _IMPORTERS[kind]()


class ImportRefused(ValueError):
    pass


@dataclass(frozen=True)
class ImportPage:
    """How an import kind appears on the shared import pages (/imports/<id>/)."""

    kind: str
    back_url: str  # URL name of the page the import was started from
    back_label: Any
    preview: tuple[tuple[str, Any], ...]  # (key in preview_row, column heading)
    created_label: Any
    done_url: str
    done_label: Any
    # Accounts without an area (enterprise contacts) may follow the imports of this kind they uploaded.
    uploader_follows: bool = False


_PAGES: dict[str, ImportPage] = {}


def register_import_page(page: ImportPage) -> None:
    _PAGES[page.kind] = page


def import_page(kind: str) -> ImportPage:
    return _PAGES[kind]


def import_kinds(*, uploader_follows: bool = False) -> list[str]:
    return [kind for kind, page in _PAGES.items() if page.uploader_follows or not uploader_follows]


def import_create(
    *,
    actor: User,
    kind: str,
    community_id: int | None,
    filename: str,
    content: bytes,
    options: dict | None = None,
) -> ImportJob:
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise ImportRefused(
            _("The file is larger than %(mb)d MB; split it into smaller files.")
            % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
        )
    return ImportJob.objects.create(
        kind=kind,
        community_id=community_id,
        created_by=actor,
        filename=filename[:200],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        options={**(options or {}), "language": translation.get_language() or settings.LANGUAGE_CODE},
        origin_ip=current_origin().ip,
    )


def _uploader_language(job: ImportJob) -> translation.override:
    """Checks and summaries may run on a worker, with no request: they speak the uploader's language."""
    return translation.override(job.options.get("language", settings.LANGUAGE_CODE))


def _read_and_check(job: ImportJob) -> tuple[Importer, Table, CheckResult]:
    importer = importer_for(job.kind)
    table = read_table(bytes(job.content), job.filename, importer.columns)
    return importer, table, importer.check(job, table)


def import_preview(*, job: ImportJob) -> ImportJob:
    """Read and check the file; write nothing but the job's own summary."""
    with _uploader_language(job):
        return _import_preview(job)


def _import_preview(job: ImportJob) -> ImportJob:
    try:
        importer, table, result = _read_and_check(job)
        # Kept on this instance only: a commit in the same request (API commit=true) need not
        # read the file twice. A commit on a worker reads and checks it again.
        job._checked = (importer.fingerprint(job), importer, table, result)  # type: ignore[attr-defined]
    except SpreadsheetError as exc:
        job.status = ImportJob.Status.FAILED
        job.message = str(exc)[:500]
        job.finished_at = timezone.now()
        job.save()
        return job
    labels = {c.field: c.aliases[0] for c in importer.columns}
    job.header_row = table.header_row
    job.columns = {labels[f]: table.headers[i] for f, i in table.columns.items()}
    job.rows = len(table.rows)
    job.rejected = result.rejected_rows
    job.accepted = len(result.records)
    job.errors = [e.as_dict() for e in sorted(result.errors, key=lambda e: e.row)]
    job.preview = [{"row": n, **importer.preview_row(r)} for n, r in result.records[:PREVIEW_ROWS]]
    job.message = (
        _("Columns not used: %(cols)s") % {"cols": "、".join(table.ignored_headers)}
        if table.ignored_headers
        else ""
    )[:500]
    job.status = ImportJob.Status.PREVIEWED
    job.save()
    return job


def import_claim_commit(*, job: ImportJob) -> bool:
    """Move a previewed job to committing; only one request or worker wins."""
    won = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
        status=ImportJob.Status.COMMITTING
    )
    if won:
        job.status = ImportJob.Status.COMMITTING
    return bool(won)


def import_commit(*, actor: User, job: ImportJob) -> ImportJob:
    """Write the accepted rows, all or nothing. The file is checked again: the registry may have changed."""
    if job.status != ImportJob.Status.COMMITTING and not import_claim_commit(job=job):
        raise ImportRefused(_("This import is not waiting for confirmation."))
    with _uploader_language(job):
        return _import_commit(actor, job)


def _import_commit(actor: User, job: ImportJob) -> ImportJob:
    try:
        checked = getattr(job, "_checked", None)
        if checked is not None and checked[0] == checked[1].fingerprint(job):
            _fingerprint, importer, table, result = checked
        else:
            importer, table, result = _read_and_check(job)
        with transaction.atomic():
            outcome = importer.commit(job, result, actor)
            job.status = ImportJob.Status.COMMITTED
            job.rows = len(table.rows)
            job.accepted = len(result.records)
            job.rejected = result.rejected_rows
            job.errors = [e.as_dict() for e in sorted(result.errors, key=lambda e: e.row)]
            job.created, job.updated, job.unchanged = outcome.created, outcome.updated, outcome.unchanged
            job.finished_at = timezone.now()
            # The uploaded file holds personal data; once imported, the registry and the error list
            # are what is kept (PIPL: keep no more than the purpose needs).
            job.content = b""
            job.save()
            with origin(Origin(ip=job.origin_ip, via=current_origin().via)):
                audit_record(
                    actor=actor,
                    action="import",
                    target=job,
                    target_label=job.filename,
                    community_id=job.community_id,
                    detail=_(
                        "%(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(rejected)d rejected"
                    )
                    % {
                        "created": job.created,
                        "updated": job.updated,
                        "unchanged": job.unchanged,
                        "rejected": job.rejected,
                    },
                )
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, message=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    return job


def import_cancel(*, job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
        status=ImportJob.Status.CANCELLED
    )


def error_report(job: ImportJob) -> bytes:
    headers = [_("Row"), _("Column"), _("Problem")]
    rows = ([e["row"], e["column"], e["message"]] for e in job.errors)
    return write_xlsx(headers, rows, title=_("Rejected rows"), widths=(8, 18, 80))


def previous_import_of_same_file(job: ImportJob) -> ImportJob | None:
    return (
        ImportJob.objects.filter(sha256=job.sha256, kind=job.kind, community=job.community)
        .filter(status=ImportJob.Status.COMMITTED)
        .exclude(pk=job.pk)
        .order_by("-finished_at")
        .first()
    )
