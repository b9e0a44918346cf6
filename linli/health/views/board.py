"""Staff pages for the day's self-reports: the health board, who has not reported (by building, with
phones to call), abnormal reports, a report's photo, and the spot-check calls."""

from __future__ import annotations

import datetime as dt
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.access import acts, community_ids_in_scope, require_acting
from linli.core.audit import audit_record
from linli.core.http import actor_of, error_text, posted_id
from linli.core.models import AuditLog
from linli.core.request_context import client_ip
from linli.core.spreadsheet import parse_day
from linli.health import selfreport as sr
from linli.health import spotchecks
from linli.health.forms import household_form
from linli.health.models import Antigen, SpotCheck, Symptom
from linli.registry.selectors import building_get, grids_for, resident_get
from linli.registry.services import resident_reveal
from linli.tasks.models import Task


def _day(request: HttpRequest) -> dt.date:
    """?day=YYYY-MM-DD (never in the future), else today."""
    today = timezone.localdate()
    try:
        day = parse_day(request.GET.get("day", "")) or today
    except ValueError:
        day = today
    return min(day, today) if day.year >= 2000 else today


def _tasks_by_resident(resident_ids: list[int], day: dt.date) -> dict[int, Task]:
    return {
        t.source_id: t
        for t in Task.objects.filter(
            source=Task.Source.HEALTH, stage=f"report-{day:%Y%m%d}", source_id__in=resident_ids
        ).only("id", "status", "source_id", "assignee_id", "due_at", "title")
        if t.source_id is not None
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    day = _day(request)
    summary = sr.day_summary(actor, day)
    abnormal = list(sr.abnormal_reports(actor, day)[:50])
    tasks = _tasks_by_resident([r.resident_id for r in abnormal], day)
    for report in abnormal:
        report.task = tasks.get(report.resident_id)  # type: ignore[attr-defined]
    checks = spotchecks.spot_checks_for(actor, day)
    context = {
        "day": day,
        "today": timezone.localdate(),
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1) if day < timezone.localdate() else None,
        "summary": summary,
        "abnormal": abnormal,
        "checks_total": checks.count(),
        "checks_pending": checks.filter(result=SpotCheck.Result.PENDING).count(),
        "can_act": acts(actor),
    }
    return render(request, "health/board.html", context)


@login_required
def building_followup(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    building = building_get(actor, pk)
    require_acting(actor)
    day = _day(request)
    missing = list(sr.not_reported(actor, building, day))
    reports = (
        sr.reports_in_scope(actor)
        .filter(building_id=building.pk, day=day, current=True)
        .select_related("resident__household__entrance")
        .order_by("-abnormal", "resident__household__room")
    )
    context = {
        "building": building,
        "day": day,
        "missing": missing,
        "reports": reports,
        "can_reveal": actor.can_reveal,
        "can_record": acts(actor) and day == timezone.localdate(),
    }
    return render(request, "health/followup.html", context)


@login_required
@require_POST
def reveal_phone(request: HttpRequest, pk: int) -> HttpResponse:
    """A phone number to call someone who has not reported: shown in full and logged."""
    actor = actor_of(request)
    resident = resident_get(actor, pk)
    field = "contact_phone" if request.POST.get("field") == "contact_phone" else "phone"
    value = resident_reveal(actor=actor, resident=resident, field=field)
    return render(request, "health/_phone.html", {"value": value})


@login_required
def report_photo(request: HttpRequest, pk: int) -> FileResponse:
    """An antigen photo, only to staff who may see the person; never a public media URL."""
    actor = actor_of(request)
    report = sr.report_get(actor, pk)
    require_acting(actor)
    if not report.photo:
        raise Http404
    audit_record(
        actor=actor, action=AuditLog.Action.REVEAL, target=report.resident, detail=_("antigen photo")
    )
    content_type = mimetypes.guess_type(report.photo.name)[0] or "application/octet-stream"
    response = FileResponse(report.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def resident_reports(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's reports of the last two weeks, superseded ones included."""
    actor = actor_of(request)
    resident = resident_get(actor, pk)
    require_acting(actor)
    history = list(sr.resident_history(resident.pk))
    return render(request, "health/resident_reports.html", {"resident": resident, "history": history})


@login_required
def report_for(request: HttpRequest, pk: int) -> HttpResponse:
    """A staff member records someone's report after a call or at the door (people without a smartphone)."""
    actor = actor_of(request)
    resident = resident_get(actor, pk)
    require_acting(actor)
    forms, entries = household_form([resident], request.POST, request.FILES)
    error = ""
    if request.method == "POST":
        if entries and not forms[0].errors:
            try:
                sr.self_reports_submit(
                    household_id=resident.household_id, entries=entries, actor=actor, ip=client_ip(request)
                )
            except ValidationError as exc:
                error = exc.messages[0]
            else:
                messages.success(request, _("Report recorded for %(name)s.") % {"name": resident.name})
                return redirect(reverse("health:building", args=[resident.household.building_id]))
        elif not forms[0].errors:
            forms[0].errors["temperature"] = _("Enter the temperature.")
    context = {
        "resident": resident,
        "f": forms[0],
        "symptoms": Symptom.choices,
        "antigens": Antigen.choices,
        "error": error,
    }
    return render(request, "health/report_for.html", context, status=400 if request.method == "POST" else 200)


# --- spot checks --------------------------------------------------------------------------------------------


def _spot_checks_url(day: dt.date, grid: int | None = None, show: str = "", anchor: str = "") -> str:
    query = f"?day={day.isoformat()}" + (f"&grid={grid}" if grid else "") + (f"&show={show}" if show else "")
    return reverse("health:spot_checks") + query + (f"#{anchor}" if anchor else "")


def _show(value: str | None) -> str:
    """Which calls the list shows: "todo" (still to call) or "all"; "" when the link said neither."""
    return value if value in ("todo", "all") else ""


@login_required
def spot_checks(request: HttpRequest) -> HttpResponse:
    """The day's calls. A worker sees what is still to call (the rest one tap away); a community-wide seat
    picks a grid. Observers see the results with names masked, as on the board."""
    actor = actor_of(request)
    day = _day(request)
    checks_qs = spotchecks.spot_checks_for(actor, day)
    grids = list(grids_for(actor).filter(pk__in=checks_qs.values("grid_id")).order_by("community_id", "name"))
    grid = posted_id(request.GET.get("grid"))
    if grid not in {g.pk for g in grids}:
        grid = 0
    if grid:
        checks_qs = checks_qs.filter(grid_id=grid)
    checks = list(checks_qs)
    pending = sum(c.result == SpotCheck.Result.PENDING for c in checks)
    show = _show(request.GET.get("show")) or ("todo" if pending else "all")
    communities = community_ids_in_scope(actor)
    context = {
        "day": day,
        "checks": [c for c in checks if c.result == SpotCheck.Result.PENDING] if show == "todo" else checks,
        "total": len(checks),
        "pending": pending,
        "show": show,
        "grids": grids if len(grids) > 1 else [],
        "grid": grid,
        "links": {
            "todo": _spot_checks_url(day, grid, "todo"),
            "all": _spot_checks_url(day, grid, "all"),
        },
        "results": [r for r in SpotCheck.Result.choices if r[0] != SpotCheck.Result.PENDING],
        "can_act": acts(actor),
        "can_draw": bool(communities) and len(communities or []) == 1 and actor.grid_id is None,
        "today": timezone.localdate(),
        "draw_time": spotchecks._draw_time(),
    }
    return render(request, "health/spot_checks.html", context)


@login_required
@require_POST
def spot_checks_draw(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    communities = community_ids_in_scope(actor) or []
    if not acts(actor) or actor.grid_id or len(communities) != 1:
        raise PermissionDenied
    count = spotchecks.spot_checks_draw(community_id=communities[0], day=timezone.localdate(), actor=actor)
    if count:
        messages.success(request, _("%(n)s people drawn for a call.") % {"n": count})
    else:
        messages.info(request, _("Nothing new to draw: every grid with reports already has its list."))
    return redirect("health:spot_checks")


@login_required
@require_POST
def spot_check_record(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    check = spotchecks.spot_check_get(actor, pk)
    show = _show(request.POST.get("show"))
    grid = posted_id(request.POST.get("grid"))
    try:
        spotchecks.spot_check_record(
            actor=actor, check=check, result=request.POST.get("result", ""), note=request.POST.get("note", "")
        )
    except PermissionDenied as exc:
        messages.error(request, error_text(exc))
        return redirect(_spot_checks_url(check.day, grid, show))
    except ValidationError as exc:
        # Back to the same row, saying whose call it was (the list can be a hundred rows long).
        messages.error(request, f"{check.resident.name}: {error_text(exc)}")
        return redirect(_spot_checks_url(check.day, grid, show, anchor=f"c{check.pk}"))
    messages.success(
        request,
        _("Saved: %(name)s — %(result)s")
        % {"name": check.resident.name, "result": check.get_result_display()},
    )
    # On the list of calls still to make the row is gone and the next one has moved up: no anchor there.
    return redirect(_spot_checks_url(check.day, grid, show, anchor="" if show == "todo" else f"c{check.pk}"))


urlpatterns: list[URLPattern] = [
    path("health/", board, name="board"),
    path("health/buildings/<int:pk>/", building_followup, name="building"),
    path("health/residents/<int:pk>/phone/", reveal_phone, name="reveal_phone"),
    path("health/residents/<int:pk>/reports/", resident_reports, name="resident_reports"),
    path("health/residents/<int:pk>/report/", report_for, name="report_for"),
    path("health/reports/<int:pk>/photo/", report_photo, name="report_photo"),
    path("health/spot-checks/", spot_checks, name="spot_checks"),
    path("health/spot-checks/draw/", spot_checks_draw, name="spot_checks_draw"),
    path("health/spot-checks/<int:pk>/", spot_check_record, name="spot_check_record"),
]
