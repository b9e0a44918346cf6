"""Pharmacy reports: the pharmacy's own form (its link, no login, rate-limited), the staff form for a report
phoned in, the staff list with masked phones and ID numbers, and one report with its home check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core import ratelimit
from linli.core.access import acts, require_acting
from linli.core.http import actor_of, chosen_community_code, form_errors_from
from linli.core.request_context import client_ip
from linli.health import pharmacy as svc
from linli.health.models import KeySite
from linli.registry.models import Community
from linli.registry.selectors import community_chosen

PAGE_SIZE = 50
# The pharmacy's form: a till reports a few buyers an hour; a flood is a script or a stuck key.
FORM_LIMIT_PER_ADDRESS = 20
FORM_LIMIT_PER_SITE = 120
FORM_WINDOW_SECONDS = 600
# Common fever medicines, offered as the pharmacist types.
MEDICINES = ["布洛芬", "对乙酰氨基酚", "连花清瘟胶囊", "感冒灵颗粒", "复方氨酚烷胺", "退热贴", "阿莫西林"]


class ReportForm(forms.Form):
    buyer_name = forms.CharField(label=gettext_lazy("Buyer's name"), max_length=50)
    buyer_phone = forms.CharField(
        label=gettext_lazy("Buyer's phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    buyer_id_number = forms.CharField(
        label=gettext_lazy("Buyer's ID number"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    address = forms.CharField(
        label=gettext_lazy("Buyer's address"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. Building 3, Entrance 2, Room 501")}),
    )
    medicine = forms.CharField(
        label=gettext_lazy("Medicine"),
        max_length=200,
        widget=forms.TextInput(attrs={"list": "medicines", "autocomplete": "off"}),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"), min_value=1, max_value=svc.MAX_QUANTITY, initial=1
    )
    bought_at = forms.DateTimeField(
        label=gettext_lazy("Bought at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def values(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in ReportForm.base_fields}


class StaffReportForm(ReportForm):
    pharmacy = forms.TypedChoiceField(
        label=gettext_lazy("Pharmacy"), coerce=int, required=False, empty_value=None
    )
    pharmacy_name = forms.CharField(
        label=gettext_lazy("Pharmacy, if not in the list"),
        max_length=100,
        required=False,
    )
    field_order = ["pharmacy", "pharmacy_name"]

    def __init__(self, *args: Any, pharmacies: list[KeySite], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pharmacies = {p.pk: p for p in pharmacies}
        self.fields["pharmacy"].choices = [("", "—")] + [(p.pk, p.name) for p in pharmacies]  # type: ignore[attr-defined]
        self.order_fields(self.field_order)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("pharmacy") and not (data.get("pharmacy_name") or "").strip():
            self.add_error("pharmacy", _("Choose the pharmacy, or type its name below."))
        return data


def _now_initial() -> dict[str, Any]:
    return {"bought_at": timezone.localtime().replace(second=0, microsecond=0), "quantity": 1}


# --- the pharmacy's own form (public) -----------------------------------------------------------------


def pharmacy_public(request: HttpRequest, key: str) -> HttpResponse:
    site = svc.pharmacy_by_form_key(key)
    form = ReportForm(request.POST or None, initial=_now_initial())
    status = 200
    if request.method == "POST":
        address = client_ip(request) or "unknown"
        allowed = ratelimit.hit(
            f"pharmacy-form:{site.pk}:{address}",
            limit=FORM_LIMIT_PER_ADDRESS,
            window_seconds=FORM_WINDOW_SECONDS,
        ) and ratelimit.hit(
            f"pharmacy-form:{site.pk}", limit=FORM_LIMIT_PER_SITE, window_seconds=FORM_WINDOW_SECONDS
        )
        if not allowed:
            response = render(
                request,
                "health/pharmacy_public.html",
                {"site": site, "form": form, "flooded": True},
                status=429,
            )
            response["Retry-After"] = str(FORM_WINDOW_SECONDS)
            return response
        if form.is_valid():
            try:
                report, _task = svc.pharmacy_report_record(
                    actor=None, community=site.community, pharmacy=site, via=svc.Via.LINK, **form.values()
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Reported: %(name)s, %(medicine)s. The community will check on the buyer within 2 hours. Thank you."
                    )
                    % {"name": report.buyer_name, "medicine": report.medicine},
                )
                return redirect(request.path)
        status = 400
    response = render(
        request,
        "health/pharmacy_public.html",
        {"site": site, "form": form, "medicines": MEDICINES},
        status=status,
    )
    patch_cache_control(response, no_cache=True, private=True)
    response["X-Robots-Tag"] = "noindex"
    # Not "no-referrer": browsers then post the form with "Origin: null", which Django's CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


# --- staff ----------------------------------------------------------------------------------------------


@login_required
def pharmacy_reports(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    show = request.GET.get("show", "today")
    if show not in ("today", "unmatched", "all"):
        show = "today"
    qs = svc.pharmacy_report_rows(
        actor,
        day=timezone.localdate() if show == "today" else None,
        unmatched=show == "unmatched",
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = svc.report_rows(list(page.object_list))
    return render(
        request,
        "health/pharmacy_reports.html",
        {
            "page": page,
            "rows": rows,
            "show": show,
            "can_report": svc.can_report(actor),
            # Names with what they bought are for the staff who follow up; an observer sees them masked.
            "can_act": acts(actor),
            "now": timezone.now(),
        },
    )


@login_required
def pharmacy_report_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community: Community = community_chosen(actor, chosen_community_code(request))
    if not svc.can_report(actor, community.pk):
        raise PermissionDenied
    pharmacies = svc.pharmacies_of(community.pk)
    initial = _now_initial()
    chosen = request.GET.get("pharmacy", "")
    if chosen.isdigit():
        initial["pharmacy"] = int(chosen)
    form = StaffReportForm(request.POST or None, pharmacies=pharmacies, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        pharmacy = form.pharmacies.get(form.cleaned_data["pharmacy"] or 0)
        try:
            report, task = svc.pharmacy_report_record(
                actor=actor,
                community=community,
                pharmacy=pharmacy,
                pharmacy_name=form.cleaned_data["pharmacy_name"],
                via=svc.Via.FORM,
                **values,
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            if report.resident_id:
                text = _("Reported. %(name)s is in the ledger: %(who)s checks at the door by %(time)s.")
            else:
                text = _(
                    "Reported. %(name)s is not in the ledger: the data group looks for them; check by %(time)s."
                )
            messages.success(
                request,
                text
                % {
                    "name": report.buyer_name,
                    "who": task.assignee.name if task.assignee else _("the grid"),
                    "time": timezone.localtime(task.due_at).strftime("%H:%M"),
                },
            )
            return redirect("health:pharmacy_report", report.pk)
    return render(
        request,
        "health/pharmacy_form.html",
        {"form": form, "community": community, "medicines": MEDICINES},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def pharmacy_report(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    report = svc.pharmacy_report_get(actor, pk)
    require_acting(actor, _("Your role sees pharmacy reports with names masked, not one buyer's report."))
    row = svc.report_rows([report])[0]
    return render(
        request, "health/pharmacy_report.html", {"row": row, "report": report, "now": timezone.now()}
    )


@require_POST
@login_required
def pharmacy_report_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    actor = actor_of(request)
    report = svc.pharmacy_report_get(actor, pk)
    if field not in svc.REVEALABLE:
        raise Http404
    value = svc.pharmacy_report_reveal(actor=actor, report=report, field=field)
    return render(
        request, "health/_pharmacy_revealed.html", {"value": value, "field": field, "report": report}
    )


urlpatterns: list[URLPattern] = [
    path("health/pharmacy/", pharmacy_reports, name="pharmacy_reports"),
    path("health/pharmacy/new/", pharmacy_report_new, name="pharmacy_report_new"),
    path("health/pharmacy/<int:pk>/", pharmacy_report, name="pharmacy_report"),
    path(
        "health/pharmacy/<int:pk>/reveal/<str:field>/", pharmacy_report_reveal, name="pharmacy_report_reveal"
    ),
    path("p/<str:key>/", pharmacy_public, name="pharmacy_public"),
]
