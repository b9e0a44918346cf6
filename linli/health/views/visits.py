"""Key-population visit pages: the week's list on the phone, the visit form, a visit and a resident's
visits, and the plans page where the community sets who is visited on which day. Every write is a call to
linli.health.visits; these only parse input and render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.http import actor_of, chosen_community_code, error_text, form_errors_from, next_url
from linli.core.identity import mask_name
from linli.core.models import User
from linli.health import visits as svc
from linli.health.models import WEEKDAYS, Need, Visit, VisitGroup, VisitPlan
from linli.health.selfreport import household_abnormal_today
from linli.registry.models import Community
from linli.registry.selectors import communities_for, community_chosen, community_get, grids_for, resident_get

PLANS_PAGE = 100

_NUMBER = {"inputmode": "numeric", "pattern": "[0-9]*", "autocomplete": "off", "class": "bignum"}


class VisitForm(forms.Form):
    """Parses what the phone sends; the ranges and the rest of the rules are the service's."""

    method = forms.ChoiceField(
        label=gettext_lazy("how"),
        choices=Visit.Method.choices,
        initial=Visit.Method.HOME,
        widget=forms.RadioSelect,
    )
    bp_systolic = forms.IntegerField(
        label=gettext_lazy("upper (systolic)"),
        required=False,
        widget=forms.TextInput(attrs={**_NUMBER, "maxlength": 3}),
    )
    bp_diastolic = forms.IntegerField(
        label=gettext_lazy("lower (diastolic)"),
        required=False,
        widget=forms.TextInput(attrs={**_NUMBER, "maxlength": 3}),
    )
    temperature = forms.DecimalField(
        label=gettext_lazy("temperature (°C)"),
        required=False,
        max_digits=3,
        decimal_places=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "bignum"}),
    )
    medicines = forms.CharField(label=gettext_lazy("medicines taken"), max_length=300, required=False)
    medicine_days_left = forms.IntegerField(
        label=gettext_lazy("days of medicine left"),
        required=False,
        widget=forms.TextInput(attrs={**_NUMBER, "maxlength": 3}),
    )
    symptoms = forms.CharField(
        label=gettext_lazy("symptoms or discomfort"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. dizzy, coughing; empty if none")}),
    )
    needs = forms.MultipleChoiceField(
        label=gettext_lazy("needs"),
        choices=Need.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    needs_note = forms.CharField(
        label=gettext_lazy("what exactly they need"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. 5 kg rice and vegetables")}),
    )
    note = forms.CharField(
        label=gettext_lazy("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    visited_at = forms.DateTimeField(
        label=gettext_lazy("visited at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("Leave empty for now; change it only when entering a visit afterwards."),
    )


class PlanForm(forms.Form):
    weekday = forms.TypedChoiceField(label=gettext_lazy("visit day"), coerce=int, choices=WEEKDAYS)
    visitor = forms.ModelChoiceField(
        label=gettext_lazy("visitor"), queryset=User.objects.none(), required=False
    )
    active = forms.BooleanField(label=gettext_lazy("visited weekly"), required=False)

    def __init__(self, *args: Any, plan: VisitPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visitor = self.fields["visitor"]
        visitor.queryset = svc.plan_visitors(plan.community_id)  # type: ignore[attr-defined]
        worker = plan.resident.household.building.worker
        visitor.empty_label = (  # type: ignore[attr-defined]
            _("the building's grid worker (%(name)s)") % {"name": worker.name}
            if worker
            else _("the building's grid worker (none named yet)")
        )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _community_filter(request: HttpRequest, actor: User) -> Community | None:
    code = request.GET.get("community", "")
    return community_get(actor, code) if code else None


def _require_names(actor: User) -> None:
    if not svc.can_see_names(actor):
        raise PermissionDenied(_("Your role sees the visit counts, not the people or their health."))


# --- the week ------------------------------------------------------------------------------------


@login_required
def visits(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = _community_filter(request, actor)
    visitor_id = _int(request.GET.get("visitor"))
    grid_id = _int(request.GET.get("grid"))
    board = svc.visits_board(
        actor, visitor_id=visitor_id, grid_id=grid_id, community_id=community.pk if community else None
    )
    wide = actor.is_superuser or actor.scope_level != "grid"
    context = {
        "board": board,
        "visitor_id": visitor_id,
        "grid_id": grid_id,
        "community": community,
        "communities": communities_for(actor) if actor.scope_level == "street" or actor.is_superuser else [],
        "grids": list(grids_for(actor)) if wide else [],
        "can_visit": svc.can_visit(actor),
        "show_visitors": len(board.visitors) > 1 or bool(visitor_id),
        "board_rows": svc.BOARD_ROWS,
        "filtered": bool(visitor_id or grid_id or community),
    }
    return render(request, "health/visits.html", context)


# --- one visit -----------------------------------------------------------------------------------


@login_required
def visit_new(request: HttpRequest, resident: int) -> HttpResponse:
    actor = actor_of(request)
    person = resident_get(actor, resident)
    if not svc.can_visit(actor):
        raise PermissionDenied(_("Your role does not record visits."))
    plan = VisitPlan.objects.filter(resident=person).select_related("visitor").first()
    previous = svc.last_visit(person)
    initial: dict[str, Any] = {"method": Visit.Method.HOME}
    if previous is not None:
        initial["medicines"] = previous.medicines
    form = VisitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = svc.visit_record(
                actor=actor,
                resident=person,
                method=data["method"],
                visited_at=data["visited_at"],
                bp_systolic=data["bp_systolic"],
                bp_diastolic=data["bp_diastolic"],
                temperature=data["temperature"],
                medicines=data["medicines"],
                medicine_days_left=data["medicine_days_left"],
                symptoms=data["symptoms"],
                needs=data["needs"],
                needs_note=data["needs_note"],
                note=data["note"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            return redirect(reverse("health:visit_detail", args=[outcome.visit.pk]) + "?saved=1")
    context = {
        "resident": person,
        "form": form,
        "plan": plan,
        "previous": previous,
        "previous_days_left": _days_left_now(previous),
        "needs": Need.choices,
        # A fever or a positive test next door to the person visited: the visitor should know before knocking.
        "household_alerts": household_abnormal_today(person.household_id, timezone.localdate()),
    }
    return render(
        request,
        "health/visit_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _days_left_now(visit: Visit | None) -> int | None:
    """Medicine days left at the last visit, less the days since."""
    if visit is None or visit.medicine_days_left is None:
        return None
    since = (timezone.localdate() - timezone.localtime(visit.visited_at).date()).days
    return max(0, visit.medicine_days_left - since)


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    visit = svc.visit_get(actor, pk)
    _require_names(actor)
    saved = request.GET.get("saved") == "1" and visit.visitor_id == actor.pk
    tasks = svc.visit_tasks(visit)
    labels = dict(Need.choices)
    context = {
        "visit": visit,
        "resident": visit.resident,
        "tasks": tasks,
        "task_rows": [(labels.get(t.stage, t.title), t) for t in tasks],
        "saved": saved,
        "findings": svc.visit_findings(visit),
        "high_pressure": svc.is_high_pressure(visit.bp_systolic, visit.bp_diastolic),
        "fever": svc.is_fever(visit.temperature),
        "next_row": svc.next_due(actor) if saved else None,
        "can_visit": svc.can_visit(actor),
    }
    return render(request, "health/visit_detail.html", context)


@login_required
def visit_history(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    person = resident_get(actor, pk)
    _require_names(actor)
    context = {
        "resident": person,
        "plan": VisitPlan.objects.filter(resident=person).select_related("visitor").first(),
        "visits": svc.resident_visits(actor, person),
        "can_visit": svc.can_visit(actor),
    }
    return render(request, "health/visit_history.html", context)


# --- plans ---------------------------------------------------------------------------------------


@login_required
def visit_plans(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.is_outside:
        raise PermissionDenied
    g = request.GET
    grid_id = _int(g.get("grid"))
    weekday = _int(g.get("weekday"))
    group = g.get("group", "") if g.get("group", "") in VisitGroup.values else ""
    stopped = g.get("stopped") == "1"
    community = _community_filter(request, actor)
    qs = svc.visit_plans_for(actor).filter(active=not stopped)
    if community is not None:
        qs = qs.filter(community=community)
    if grid_id:
        qs = qs.filter(grid_id=grid_id)
    if group:
        qs = qs.filter(group=group)
    by_day = dict(qs.values_list("weekday").annotate(n=Count("id")).values_list("weekday", "n"))
    if weekday is not None:
        qs = qs.filter(weekday=weekday)
    qs = qs.select_related(
        "resident__household__building__worker", "resident__household__entrance", "visitor", "grid"
    ).order_by(
        "grid__number",
        "weekday",
        "resident__household__building__sort_key",
        "resident__household__entrance__number",
        Length("resident__household__room"),
        "resident__household__room",
        "id",
    )
    page = Paginator(qs, PLANS_PAGE).get_page(g.get("page"))
    names = svc.can_see_names(actor)
    if not names:
        for plan in page:
            plan.resident.name = mask_name(plan.resident.name)
    sync_community = None
    if actor.is_superuser or actor.is_admin_role:
        try:
            sync_community = community or community_chosen(actor, None)
        except Http404:
            sync_community = None
    wide = actor.is_superuser or actor.scope_level != "grid"
    context = {
        "page": page,
        "grid_id": grid_id,
        "weekday": weekday,
        "group": group,
        "stopped": stopped,
        "community": community,
        "communities": communities_for(actor) if actor.scope_level == "street" or actor.is_superuser else [],
        "grids": list(grids_for(actor)) if wide else [],
        "weekdays": [(d, label, by_day.get(d, 0)) for d, label in WEEKDAYS],
        "groups": VisitGroup.choices,
        "can_edit": svc.can_edit_plans(actor),
        "names": names,
        "today": timezone.localdate(),
        "sync_community": sync_community
        if sync_community and svc.can_sync_plans(actor, sync_community.pk)
        else None,
        "query": g.urlencode(),
    }
    return render(request, "health/visit_plans.html", context)


@login_required
@require_POST
def visit_plans_sync(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    try:
        result = svc.visit_plans_sync(actor=actor, community=community)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        if result.changed:
            messages.success(
                request,
                _(
                    "Plans updated from the ledger: %(created)d new, %(stopped)d stopped, %(updated)d changed group or grid."
                )
                % {"created": result.created, "stopped": result.stopped, "updated": result.updated},
            )
        else:
            messages.success(
                request,
                _("The plans already match the ledger (%(n)d people visited weekly).")
                % {"n": result.unchanged},
            )
    return redirect(next_url(request, reverse("health:visit_plans")))


@login_required
def visit_plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    plan = svc.visit_plan_get(actor, pk)
    if not svc.can_edit_plans(actor):
        raise PermissionDenied(_("Only administrators and grid leaders change visit plans."))
    initial = {"weekday": plan.weekday, "visitor": plan.visitor_id, "active": plan.active}
    form = PlanForm(request.POST or None, initial=initial, plan=plan)
    back = next_url(request, reverse("health:visit_plans"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            svc.visit_plan_update(
                actor=actor,
                plan=plan,
                weekday=data["weekday"],
                visitor=data["visitor"],
                active=data["active"],
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Plan for %(name)s saved.") % {"name": plan.resident.name})
            return redirect(back)
    return render(
        request,
        "health/visit_plan_form.html",
        {"plan": plan, "form": form, "back": back, "resident": plan.resident},
        status=400 if request.method == "POST" else 200,
    )


urlpatterns: list[URLPattern] = [
    path("health/visits/", visits, name="visits"),
    path("health/visits/new/<int:resident>/", visit_new, name="visit_new"),
    path("health/visits/<int:pk>/", visit_detail, name="visit_detail"),
    path("health/visits/resident/<int:pk>/", visit_history, name="visit_history"),
    path("health/visits/plans/", visit_plans, name="visit_plans"),
    path("health/visits/plans/sync/", visit_plans_sync, name="visit_plans_sync"),
    path("health/visits/plans/<int:pk>/", visit_plan_edit, name="visit_plan_edit"),
]
