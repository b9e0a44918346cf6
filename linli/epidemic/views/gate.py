"""Closed-area gate pages: the area's gate page, exit requests and approvals, the printable pass with its QR,
and the guard's phone page that a scanned QR opens."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from linli.core.access import scope_q
from linli.core.http import actor_of, error_text
from linli.core.pdf import qr_svg
from linli.epidemic import gate as g
from linli.epidemic.models import ExitPass, GateCheck, normalise_pass_code
from linli.registry.models import Resident
from linli.registry.selectors import resident_get, search_q, with_list_relations
from linli.response.models import Response

SEARCH_ROWS = 20
LOG_ROWS = 50
WINDOW_INPUT = "%Y-%m-%dT%H:%M"
GATE_SESSION_KEY = "gate_name"


class ApplyForm(forms.Form):
    resident = forms.IntegerField()
    reason = forms.ChoiceField(label=gettext_lazy("reason"), choices=ExitPass.Reason.choices)
    detail = forms.CharField(label=gettext_lazy("details"), max_length=300, required=False)


class DecideForm(forms.Form):
    valid_from = forms.DateTimeField(
        label=gettext_lazy("valid from"), required=False, input_formats=[WINDOW_INPUT, "%Y-%m-%d %H:%M"]
    )
    valid_until = forms.DateTimeField(
        label=pgettext_lazy("time", "valid until"),
        required=False,
        input_formats=[WINDOW_INPUT, "%Y-%m-%d %H:%M"],
    )
    note = forms.CharField(label=gettext_lazy("note"), max_length=300, required=False)


class SettingsForm(forms.Form):
    pickup_point = forms.CharField(label=gettext_lazy("express pickup point"), max_length=200, required=False)
    gates = forms.CharField(label=gettext_lazy("gates in use"), max_length=200, required=False)
    notes = forms.CharField(
        label=gettext_lazy("rules at the gate"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


def _default_window() -> dict[str, str]:
    start = timezone.localtime().replace(second=0, microsecond=0)
    return {
        "from": start.strftime(WINDOW_INPUT),
        "until": (start + g.DEFAULT_WINDOW).strftime(WINDOW_INPUT),
    }


def _start_of_today() -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


@login_required
def gate(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    responses = list(g.closed_responses_for(actor).prefetch_related("buildings"))
    if len(responses) == 1:
        return redirect("epidemic:gate_area", responses[0].pk)
    return render(request, "epidemic/gate_list.html", {"responses": responses})


def _resident_matches(actor_q: Q, response: Response, text: str) -> list[Resident]:
    text = text.strip()
    if not text:
        return []
    cond = search_q(text)
    if text.isdigit():
        cond |= Q(household__room=text)  # at the gate a bare number is usually a room
    return list(
        with_list_relations(g.locked_in_residents(response).filter(actor_q).filter(cond))[:SEARCH_ROWS]
    )


@login_required
def gate_area(request: HttpRequest, response_pk: int) -> HttpResponse:
    actor = actor_of(request)
    response = g.closed_response_get(actor, response_pk)
    decider = g.can_decide(actor, response)
    acting = g.can_act(actor, response)
    passes = g.passes_for(actor, response, decider=decider)
    by_building = g.locked_in_by_building(response)
    area = g.closed_area_of(response)
    q = request.GET.get("q", "")
    matches = _resident_matches(scope_q(actor), response, q) if acting and response.is_active else []
    standing: set[int] = set()
    if matches:
        standing = set(
            ExitPass.objects.filter(response=response, resident__in=[r.pk for r in matches])
            .filter(g.open_pass_q(timezone.now()))
            .values_list("resident_id", flat=True)
        )
    context = {
        "response": response,
        "area": area,
        "decider": decider,
        "acting": acting,
        "by_building": by_building,
        "locked_total": sum(int(row["n"]) for row in by_building),
        "q": q,
        "matches": matches,
        "standing": standing,
        "reasons": ExitPass.Reason.choices,
        "pending": list(passes.filter(status=ExitPass.Status.PENDING).order_by("requested_at", "id")),
        "out_now": list(passes.filter(out_at__isnull=False, back_at__isnull=True).order_by("out_at")),
        "approved_today": list(
            passes.filter(status=ExitPass.Status.APPROVED, decided_at__gte=_start_of_today()).order_by(
                "valid_from", "id"
            )
        ),
        "checks": list(g.gate_checks_for(actor, response, decider=decider)[:LOG_ROWS]),
        "window": _default_window(),
        "now": timezone.now(),
        "settings_form": SettingsForm(
            initial={"pickup_point": area.pickup_point, "gates": area.gates, "notes": area.notes}
            if area
            else None
        ),
    }
    return render(request, "epidemic/gate_area.html", context)


@login_required
@require_POST
def gate_apply(request: HttpRequest, response_pk: int) -> HttpResponse:
    actor = actor_of(request)
    response = g.closed_response_get(actor, response_pk)
    form = ApplyForm(request.POST)
    back = reverse("epidemic:gate_area", args=[response.pk])
    if not form.is_valid():
        messages.error(request, _("Choose the resident and the reason for going out."))
        return redirect(back)
    resident = resident_get(actor, form.cleaned_data["resident"])
    try:
        exit_pass = g.exit_request(
            actor=actor,
            response=response,
            resident=resident,
            reason=form.cleaned_data["reason"],
            detail=form.cleaned_data["detail"],
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(back + "?" + urlencode({"q": request.POST.get("q", "")}))
    if g.can_decide(actor, response):
        messages.success(request, _("Request made for %(name)s: approve it below.") % {"name": resident.name})
        return redirect(back + "#pending")
    messages.success(
        request, _("Request sent for %(name)s; the commander has been notified.") % {"name": resident.name}
    )
    return redirect(exit_pass.get_absolute_url())


@login_required
@require_POST
def gate_settings(request: HttpRequest, response_pk: int) -> HttpResponse:
    actor = actor_of(request)
    response = g.closed_response_get(actor, response_pk)
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            g.closed_area_settings(actor=actor, response=response, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Gate settings saved."))
    else:
        messages.error(request, _("Check the gate settings."))
    return redirect(reverse("epidemic:gate_area", args=[response.pk]) + "#settings")


@login_required
def pass_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    exit_pass = g.pass_get(actor, pk)
    response = exit_pass.response
    usable = exit_pass.status == ExitPass.Status.APPROVED and exit_pass.back_at is None
    check_url = request.build_absolute_uri(g.check_url(exit_pass))
    return render(
        request,
        "epidemic/pass.html",
        {
            "exit_pass": exit_pass,
            "response": response,
            "area": g.closed_area_of(response),
            "decider": g.can_decide(actor, response),
            "can_cancel": g.can_cancel(actor, exit_pass),
            "usable": usable,
            "qr": qr_svg(check_url) if usable else "",
            "check_url": check_url,
            # Grouped by four so a guard can read it out or type it without losing their place.
            "code_groups": " ".join(exit_pass.token[i : i + 4] for i in range(0, len(exit_pass.token), 4)),
            "window": _default_window(),
            "window_text": g.window_text(exit_pass),
            "checks": list(exit_pass.checks.select_related("by").order_by("at", "id")),
        },
    )


@login_required
@require_POST
def pass_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = actor_of(request)
    exit_pass = g.pass_get(actor, pk)
    form = DecideForm(request.POST)
    if action not in ("approve", "refuse", "cancel"):
        raise Http404
    if not form.is_valid():
        messages.error(request, _("Enter the window as date and time, e.g. 2026-03-01 14:00."))
    else:
        data = form.cleaned_data
        try:
            if action == "cancel":
                g.exit_cancel(actor=actor, exit_pass=exit_pass, note=data["note"])
                messages.info(request, _("Pass cancelled."))
            else:
                g.exit_decide(
                    actor=actor,
                    exit_pass=exit_pass,
                    approve=action == "approve",
                    valid_from=data["valid_from"],
                    valid_until=data["valid_until"],
                    note=data["note"],
                )
                if action == "approve":
                    messages.success(
                        request,
                        _("Approved: %(name)s may go out %(window)s.")
                        % {"name": exit_pass.resident.name, "window": g.window_text(exit_pass)},
                    )
                else:
                    messages.info(request, _("Refused; the applicant sees the reason."))
        except ValidationError as exc:
            messages.error(request, error_text(exc))
    if request.POST.get("back") == "gate":
        return redirect(reverse("epidemic:gate_area", args=[exit_pass.response_id]) + "#pending")
    return redirect(exit_pass.get_absolute_url())


def _token_from(code: str) -> str:
    """What a guard typed or pasted: the code itself, or the whole link from the QR."""
    code = code.strip().rstrip("/")
    code = code.rsplit("/", 1)[-1] if "/" in code else code
    return normalise_pass_code(code)


def _gate_names(response: Response | None) -> list[str]:
    area = g.closed_area_of(response) if response is not None else None
    if area is None:
        return []
    return [name for name in re.split(r"[,，、;；/\s]+", area.gates) if name]


def _area_param(request: HttpRequest) -> str:
    area = request.GET.get("area", "")
    return area if area.isdigit() else ""


@login_required
def gate_check_enter(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    code = request.GET.get("code", "")
    area = _area_param(request)
    if code.strip():
        url = reverse("epidemic:gate_check", args=[_token_from(code) or "-"])
        return redirect(url + (f"?area={area}" if area else ""))
    response = g.closed_response_get(actor, int(area)) if area else None
    return render(request, "epidemic/gate_enter.html", {"response": response, "area": area})


@login_required
def gate_check(request: HttpRequest, token: str) -> HttpResponse:
    actor = actor_of(request)
    area = _area_param(request)
    area_response = g.closed_response_get(actor, int(area)) if area else None
    if request.method == "POST":
        direction = request.POST.get("direction", "")
        gate_name = request.POST.get("gate", "").strip()[:50]
        request.session[GATE_SESSION_KEY] = gate_name
        try:
            check = g.gate_check(
                actor=actor, token=token, direction=direction, gate=gate_name, response=area_response
            )
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            return redirect(request.get_full_path())
        query = {"recorded": check.pk}
        if area:
            query["area"] = int(area)
        return redirect(reverse("epidemic:gate_check", args=[token]) + "?" + urlencode(query))

    exit_pass = g.pass_by_token(actor, token)
    response = exit_pass.response if exit_pass is not None else area_response
    if response is None:
        running = list(g.closed_responses_for(actor)[:2])
        response = running[0] if len(running) == 1 else None
    direction = request.GET.get("direction", "")
    if direction not in GateCheck.Direction.values:
        direction = g.suggested_direction(exit_pass) if exit_pass is not None else GateCheck.Direction.OUT
    allowed, reason = g.gate_verdict(exit_pass, direction, timezone.now())
    recorded = None
    recorded_pk = request.GET.get("recorded", "")
    if recorded_pk.isdigit():
        recorded = (
            GateCheck.objects.filter(pk=int(recorded_pk), by=actor)
            .select_related("resident", "exit_pass")
            .first()
        )
    return render(
        request,
        "epidemic/gate_check.html",
        {
            "exit_pass": exit_pass,
            "resident": exit_pass.resident if exit_pass is not None else None,
            "response": response,
            "direction": direction,
            "suggested": g.suggested_direction(exit_pass)
            if exit_pass is not None
            else GateCheck.Direction.OUT,
            "other_direction": GateCheck.Direction.IN
            if direction == GateCheck.Direction.OUT
            else GateCheck.Direction.OUT,
            "allowed": allowed,
            "reason": reason,
            "ended": response is not None and not response.is_active,
            "can_record": response is not None and g.can_act(actor, response),
            "window_text": g.window_text(exit_pass) if exit_pass is not None else "",
            "recorded": recorded,
            "gate_name": request.session.get(GATE_SESSION_KEY, ""),
            "area": area,
            "gates": _gate_names(response),
            "token": token,
        },
    )


urlpatterns: list[URLPattern] = [
    path("epidemic/gate/", gate, name="gate"),
    path("epidemic/gate/check/", gate_check_enter, name="gate_check_enter"),
    path("epidemic/gate/check/<str:token>/", gate_check, name="gate_check"),
    path("epidemic/gate/<int:response_pk>/", gate_area, name="gate_area"),
    path("epidemic/gate/<int:response_pk>/apply/", gate_apply, name="gate_apply"),
    path("epidemic/gate/<int:response_pk>/settings/", gate_settings, name="gate_settings"),
    path("epidemic/passes/<int:pk>/", pass_detail, name="pass"),
    path("epidemic/passes/<int:pk>/<str:action>/", pass_act, name="pass_act"),
]
