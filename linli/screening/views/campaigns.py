"""The commander's pages for a campaign: the list, opening one, its sites and schedule, notices, coverage,
results and closing. Every action is a service call; these only validate and render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from linli.core.http import actor_of, chosen_community_code, error_text
from linli.registry.models import Building
from linli.registry.selectors import communities_for, community_chosen
from linli.screening import selectors as sel
from linli.screening import services
from linli.screening.forms import CampaignForm, MoveForm, ResultForm, ResultsUploadForm, SiteForm
from linli.screening.io import results_import
from linli.screening.models import Campaign, Participant, Reason, Site, Tube

MISSING_ROWS = 300


def _buildings(community_id: int) -> list[Building]:
    return list(Building.objects.filter(community_id=community_id).order_by("sort_key", "number"))


@login_required
def campaigns(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    rows = list(sel.with_progress(sel.campaigns_for(actor))[:100])
    runnable = [c for c in communities_for(actor) if services.can_run(actor, c.pk)]
    return render(request, "screening/campaigns.html", {"campaigns": rows, "can_open": bool(runnable)})


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    if not services.can_run(actor, community.pk):
        raise PermissionDenied(
            _("Only the community's commander or the street office runs a testing campaign.")
        )
    buildings = _buildings(community.pk)
    choices = [(str(b.pk), str(b.number)) for b in buildings]
    form = CampaignForm(request.POST or None, building_choices=choices)
    site_form = SiteForm(request.POST or None, prefix="site", initial={"controlled_per_hour": 20})
    if request.method == "POST" and form.is_valid() and site_form.is_valid():
        data = form.cleaned_data
        chosen = [b for b in buildings if str(b.pk) in set(data["buildings"])]
        try:
            campaign = services.campaign_open(
                actor=actor,
                community=community,
                day=data["day"],
                name=data["name"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                slot_minutes=data["slot_minutes"],
                pool_size=data["pool_size"],
                buildings=chosen,
                sites=[services.SiteValues(**site_form.cleaned_data)],
                note=data["note"],
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(
                request,
                _(
                    "Campaign opened: %(people)d people in %(households)d households to test. Check the sites, then schedule."
                )
                % {
                    "people": campaign.counts.get("people", 0),
                    "households": campaign.counts.get("households", 0),
                },
            )
            return redirect(campaign)
    communities = [c for c in communities_for(actor) if services.can_run(actor, c.pk)]
    return render(
        request,
        "screening/campaign_new.html",
        {"form": form, "site_form": site_form, "community": community, "communities": communities},
        status=400 if request.method == "POST" else 200,
    )


def _steps(campaign: Campaign, coverage: sel.Coverage | None) -> list[dict[str, Any]]:
    """The campaign's path, in seed 000's order, with where it stands."""
    status = campaign.status
    order = [
        Campaign.Status.DRAFT,
        Campaign.Status.SCHEDULED,
        Campaign.Status.NOTIFIED,
        Campaign.Status.CLOSED,
    ]
    at = order.index(Campaign.Status(status))
    return [
        {"label": _("Count and sites"), "done": True},
        {"label": _("Schedule"), "done": at >= 1},
        {"label": _("Notices"), "done": at >= 2},
        {"label": _("Check-in"), "done": bool(coverage and coverage.tested)},
        {"label": _("Close and follow up"), "done": at >= 3},
    ]


@login_required
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    sites = list(campaign.sites.all())
    scheduled = campaign.status != Campaign.Status.DRAFT
    rows = sel.schedule_grid(campaign, sites) if scheduled else []
    coverage = sel.coverage(campaign) if scheduled else None
    can_run = services.can_run(actor, campaign.community_id)
    area = list(campaign.buildings.order_by("sort_key", "number").values_list("number", flat=True))
    times = (
        [timezone.localtime(start).strftime("%H:%M") for start, _end in campaign.windows()]
        if scheduled
        else []
    )
    door = (
        Participant.objects.filter(campaign=campaign, door=True)
        .values("reason")
        .annotate(n=Count("id"), done=Count("id", filter=Q(checked_in_at__isnull=False)))
        if scheduled
        else []
    )
    context = {
        "campaign": campaign,
        "sites": sites,
        "site_forms": [(s, SiteForm(prefix=f"s{s.pk}", initial=_site_initial(s))) for s in sites],
        "new_site_form": SiteForm(prefix="new"),
        "rows": rows,
        "coverage": coverage,
        "steps": _steps(campaign, coverage),
        "can_run": can_run and not campaign.is_closed,
        "can_check_in": services.can_check_in(actor, campaign),
        "area": area,
        "buildings": (
            list(campaign.buildings.order_by("sort_key", "number")) or _buildings(campaign.community_id)
        )
        if scheduled
        else [],
        "times": times,
        "door": [{"reason": Reason(d["reason"]).label, "n": d["n"], "done": d["done"]} for d in door],
        "counts": campaign.counts,
        "changed": Participant.objects.filter(campaign=campaign, slot_changed_at__isnull=False).count()
        if scheduled
        else 0,
    }
    return render(request, "screening/campaign.html", context)


def _site_initial(site: Site) -> dict[str, Any]:
    return {
        "name": site.name,
        "place": site.place,
        "normal_per_hour": site.normal_per_hour,
        "priority_per_hour": site.priority_per_hour,
        "controlled_per_hour": site.controlled_per_hour,
    }


def _act(
    request: HttpRequest,
    campaign: Campaign,
    done: str | Callable[[Any], str],
    action: Callable[[], Any],
) -> HttpResponse:
    """Run a service for a POST and go back to the top of the campaign page, where its message (what was
    done, or why not) is the first thing a tired worker sees."""
    try:
        result = action()
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done(result) if callable(done) else done)
    return redirect(campaign)


@login_required
@require_POST
def site_save(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    site_id = request.POST.get("site")
    site = get_object_or_404(Site, pk=site_id, campaign=campaign) if site_id else None
    form = SiteForm(request.POST, prefix=f"s{site.pk}" if site else "new")
    if not form.is_valid():
        messages.error(request, _("Check the site's numbers: each lane takes 0 to 2,000 people per hour."))
        return redirect(campaign)
    values = services.SiteValues(**form.cleaned_data)
    return _act(
        request,
        campaign,
        _("Site saved. Schedule again to use the new capacity.")
        if campaign.status != Campaign.Status.DRAFT
        else _("Site saved."),
        lambda: services.site_save(actor=actor, campaign=campaign, site=site, values=values),
    )


@login_required
@require_POST
def site_delete(request: HttpRequest, pk: int, site_id: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    site = get_object_or_404(Site, pk=site_id, campaign=campaign)
    return _act(
        request,
        campaign,
        _("Site removed."),
        lambda: services.site_delete(actor=actor, campaign=campaign, site=site),
    )


@login_required
@require_POST
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)

    def done(s: services.ScheduleSummary) -> str:
        text = _(
            "Scheduled: %(sites)d people called to %(slots)d slots (fullest %(load)d of %(cap)d), %(door)d sampled at home."
        ) % {
            "sites": s.at_sites,
            "slots": s.slots_used,
            "load": s.max_load,
            "cap": s.max_capacity,
            "door": s.door,
        }
        if s.renotified:
            text += " " + ngettext(
                "%(n)d person's time changed after the notice: their grid workers have a task to tell them.",
                "%(n)d people's times changed after the notice: their grid workers have tasks to tell them.",
                s.renotified,
            ) % {"n": s.renotified}
        return text

    return _act(
        request,
        campaign,
        done,
        lambda: services.campaign_schedule(actor=actor, campaign=campaign),
    )


@login_required
@require_POST
def notify(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    return _act(
        request,
        campaign,
        lambda n: (
            ngettext(
                "Notices sent for %(n)d household: grid workers are asked to post them; door-to-door sampling is with the medical team.",
                "Notices sent for %(n)d households: grid workers are asked to post them; door-to-door sampling is with the medical team.",
                n,
            )
            % {"n": n}
        ),
        lambda: services.campaign_notify(actor=actor, campaign=campaign),
    )


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a building, a site and a time."))
        return redirect(campaign)
    building = get_object_or_404(
        Building, pk=form.cleaned_data["building"], community_id=campaign.community_id
    )
    site = get_object_or_404(Site, pk=form.cleaned_data["site"], campaign=campaign)
    start = campaign.at(form.cleaned_data["start"])
    return _act(
        request,
        campaign,
        lambda n: (
            ngettext("%(n)d person of building %(b)s moved.", "%(n)d people of building %(b)s moved.", n)
            % {"n": n, "b": building.number}
        ),
        lambda: services.building_move(
            actor=actor, campaign=campaign, building=building, site=site, start=start
        ),
    )


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    return _act(
        request,
        campaign,
        lambda n: (
            ngettext(
                "Campaign closed. The grid workers have %(n)d follow-up task (one per building with people not tested).",
                "Campaign closed. The grid workers have %(n)d follow-up tasks (one per building with people not tested).",
                n,
            )
            % {"n": n}
        ),
        lambda: services.campaign_close(actor=actor, campaign=campaign),
    )


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    try:
        services.campaign_delete(actor=actor, campaign=campaign)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
        return redirect(campaign)
    messages.success(request, _("Campaign %(name)s deleted.") % {"name": campaign.name})
    return redirect("screening:campaigns")


@login_required
def coverage(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    building = sel.campaign_building(actor, campaign, request.GET.get("building", ""), names=True)
    # Who is missing, by name and reason, is for staff who work with residents; observers see the counts.
    names = building is not None and not actor.is_read_only
    missing: list[Participant] = []
    if names and building is not None:
        missing = list(
            sel.missing_people(campaign, building.pk).order_by(
                "household__entrance__number", Length("household__room"), "household__room", "id"
            )[:MISSING_ROWS]
        )
    context = {
        "campaign": campaign,
        "coverage": sel.coverage(campaign),
        "building": building,
        "missing": missing,
        "names": names,
    }
    template = "screening/coverage.html#live" if request.htmx else "screening/coverage.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
def results(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, pk)
    can_record = services.can_run(actor, campaign.community_id)
    upload_form = ResultsUploadForm()
    report = None
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied(_("Only the community's commander or the street office records results."))
        if "file" in request.FILES:
            upload_form = ResultsUploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                upload = upload_form.cleaned_data["file"]
                try:
                    report = results_import(
                        actor=actor,
                        campaign=campaign,
                        content=upload.read(),
                        filename=upload.name or "results",
                    )
                except ValidationError as exc:
                    upload_form.add_error("file", error_text(exc))
                else:
                    if report.ok:
                        messages.success(
                            request,
                            _(
                                "Results recorded: %(neg)d negative and %(pos)d pooled positive tubes (%(fixed)d corrected from negative), %(already)d already recorded."
                            )
                            % {
                                "neg": report.negative,
                                "pos": report.positive,
                                "fixed": report.corrected,
                                "already": report.already,
                            },
                        )
                        return redirect("screening:results", pk=campaign.pk)
        else:
            form = ResultForm(request.POST)
            if form.is_valid():
                tube = get_object_or_404(Tube, pk=form.cleaned_data["tube"], campaign=campaign)
                try:
                    outcome = services.tube_result(
                        actor=actor,
                        tube=tube,
                        result=form.cleaned_data["result"],
                        correct=request.POST.get("correct") == "1",
                    )
                except ValidationError as exc:
                    messages.error(request, error_text(exc))
                else:
                    if outcome.tube.result == Tube.Result.POSITIVE:
                        messages.warning(
                            request,
                            _(
                                "Tube %(code)s pooled positive: %(n)d people put under control and their workers told."
                            )
                            % {"code": tube.code, "n": outcome.cases},
                        )
                    else:
                        messages.success(request, _("Tube %(code)s negative.") % {"code": tube.code})
            return redirect(reverse("screening:results", args=[campaign.pk]) + "?" + request.GET.urlencode())
    show = request.GET.get("show", "pending")
    tubes = Tube.objects.filter(campaign=campaign).select_related("site").order_by("opened_at", "id")
    if show == "pending":
        tubes = tubes.filter(result="")
    elif show == "positive":
        tubes = tubes.filter(result=Tube.Result.POSITIVE)
    counts = Tube.objects.filter(campaign=campaign).aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(result="")),
        negative=Count("id", filter=Q(result=Tube.Result.NEGATIVE)),
        positive=Count("id", filter=Q(result=Tube.Result.POSITIVE)),
    )
    return render(
        request,
        "screening/results.html",
        {
            "campaign": campaign,
            "tubes": list(tubes[:500]),
            "counts": counts,
            "show": show,
            "can_record": can_record,
            "upload_form": upload_form,
            "report": report,
        },
        status=400 if report is not None and not report.ok else 200,
    )


urlpatterns: list[URLPattern] = [
    path("screening/", campaigns, name="campaigns"),
    path("screening/new/", campaign_new, name="campaign_new"),
    path("screening/<int:pk>/", campaign, name="campaign"),
    path("screening/<int:pk>/sites/", site_save, name="site_save"),
    path("screening/<int:pk>/sites/<int:site_id>/delete/", site_delete, name="site_delete"),
    path("screening/<int:pk>/schedule/", schedule, name="schedule"),
    path("screening/<int:pk>/notify/", notify, name="notify"),
    path("screening/<int:pk>/move/", move, name="move"),
    path("screening/<int:pk>/close/", close, name="close"),
    path("screening/<int:pk>/delete/", delete, name="delete"),
    path("screening/<int:pk>/coverage/", coverage, name="coverage"),
    path("screening/<int:pk>/results/", results, name="results"),
]
