"""Volunteer pages. Coordinators: the pool, a volunteer's record, needs with ranked candidates and
call-outs, the batch dispatch, the honour roll, enterprises. Volunteers on a phone (/v/): their
call-outs, check-in by the site's QR code, hours and points. Public: sign-up and company registration."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.audit import audit_record
from linli.core.excel import XLSX_CONTENT_TYPE
from linli.core.http import actor_of, chosen_community_code, error_text, posted_ids
from linli.core.imports import ImportRefused, import_create
from linli.core.jobs import import_preview_job
from linli.core.models import ImportJob, User
from linli.core.pdf import qr_svg
from linli.core.roles import Role
from linli.registry.models import Community
from linli.registry.selectors import communities_for, community_chosen
from linli.response.models import Response
from linli.response.selectors import responses_for
from linli.volunteers import dispatch
from linli.volunteers import selectors as sel
from linli.volunteers.forms import (
    TIER_CHOICES,
    CertificateForm,
    EnrolForm,
    EnterpriseForm,
    EnterpriseTeamForm,
    InjuryForm,
    NeedForm,
    OwnInjuryForm,
    SignUpForm,
    TrainingForm,
    VolunteerForm,
)
from linli.volunteers.io import ENROL_KIND, credit_record_xlsx
from linli.volunteers.models import Certificate, Enterprise, Need, Shift, Skill, Volunteer
from linli.volunteers.services import (
    SERVICE_AGREEMENT_VERSION,
    call_out,
    can_coordinate,
    can_see_enterprise,
    certificate_add,
    check_in,
    check_out,
    coordinated_communities,
    enterprise_register,
    enterprise_set_status,
    injury_record,
    need_close,
    need_create,
    open_places,
    rank_candidates,
    shift_answer,
    shift_cancel_by_volunteer,
    training_add,
    volunteer_reveal,
    volunteer_save,
    volunteer_set_status,
    volunteer_sign_up,
)

PAGE = 50


def _staff(actor: User) -> None:
    if actor.is_outside:
        raise PermissionDenied


# A volunteer record's forms: (form, service that saves what it made, what to say when done).
RECORD_FORMS: dict[str, tuple[Any, Any, Any]] = {
    "certificate": (
        CertificateForm,
        lambda actor, v, obj: certificate_add(actor=actor, volunteer=v, certificate=obj),
        gettext_lazy("Certificate added."),
    ),
    "training": (
        TrainingForm,
        lambda actor, v, obj: training_add(actor=actor, volunteer=v, training=obj),
        gettext_lazy("Training recorded."),
    ),
    "injury": (
        InjuryForm,
        lambda actor, v, obj: injury_record(actor=actor, volunteer=v, injury=obj),
        gettext_lazy("Injury recorded for the insurance claim."),
    ),
}


# Coordinator pages -------------------------------------------------------------------------------


@login_required
def pool(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    skill = Skill.objects.filter(code=request.GET.get("skill", "")).first()
    filters = {
        "tier": request.GET.get("tier", ""),
        "status": request.GET.get("status", ""),
        "available": request.GET.get("available", ""),
        "q": request.GET.get("q", ""),
    }
    qs = sel.pool(actor, skill=skill, **filters)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    community_id = actor.community_id or (communities_for(actor).values_list("pk", flat=True).first())
    return render(
        request,
        "volunteers/pool.html",
        {
            "page": page,
            "filters": filters,
            "skill": skill,
            "skills": Skill.objects.all(),
            "tiers": TIER_CHOICES,
            "statuses": Volunteer.Status.choices,
            "counts": sel.pool_counts(actor),
            "expiring": sel.expiring_certificates(actor)[:20],
            "gaps": sel.skill_gaps(community_id) if community_id else [],
            "applications": list(sel.volunteers_for(actor).filter(status=Volunteer.Status.APPLIED)[:20]),
            "can_coordinate": can_coordinate(actor, community_id),
            "today": timezone.localdate(),
        },
    )


@login_required
def volunteer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    volunteer = sel.volunteer_get(actor, pk)
    coordinator = can_coordinate(actor, volunteer.community_id)
    # The record's three small forms: the posted one is bound, the others start empty.
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms: dict[str, Any] = {
        name: form_class(request.POST or None, request.FILES or None, prefix=name)
        if name == action
        else form_class(prefix=name)
        for name, (form_class, _save, _done) in RECORD_FORMS.items()
    }
    if request.method == "POST":
        if not coordinator:
            raise PermissionDenied
        try:
            if action in ("active", "inactive", "suspended"):
                volunteer_set_status(
                    actor=actor, volunteer=volunteer, status=action, note=request.POST.get("note", "")
                )
                messages.success(request, _("Status changed."))
                if action == "active" and not volunteer.is_insured():
                    messages.warning(
                        request, _("No valid volunteer insurance is recorded: add it before the first shift.")
                    )
                return redirect("volunteers:detail", pk)
            if action in RECORD_FORMS and forms[action].is_valid():
                _form_class, save, done = RECORD_FORMS[action]
                save(actor, volunteer, forms[action].save(commit=False))
                messages.success(request, done)
                return redirect("volunteers:detail", pk)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
    today = timezone.localdate()
    certificates = list(volunteer.certificates.select_related("skill"))
    certified = {c.skill_id for c in certificates if c.is_valid(today)}
    year = today.year
    points, hours = sel.year_points([volunteer.pk], year).get(volunteer.pk, (0, 0))
    return render(
        request,
        "volunteers/detail.html",
        {
            "v": volunteer,
            "skills": [(s, not s.needs_certificate or s.pk in certified) for s in volunteer.skills.all()],
            "certificates": certificates,
            "trainings": volunteer.trainings.all()[:20],
            "injuries": volunteer.injuries.all()[:20],
            "shifts": volunteer.shifts.select_related("need").order_by("-starts_at")[:20],
            "points": points,
            "hours": hours,
            "year": year,
            "coordinator": coordinator,
            "forms": forms,
            "today": today,
            "availability": volunteer.availability_grid(),
        },
    )


@login_required
def certificate_scan(request: HttpRequest, pk: int) -> FileResponse:
    """A certificate's scan, for those who may see the volunteer; every view is logged."""
    actor = actor_of(request)
    _staff(actor)
    certificate = Certificate.objects.filter(pk=pk).select_related("volunteer").first()
    if certificate is None or not certificate.scan:
        raise Http404
    volunteer = sel.volunteer_get(actor, certificate.volunteer_id)
    audit_record(
        actor=actor, action="reveal", target=volunteer, detail=f"certificate scan {certificate.number}"
    )
    return FileResponse(certificate.scan.open("rb"), filename=certificate.scan.name.rsplit("/", 1)[-1])


@require_POST
@login_required
def volunteer_reveal_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    volunteer = sel.volunteer_get(actor, pk)
    phone = volunteer_reveal(actor=actor, volunteer=volunteer)
    return render(request, "volunteers/_phone.html", {"v": volunteer, "phone": phone})


@login_required
def volunteer_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    volunteer = sel.volunteer_get(actor, pk) if pk else Volunteer()
    if pk and request.method == "GET":
        # The form shows the full phone and ID number.
        volunteer_reveal(actor=actor, volunteer=volunteer, reason="edit form")
    communities = communities_for(actor)
    form = VolunteerForm(request.POST or None, instance=volunteer, communities=communities)
    if request.method == "POST" and form.is_valid():
        try:
            saved = volunteer_save(
                actor=actor, volunteer=form.save(commit=False), skills=form.cleaned_data["skills"]
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("Volunteer saved."))
            return redirect("volunteers:detail", saved.pk)
    if pk is None and not any(can_coordinate(actor, c.pk) for c in communities):
        raise PermissionDenied
    return render(request, "volunteers/edit.html", {"form": form, "v": volunteer})


@login_required
def needs(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    community = community_chosen(actor, chosen_community_code(request))
    responses = responses_for(actor).filter(community=community, status=Response.Status.ACTIVE)
    form = NeedForm(request.POST or None, community=community, responses=responses)
    if request.method == "POST":
        if not can_coordinate(actor, community.pk):
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                need = need_create(actor=actor, community=community, **d)
            except ValidationError as exc:
                form.add_error(None, error_text(exc))
            else:
                return redirect("volunteers:need", need.pk)
    now = timezone.localtime()
    if not form.is_bound:
        start = (now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        form.initial.update({"starts_at": start, "ends_at": start + dt.timedelta(hours=4)})
    return render(
        request,
        "volunteers/needs.html",
        {
            "needs": list(sel.needs_for(actor).filter(community=community)[:100]),
            "form": form,
            "community": community,
            "communities": communities_for(actor),
            "can_coordinate": can_coordinate(actor, community.pk),
        },
    )


@login_required
def need_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    need = sel.need_get(actor, pk)
    coordinator = can_coordinate(actor, need.community_id)
    if request.method == "POST":
        if not coordinator:
            raise PermissionDenied
        action = request.POST.get("action", "")
        try:
            if action == "chosen":
                chosen = Volunteer.objects.filter(pk__in=posted_ids(request.POST.getlist("volunteer")))
                made = call_out(actor=actor, need=need, volunteers=list(chosen))
                messages.success(request, _("Called out %(n)d people.") % {"n": len(made)})
            elif action in ("close", "cancel"):
                need_close(actor=actor, need=need, cancel=action == "cancel")
                messages.info(request, _("The need is closed."))
            else:
                raise Http404
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        return redirect("volunteers:need", pk)
    places = open_places(need)
    is_open = need.status == Need.Status.OPEN
    candidates = rank_candidates(need, actor=actor, limit=max(10, places * 3)) if is_open else []
    shortfall = None
    if is_open and places and not candidates:
        spec = dispatch.NeedSpec.of(need, community_ids=coordinated_communities(actor, need))
        shortfall = dispatch.shortfall(spec)
        related_people = Volunteer.objects.in_bulk([v for _s, ids in shortfall.related for v in ids])
        shortfall.related_people = [  # type: ignore[attr-defined]
            (skill, [related_people[v] for v in ids]) for skill, ids in shortfall.related
        ]
    shifts = list(need.shifts.select_related("volunteer").order_by("status", "offered_at"))
    checkin_url = request.build_absolute_uri(reverse("volunteers:checkin", args=[need.checkin_token]))
    return render(
        request,
        "volunteers/need.html",
        {
            "need": need,
            "candidates": candidates,
            "shortfall": shortfall,
            "shifts": shifts,
            "places": places,
            "coordinator": coordinator,
            "qr": qr_svg(checkin_url, box_size=6),
            "checkin_url": checkin_url,
        },
    )


@login_required
def dispatch_all(request: HttpRequest) -> HttpResponse:
    """Many needs at once: one least-cost assignment instead of first come, first served. The page
    shows the proposal; calling out sends exactly what was shown (each checked again)."""
    actor = actor_of(request)
    _staff(actor)
    community = community_chosen(actor, chosen_community_code(request))
    if not can_coordinate(actor, community.pk):
        raise PermissionDenied
    if request.method == "POST":
        made = 0
        for need in sel.needs_for(actor).filter(
            community=community, pk__in=posted_ids(request.POST.getlist("need"))
        ):
            chosen = Volunteer.objects.filter(pk__in=posted_ids(request.POST.getlist(f"need-{need.pk}")))
            try:
                made += len(call_out(actor=actor, need=need, volunteers=list(chosen)))
            except ValidationError as exc:
                messages.error(request, f"{need.title}: {error_text(exc)}")
        messages.success(request, _("Called out %(n)d people.") % {"n": made})
        return redirect(f"{reverse('volunteers:needs')}?community={community.code}")
    open_needs, specs = [], []
    for need in (
        sel.needs_for(actor)
        .filter(community=community, starts_at__gt=timezone.now())
        .prefetch_related("shifts")
    ):
        places = need.count - need.accepted - need.offered  # type: ignore[attr-defined]
        if places <= 0:
            continue
        spec = dispatch.NeedSpec.of(
            need,
            exclude=[shift.volunteer_id for shift in need.shifts.all()],
            community_ids=coordinated_communities(actor, need),
        )
        spec.count = places
        open_needs.append(need)
        specs.append(spec)
    skills = {s for n in specs for s in n.skill_ids} if all(n.skill_ids for n in specs) else None
    pool = dispatch.load_pool(street_ids=[community.street_id], skill_ids=skills)
    solution = dispatch.solve(pool, specs) if specs else None
    baseline = dispatch.greedy(pool, specs) if specs else None
    names = Volunteer.objects.in_bulk(
        [v for people in (solution.assigned.values() if solution else []) for v, _c in people]
    )
    rows = (
        [
            (need, [names[v] for v, _c in solution.assigned.get(need.pk, [])], solution.unmet.get(need.pk, 0))
            for need in open_needs
        ]
        if solution
        else []
    )
    return render(
        request,
        "volunteers/dispatch.html",
        {"rows": rows, "solution": solution, "baseline": baseline, "community": community},
    )


def _year(request: HttpRequest) -> int:
    text = request.GET.get("year", "")
    year = int(text) if text.isdigit() else timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


@login_required
def honour_roll(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    year = _year(request)
    rows = sel.honour_roll(actor, year)
    ranked: list[tuple[int, Volunteer, Any, Any]] = []
    for n, (v, points, hours) in enumerate(rows, start=1):
        # Equal points and hours share a place (1, 2, 2, 4).
        same = ranked and (ranked[-1][2], ranked[-1][3]) == (points, hours)
        ranked.append((ranked[-1][0] if same else n, v, points, hours))
    return render(request, "volunteers/honour.html", {"rows": ranked, "year": year})


@login_required
def enterprises(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _staff(actor)
    if request.method == "POST":
        pk = request.POST.get("enterprise", "")
        enterprise = sel.enterprise_get(actor, int(pk) if pk.isdigit() else 0)
        status = request.POST.get("status", "")
        if status not in Enterprise.Status.values:
            raise Http404
        enterprise_set_status(actor=actor, enterprise=enterprise, status=status)
        messages.success(request, _("Saved."))
        return redirect("volunteers:enterprises")
    rows = sel.enterprises_for(actor).prefetch_related("teams")
    return render(
        request,
        "volunteers/enterprises.html",
        {"rows": rows, "can_approve": actor.role == Role.STREET_ADMIN or actor.is_superuser},
    )


def _enterprise_page(request: HttpRequest, enterprise: Enterprise) -> HttpResponse:
    actor = actor_of(request)
    year = _year(request)
    if request.GET.get("format") == "xlsx":
        audit_record(
            actor=actor, action="export", target=enterprise, street_id=enterprise.street_id, detail=str(year)
        )
        response = HttpResponse(
            credit_record_xlsx(enterprise, sel.enterprise_people(actor, enterprise, year), year),
            content_type=XLSX_CONTENT_TYPE,
        )
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(enterprise.name)}-{year}.xlsx"
        return response
    team_form = EnterpriseTeamForm(request.POST or None)
    if request.method == "POST" and team_form.is_valid():
        team = team_form.save(commit=False)
        team.enterprise = enterprise
        team.save()
        audit_record(
            actor=actor, action="create", target=enterprise, street_id=enterprise.street_id, detail=team.name
        )
        messages.success(request, _("Team registered."))
        return redirect(request.path)
    people = sel.enterprise_people(actor, enterprise, year)
    return render(
        request,
        "volunteers/enterprise.html",
        {
            "enterprise": enterprise,
            "people": people,
            "year": year,
            "team_form": team_form,
            "teams": enterprise.teams.all(),
            "total_points": sum(p for _v, p, _h in people),
            "total_hours": sum(h for _v, _p, h in people),
        },
    )


@login_required
def enterprise_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    enterprise = sel.enterprise_get(actor, pk)
    if not can_see_enterprise(actor, enterprise):
        raise Http404
    return _enterprise_page(request, enterprise)


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Bulk enrolment from the enterprise's spreadsheet, by its contact or by a coordinator."""
    actor = actor_of(request)
    enterprise_qs = sel.enterprises_for(actor).filter(status=Enterprise.Status.APPROVED)
    if actor.role == Role.ENTERPRISE:
        street_ids = enterprise_qs.values_list("street_id", flat=True)
        communities = Community.objects.filter(street_id__in=street_ids)
    else:
        # Like the resident ledger, bulk imports are for commanders and street staff.
        if not actor.can_import:
            raise PermissionDenied
        communities = communities_for(actor)
    form = EnrolForm(
        request.POST or None, request.FILES or None, enterprises=enterprise_qs, communities=communities
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_create(
                actor=actor,
                kind=ENROL_KIND,
                community_id=form.cleaned_data["community"].pk,
                filename=upload.name,
                content=upload.read(),
                options={"enterprise_id": form.cleaned_data["enterprise"].pk},
            )
        except ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            import_preview_job.enqueue(job.pk)
            return redirect("registry:import", job.pk)
    jobs = ImportJob.objects.filter(kind=ENROL_KIND).defer("content", "errors", "preview")
    jobs = (
        jobs.filter(created_by=actor)
        if actor.role == Role.ENTERPRISE
        else jobs.filter(community__in=communities)
    )
    return render(
        request,
        "volunteers/enrol.html",
        {
            "form": form,
            "jobs": jobs.select_related("created_by", "community")[:30],
            "pending": not enterprise_qs.exists(),
        },
    )


# The volunteer's own pages (/v/) -----------------------------------------------------------------


@login_required
def me(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.role == Role.ENTERPRISE:
        enterprise = sel.enterprises_for(actor).first()
        if enterprise is None:
            raise Http404
        return _enterprise_page(request, enterprise)
    volunteer = Volunteer.objects.filter(user=actor).select_related("community").first()
    if volunteer is None:
        if not actor.is_outside:
            return redirect("volunteers:pool")
        raise Http404
    if request.method == "POST":
        shift_pk = request.POST.get("shift", "")
        shift = (
            Shift.objects.filter(pk=int(shift_pk) if shift_pk.isdigit() else 0, volunteer=volunteer)
            .select_related("need", "volunteer")
            .first()
        )
        if shift is None:
            raise Http404
        try:
            if request.POST.get("answer") == "withdraw":
                shift_cancel_by_volunteer(actor=actor, shift=shift)
            else:
                shift_answer(actor=actor, shift=shift, accept=request.POST.get("answer") == "accept")
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(
                request,
                _("Thank you: see you there.")
                if request.POST.get("answer") == "accept"
                else _("Declined. Thank you for telling us."),
            )
        return redirect("volunteers:me")
    year = timezone.localdate().year
    points, hours = sel.year_points([volunteer.pk], year).get(volunteer.pk, (0, 0))
    return render(
        request,
        "volunteers/me.html",
        {
            "v": volunteer,
            "shifts": sel.my_shifts(volunteer),
            "points": points,
            "hours": hours,
            "year": year,
            "recent_points": volunteer.points.all()[:10],
        },
    )


@login_required
def checkin(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind a site's QR code: check in on arrival, check out on leaving."""
    actor = actor_of(request)
    need = Need.objects.filter(checkin_token=token).select_related("building", "community").first()
    if need is None:
        raise Http404
    shift = Shift.objects.filter(need=need, volunteer__user=actor).first()
    if request.method == "POST":
        try:
            if request.POST.get("action") == "out":
                shift = check_out(actor=actor, need=need)
                messages.success(
                    request, _("Checked out: %(h)s hours recorded. Thank you!") % {"h": shift.hours}
                )
            else:
                shift = check_in(actor=actor, need=need)
                messages.success(
                    request,
                    _("Checked in at %(t)s.") % {"t": f"{timezone.localtime(shift.checked_in_at):%H:%M}"},
                )
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        return redirect("volunteers:checkin", token)
    return render(request, "volunteers/checkin.html", {"need": need, "shift": shift})


def sign_up(request: HttpRequest, code: str = "") -> HttpResponse:
    """The public sign-up page (from a poster's QR code or the community's link)."""
    if not code:
        return render(
            request,
            "volunteers/signup_pick.html",
            {"communities": Community.objects.select_related("street")},
        )
    community = Community.objects.filter(code=code).first()
    if community is None:
        raise Http404
    form = SignUpForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            volunteer = volunteer_sign_up(
                community=community,
                name=d["name"],
                phone=d["phone"],
                password=d["password"],
                id_number=d["id_number"],
                building=d["building"],
                skills=d["skills"],
                availability=d["availability"],
                on_call=d["on_call"],
                consent=d["consent"],
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            assert volunteer.user is not None
            login(request, volunteer.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Thank you for signing up. The community will confirm your application.")
            )
            return redirect("volunteers:me")
    return render(
        request,
        "volunteers/signup.html",
        {"form": form, "community": community, "version": SERVICE_AGREEMENT_VERSION},
    )


def enterprise_sign_up(request: HttpRequest) -> HttpResponse:
    form = EnterpriseForm(request.POST or None)
    streets = {c.street_id: c.street for c in Community.objects.select_related("street")}
    street_id = int(request.POST.get("street") or request.GET.get("street") or next(iter(streets), 0) or 0)
    if request.method == "POST" and form.is_valid():
        if street_id not in streets:
            form.add_error(None, _("Choose the street office."))
        else:
            try:
                enterprise = enterprise_register(street_id=street_id, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, error_text(exc))
            else:
                user = enterprise.accounts.first()
                assert user is not None
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Registered. The street office will approve your enterprise."))
                return redirect("volunteers:me")
    return render(
        request,
        "volunteers/enterprise_signup.html",
        {"form": form, "streets": streets.values(), "street_id": street_id},
    )


@require_POST
@login_required
def injury_report(request: HttpRequest) -> HttpResponse:
    """A volunteer reports their own injury on duty from the phone."""
    actor = actor_of(request)
    volunteer = Volunteer.objects.filter(user=actor).first()
    if volunteer is None:
        raise Http404
    form = OwnInjuryForm(request.POST, prefix="injury")
    if form.is_valid():
        injury_record(actor=actor, volunteer=volunteer, injury=form.save(commit=False))
        messages.success(request, _("Reported. Your community will contact you about the insurance claim."))
    else:
        messages.error(request, _("Say when it happened and what happened."))
    return redirect("volunteers:me")
