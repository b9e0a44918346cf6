"""Control-case pages: the case list, one case's pipeline, opening a case, a worker's pipelines on a phone,
the printable release notice, and the control types a community adjusts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from linli.core.access import scope_q
from linli.core.http import actor_of, error_text, next_url
from linli.core.pdf import pdf_response
from linli.core.roles import ScopeLevel
from linli.epidemic import case_selectors as sel
from linli.epidemic.cases import (
    can_do_step,
    can_edit_types,
    can_manage_cases,
    case_cancel,
    case_change_release,
    case_open,
    case_release,
    case_step_done,
    control_type_save,
    period_days,
    steps_parse,
    steps_text,
    test_record,
)
from linli.epidemic.models import Colour, ControlCase, ControlType, DispatchRecord, Measure, StepKind
from linli.epidemic.models import TestResult as Result
from linli.epidemic.selectors import control_type_get, control_types_for
from linli.registry.models import Community, Resident
from linli.registry.selectors import communities_for, community_chosen, resident_get
from linli.tasks.models import Task

PAGE_SIZE = 50


# --- the list ----------------------------------------------------------------------------------------

STATUS_FILTERS = {"active": ControlCase.Status.ACTIVE, "released": ControlCase.Status.RELEASED, "all": ""}


@login_required
def cases(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    status_key = request.GET.get("status", "active")
    if status_key not in STATUS_FILTERS:
        status_key = "active"
    filters = sel.CaseFilters(
        status=STATUS_FILTERS[status_key],
        type_key=request.GET.get("type", "")[:40],
        late=request.GET.get("late") == "1",
        q=request.GET.get("q", "").strip()[:30],
    )
    page = Paginator(sel.cases_list(actor, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "epidemic/cases.html",
        {
            "page": page,
            "filters": filters,
            "status_key": status_key,
            "counts": sel.case_counts(actor),
            "can_manage": can_manage_cases(actor),
            "now": timezone.now(),
        },
    )


# --- one case ----------------------------------------------------------------------------------------


class ReleaseDateForm(forms.Form):
    release_on = forms.DateField(
        label=gettext_lazy("New release date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. CDC notice: extend by 3 days")}),
    )


def _steps(actor: Any, case: ControlCase) -> list[Task]:
    steps = sel.case_steps(case)
    for step in steps:
        step.can_do = can_do_step(actor, case, step)  # type: ignore[attr-defined]
    return steps


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    return _detail(request, case)


def _detail(
    request: HttpRequest, case: ControlCase, release_form: ReleaseDateForm | None = None
) -> HttpResponse:
    actor = actor_of(request)
    steps = _steps(actor, case)
    now = timezone.now()
    return render(
        request,
        "epidemic/case_detail.html",
        {
            "case": case,
            "resident": case.resident,
            "steps": steps,
            "late": sum(1 for s in steps if s.is_open and s.due_at < now),
            "open": sum(1 for s in steps if s.is_open),
            "can_manage": can_manage_cases(actor) and case.is_active,
            "release_form": release_form or ReleaseDateForm(initial={"release_on": case.release_on}),
            "history": sel.health_history(case.resident_id),
            "tests": sel.test_results(case.resident_id),
            "days": period_days(case),
            "day_now": case.day_of(),
            "today": timezone.localdate(),
        },
    )


def _step_of(case: ControlCase, task_pk: int) -> Task:
    task = (
        Task.objects.filter(source=Task.Source.CONTROL, source_id=case.pk, pk=task_pk)
        .select_related("assignee", "done_by")
        .first()
    )
    if task is None:
        raise Http404
    return task


@require_POST
@login_required
def case_step(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    task = _step_of(case, task_pk)
    error = ""
    try:
        task = case_step_done(actor=actor, case=case, task=task, result=request.POST.get("result", "")[:300])
    except (ValidationError, PermissionDenied) as exc:
        error = error_text(exc)
    if request.htmx:  # type: ignore[attr-defined]
        if not error and task.stage == StepKind.RELEASE:
            return HttpResponseClientRefresh()
        case.refresh_from_db()
        task = _step_of(case, task.pk)
        task.can_do = can_do_step(actor, case, task)  # type: ignore[attr-defined]
        return render(
            request,
            "epidemic/case_step.html",
            {"step": task, "case": case, "error": error, "compact": request.POST.get("compact") == "1"},
        )
    if error:
        messages.error(request, error)
    elif task.stage == StepKind.RELEASE:
        messages.success(request, _("%(name)s is released.") % {"name": case.resident.name})
    else:
        messages.success(request, _("Done: %(title)s") % {"title": task.title})
    return redirect(next_url(request, case.get_absolute_url()))


@require_POST
@login_required
def case_test(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    task = _step_of(case, task_pk)
    result = request.POST.get("result", "")
    try:
        taken_on = dt.date.fromisoformat(request.POST.get("taken_on") or timezone.localdate().isoformat())
    except ValueError:
        messages.error(request, _("Enter the sampling date as YYYY-MM-DD."))
        return redirect(case)
    try:
        test_record(actor=actor, case_or_resident=case, taken_on=taken_on, result=result, step_task=task)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        if result == Result.Result.POSITIVE:
            messages.warning(
                request,
                _("Positive result recorded: %(name)s is red; the commander has been told.")
                % {"name": case.resident.name},
            )
        else:
            messages.success(request, _("Negative result recorded: %(title)s") % {"title": task.title})
    return redirect(next_url(request, case.get_absolute_url()))


@require_POST
@login_required
def case_release_date(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    form = ReleaseDateForm(request.POST)
    if not form.is_valid():
        return _detail(request, case, form)
    try:
        case_change_release(
            actor=actor,
            case=case,
            release_on=form.cleaned_data["release_on"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        form.add_error(None, error_text(exc))
        return _detail(request, case, form)
    messages.success(
        request,
        _("Release date changed to %(date)s.") % {"date": form.cleaned_data["release_on"].isoformat()},
    )
    return redirect(case)


@require_POST
@login_required
def case_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    try:
        case_release(actor=actor, case=case)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("%(name)s is released.") % {"name": case.resident.name})
    return redirect(case)


@require_POST
@login_required
def case_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    try:
        case_cancel(actor=actor, case=case, reason=request.POST.get("reason", "")[:300])
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("The case is cancelled."))
    return redirect(case)


@login_required
def release_notice(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    case = sel.case_get(actor, pk)
    if case.status == ControlCase.Status.CANCELLED:
        raise Http404
    tests = [t for t in sel.test_results(case.resident_id) if t.case_id == case.pk]
    if any(t.result == Result.Result.POSITIVE for t in tests):
        # A notice saying "all tests negative, released" must never exist for someone who tested positive.
        messages.error(request, _("A test of this case was positive: no release notice can be printed."))
        return redirect(case)
    end = case.release_on - dt.timedelta(days=1)
    return pdf_response(
        request,
        "epidemic/release_notice.html",
        {
            "case": case,
            "resident": case.resident,
            "start": timezone.localtime(case.started_at).date(),
            "end": end,
            "days": period_days(case),
            "printed": timezone.localdate(),
            "negative_tests": [t for t in tests if t.result == Result.Result.NEGATIVE],
            "draft": case.status != ControlCase.Status.RELEASED,
        },
        f"release-{case.pk}.pdf",
    )


# --- opening a case ----------------------------------------------------------------------------------


class CaseNewForm(forms.Form):
    control_type = forms.TypedChoiceField(label=gettext_lazy("Control type"), coerce=int)
    started_at = forms.DateTimeField(
        label=gettext_lazy("Control started"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    note = forms.CharField(label=gettext_lazy("Notes"), max_length=300, required=False)

    def __init__(self, *args: Any, types: list[ControlType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.types = {t.pk: t for t in types}
        self.fields["control_type"].choices = [  # type: ignore[attr-defined]
            (t.pk, f"{t.name} · {t.get_measure_display()} {t.days}{_(' days')}") for t in types
        ]


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not can_manage_cases(actor):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    record: DispatchRecord | None = None
    resident: Resident | None = None
    if (source.get("record") or "").isdigit():
        record = (
            DispatchRecord.objects.filter(scope_q(actor), pk=int(source["record"]))
            .select_related("control_type")
            .first()
        )
        if record is None:
            raise Http404
        if record.resident_id is None:
            messages.error(request, _("This record is not matched to a resident yet; match it first."))
            return redirect(record)
        resident = resident_get(actor, record.resident_id)
    elif (source.get("resident") or "").isdigit():
        resident = resident_get(actor, int(source["resident"]))
    if resident is None:
        return render(request, "epidemic/case_new.html", {"resident": None})
    types = control_types_for(resident.community_id)
    current = sel.active_case_for(resident.pk)
    initial: dict[str, Any] = {"started_at": timezone.localtime().replace(second=0, microsecond=0)}
    if record is not None:
        match = next((t for t in types if t.key == record.control_type.key), None)
        if match is not None:
            initial["control_type"] = match.pk
    form = CaseNewForm(request.POST or None, types=types, initial=initial)
    if request.method == "POST" and form.is_valid() and current is None:
        try:
            case = case_open(
                actor=actor,
                resident=resident,
                control_type=form.types[form.cleaned_data["control_type"]],
                started_at=form.cleaned_data["started_at"],
                record=record,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(
                request,
                _("%(name)s is under control; %(type)s steps were sent to their owners.")
                % {"name": resident.name, "type": case.control_type.name},
            )
            return redirect(case)
    return render(
        request,
        "epidemic/case_new.html",
        {"resident": resident, "record": record, "form": form, "current": current, "types": types},
    )


# --- a worker's pipelines ----------------------------------------------------------------------------


@login_required
def my_pipelines(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    pipelines = sel.my_pipelines(actor)
    for p in pipelines:
        for step in p.steps:
            step.can_do = can_do_step(actor, p.case, step)  # type: ignore[attr-defined]
    return render(
        request,
        "epidemic/pipelines.html",
        {
            "pipelines": pipelines,
            "late": sum(1 for p in pipelines if p.late),
            "grid_staff": actor.scope_level == ScopeLevel.GRID,
        },
    )


# --- control types -----------------------------------------------------------------------------------


class TypeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    aliases = forms.CharField(
        label=gettext_lazy("Also written as"),
        max_length=300,
        required=False,
        help_text=gettext_lazy(
            "Words in a dispatched list's type column that mean this type, separated by commas."
        ),
    )
    verify_minutes = forms.IntegerField(
        label=gettext_lazy("Verify within (minutes)"), min_value=10, max_value=24 * 60
    )
    measure = forms.ChoiceField(label=gettext_lazy("Measure"), choices=Measure.choices)
    days = forms.IntegerField(label=gettext_lazy("Days under control"), min_value=1, max_value=60)
    colour = forms.ChoiceField(
        label=gettext_lazy("Health status while under control"), choices=Colour.choices
    )
    steps = forms.CharField(
        label=gettext_lazy("Steps"),
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "mono"}),
        help_text=gettext_lazy(
            "One step a line: title | owner | kind | when. Owner: worker, logistics, medical, liaison, "
            "security. Kind: step, test, daily, release. When: 4h (hours after the start) or day 3; "
            "empty for daily and release steps."
        ),
    )

    def clean_steps(self) -> list[dict[str, Any]]:
        try:
            return steps_parse(self.cleaned_data["steps"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


def _types_community(request: HttpRequest) -> Community:
    """The actor's community; a street account picks one (?community=CODE)."""
    return community_chosen(actor_of(request), request.GET.get("community") or request.POST.get("community"))


@login_required
def types(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = _types_community(request)
    rows = control_types_for(community.pk, include_inactive=True)
    return render(
        request,
        "epidemic/types.html",
        {
            "community": community,
            "communities": [] if actor.community_id else communities_for(actor),
            "types": rows,
            "can_edit": can_edit_types(actor) and (actor.is_superuser or actor.community_id == community.pk),
            "texts": {t.pk: steps_text(t.steps or []) for t in rows},
        },
    )


@login_required
def type_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    community = _types_community(request)
    if not can_edit_types(actor) or not (actor.is_superuser or actor.community_id == community.pk):
        raise PermissionDenied
    control_type = control_type_get(community.pk, pk)
    if control_type is None:
        raise Http404
    initial = {
        "name": control_type.name,
        "aliases": control_type.aliases,
        "verify_minutes": control_type.verify_minutes,
        "measure": control_type.measure,
        "days": control_type.days,
        "colour": control_type.colour,
        "steps": steps_text(control_type.steps or []),
    }
    form = TypeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = control_type_save(
                actor=actor, community=community, control_type=control_type, values=dict(form.cleaned_data)
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(
                request,
                _("Saved. New cases of %(name)s use these steps; open cases keep theirs.")
                % {"name": saved.name},
            )
            return redirect(reverse("epidemic:types") + f"#type-{saved.key}")
    return render(
        request,
        "epidemic/types_edit.html",
        {
            "form": form,
            "control_type": control_type,
            "community": community,
            "builtin": control_type.community_id is None,
        },
    )


urlpatterns = [
    path("epidemic/cases/", cases, name="cases"),
    path("epidemic/cases/new/", case_new, name="case_new"),
    path("epidemic/cases/<int:pk>/", case_detail, name="case"),
    path("epidemic/cases/<int:pk>/steps/<int:task_pk>/done/", case_step, name="case_step"),
    path("epidemic/cases/<int:pk>/steps/<int:task_pk>/test/", case_test, name="case_test"),
    path("epidemic/cases/<int:pk>/release-date/", case_release_date, name="case_release_date"),
    path("epidemic/cases/<int:pk>/release/", case_release_view, name="case_release"),
    path("epidemic/cases/<int:pk>/cancel/", case_cancel_view, name="case_cancel"),
    path("epidemic/cases/<int:pk>/release-notice.pdf", release_notice, name="release_notice"),
    path("epidemic/mine/pipelines/", my_pipelines, name="my_pipelines"),
    path("epidemic/types/", types, name="types"),
    path("epidemic/types/<int:pk>/edit/", type_edit, name="type_edit"),
]
