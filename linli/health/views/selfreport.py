"""The resident's self-report page, opened from the QR poster at the building door (no login), and the
poster itself."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.audit import audit_record
from linli.core.http import actor_of, public_url, resident_page
from linli.core.identity import mask_name
from linli.core.pdf import pdf_response, qr_svg
from linli.core.request_context import client_ip
from linli.health import selfreport as sr
from linli.health.forms import MemberForm, household_form, identity_from, posted_member_ids
from linli.health.models import Antigen, SelfReport, Symptom
from linli.registry.models import Building, Relation, Resident
from linli.registry.selectors import buildings_for

# --- the resident's page ------------------------------------------------------------------------------


def _too_many(request: HttpRequest, building: Building) -> HttpResponse:
    response = render(
        request,
        "health/report_public.html",
        {"building": building, "step": "refused"},
        status=429,
    )
    response["Retry-After"] = "900"
    return response


def _building(building_id: int) -> Building:
    building = sr.building_load(building_id)
    if building is None:
        raise Http404
    return building


def report_page(request: HttpRequest, token: str) -> HttpResponse:
    """The resident's page. Posting a report reads nothing from the database: the link proves the building,
    the signed cookie the household; who is in the household is checked when the report is written."""
    building_id = sr.building_id_from_token(token)
    if building_id is None:
        raise Http404
    ip = client_ip(request)
    if request.method == "POST" and not sr.post_allowed(ip):
        return _too_many(request, _building(building_id))
    household_id = sr.household_from_cookie(request.COOKIES.get(sr.COOKIE), building_id)
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "verify":
        response = _verify(request, _building(building_id), token, ip)
    elif household_id is None:
        response = render(
            request, "health/report_public.html", {"building": _building(building_id), "step": "identify"}
        )
    elif action == "report":
        response = _submit(request, building_id, token, household_id, ip)
    else:
        response = _household_page(
            request, _building(building_id), household_id, done=request.GET.get("done") == "1"
        )
    return resident_page(response)


def _verify(request: HttpRequest, building: Building, token: str, ip: str | None) -> HttpResponse:
    ident = identity_from(request.POST)
    context: dict[str, Any] = {"building": building, "step": "identify", "ident": ident}
    if ident.errors:
        return render(request, "health/report_public.html", context, status=400)
    try:
        household_id = sr.household_verify(
            building=building, room=ident.room, name=ident.name, id_tail=ident.id_tail, ip=ip
        )
    except sr.Refused:
        return _too_many(request, building)
    if household_id is None:
        # The same words whatever was wrong: the page never says whether such a person lives here.
        context["mismatch"] = True
        return render(request, "health/report_public.html", context, status=400)
    response = redirect(reverse("health:report_page", args=[token]))
    response.set_cookie(
        sr.COOKIE,
        sr.household_cookie(household_id, building.pk),
        max_age=sr.COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


def _submit(
    request: HttpRequest, building_id: int, token: str, household_id: int, ip: str | None
) -> HttpResponse:
    forms, entries = household_form(posted_member_ids(request.POST), request.POST, request.FILES)
    if entries and not any(f.errors for f in forms):
        try:
            sr.self_report_accept(
                household_id=household_id,
                building_id=building_id,
                entries=entries,
                ip=ip,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except ValidationError as exc:
            return _household_page(
                request, _building(building_id), household_id, error=exc.messages[0], status=400
            )
        # The page posted to is the page to show (request.path: no URL reversing on the morning's hot path).
        return HttpResponseRedirect(request.path + "?done=1")
    # Show the form again with the household's names and what was typed.
    members = sr.household_members(household_id)
    if not members:
        return _forget(token)
    forms, entries = household_form(members, request.POST, request.FILES)
    return _household_page(
        request,
        _building(building_id),
        household_id,
        members=members,
        forms=forms,
        nothing=not entries and not any(f.errors for f in forms),
        status=400,
    )


def _household_page(
    request: HttpRequest,
    building: Building,
    household_id: int,
    *,
    members: list[Resident] | None = None,
    forms: list[MemberForm] | None = None,
    done: bool = False,
    nothing: bool = False,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if members is None:
        members = sr.household_members(household_id)
    if forms is None:
        forms = [MemberForm(resident_id=m.pk, resident=m) for m in members]
    reported = sr.household_today(household_id, timezone.localdate())
    pending = sr.inbox_pending(household_id)
    rows = []
    for f in forms:
        person = f.resident
        assert person is not None  # forms shown again are built from the members
        relation = person.get_relation_display() if person.relation != Relation.OTHER else ""
        rows.append(
            {
                "form": f,
                "masked": mask_name(person.name),
                # Two children both show as "吕*": their ages tell the family which is which.
                "age": person.age,
                "relation": relation,
                "today": reported.get(person.pk),
                "pending": person.pk in pending,
                "urgent": pending[person.pk] if person.pk in pending else _urgent(reported.get(person.pk)),
            }
        )
    context = {
        "building": building,
        "step": "report",
        "household": members[0].household if members else None,
        "rows": rows,
        "symptoms": Symptom.choices,
        "antigens": Antigen.choices,
        "done": done,
        "all_reported": bool(rows) and all(r["today"] or r["pending"] for r in rows),
        "invalid": any(f.errors for f in forms),
        "community_phone": building.community.phone,
        "nothing": nothing,
        "error": error,
        "today": timezone.localdate(),
    }
    return render(request, "health/report_public.html", context, status=status)


def _urgent(report: SelfReport | None) -> bool:
    return report is not None and (report.has_fever or report.antigen == Antigen.POSITIVE)


def _forget(token: str) -> HttpResponse:
    response = redirect(reverse("health:report_page", args=[token]))
    response.delete_cookie(sr.COOKIE)
    return response


def report_forget(request: HttpRequest, token: str) -> HttpResponse:
    """ "Not your household?": the phone forgets it (a shared phone, a visitor)."""
    if request.method != "POST" or sr.building_from_token(token) is None:
        raise Http404
    return _forget(token)


# --- the poster -----------------------------------------------------------------------------------------


def report_url(request: HttpRequest, building_id: int) -> str:
    """The address printed on the poster: PUBLIC_URL (how residents' phones reach the site) when set, else
    the address this page was opened at."""
    return public_url(reverse("health:report_page", args=[sr.building_token(building_id)]), request)


@login_required
def posters(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    buildings = (
        buildings_for(actor)
        # Households someone lives in: the ones that report (and the number the notices' counts use).
        .annotate(
            household_count=Count(
                "households",
                filter=Q(households__members__residency__in=sr.LIVING_HERE),
                distinct=True,
            )
        )
        .order_by("community", "sort_key")
    )
    return render(request, "health/posters.html", {"buildings": buildings})


@login_required
def poster_pdf(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """One building's poster, or (no pk) every building in scope, one A4 page each."""
    actor = actor_of(request)
    buildings = buildings_for(actor).select_related("community").order_by("community", "sort_key")
    if pk is not None:
        buildings = buildings.filter(pk=pk)
    chosen = list(buildings)
    if not chosen:
        raise Http404
    pages = []
    for building in chosen:
        url = report_url(request, building.pk)
        pages.append({"building": building, "url": url, "qr": qr_svg(url)})
    first = chosen[0]
    audit_record(
        actor=actor,
        action="export",
        target=first if pk is not None else None,
        detail=_("self-report posters: %(n)s") % {"n": len(pages)},
        community_id=first.community_id,
    )
    name = f"self-report-{first.number}.pdf" if pk is not None else "self-report-posters.pdf"
    return pdf_response(request, "health/poster_print.html", {"pages": pages}, name)


urlpatterns: list[URLPattern] = [
    path("r/<str:token>/", report_page, name="report_page"),
    path("r/<str:token>/forget/", report_forget, name="report_forget"),
    path("health/posters/", posters, name="posters"),
    path("health/posters/all.pdf", poster_pdf, name="posters_pdf"),
    path("health/posters/<int:pk>.pdf", poster_pdf, name="poster_pdf"),
]
