"""Pages: incidents.

- /i/<building token>/ — a resident reports from the building's QR poster (no login): what, where, photos and
  video, an "urgent" flag; then /i/t/<token>/ follows the report (status, staff's words).
- /i/new/ — staff and volunteers report signed in.
- /comms/incidents/ — the site plan with the incidents on it and the list; /comms/incidents/<id>/ triage.
- /comms/siteplan/ — the community's administrators upload the plan and place the buildings.

Photos and videos are never under MEDIA_URL: they are served here, to staff of the community or to the
reporter's own page, with byte ranges (phones' video players ask for them)."""

from __future__ import annotations

import os
import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.comms.incidents import forms as f
from linli.comms.incidents import reporting, selectors, siteplan, triage
from linli.comms.incidents.reporting import Via, preview_name
from linli.comms.incidents.uploads import MAX_FILES, usable_media
from linli.comms.models import Incident, IncidentMedia, SitePlan
from linli.core import ratelimit
from linli.core.access import acts, administers
from linli.core.http import (
    actor_of,
    chosen_community_code,
    error_text,
    form_errors_from,
    posted_id,
    resident_page,
)
from linli.core.identity import mask_name, mask_phone
from linli.core.models import User
from linli.core.request_context import client_ip
from linli.core.roles import READ_ONLY_ROLES
from linli.core.selectors import audit_for_target, community_staff
from linli.health.selfreport import building_from_token_or_404
from linli.plans.models import LEVEL_CHOICES
from linli.registry.models import Building, Community
from linli.registry.selectors import communities_for, community_chosen, community_get
from linli.tasks.models import Team
from linli.tasks.selectors import tasks_for

# Reports from one address: a few a day is normal; a burst is a script (a shared mobile network's address
# still gets this many every 10 minutes in each app process).
POSTS_PER_WINDOW = int(getattr(settings, "INCIDENT_POSTS_PER_10_MINUTES", 10))
_POSTS = ratelimit.LocalWindow(POSTS_PER_WINDOW, 600)
# Status pages and their photos, per address and minute: plenty for a family refreshing a page.
_VIEWS = ratelimit.LocalWindow(int(getattr(settings, "INCIDENT_VIEWS_PER_MINUTE", 120)), 60)
# Tokens that match nothing: someone guessing; counted in the database, so every server counts them.
TOKEN_MISSES = 20
TOKEN_MISS_WINDOW = 15 * 60


def reset_rate_limits() -> None:
    """Tests start from zero."""
    _POSTS.reset()
    _VIEWS.reset()


def _public(response: HttpResponse) -> HttpResponse:
    return resident_page(response)


def _too_many(
    request: HttpRequest, community: Community | None = None, retry: int = 600, *, links: bool = False
) -> HttpResponse:
    context = {"community": community, "links": links, "minutes": max(1, round(retry / 60))}
    response = render(request, "comms/incidents/too_many.html", context, status=429)
    response["Retry-After"] = str(retry)
    return _public(response)


def _kinds() -> list[dict[str, str]]:
    return [
        {"value": value, "label": str(label), "mark": str(selectors.KIND_MARKS[Incident.Kind(value)])}
        for value, label in Incident.Kind.choices
    ]


def _community(actor: User, code: str) -> Community:
    """The community a page is about: the one a street account chose (404 outside its scope), else the
    actor's own."""
    return community_get(actor, code) if code else community_chosen(actor, None)


# --- reporting ------------------------------------------------------------------------------------------


def _report_page(
    request: HttpRequest,
    form: f.ReportForm,
    *,
    community: Community,
    here: Building | None,
    status: int = 200,
    mine: list[Incident] | None = None,
    file_errors: list[str] | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "community": community,
        "here": here,
        "kinds": _kinds(),
        "max_files": MAX_FILES,
        "file_errors": file_errors or [],
        "mine": mine or [],
        "signed_in": here is None,
        # Staff follow their reports on the staff page; volunteers on the reporter's page.
        "staff_links": here is None and not request.user.is_outside,  # type: ignore[union-attr]
    }
    return render(request, "comms/incidents/report.html", context, status=status)


def _submit(
    request: HttpRequest,
    form: f.ReportForm,
    *,
    community: Community,
    actor: User | None,
    via: str,
    name: str = "",
    phone: str = "",
) -> Incident | list[str]:
    """The report, or the errors to show (field errors are added to the form). Files that are not a photo or
    a video, or too big, are left out and the report goes in without them (an emergency does not wait for a
    second try); the resident is told which ones."""
    location = form.location()
    data = form.cleaned_data
    files, dropped = usable_media(request.FILES.getlist("files"))
    try:
        incident = reporting.incident_report(
            community=community,
            kind=data["kind"],
            description=data.get("description") or "",
            building=form.chosen_building(),
            place=data.get("place") or "",
            latitude=location[0] if location else None,
            longitude=location[1] if location else None,
            accuracy_m=location[2] if location else None,
            files=files,
            reporter_name=name or data.get("reporter_name") or "",
            reporter_phone=phone or data.get("reporter_phone") or "",
            urgent=bool(data.get("urgent")),
            via=via,
            actor=actor,
            ip=client_ip(request),
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            form_errors_from(form, exc)
            return []
        errors = dict(exc.message_dict)
        file_errors = errors.pop("files", [])
        if errors:
            form_errors_from(form, ValidationError(errors))
        return file_errors
    if dropped:
        messages.warning(
            request,
            _("Your report is in, without these files: %(files)s") % {"files": "; ".join(dropped)},
        )
    return incident


def incident_public(request: HttpRequest, token: str) -> HttpResponse:
    """The resident's report page, from the building's QR poster."""
    building = building_from_token_or_404(token)
    community = building.community
    if request.method == "POST" and not _POSTS.hit(str(client_ip(request))):
        return _too_many(request, community)
    buildings = list(Building.objects.filter(community=community).order_by("sort_key", "number"))
    form = f.ReportForm(request.POST or None, buildings=buildings, here=building)
    if request.method == "POST":
        if form.is_valid():
            result = _submit(request, form, community=community, actor=None, via=Via.RESIDENT)
            if isinstance(result, Incident):
                return _public(redirect(reverse("comms:incident_status", args=[result.token]) + "?new=1"))
            return _public(
                _report_page(
                    request, form, community=community, here=building, status=400, file_errors=result
                )
            )
        return _public(_report_page(request, form, community=community, here=building, status=400))
    return _public(_report_page(request, form, community=community, here=building))


def _reporter_community(actor: User, code: str) -> tuple[Community, str, str, str] | None:
    """Who may report signed in, for which community, as what: (community, via, name, phone)."""
    if actor.is_outside:
        from linli.volunteers.models import Volunteer

        volunteer = (
            Volunteer.objects.filter(user=actor, status=Volunteer.Status.ACTIVE)
            .select_related("community")
            .first()
        )
        if volunteer is None:
            return None
        return volunteer.community, Via.VOLUNTEER, volunteer.name, volunteer.phone
    if not acts(actor):
        return None
    return _community(actor, code), Via.STAFF, actor.name, actor.phone


@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    """Staff and volunteers report signed in (a volunteer on patrol, a worker at the scene)."""
    actor = actor_of(request)
    who = _reporter_community(actor, chosen_community_code(request))
    if who is None:
        raise PermissionDenied
    community, via, name, phone = who
    buildings = list(Building.objects.filter(community=community).order_by("sort_key", "number"))
    form = f.ReportForm(request.POST or None, buildings=buildings, here=None)
    mine = selectors.reported_by_me(actor)
    if request.method == "POST":
        if form.is_valid():
            result = _submit(request, form, community=community, actor=actor, via=via, name=name, phone=phone)
            if isinstance(result, Incident):
                if via == Via.STAFF:
                    messages.success(
                        request, _("Reported. The commander and the building's grid worker were told.")
                    )
                    return redirect("comms:incident", pk=result.pk)
                # The volunteer's page says it itself (one message, not two).
                return redirect(reverse("comms:incident_status", args=[result.token]) + "?new=1")
            return _report_page(
                request, form, community=community, here=None, status=400, mine=mine, file_errors=result
            )
        return _report_page(request, form, community=community, here=None, status=400, mine=mine)
    return _report_page(request, form, community=community, here=None, mine=mine)


def _token_incident(request: HttpRequest, token: str) -> Incident | HttpResponse:
    ip = str(client_ip(request))
    if not _VIEWS.hit(ip):
        return _too_many(request, retry=60)
    miss_key = f"incident-token:{ip}"
    if ratelimit.hits(miss_key, window_seconds=TOKEN_MISS_WINDOW) >= TOKEN_MISSES:
        return _too_many(request, retry=TOKEN_MISS_WINDOW, links=True)
    incident = selectors.incident_by_token(token)
    if incident is None:
        ratelimit.hits(miss_key, window_seconds=TOKEN_MISS_WINDOW, add=1)
        raise Http404
    return incident


def incident_status(request: HttpRequest, token: str) -> HttpResponse:
    """The reporter's page: what they sent, where it stands, what staff wrote back."""
    incident = _token_incident(request, token)
    if isinstance(incident, HttpResponse):
        return incident
    context = {
        "incident": incident,
        "media": selectors.incident_media(incident),
        "new": request.GET.get("new") == "1",
        "replies": [line for line in incident.triage_note.splitlines() if line.strip()],
        "mark": selectors.KIND_MARKS[Incident.Kind(incident.kind)],
        "colour": selectors.STATUS_COLOURS[Incident.Status(incident.status)],
    }
    return _public(render(request, "comms/incidents/status.html", context))


def incident_status_media(request: HttpRequest, token: str, pk: int) -> HttpResponseBase:
    incident = _token_incident(request, token)
    if isinstance(incident, HttpResponse):
        return incident
    media = IncidentMedia.objects.filter(pk=pk, incident=incident).first()
    if media is None:
        raise Http404
    return _serve(request, media, preview=request.GET.get("size") == "preview")


# --- serving files --------------------------------------------------------------------------------------

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _serve_file(request: HttpRequest, name: str, content_type: str) -> HttpResponseBase:
    """A stored file, whole or the byte range asked for (Safari plays a video only from ranges)."""
    try:
        size = default_storage.size(name)
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    match = _RANGE.match(request.headers.get("Range", "").strip())
    response: HttpResponseBase
    if match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:
            start, end = max(size - int(match[2]), 0), size - 1
        if start > end or start >= size:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(start)
        length = end - start + 1

        def chunks(remaining: int = length) -> Any:
            try:
                while remaining > 0:
                    block = handle.read(min(65536, remaining))
                    if not block:
                        break
                    remaining -= len(block)
                    yield block
            finally:
                handle.close()

        response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    else:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{os.path.basename(name)}"'
    response["X-Robots-Tag"] = "noindex"
    return response


def _serve(request: HttpRequest, media: IncidentMedia, *, preview: bool = False) -> HttpResponseBase:
    if (
        preview
        and media.kind == IncidentMedia.Kind.PHOTO
        and default_storage.exists(preview_name(media.file.name))
    ):
        return _serve_file(request, preview_name(media.file.name), "image/jpeg")
    return _serve_file(request, media.file.name, media.content_type)


@login_required
def incident_media(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A photo or video, to staff of the incident's community."""
    media = selectors.media_get(actor_of(request), pk)
    return _serve(request, media, preview=request.GET.get("size") == "preview")


@login_required
def siteplan_image(request: HttpRequest, code: str) -> HttpResponseBase:
    actor = actor_of(request)
    community = communities_for(actor).filter(code=code).first()
    plan = siteplan_of_or_404(community)
    response = _serve_file(
        request, plan.image.name, "image/png" if plan.image.name.endswith(".png") else "image/jpeg"
    )
    # The address changes with each upload (?v=…), so the browser may keep it.
    response["Cache-Control"] = "private, max-age=86400"
    return response


def siteplan_of_or_404(community: Community | None) -> SitePlan:
    plan = selectors.siteplan_of(community.pk) if community is not None else None
    if plan is None or not plan.image:
        raise Http404
    return plan


# --- staff: the map and the list --------------------------------------------------------------------


def _decorate(rows: list[Incident]) -> None:
    """Each row's colour (its status) and mark (its kind), for the list and the markers."""
    for i in rows:
        i.colour = selectors.STATUS_COLOURS[Incident.Status(i.status)]  # type: ignore[attr-defined]
        i.mark = str(selectors.KIND_MARKS[Incident.Kind(i.kind)])  # type: ignore[attr-defined]


def _plan_context(community: Community, plan: SitePlan | None) -> dict[str, Any]:
    if plan is None:
        return {"plan": None}
    return {
        "plan": plan,
        "plan_url": reverse("comms:siteplan_image", args=[community.code])
        + f"?v={int(plan.updated_at.timestamp())}",
    }


def _building_pins(buildings: list[Building]) -> list[dict[str, Any]]:
    pins = []
    for b in buildings:
        spot = selectors.placement_of(b)
        pins.append(
            {
                "pk": b.pk,
                "number": b.number,
                "label": str(b),
                "x": round(spot[0] * 100, 3) if spot else None,
                "y": round(spot[1] * 100, 3) if spot else None,
            }
        )
    return pins


@login_required
def incidents(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.is_outside:
        raise PermissionDenied
    community = _community(actor, request.GET.get("community", ""))
    show = request.GET.get("show", "open")
    if show not in selectors.FILTERS:
        show = "open"
    rows = list(selectors.incident_list(community.pk, show)[:200])
    _decorate(rows)
    plan = selectors.siteplan_of(community.pk)
    communities = list(communities_for(actor)) if actor.scope_level == "street" or actor.is_superuser else []
    open_counts = selectors.open_counts([c.pk for c in communities]) if len(communities) > 1 else {}
    counts = selectors.status_counts(community.pk)
    labels = {
        "open": _("open"),
        "new": _("new"),
        "triaged": _("being handled"),
        "closed": _("closed"),
        "rejected": _("not an incident"),
        "all": _("all"),
    }
    context = {
        "community": community,
        "communities": [(c, open_counts.get(c.pk, 0)) for c in communities] if len(communities) > 1 else [],
        "rows": rows,
        "markers": selectors.markers(rows) if plan is not None else [],
        "buildings": _building_pins(selectors.buildings_on_plan(community.pk)) if plan is not None else [],
        "show": show,
        "filters": [(key, labels[key], counts[key]) for key in selectors.FILTERS],
        "colours": selectors.STATUS_COLOURS,
        "kinds": _kinds(),
        "can_report": acts(actor),
        "can_setup": administers(actor, community.pk),
        **_plan_context(community, plan),
    }
    return render(request, "comms/incidents/list.html", context)


# --- staff: one incident --------------------------------------------------------------------------------


def _people(community_id: int) -> list[User]:
    return [u for u in community_staff(community_id) if u.role not in READ_ONLY_ROLES]


def _task_targets(incident: Incident) -> list[tuple[str, str]]:
    targets = []
    if incident.building_id is not None:
        building = incident.building
        assert building is not None
        who = building.worker.name if building.worker_id and building.worker else _("grid leader")
        targets.append(
            (triage.WORKER, _("Grid worker of %(building)s (%(who)s)") % {"building": building, "who": who})
        )
    targets += [(value, str(label)) for value, label in Team.choices if value != Team.COMMAND]
    return targets


def _forms(incident: Incident, data: Any = None, which: str = "") -> dict[str, Any]:
    choices = selectors.plans_for_incident(incident)
    best = choices[0].plan.pk if choices and choices[0].score else None
    plans = [
        (c.plan.pk, c.plan.title + (" · " + _("suggested") if c.plan.pk == best else "")) for c in choices
    ]
    tasks = f.TasksForm(
        data if which == "tasks" else None,
        targets=_task_targets(incident),
        people=_people(incident.community_id),
        initial={
            "due_in": 30 if incident.urgent else 120,
            "targets": [triage.WORKER] if incident.building_id else [],
        },
    )
    activate = f.ActivateForm(
        data if which == "activate" else None,
        plans=plans,
        initial={
            "plan": best,
            "level": 3 if incident.urgent else 4,
            "scope": "building" if incident.building_id else "community",
        },
    )
    return {
        "tasks_form": tasks,
        "activate_form": activate,
        "reply_form": f.NoteForm(data if which == "reply" else None),
        "close_form": f.NoteForm(data if which == "close" else None, initial={"cancel_tasks": True}),
        "reject_form": f.NoteForm(data if which == "reject" else None),
        "plan_count": len(choices),
    }


def _detail(
    request: HttpRequest,
    incident: Incident,
    *,
    which: str = "",
    data: Any = None,
    status: int = 200,
    forms: dict[str, Any] | None = None,
) -> HttpResponse:
    actor = actor_of(request)
    community = incident.community
    plan = selectors.siteplan_of(community.pk)
    can_act = triage.can_act_on(actor, incident)
    context = {
        "incident": incident,
        "community": community,
        "media": selectors.incident_media(incident),
        "tasks": (tasks := selectors.incident_tasks(incident)),
        # Tasks the actor may open (another grid's worker sees them listed, without a link to a 404).
        "visible_tasks": set(
            tasks_for(actor).filter(pk__in=[t.pk for t in tasks]).values_list("pk", flat=True)
        ),
        "history": audit_for_target(actor, "comms.incident", incident.pk, limit=30),
        "replies": [line for line in incident.triage_note.splitlines() if line.strip()],
        "markers": selectors.markers([incident]) if plan is not None else [],
        "buildings": [],
        "mark": selectors.KIND_MARKS[Incident.Kind(incident.kind)],
        "colour": selectors.STATUS_COLOURS[Incident.Status(incident.status)],
        "via": reporting.via_label(incident),
        "reporter_name": incident.reporter_name if can_act else mask_name(incident.reporter_name),
        "masked_phone": mask_phone(incident.reporter_phone),
        "can_act": can_act,
        "can_activate": can_act and actor.is_admin_role,
        "open_section": which,
        "levels": LEVEL_CHOICES,
        **_plan_context(community, plan),
        **(forms or (_forms(incident, data, which) if can_act and incident.is_open else {})),
    }
    return render(request, "comms/incidents/detail.html", context, status=status)


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get(actor_of(request), pk)
    return _detail(request, incident)


ACTIONS = ("tasks", "activate", "reply", "close", "reject", "locate")


@require_POST
@login_required
def incident_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The triage forms. A refusal shows the page again with the form open and its errors."""
    if action not in ACTIONS:
        raise Http404
    actor = actor_of(request)
    incident = selectors.incident_get(actor, pk)
    if not triage.can_act_on(actor, incident):
        raise PermissionDenied
    if action == "locate":
        return _locate(request, actor, incident)
    forms = _forms(incident, request.POST, action)
    form = forms[{"tasks": "tasks_form", "activate": "activate_form"}.get(action, f"{action}_form")]
    if form.is_valid():
        try:
            text = _do(actor, incident, action, form)
        except ValidationError as exc:
            form_errors_from(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, text)
            return redirect("comms:incident", pk=incident.pk)
    return _detail(request, incident, which=action, status=400, forms=forms)


def _do(actor: User, incident: Incident, action: str, form: Any) -> str:
    data = form.cleaned_data
    if action == "tasks":
        tasks = triage.incident_tasks_create(
            actor=actor,
            incident=incident,
            targets=data.get("targets") or [],
            assignee=form.chosen_assignee(),
            due_at=form.deadline(),
            instructions=data.get("instructions") or "",
            reply=data.get("reply") or "",
        )
        return _("%(n)s task(s) created, due %(time)s.") % {
            "n": len(tasks),
            "time": timezone.localtime(tasks[0].due_at).strftime("%m-%d %H:%M"),
        }
    if action == "activate":
        plan = next(
            (c.plan for c in selectors.plans_for_incident(incident) if c.plan.pk == data["plan"]), None
        )
        if plan is None:
            raise ValidationError({"plan": [_("Choose a plan.")]})
        whole = data["scope"] == "community" or incident.building is None
        _response, started = triage.incident_activate_plan(
            actor=actor,
            incident=incident,
            plan=plan,
            level=data["level"],
            reason=data.get("reason") or "",
            whole_community=whole,
            buildings=[] if whole or incident.building is None else [incident.building],
            reply=data.get("reply") or "",
            drill=bool(data.get("drill")),
        )
        if started:
            return _("%(plan)s activated. Everyone on its posts was notified.") % {"plan": plan.title}
        return _("%(plan)s was already running: the incident was added to that response.") % {
            "plan": plan.title
        }
    note = data.get("note") or ""
    if action == "reply":
        triage.incident_reply(actor=actor, incident=incident, note=note)
        return _("Sent: the reporter sees it on their page.")
    if action == "close":
        triage.incident_close(
            actor=actor, incident=incident, note=note, cancel_tasks=bool(data.get("cancel_tasks"))
        )
        return _("Closed. The reporter sees your note.")
    triage.incident_reject(actor=actor, incident=incident, note=note)
    return _("Marked as not an incident. The reporter sees your note.")


def _locate(request: HttpRequest, actor: User, incident: Incident) -> HttpResponse:
    try:
        triage.incident_locate(
            actor=actor, incident=incident, x=request.POST.get("x"), y=request.POST.get("y")
        )
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"error": error_text(exc)}, status=400)
        messages.error(request, error_text(exc))
        return redirect("comms:incident", pk=incident.pk)
    if _wants_json(request):
        return JsonResponse({"x": incident.plan_x, "y": incident.plan_y})
    messages.success(request, _("The incident is on the plan."))
    return redirect("comms:incident", pk=incident.pk)


@require_POST
@login_required
def incident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    incident = selectors.incident_get(actor, pk)
    value = triage.incident_reveal_phone(actor=actor, incident=incident)
    return render(
        request, "comms/incidents/_phone.html", {"incident": incident, "value": value, "revealed": True}
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- the site plan ----------------------------------------------------------------------------------------


def _admin_community(request: HttpRequest) -> tuple[User, Community]:
    actor = actor_of(request)
    if actor.is_outside:
        raise PermissionDenied
    community = _community(actor, chosen_community_code(request))
    if not administers(actor, community.pk):
        raise PermissionDenied
    return actor, community


@login_required
def siteplan_setup(request: HttpRequest) -> HttpResponse:
    """Upload the plan (POST with a file), then place the buildings (siteplan_place)."""
    actor, community = _admin_community(request)
    error = ""
    status = 200
    if request.method == "POST":
        image = request.FILES.get("image")
        if image is None:
            error, status = _("Choose the site plan image (PNG or JPEG)."), 400
        else:
            try:
                siteplan.siteplan_upload(actor=actor, community=community, image=image)
            except ValidationError as exc:
                error, status = error_text(exc), 400
            else:
                messages.success(request, _("Site plan saved. Now place the buildings on it."))
                return redirect(_siteplan_url(community))
    return _siteplan_page(request, community, error=error, status=status)


def _siteplan_url(community: Community) -> str:
    return reverse("comms:siteplan") + f"?community={community.code}"


def _siteplan_page(
    request: HttpRequest,
    community: Community,
    *,
    error: str = "",
    corners: f.CornersForm | None = None,
    status: int = 200,
) -> HttpResponse:
    plan = selectors.siteplan_of(community.pk)
    pins = _building_pins(selectors.buildings_on_plan(community.pk))
    if corners is None:
        corners = f.CornersForm(
            initial={k: getattr(plan, k) for k in ("north", "west", "south", "east")}
            if plan is not None
            else None
        )
    actor = actor_of(request)
    context = {
        "community": community,
        "communities": list(communities_for(actor))
        if actor.scope_level == "street" or actor.is_superuser
        else [],
        "error": error,
        "pins": pins,
        "placed": sum(1 for p in pins if p["x"] is not None),
        "corners": corners,
        "first_unplaced": next((p["pk"] for p in pins if p["x"] is None), pins[0]["pk"] if pins else None),
        **_plan_context(community, plan),
    }
    return render(request, "comms/siteplan/setup.html", context, status=status)


@require_POST
@login_required
def siteplan_place(request: HttpRequest) -> HttpResponse:
    """Place or move a building (the page's script posts the spot as fractions, and gets JSON back); with
    remove=1, take it off the plan."""
    actor, community = _admin_community(request)
    building = Building.objects.filter(
        community=community, pk=posted_id(request.POST.get("building"))
    ).first()
    if building is None:
        error = _("Choose a building from the list.")
        return (
            JsonResponse({"error": error}, status=400)
            if _wants_json(request)
            else _siteplan_page(request, community, error=error, status=400)
        )
    try:
        if request.POST.get("remove"):
            siteplan.building_unplace(actor=actor, building=building)
            result: dict[str, Any] = {"building": building.pk, "x": None, "y": None}
        else:
            placement = siteplan.building_place(
                actor=actor, building=building, x=request.POST.get("x"), y=request.POST.get("y")
            )
            result = {"building": building.pk, "x": placement.x, "y": placement.y}
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"error": error_text(exc)}, status=400)
        return _siteplan_page(request, community, error=error_text(exc), status=400)
    if _wants_json(request):
        return JsonResponse(result)
    return redirect(_siteplan_url(community))


@require_POST
@login_required
def siteplan_corners(request: HttpRequest) -> HttpResponse:
    actor, community = _admin_community(request)
    plan = selectors.siteplan_of(community.pk)
    if plan is None:
        raise Http404
    form = f.CornersForm(request.POST)
    if form.is_valid():
        try:
            siteplan.siteplan_set_corners(actor=actor, plan=plan, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("GPS edges saved: locations from phones are drawn on the plan."))
            return redirect(_siteplan_url(community))
    return _siteplan_page(request, community, corners=form, status=400)


urlpatterns: list[URLPattern | URLResolver] = [
    # Residents' pages (OUTSIDE_PATHS has /i/): the specific paths before the building's token.
    path("i/new/", incident_new, name="incident_new"),
    path("i/t/<str:token>/", incident_status, name="incident_status"),
    path("i/t/<str:token>/media/<int:pk>/", incident_status_media, name="incident_status_media"),
    path("i/<str:token>/", incident_public, name="incident_public"),
    # Staff
    path("comms/incidents/", incidents, name="incidents"),
    path("comms/incidents/<int:pk>/", incident_detail, name="incident"),
    path("comms/incidents/<int:pk>/reveal/", incident_reveal, name="incident_reveal"),
    path("comms/incidents/<int:pk>/do/<slug:action>/", incident_act, name="incident_act"),
    path("comms/incidents/media/<int:pk>/", incident_media, name="incident_media"),
    path("comms/siteplan/", siteplan_setup, name="siteplan"),
    path("comms/siteplan/place/", siteplan_place, name="siteplan_place"),
    path("comms/siteplan/corners/", siteplan_corners, name="siteplan_corners"),
    path("comms/siteplan/<slug:code>/image", siteplan_image, name="siteplan_image"),
]
