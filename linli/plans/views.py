"""Plan pages: the list, the plan document, section editors, response cards, export, activation."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.core.pdf import pdf_response, qr_svg
from linli.core.selectors import community_staff
from linli.plans.document import plan_document
from linli.plans.forms import (
    SECTIONS,
    ActivateForm,
    CopyForm,
    PlanForm,
    VersionForm,
    holders_formset,
    section_formset,
)
from linli.plans.models import Phase, Plan, Position
from linli.plans.selectors import (
    plan_get,
    plan_list,
    positions_with_holders,
    procedure,
    response_cards,
    staffing_gaps,
)
from linli.plans.services import PlanConflict, can_edit_plan, plan_change, plan_copy, plan_set_archived
from linli.registry.selectors import buildings_for, communities_for
from linli.response.selectors import active_response_for_plan, active_responses_by_plan
from linli.response.services import ActivationRefused, can_activate, response_activate
from linli.supplies.selectors import plan_stock
from linli.tasks.models import Team


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
def plan_index(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    plans = list(plan_list(actor, templates=False))
    active = active_responses_by_plan([p.pk for p in plans])
    for plan in plans:
        plan.active_response = active.get(plan.pk)  # type: ignore[attr-defined]
    return render(
        request, "plans/list.html", {"plans": plans, "templates": list(plan_list(actor, templates=True))}
    )


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    plan = plan_get(actor, pk)
    positions = positions_with_holders(plan)
    return render(
        request,
        "plans/detail.html",
        {
            "plan": plan,
            "positions": positions,
            "procedure": procedure(plan),
            "gaps": staffing_gaps(positions) if not plan.is_template else [],
            "revisions": plan.revisions.select_related("actor")[:20],
            "can_edit": can_edit_plan(actor, plan),
            "can_activate": can_activate(actor, plan),
            "can_copy": actor.is_admin_role,
            "active_response": None if plan.is_template else active_response_for_plan(plan.pk),
            "supply_lines": plan_stock(plan),
        },
    )


@login_required
def plan_copy_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    source = plan_get(actor, pk)
    communities = list(communities_for(actor))
    if not communities:
        raise PermissionDenied
    form = CopyForm(request.POST or None, initial={"title": source.title})
    if request.method == "POST" and form.is_valid():
        community = next(
            (c for c in communities if str(c.pk) == request.POST.get("community")), communities[0]
        )
        plan = plan_copy(actor=actor, source=source, community=community, title=form.cleaned_data["title"])
        messages.success(
            request, _("Plan created. Fill in who holds each position, then review every section.")
        )
        return redirect("plans:staffing", pk=plan.pk)
    return render(request, "plans/copy.html", {"source": source, "form": form, "communities": communities})


def _editable(request: HttpRequest, pk: int) -> Plan:
    actor = _actor(request)
    plan = plan_get(actor, pk)
    if not can_edit_plan(actor, plan):
        raise PermissionDenied
    return plan


def _conflict_or_save(
    request: HttpRequest, plan: Plan, version_form: VersionForm, note: str, change: Any
) -> str | None:
    """Save as the next version; on a conflict return the message and keep the person's input on screen."""
    try:
        plan_change(
            actor=_actor(request),
            plan=plan,
            expected_version=version_form.cleaned_data["version"],
            note=note,
            change=change,
        )
    except PlanConflict as exc:
        return " ".join(exc.messages)
    return None


@login_required
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _editable(request, pk)
    version_form = VersionForm(request.POST or None, initial={"version": plan.version})
    form = PlanForm(request.POST or None, instance=plan)
    conflict = None
    if request.method == "POST" and form.is_valid() and version_form.is_valid():
        changed = ", ".join(str(form.fields[f].label) for f in form.changed_data) or _("no fields")
        conflict = _conflict_or_save(
            request, plan, version_form, _("Edited: %(fields)s") % {"fields": changed}, form.save
        )
        if conflict is None:
            messages.success(request, _("Saved as version %(v)d.") % {"v": plan.version})
            return redirect("plans:detail", pk=pk)
    return render(
        request,
        "plans/edit.html",
        {
            "plan": plan,
            "form": form,
            "version_form": version_form,
            "conflict": conflict,
            "title": _("Plan and risk analysis"),
        },
    )


@login_required
def plan_edit_section(request: HttpRequest, pk: int, section: str) -> HttpResponse:
    plan = _editable(request, pk)
    if section not in SECTIONS:
        raise Http404
    spec = SECTIONS[section]
    team = request.GET.get("team", "") if section == "steps" else ""
    if section == "steps" and team not in Team.values:
        team = Team.COMMAND
    data = request.POST if request.method == "POST" else None
    version_form = VersionForm(data, initial={"version": plan.version})
    formset = section_formset(spec, plan, data, team=team)
    conflict = None
    if request.method == "POST" and formset.is_valid() and version_form.is_valid():
        label = str(spec.label) + (f" · {Team(team).label}" if team else "")
        counts = _("%(changed)d changed, %(added)d added, %(deleted)d removed")

        def change() -> None:
            formset.save()

        summary = counts % {
            "changed": sum(
                1 for f in formset.initial_forms if f.has_changed() and f not in formset.deleted_forms
            ),
            "added": sum(1 for f in formset.extra_forms if f.has_changed()),
            "deleted": len(formset.deleted_forms),
        }
        conflict = _conflict_or_save(request, plan, version_form, f"{label}: {summary}", change)
        if conflict is None:
            messages.success(request, _("Saved as version %(v)d.") % {"v": plan.version})
            target = reverse("plans:edit_section", args=[pk, section])
            return redirect(f"{target}?team={team}" if team else reverse("plans:detail", args=[pk]))
    return render(
        request,
        "plans/edit_section.html",
        {
            "plan": plan,
            "section": spec,
            "formset": formset,
            "version_form": version_form,
            "conflict": conflict,
            "team": team,
            "teams": Team.choices,
        },
    )


@login_required
def plan_staffing(request: HttpRequest, pk: int) -> HttpResponse:
    """Who fills each position, with stand-ins. One page, one save, one new version."""
    plan = _editable(request, pk)
    people = community_staff(plan.community_id)
    data = request.POST if request.method == "POST" else None
    version_form = VersionForm(data, initial={"version": plan.version})
    positions = list(plan.positions.all())
    formsets = [(p, holders_formset(p, people, data)) for p in positions]
    conflict = None
    if request.method == "POST" and version_form.is_valid() and all(fs.is_valid() for _p, fs in formsets):

        def change() -> None:
            for _p, fs in formsets:
                fs.save()

        conflict = _conflict_or_save(request, plan, version_form, str(_("Staffing")), change)
        if conflict is None:
            messages.success(request, _("Saved as version %(v)d.") % {"v": plan.version})
            return redirect("plans:detail", pk=pk)
    return render(
        request,
        "plans/staffing.html",
        {"plan": plan, "formsets": formsets, "version_form": version_form, "conflict": conflict},
    )


@require_POST
@login_required
def plan_archive(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _editable(request, pk)
    plan_set_archived(actor=_actor(request), plan=plan, archived=not plan.is_archived)
    return redirect("plans:detail", pk=pk)


def _cards_context(
    request: HttpRequest, plan: Plan, positions: list[Position], only: Position | None = None
) -> dict[str, Any]:
    cards = response_cards(plan, positions)
    if only is not None:
        cards = [c for c in cards if c.position.pk == only.pk]
    live = request.build_absolute_uri(reverse("plans:live", args=[plan.pk]))
    for card in cards:
        card.live_url = f"{live}?post={card.position.key}"
        card.qr = qr_svg(card.live_url)
    # Every card lists the same calls and storage points: read them once, not once per card.
    return {
        "plan": plan,
        "cards": cards,
        "contacts": list(plan.contacts.all()),
        "supplies": list(plan.supplies.all()),
        "printed_at": timezone.localtime(),
    }


@login_required
def plan_cards(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    plan = plan_get(actor, pk)
    only = None
    if request.GET.get("post"):
        only = plan.positions.filter(key=request.GET["post"]).first()
        if only is None:
            raise Http404
    context = _cards_context(request, plan, positions_with_holders(plan), only)
    if request.GET.get("format") == "pdf":
        audit_record(actor=actor, action=AuditLog.Action.EXPORT, target=plan, detail="response cards PDF")
        label = _("response cards")
        name = f"{plan.title}-{label}.pdf"
        return pdf_response(request, "plans/cards_print.html", context, name)
    return render(request, "plans/cards.html", context)


@login_required
def plan_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    actor = _actor(request)
    plan = plan_get(actor, pk)
    if fmt not in ("json", "pdf"):
        raise Http404
    audit_record(actor=actor, action=AuditLog.Action.EXPORT, target=plan, detail=f"plan {fmt}")
    if fmt == "json":
        doc = plan_document(plan)
        response = HttpResponse(
            json.dumps(doc, ensure_ascii=False, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="plan-{plan.pk}-v{plan.version}.json"'
        return response
    positions = positions_with_holders(plan)
    context = _cards_context(request, plan, positions) | {
        "positions": positions,
        "procedure": procedure(plan),
    }
    return pdf_response(request, "plans/plan_print.html", context, f"{plan.title}-v{plan.version}.pdf")


@login_required
def plan_live(request: HttpRequest, pk: int) -> HttpResponse:
    """Where a card's QR code points: the live response if there is one, else the plan."""
    plan = plan_get(_actor(request), pk)
    response = active_response_for_plan(plan.pk)
    if response is not None:
        return redirect("response:detail", pk=response.pk)
    messages.info(request, _("This plan is not active right now."))
    return redirect("plans:detail", pk=pk)


@login_required
def plan_activate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    plan = plan_get(actor, pk)
    if not can_activate(actor, plan):
        raise PermissionDenied
    form = ActivateForm(
        request.POST or None, buildings=buildings_for(actor).filter(community=plan.community_id)
    )
    existing = None
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            response = response_activate(
                actor=actor,
                plan=plan,
                level=data["level"],
                reason=data["reason"],
                whole_community=data["scope"] == "community",
                buildings=list(data["buildings"] or []),
                drill=data["drill"],
            )
        except ActivationRefused as exc:
            existing = exc.existing
            error = " ".join(exc.messages)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Activated. Everyone assigned has been notified."))
            return redirect("response:detail", pk=response.pk)
    positions = positions_with_holders(plan)
    return render(
        request,
        "plans/activate.html",
        {
            "plan": plan,
            "form": form,
            "existing": existing,
            "error": error,
            "gaps": staffing_gaps(positions),
            "step_count": plan.steps.exclude(phase=Phase.TERMINATION).count(),
        },
    )
