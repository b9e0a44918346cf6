"""Registry pages. Views only parse input, call selectors/services and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Q
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.excel import XLSX_CONTENT_TYPE
from linli.core.imports import (
    ImportRefused,
    error_report,
    import_cancel,
    import_claim_commit,
    import_create,
    import_kinds,
    import_page,
    previous_import_of_same_file,
)
from linli.core.jobs import import_commit_job, import_preview_job
from linli.core.models import ImportJob, User
from linli.core.roles import ScopeLevel
from linli.core.selectors import audit_for_target
from linli.registry.forms import SPECIAL_FILTER_CHOICES, BuildingForm, ImportForm, ResidentForm
from linli.registry.io import RESIDENT_KIND
from linli.registry.models import Building, Residency
from linli.registry.selectors import (
    ResidentFilters,
    building_get,
    buildings_for,
    buildings_with_counts,
    communities_for,
    grids_for,
    household_get,
    household_members,
    resident_get,
    resident_search,
    with_list_relations,
)
from linli.registry.services import (
    REVEALABLE,
    building_save,
    household_get_or_create,
    resident_create,
    resident_reveal,
    resident_reveal_for_edit,
    resident_update,
    residents_export,
)

PAGE_SIZE = 50


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _filters(request: HttpRequest) -> ResidentFilters:
    g = request.GET
    return ResidentFilters(
        q=g.get("q", "").strip()[:60],
        community=_int(g.get("community")),
        grid=_int(g.get("grid")),
        building=_int(g.get("building")),
        special=g.get("special", "") if g.get("special", "") in dict(SPECIAL_FILTER_CHOICES) else "",
        residency=g.get("residency", "") if g.get("residency", "") in Residency.values else "",
    )


@login_required
def residents(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    filters = _filters(request)
    qs = resident_search(actor, filters)
    page = Paginator(with_list_relations(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "special_choices": SPECIAL_FILTER_CHOICES,
        "residency_choices": Residency.choices,
        "grids": grids_for(actor) if actor.scope_level != "grid" else [],
        "buildings": buildings_for(actor).select_related(None).only("id", "number", "community_id"),
        "communities": communities_for(actor) if actor.scope_level == "street" or actor.is_superuser else [],
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "registry/residents.html#results", context)
    return render(request, "registry/residents.html", context)


@login_required
def residents_export_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    filters = _filters(request)
    unmasked = request.GET.get("unmasked") == "1"
    qs = with_list_relations(resident_search(actor, filters))
    described = ", ".join(f"{k}={v}" for k, v in vars(filters).items() if v) or _("no filter")
    content = residents_export(
        actor=actor,
        residents=qs.iterator(chunk_size=2000),
        unmasked=unmasked,
        description=described,
        count=qs.count(),
    )
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="residents-{stamp}.xlsx"'
    return response


@login_required
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    resident = resident_get(actor, pk)
    members = household_members(resident.household)
    history = audit_for_target(actor, "registry.resident", resident.pk)
    return render(
        request, "registry/resident.html", {"resident": resident, "members": members, "history": history}
    )


@login_required
@require_POST
def resident_reveal_view(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    actor = _actor(request)
    resident = resident_get(actor, pk)
    if field not in REVEALABLE:
        raise Http404
    value = resident_reveal(actor=actor, resident=resident, field=field)
    return render(request, "registry/_revealed.html", {"value": value, "field": field, "resident": resident})


def _resident_form_page(request: HttpRequest, resident: Any = None, household: Any = None) -> HttpResponse:
    actor = _actor(request)
    if not actor.can_edit_residents:
        raise PermissionDenied
    buildings = buildings_for(actor).order_by("community", "sort_key")
    initial: dict[str, Any] = {}
    if resident is not None:
        h = resident.household
        initial = {
            **{k: getattr(resident, k) for k in ["name", "id_number", "phone", "relation", "residency"]},
            **{k: getattr(resident, k) for k in ["contact_name", "contact_phone", "notes"]},
            "building": h.building_id,
            "entrance": h.entrance.number,
            "room": h.room,
            "special": [s.kind for s in resident.special.all()],
        }
    elif household is not None:
        initial = {
            "building": household.building_id,
            "entrance": household.entrance.number,
            "room": household.room,
        }
    if resident is not None and request.method == "GET":
        # The form shows the full ID number and phones so they can be corrected: that is a reveal.
        resident_reveal_for_edit(actor=actor, resident=resident)
    form = ResidentForm(request.POST or None, initial=initial, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        target = household_get_or_create(
            building=form.cleaned_data["building"],
            entrance=form.cleaned_data["entrance"],
            room=form.cleaned_data["room"],
        )
        data = form.resident_data()
        try:
            if resident is None:
                resident = resident_create(
                    actor=actor, household=target, data=data, special=form.cleaned_data["special"]
                )
                messages.success(request, _("%(name)s was added.") % {"name": resident.name})
            else:
                resident_update(
                    actor=actor,
                    resident=resident,
                    data=data,
                    household=target,
                    special=form.cleaned_data["special"],
                )
                messages.success(request, _("Changes saved."))
            return redirect("registry:resident", resident.pk)
        except IntegrityError:
            form.add_error(
                "id_number", _("A resident with this ID number is already registered in this community.")
            )
    return render(request, "registry/resident_form.html", {"form": form, "resident": resident})


@login_required
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _resident_form_page(request, resident=resident_get(_actor(request), pk))


@login_required
def resident_new(request: HttpRequest) -> HttpResponse:
    household = None
    if request.GET.get("household"):
        household = household_get(_actor(request), _int(request.GET["household"]) or 0)
    return _resident_form_page(request, household=household)


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = household_get(_actor(request), pk)
    return render(
        request, "registry/household.html", {"household": household, "members": household_members(household)}
    )


@login_required
def buildings(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    rows = buildings_with_counts(actor).order_by("community", "sort_key")
    return render(request, "registry/buildings.html", {"buildings": rows})


@login_required
def building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    building = building_get(actor, pk)
    households = (
        building.households.select_related("entrance")
        .prefetch_related("members__special")
        .order_by("entrance__number", Length("room"), "room")
    )
    return render(request, "registry/building.html", {"building": building, "households": households})


def _building_form_page(request: HttpRequest, building: Building) -> HttpResponse:
    actor = _actor(request)
    if not actor.is_admin_role:
        raise PermissionDenied
    form = BuildingForm(request.POST or None, instance=building, community=building.community)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in form.Meta.fields}
        saved = building_save(actor=actor, building=building, data=data)
        messages.success(request, _("Building saved."))
        return redirect("registry:building", saved.pk)
    return render(request, "registry/building_form.html", {"form": form, "building": building})


@login_required
def building_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _building_form_page(request, building_get(_actor(request), pk))


@login_required
def building_new(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    community = (
        communities_for(actor)
        .filter(pk=_int(request.GET.get("community")) or actor.community_id or 0)
        .first()
    )
    if community is None:
        raise Http404
    return _building_form_page(request, Building(community=community))


def _require_import(actor: User) -> None:
    if not actor.can_import:
        raise PermissionDenied


def _import_get(actor: User, pk: int) -> ImportJob:
    """An import the actor may follow: any kind in their area, or, for an account without an area, the
    imports they uploaded themselves of a kind whose page allows it (enterprise enrolment)."""
    if actor.is_outside:
        job = ImportJob.objects.filter(
            pk=pk, created_by=actor, kind__in=import_kinds(uploader_follows=True)
        ).first()
        if job is None:
            raise Http404
        return job
    _require_import(actor)
    area = Q(community__in=communities_for(actor))
    if actor.is_superuser:
        area = Q()
    elif actor.scope_level == ScopeLevel.STREET and actor.street_id:
        area |= Q(community__isnull=True, created_by__street_id=actor.street_id)
    job = ImportJob.objects.filter(area, pk=pk, kind__in=import_kinds()).first()
    if job is None:
        raise Http404
    return job


@login_required
def imports(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    _require_import(actor)
    communities = communities_for(actor)
    form = ImportForm(request.POST or None, request.FILES or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_create(
                actor=actor,
                kind=RESIDENT_KIND,
                community_id=form.cleaned_data["community"].pk,
                filename=upload.name,
                content=upload.read(),
                options={"create_buildings": form.cleaned_data["create_buildings"]},
            )
        except ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            import_preview_job.enqueue(job.pk)
            return redirect("registry:import", job.pk)
    jobs = ImportJob.objects.filter(kind=RESIDENT_KIND, community__in=communities).defer(
        "content", "errors", "preview"
    )
    return render(
        request,
        "registry/imports.html",
        {"form": form, "jobs": jobs.select_related("created_by", "community")[:30]},
    )


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    job = _import_get(actor, pk)
    page = import_page(job.kind)
    context = {
        "job": job,
        "page": page,
        "preview_rows": [
            {"row": p["row"], "cells": [(key, label, p.get(key, "")) for key, label in page.preview]}
            for p in job.preview or []
        ],
        "errors": job.errors[:200],
        "previous": previous_import_of_same_file(job) if job.status == ImportJob.Status.PREVIEWED else None,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "core/import.html#status", context)
    return render(request, "core/import.html", context)


@login_required
@require_POST
def import_commit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    job = _import_get(actor, pk)
    if import_claim_commit(job=job):
        import_commit_job.enqueue(job.pk, actor.pk)
    else:
        messages.warning(request, _("This import was already confirmed or cancelled."))
    return redirect("registry:import", job.pk)


@login_required
@require_POST
def import_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    job = _import_get(actor, pk)
    import_cancel(job=job)
    messages.info(request, _("The import was cancelled; nothing was written."))
    return redirect(reverse(import_page(job.kind).back_url))


@login_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    job = _import_get(actor, pk)
    response = HttpResponse(error_report(job), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.xlsx"'
    return response
