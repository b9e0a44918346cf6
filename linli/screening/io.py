"""Importing a laboratory's results: a sheet of tube codes and results (管号, 结果). All or nothing: every
problem is reported by row and nothing is recorded until the whole file is right; the same file again
records nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.core.spreadsheet import Column, SpreadsheetError, fold_text, read_table
from linli.screening import services
from linli.screening.models import Campaign, Tube

COLUMNS = [
    Column(
        "tube",
        gettext_lazy("tube code"),
        ("管号", "试管编号", "试管号", "采样管", "条码", "tube"),
        required=True,
    ),
    Column("result", gettext_lazy("result"), ("结果", "检测结果", "result"), required=True),
]

_NEGATIVE = {"阴性", "阴", "-", "negative", "neg", "n"}
_POSITIVE = {"阳性", "阳", "混阳", "混管阳性", "+", "positive", "pos", "p"}
MAX_RESULT_BYTES = 10 * 1024 * 1024


def parse_result(text: str) -> str | None:
    word = fold_text(text).replace(" ", "")
    if word in _NEGATIVE:
        return Tube.Result.NEGATIVE
    if word in _POSITIVE:
        return Tube.Result.POSITIVE
    return None


@dataclass
class ImportReport:
    rows: int = 0
    negative: int = 0
    positive: int = 0
    already: int = 0
    corrected: int = 0
    cases: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def results_import(*, actor: User, campaign: Campaign, content: bytes, filename: str) -> ImportReport:
    if not services.can_run(actor, campaign.community_id):
        raise PermissionDenied(_("Only the community's commander or the street office records results."))
    if len(content) > MAX_RESULT_BYTES:
        raise ValidationError(_("The file is larger than 10 MB."))
    try:
        table = read_table(content, filename, COLUMNS)
    except SpreadsheetError as exc:
        raise ValidationError(str(exc)) from exc
    report = ImportReport(rows=len(table.rows))
    tubes = {t.code: t for t in Tube.objects.filter(campaign=campaign)}
    wanted: dict[str, tuple[int, str]] = {}
    for row, values in table.rows:
        code = "".join(str(values.get("tube", "")).split()).upper()
        result = parse_result(str(values.get("result", "")))
        if not code:
            report.errors.append((row, _("The tube code is empty.")))
            continue
        tube = tubes.get(code)
        if tube is None:
            report.errors.append((row, _("Tube %(code)s was not used in this campaign.") % {"code": code}))
            continue
        if result is None:
            report.errors.append(
                (
                    row,
                    _("“%(text)s” is not a result: write 阴性 or 阳性.") % {"text": values.get("result", "")},
                )
            )
            continue
        if code in wanted and wanted[code][1] != result:
            report.errors.append(
                (
                    row,
                    _("Tube %(code)s is also on row %(other)d with another result.")
                    % {"code": code, "other": wanted[code][0]},
                )
            )
            continue
        # The laboratory's positive overrides a negative entered by hand; nothing overrides a positive here.
        if tube.result == Tube.Result.POSITIVE and result != Tube.Result.POSITIVE:
            report.errors.append(
                (
                    row,
                    _(
                        "Tube %(code)s is already a pooled positive: cancel or release the control cases instead."
                    )
                    % {"code": code},
                )
            )
            continue
        if tube.members == 0:
            report.errors.append((row, _("Tube %(code)s has nobody in it.") % {"code": code}))
            continue
        wanted[code] = (row, result)
    if report.errors:
        return report
    with transaction.atomic():
        for code, (_row, result) in wanted.items():
            was = tubes[code].result
            outcome = services.tube_result(
                actor=actor, tube=tubes[code], result=result, source=filename[:50], correct=True
            )
            if was and was != result:
                report.corrected += 1
            if was == result:
                report.already += 1
                continue
            report.cases += outcome.cases
            if result == Tube.Result.NEGATIVE:
                report.negative += 1
            else:
                report.positive += 1
        audit_record(
            actor=actor,
            action=AuditLog.Action.IMPORT,
            target=campaign,
            detail=_("results %(file)s: %(neg)d negative, %(pos)d pooled positive tubes")
            % {"file": filename, "neg": report.negative, "pos": report.positive},
        )
    return report
