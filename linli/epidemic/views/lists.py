"""Dispatched lists: the batch board, upload, a batch's records, the worker's verification list and the
two-tap outcome, the data group's choice among candidates, and the return report."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.audit import audit_record
from linli.core.excel import XLSX_CONTENT_TYPE
from linli.core.http import actor_of, chosen_community_code, error_text, next_url
from linli.core.models import User
from linli.core.spreadsheet import SpreadsheetError
from linli.epidemic import selectors as sel
from linli.epidemic.forms import DispatchUploadForm, VerifyForm
from linli.epidemic.intake import DuplicateList, can_send_lists, dispatch_list_receive
from linli.epidemic.io import return_report_export
from linli.epidemic.models import (
    ControlCase,
    DispatchRecord,
    HealthStatus,
    Outcome,
    Verification,
)
from linli.epidemic.services import can_verify, record_resolve, record_verify
from linli.registry.models import Community, Resident
from linli.registry.selectors import communities_for, community_chosen, resident_get

PAGE = 50


def _board_context(
    request: HttpRequest, community: Community, form: DispatchUploadForm | None = None
) -> dict:
    actor = actor_of(request)
    records = sel.records_for(actor)
    batches = list(sel.batches_for(actor).filter(community=community).select_related("control_type")[:30])
    progress = sel.batch_progress(records, [b.pk for b in batches])
    rows = [(b, progress.get(b.pk, sel.Progress())) for b in batches]
    open_records = records.filter(community=community, verified_at__isnull=True)
    types = sel.control_types_for(community.pk)
    return {
        "community": community,
        "communities": communities_for(actor) if actor.scope_level == "street" or actor.is_superuser else [],
        "rows": rows,
        "now": timezone.now(),
        "open_count": open_records.count(),
        "late_count": open_records.filter(due_at__lt=timezone.now()).count(),
        "data_group": open_records.filter(assignee__isnull=True).count(),
        "mine": sel.my_verification_counts(actor),
        "can_send": can_send_lists(actor),
        "form": form or DispatchUploadForm(types=types),
        "types": types,
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    community = community_chosen(actor_of(request), chosen_community_code(request))
    return render(request, "epidemic/board.html", _board_context(request, community))


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    if not can_send_lists(actor):
        raise PermissionDenied(_("Only the community's administrators may send dispatched lists."))
    form = DispatchUploadForm(request.POST, request.FILES, types=sel.control_types_for(community.pk))
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = dispatch_list_receive(
                actor=actor,
                community=community,
                content=upload.read(),
                filename=upload.name,
                sender=form.cleaned_data["sender"],
                control_type=form.cleaned_data["control_type"],
            )
        except DuplicateList as exc:
            form.add_error("file", str(exc))
            context = _board_context(request, community, form)
            context["duplicate"] = exc.batch
            return render(request, "epidemic/board.html", context, status=409)
        except SpreadsheetError as exc:
            form.add_error("file", str(exc))
        else:
            counts = result.counts
            messages.success(
                request,
                _(
                    "List #%(id)d received: %(rows)d records; %(workers)d sent to the grid workers, "
                    "%(data)d to the data group (%(resident)d matched to a resident, %(household)d to a "
                    "household, %(ambiguous)d ambiguous, %(not_found)d not in this community, %(invalid)d "
                    "invalid; repeats merged: %(merged)d)."
                )
                % {
                    "id": result.batch.pk,
                    "rows": result.batch.rows,
                    "workers": result.tasks_created - result.to_data_group,
                    "data": result.to_data_group,
                    "merged": result.duplicates_merged,
                    **counts,
                },
            )
            return redirect(result.batch)
    return render(request, "epidemic/board.html", _board_context(request, community, form), status=400)


def _record_cards(actor: User, records: list[DispatchRecord]) -> list[DispatchRecord]:
    """Attach what a card shows: the candidates of ambiguous records, and whether the actor may act."""
    wanted = {pk for r in records for pk in r.candidates} | {r.resident_id for r in records if r.resident_id}
    people = {
        p.pk: p
        for p in Resident.objects.filter(pk__in=wanted).select_related(
            "household__building", "household__entrance"
        )
    }
    colours = dict(
        HealthStatus.objects.filter(
            resident_id__in={r.resident_id for r in records if r.resident_id}
        ).values_list("resident_id", "colour")
    )
    under_control = dict(
        ControlCase.objects.filter(
            resident_id__in={r.resident_id for r in records if r.resident_id},
            status=ControlCase.Status.ACTIVE,
        ).values_list("resident_id", "id")
    )
    for r in records:
        r.case_id = under_control.get(r.resident_id or 0)  # type: ignore[attr-defined]
        r.health_colour = colours.get(r.resident_id or 0, "")  # type: ignore[attr-defined]
        r.candidate_people = [people[pk] for pk in r.candidates if pk in people]  # type: ignore[attr-defined]
        # What the ledger says, beside what the list said: the address to go to, the phone to call.
        r.ledger = people.get(r.resident_id or 0)  # type: ignore[attr-defined]
        r.can_act = can_verify(actor, r)  # type: ignore[attr-defined]
        r.outcome_choices = Verification.choices  # type: ignore[attr-defined]
    return records


def _filtered(
    request: HttpRequest, qs: QuerySet[DispatchRecord]
) -> tuple[QuerySet[DispatchRecord], dict[str, str]]:
    outcome = request.GET.get("outcome", "")
    status = request.GET.get("status", "")
    worker = request.GET.get("worker", "")
    if outcome in Outcome.values:
        qs = qs.filter(outcome=outcome)
    now = timezone.now()
    if status == "open":
        qs = qs.filter(verified_at__isnull=True)
    elif status == "late":
        qs = qs.filter(verified_at__isnull=True, due_at__lt=now)
    elif status == "done":
        qs = qs.filter(verified_at__isnull=False)
    if worker == "none":
        qs = qs.filter(assignee__isnull=True)
    elif worker.isdigit():
        qs = qs.filter(assignee_id=int(worker))
    return qs, {"outcome": outcome, "status": status, "worker": worker}


@login_required
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    batch = sel.batch_get(actor, pk)
    records = sel.records_for(actor).filter(batch=batch)
    progress = sel.batch_progress(records, [batch.pk]).get(batch.pk, sel.Progress())
    qs, filters = _filtered(request, records)
    qs = sel.open_first(qs).select_related("control_type", "assignee", "verified_by", "resident")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    outcome_counts = [(o, batch.counts.get(o.value, 0)) for o in Outcome]
    return render(
        request,
        "epidemic/batch.html",
        {
            "batch": batch,
            "progress": progress,
            "workers": sel.batch_workers(records, batch),
            "page": page,
            "records": _record_cards(actor, list(page.object_list)),
            "filters": filters,
            "query": query,
            "outcome_counts": outcome_counts,
            "now": timezone.now(),
        },
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    finished = request.GET.get("done") == "1"
    qs = sel.my_verifications(actor, finished=finished)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "epidemic/mine.html",
        {
            "records": _record_cards(actor, list(page.object_list)),
            "page": page,
            "finished": finished,
            "counts": sel.my_verification_counts(actor),
        },
    )


def _back(request: HttpRequest, record: DispatchRecord) -> HttpResponse:
    target = next_url(request, "")
    return redirect(f"{target}#r{record.pk}" if target else record.get_absolute_url())


def _card(request: HttpRequest, record: DispatchRecord, error: str = "") -> HttpResponse:
    record = sel.record_get(actor_of(request), record.pk)
    record = _record_cards(actor_of(request), [record])[0]
    # The card, and the worker's counters beside it (out of band), so "to verify" counts down.
    return render(
        request,
        "epidemic/_record.html",
        {
            "r": record,
            "error": error,
            "just_verified": not error,
            "oob_counts": sel.my_verification_counts(actor_of(request)),
        },
    )


@login_required
@require_POST
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    record = sel.record_get(actor, pk)
    form = VerifyForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("Choose what you found.")
    else:
        try:
            record = record_verify(
                actor=actor, record=record, result=form.cleaned_data["result"], note=form.cleaned_data["note"]
            )
        except (ValidationError, PermissionDenied) as exc:
            error = error_text(exc)
    if request.htmx:  # type: ignore[attr-defined]
        return _card(request, record, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("%(name)s: %(result)s") % {"name": record.name, "result": Verification(record.result).label},
        )
    return _back(request, record)


@login_required
@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    record = sel.record_get(actor, pk)
    resident_id = request.POST.get("resident", "")
    try:
        if not resident_id.isdigit():
            raise ValidationError(_("Choose the resident."))
        resident = resident_get(actor, int(resident_id))
        record = record_resolve(actor=actor, record=record, resident=resident)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            _("Row %(row)d is %(name)s; the verification went to %(worker)s.")
            % {
                "row": record.row,
                "name": resident.name,
                "worker": record.assignee.name if record.assignee else _("the data group"),
            },
        )
    return _back(request, record)


@login_required
@require_POST
def reveal_phone(request: HttpRequest, pk: int) -> HttpResponse:
    """The phone to call the person: the list's, or else the ledger's. Every reveal is in the audit log."""
    actor = actor_of(request)
    record = sel.record_get(actor, pk)
    if not actor.can_reveal:
        raise PermissionDenied
    phone, target = record.phone, cast(Model, record)
    if not phone and record.resident_id:
        resident = resident_get(actor, record.resident_id)
        phone, target = resident.phone, resident
    if not phone:
        raise PermissionDenied
    audit_record(actor=actor, action="reveal", target=target, detail="phone")
    return render(request, "epidemic/_phone.html", {"r": record, "phone": phone})


@login_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    batch = sel.batch_get(actor, pk)
    response = HttpResponse(return_report_export(actor, batch), content_type=XLSX_CONTENT_TYPE)
    name = _("return report %(id)d") % {"id": batch.pk} + ".xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


urlpatterns = [
    path("epidemic/", board, name="board"),
    path("epidemic/lists/upload/", upload, name="upload"),
    path("epidemic/lists/<int:pk>/", batch, name="batch"),
    path("epidemic/lists/<int:pk>/report.xlsx", report, name="report"),
    path("epidemic/mine/", mine, name="mine"),
    path("epidemic/records/<int:pk>/verify/", verify, name="verify"),
    path("epidemic/records/<int:pk>/resolve/", resolve, name="resolve"),
    path("epidemic/records/<int:pk>/phone/", reveal_phone, name="reveal_phone"),
]
