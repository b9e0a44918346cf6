"""The site volunteer's check-in page, phone first (seed 000: "一组志愿者帮助确认预约码").

A volunteer picks their sampling site once (or door-to-door), scans a tube's barcode to open it, then scans
each person's code (the page's camera, a scanner gun typing into the box, or a search by name or room); each
scan answers with a verdict readable at arm's length. Where the volunteer stands and the tube in hand live in
the session, so a phone that reloads the page carries on with the same tube.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.http import actor_of, error_text
from linli.core.models import User
from linli.core.roles import Role
from linli.screening import codes, selectors, services
from linli.screening.models import Campaign, Participant, Site, Tube

SESSION_KEY = "screening_checkin"
DOOR = 0  # the session's site id for door-to-door sampling (no site)
POOL_SIZES = (1, 10, 20)
RECENT_ROWS = 10
SEARCH_ROWS = 20


# --- access -----------------------------------------------------------------------------------------


def _campaigns_now(actor: User) -> list[Campaign]:
    """Today's and tomorrow's campaigns the actor works on (tomorrow's page says when check-in opens)."""
    today = timezone.localdate()
    days = [today, today + dt.timedelta(days=1)]
    qs = (
        selectors.checkin_campaigns_for(actor)
        .filter(day__in=days)
        .exclude(status__in=[Campaign.Status.DRAFT, Campaign.Status.CLOSED])
    )
    return list(qs.order_by("day", "starts_at", "id"))


# --- where the volunteer stands ---------------------------------------------------------------------


@dataclass
class Desk:
    """The volunteer's place for one campaign: their site (None: door-to-door), once chosen, and the tube in
    hand. Kept in the session per campaign."""

    chosen: bool
    site: Site | None
    tube: Tube | None
    pool: int


def _state(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    return dict(request.session.get(SESSION_KEY, {}).get(str(campaign.pk), {}))


def _save_state(request: HttpRequest, campaign: Campaign, state: dict[str, Any]) -> None:
    everything = dict(request.session.get(SESSION_KEY, {}))
    everything[str(campaign.pk)] = state
    request.session[SESSION_KEY] = everything


def _desk(request: HttpRequest, campaign: Campaign) -> Desk:
    """One query: the tube with its site, or the site alone when no tube is in hand."""
    state = _state(request, campaign)
    pool: int = state["pool"] if state.get("pool") in POOL_SIZES else campaign.pool_size
    site_id = state.get("site")
    if not isinstance(site_id, int):
        return Desk(False, None, None, pool)
    tube = None
    if isinstance(state.get("tube"), int):
        tube = Tube.objects.filter(campaign=campaign, pk=state["tube"]).select_related("site").first()
        if tube is not None and (tube.site_id or DOOR) != site_id:
            tube = None
    if tube is not None:
        return Desk(True, tube.site, tube, pool)
    if site_id == DOOR:
        return Desk(True, None, None, pool)
    site = Site.objects.filter(campaign=campaign, pk=site_id).first()
    if site is None:  # deleted since: choose again
        return Desk(False, None, None, pool)
    return Desk(True, site, None, pool)


# --- what a scan says -------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The big coloured answer to a scan. `kind` is ok (checked in), no (refused), tube (a tube opened),
    info (taken back, sealed)."""

    kind: str
    word: str
    reason: str = ""
    undo: int | None = None  # the participant a wrong check-in can be taken back for

    @property
    def ok(self) -> bool:
        return self.kind != "no"


def _tube_text(tube: Tube) -> str:
    return _("tube %(code)s %(n)d/%(size)d") % {"code": tube.code, "n": tube.members, "size": tube.pool_size}


def _refused(exc: ValidationError | PermissionDenied, who: str = "") -> Verdict:
    word = "✗ " + who if who else _("✗ Not checked in")
    return Verdict("no", word, error_text(exc))


# --- reads for the page -----------------------------------------------------------------------------


def _search(actor: User, campaign: Campaign, desk: Desk, q: str) -> list[Participant] | None:
    """A search from the check-in page. Volunteers, who are not staff, find only the people called to the
    place they stand (their site, or door-to-door); staff find anyone on the campaign's list."""
    if not q.strip():
        return None
    if actor.role == Role.VOLUNTEER and not actor.is_superuser:
        return selectors.participants_search(campaign, q, SEARCH_ROWS, at=desk.site, at_only=True)
    return selectors.participants_search(campaign, q, SEARCH_ROWS)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _context(
    request: HttpRequest,
    campaign: Campaign,
    desk: Desk,
    *,
    verdict: Verdict | None = None,
    pending: Participant | None = None,
    q: str = "",
) -> dict[str, Any]:
    actor = actor_of(request)
    return {
        "campaign": campaign,
        "desk": desk,
        "verdict": verdict,
        "pending": pending,
        "recent": selectors.recent_checkins(actor, campaign, desk.site, RECENT_ROWS) if desk.chosen else [],
        "q": q,
        "results": _search(actor, campaign, desk, q),
        "pool_sizes": POOL_SIZES,
    }


def _answer(
    request: HttpRequest,
    campaign: Campaign,
    desk: Desk,
    verdict: Verdict,
    q: str = "",
    pending: Participant | None = None,
) -> HttpResponse:
    """After a scan, a tube or an undo: the live part and the list of recent check-ins for htmx; the whole
    page for a browser without JavaScript."""
    context = _context(request, campaign, desk, verdict=verdict, q=q, pending=pending)
    if _is_htmx(request):
        return _fragment(request, "screening/_checkin_answer.html", context)
    return render(request, "screening/checkin.html", _page_context(request, campaign, context))


def _fragment(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A part of the page for htmx, without the page's context processors (menu, notification count): every
    scan is answered in a handful of queries. Its forms post through htmx, which sends the CSRF header."""
    context["csrf_token"] = get_token(request)
    return HttpResponse(render_to_string(template, context))


def _page_context(request: HttpRequest, campaign: Campaign, context: dict[str, Any]) -> dict[str, Any]:
    choose = not campaign.is_closed and (not context["desk"].chosen or request.GET.get("change") == "site")
    context["choose_site"] = choose
    context["not_open"] = "" if campaign.checkin_open else services.checkin_closed_text(campaign)
    context["sites"] = list(campaign.sites.all()) if choose else []
    context["several"] = len(_campaigns_now(actor_of(request))) > 1
    return context


# --- pages ------------------------------------------------------------------------------------------


@login_required
def checkin_home(request: HttpRequest) -> HttpResponse:
    campaigns = _campaigns_now(actor_of(request))
    if len(campaigns) == 1:
        return redirect("screening:checkin", campaigns[0].pk)
    return render(request, "screening/checkin_home.html", {"campaigns": campaigns})


@login_required
def checkin(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    desk = _desk(request, campaign)
    code = request.GET.get("code", "").strip()[:200]
    verdict = None
    pending = None
    if code and desk.chosen and campaign.checkin_open and services.can_check_in(actor, campaign):
        try:
            pending = services.participant_by_code(campaign, code)
        except ValidationError as exc:
            verdict = _refused(exc)
        else:
            if pending.is_checked_in:
                verdict = Verdict("no", "✗ " + pending.resident.name, services.already_text(pending))
                pending = None
    context = _context(request, campaign, desk, verdict=verdict, pending=pending)
    context["code"] = code
    return render(request, "screening/checkin.html", _page_context(request, campaign, context))


@login_required
@require_POST
def checkin_site(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the site (or door-to-door) this phone checks people in at; a new site means a new tube."""
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    chosen = request.POST.get("site", "")
    if chosen == "door":
        site_id = DOOR
    elif chosen.isdigit() and campaign.sites.filter(pk=int(chosen)).exists():
        site_id = int(chosen)
    else:
        raise Http404
    state = _state(request, campaign)
    if state.get("site") != site_id:
        state["tube"] = None
    state["site"] = site_id
    _save_state(request, campaign, state)
    url = reverse("screening:checkin", args=[campaign.pk])
    code = request.POST.get("code", "").strip()[:200]
    return redirect(url + ("?" + urlencode({"code": code}) if code else ""))


def _open_tube(
    request: HttpRequest, campaign: Campaign, desk: Desk, code: str, pool: int
) -> tuple[Desk, Verdict]:
    actor = actor_of(request)
    try:
        tube = services.tube_open(actor=actor, campaign=campaign, site=desk.site, code=code, pool_size=pool)
    except (ValidationError, PermissionDenied) as exc:
        return desk, Verdict("no", _("✗ Tube not opened"), error_text(exc))
    state = _state(request, campaign)
    state.update(tube=tube.pk, pool=tube.pool_size)
    _save_state(request, campaign, state)
    desk = Desk(True, desk.site, tube, tube.pool_size)
    if tube.is_full:
        return desk, Verdict("no", _("✗ Tube %(code)s is full") % {"code": tube.code}, _("Take a new tube."))
    if tube.members:
        return desk, Verdict(
            "tube", _("Tube %(code)s again") % {"code": tube.code}, _("Carrying on with this tube.")
        )
    return desk, Verdict("tube", _("New tube %(code)s") % {"code": tube.code}, _("Now scan people's codes."))


@login_required
@require_POST
def checkin_tube(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a tube by its typed or scanned code, with its pool size (1, 10 or 20 people)."""
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    desk = _desk(request, campaign)
    if not desk.chosen:
        return redirect("screening:checkin", campaign.pk)
    desk, verdict = _open_tube(
        request, campaign, desk, request.POST.get("code", ""), _posted_pool(request, desk)
    )
    return _answer(request, campaign, desk, verdict, pending=_pending(request, campaign, desk))


def _posted_pool(request: HttpRequest, desk: Desk) -> int:
    pool = request.POST.get("pool", "")
    return int(pool) if pool.isdigit() and int(pool) in POOL_SIZES else desk.pool


def _pending(request: HttpRequest, campaign: Campaign, desk: Desk) -> Participant | None:
    """The person a scanned QR opened the page for, still waiting for a tube to be checked into."""
    chosen = request.POST.get("pending", "")
    if not chosen.isdigit() or desk.tube is None or not desk.tube.is_open:
        return None
    return (
        Participant.objects.filter(campaign=campaign, pk=int(chosen), checked_in_at__isnull=True)
        .select_related(*selectors.PARTICIPANT_RELATED)
        .first()
    )


@login_required
@require_POST
def checkin_tube_seal(request: HttpRequest, pk: int) -> HttpResponse:
    """Finish the tube in hand before it is full (the end of a shift, the last people of the day)."""
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    desk = _desk(request, campaign)
    if desk.tube is None:
        return _answer(request, campaign, desk, Verdict("no", _("✗ No tube"), _("There is no tube in hand.")))
    try:
        tube = services.tube_seal(actor=actor, tube=desk.tube)
    except (ValidationError, PermissionDenied) as exc:
        return _answer(request, campaign, desk, Verdict("no", _("✗ Not sealed"), error_text(exc)))
    state = _state(request, campaign)
    state["tube"] = None
    _save_state(request, campaign, state)
    verdict = Verdict(
        "info",
        _("Tube %(code)s sealed") % {"code": tube.code},
        _("%(n)d people in it. Scan the next tube's barcode.") % {"n": tube.members},
    )
    return _answer(request, campaign, Desk(True, desk.site, None, desk.pool), verdict)


@login_required
@require_POST
def checkin_scan(request: HttpRequest, pk: int) -> HttpResponse:
    """A scanned or typed code, or a person tapped in the search: check them into the tube in hand. A code
    that is not a person's is taken as the next tube's barcode."""
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    desk = _desk(request, campaign)
    q = request.POST.get("q", "")
    if not services.can_check_in(actor, campaign):
        # A phone left open past the close: say so, and read nothing about the person scanned.
        verdict = Verdict("no", _("✗ Not checked in"), services.checkin_closed_text(campaign))
        return _answer(request, campaign, desk, verdict)
    if not desk.chosen:
        verdict = Verdict("no", _("✗ Not checked in"), _("Choose your sampling site first."))
        return _answer(request, campaign, desk, verdict)
    code = request.POST.get("code", "").strip()[:200]
    chosen = request.POST.get("participant", "")
    if code and not codes.looks_like_person_code(code):  # a tube's barcode: one camera serves both
        desk, verdict = _open_tube(request, campaign, desk, code, _posted_pool(request, desk))
        return _answer(request, campaign, desk, verdict, q, pending=_pending(request, campaign, desk))
    participant: Participant | None
    if code:
        try:
            participant = services.participant_by_code(campaign, code)
        except ValidationError as exc:
            return _answer(request, campaign, desk, _refused(exc), q)
    elif chosen.isdigit():
        participant = (
            Participant.objects.filter(campaign=campaign, pk=int(chosen))
            .select_related(*selectors.PARTICIPANT_RELATED)
            .first()
        )
        if participant is None:
            raise Http404
    else:
        verdict = Verdict("no", _("✗ Not checked in"), _("Scan a code or search for the person."))
        return _answer(request, campaign, desk, verdict, q)
    # The service refreshes the participant and the tube, which drops their loaded relations; keep them.
    resident, household = participant.resident, participant.household
    if participant.is_checked_in:
        return _answer(
            request,
            campaign,
            desk,
            Verdict("no", "✗ " + resident.name, services.already_text(participant)),
            q,
        )
    if desk.tube is None:
        verdict = Verdict(
            "no",
            "✗ " + resident.name,
            _("No tube in hand: scan the tube's barcode, then check this person in."),
        )
        # The person stays on screen: once the next tube is scanned, one tap checks them in.
        return _answer(request, campaign, desk, verdict, q, pending=participant)
    site, tube = desk.site, desk.tube
    try:
        services.checkin(actor=actor, campaign=campaign, participant=participant, tube=tube, site=site)
    except (ValidationError, PermissionDenied) as exc:
        # A full or sealed tube (the service has re-read it): keep the person waiting for the next tube.
        pending = participant if not tube.is_open else None
        return _answer(request, campaign, desk, _refused(exc, resident.name), q, pending=pending)
    reason = f"{household} · {_tube_text(tube)}"
    if participant.lane and participant.lane != "normal":
        reason += f" · {participant.get_lane_display()}"
    called = participant.slot
    if called is not None and site is not None and called.site_id != site.pk:
        # Let them be sampled where they are, but say so: their site's queue is expecting them.
        reason += " · " + _("⚠ was called to %(site)s at %(time)s") % {
            "site": called.site.name,
            "time": called,
        }
    verdict = Verdict("ok", "✓ " + resident.name, reason, undo=participant.pk)
    return _answer(request, campaign, Desk(True, site, tube, desk.pool), verdict, q)


@login_required
@require_POST
def checkin_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back a wrong check-in (the neighbour's code scanned) made by this actor."""
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    chosen = request.POST.get("participant", "")
    participant = (
        Participant.objects.filter(campaign=campaign, pk=int(chosen), checked_in_by=actor)
        .select_related("resident")
        .first()
        if chosen.isdigit()
        else None
    )
    if participant is None:
        raise Http404
    try:
        services.checkin_undo(actor=actor, campaign=campaign, participant=participant)
    except (ValidationError, PermissionDenied) as exc:
        verdict = Verdict("no", _("✗ Not taken back"), error_text(exc))
    else:
        verdict = Verdict(
            "info",
            _("Taken back: %(name)s") % {"name": participant.resident.name},
            _("Not checked in any more; the tube has one person less."),
        )
    return _answer(request, campaign, _desk(request, campaign), verdict, request.POST.get("q", ""))


@login_required
def checkin_search(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = selectors.checkin_campaign_get(actor, pk)
    if not services.can_check_in(actor, campaign):
        raise Http404
    q = request.GET.get("q", "")
    results = _search(actor, campaign, _desk(request, campaign), q)
    return _fragment(
        request, "screening/_checkin_search.html", {"campaign": campaign, "q": q, "results": results}
    )


def checkin_code(request: HttpRequest, code: str) -> HttpResponse:
    """What a phone's own camera opens from a person's printed QR: for a volunteer or worker, the check-in
    page showing that person; for a resident scanning their own code (not signed in), their household's
    page with their time and site."""
    parsed = codes.person_code_parse(code)
    if parsed is None:
        raise Http404
    if not request.user.is_authenticated:
        household_id = (
            Participant.objects.filter(campaign_id=parsed[0], resident_id=parsed[1])
            .values_list("household_id", flat=True)
            .first()
        )
        if household_id is None:
            raise Http404
        return redirect("screening:household", codes.household_token(parsed[0], household_id))
    campaign = selectors.checkin_campaign_get(actor_of(request), parsed[0])
    return redirect(reverse("screening:checkin", args=[campaign.pk]) + "?" + urlencode({"code": code}))


urlpatterns: list[URLPattern] = [
    path("checkin/", checkin_home, name="checkin_home"),
    path("checkin/c/<str:code>/", checkin_code, name="checkin_code"),
    path("checkin/<int:pk>/", checkin, name="checkin"),
    path("checkin/<int:pk>/site/", checkin_site, name="checkin_site"),
    path("checkin/<int:pk>/tube/", checkin_tube, name="checkin_tube"),
    path("checkin/<int:pk>/tube/seal/", checkin_tube_seal, name="checkin_tube_seal"),
    path("checkin/<int:pk>/scan/", checkin_scan, name="checkin_scan"),
    path("checkin/<int:pk>/undo/", checkin_undo, name="checkin_undo"),
    path("checkin/<int:pk>/search/", checkin_search, name="checkin_search"),
]
