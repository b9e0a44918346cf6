"""Key-site pages: the list with today's disinfection at a glance, a site's page where a round is logged with
one tap, samples and their results, the printable "disinfected today" marker, and the site's public page
(no login) with its rules, today's rounds and published sample results."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from linli.core.clock import local_at
from linli.core.http import actor_of, chosen_community_code, error_text, form_errors_from, next_url
from linli.core.pdf import pdf_response, qr_png
from linli.health import keysites as svc
from linli.health.models import EnvSample, KeySite, SiteKind
from linli.health.pharmacy import form_key
from linli.registry.models import Building, Community, Grid
from linli.registry.selectors import community_chosen

# --- forms ------------------------------------------------------------------------------------------


class KeySiteForm(forms.Form):
    name = forms.CharField(label=capfirst(pgettext_lazy("place or thing", "name")), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=SiteKind.choices)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)
    building = forms.ModelChoiceField(
        label=gettext_lazy("Building"),
        queryset=Building.objects.none(),
        required=False,
        help_text=gettext_lazy("The building it is in or next to: its grid worker gets the alerts."),
    )
    grid = forms.ModelChoiceField(
        label=gettext_lazy("Grid"),
        queryset=Grid.objects.none(),
        required=False,
        help_text=gettext_lazy("When no building is chosen: a grid worker of this grid gets the alerts."),
    )
    contact_name = forms.CharField(label=gettext_lazy("Person in charge"), max_length=50, required=False)
    contact_phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    disinfect_times = forms.CharField(
        label=gettext_lazy("Disinfection times"),
        max_length=50,
        initial="07:00,19:00",
        help_text=gettext_lazy(
            "HH:MM, separated by commas. A round not logged within an hour alerts the grid worker."
        ),
    )
    sample_every_days = forms.IntegerField(
        label=gettext_lazy("Environmental sample every (days)"),
        required=False,
        min_value=1,
        max_value=30,
        help_text=gettext_lazy("Cold-chain stores: every 3 days. Empty: not sampled on a schedule."),
    )
    rules = forms.CharField(
        label=gettext_lazy("Rules"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "One rule a line; shown on the site's public page. Empty: the usual rules for its kind."
        ),
    )
    active = forms.BooleanField(label=gettext_lazy("In use"), required=False, initial=True)

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        building = self.fields["building"]
        grid = self.fields["grid"]
        assert isinstance(building, forms.ModelChoiceField) and isinstance(grid, forms.ModelChoiceField)
        building.queryset = Building.objects.filter(community=community).order_by("sort_key", "number")
        grid.queryset = Grid.objects.filter(community=community).order_by("number")

    def values(self) -> svc.SiteValues:
        data = self.cleaned_data
        return svc.SiteValues(
            name=data["name"],
            kind=data["kind"],
            address=data["address"],
            building=data["building"],
            grid=data["grid"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            rules=data["rules"],
            disinfect_times=data["disinfect_times"],
            sample_every_days=data["sample_every_days"],
            active=data["active"],
        )


class DisinfectForm(forms.Form):
    slot = forms.TimeField(input_formats=["%H:%M"])
    day = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    done_by = forms.CharField(label=gettext_lazy("Done by"), max_length=50, required=False)
    done_time = forms.TimeField(label=gettext_lazy("Done at"), required=False, input_formats=["%H:%M"])
    agent = forms.CharField(label=gettext_lazy("Disinfectant"), max_length=100, required=False)
    areas = forms.CharField(label=gettext_lazy("Areas"), max_length=200, required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


class SampleForm(forms.Form):
    taken_on = forms.DateField(
        label=gettext_lazy("Sampled on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )
    count = forms.IntegerField(
        label=gettext_lazy("Number of samples"), min_value=1, max_value=svc.MAX_SAMPLES, initial=1
    )
    points = forms.CharField(
        label=gettext_lazy("Sampling points"),
        max_length=300,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("e.g. cold store door handle, counter, outer packaging")}
        ),
    )
    taken_by = forms.CharField(
        label=gettext_lazy("Sampled by"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. district CDC")}),
    )


# --- the list ---------------------------------------------------------------------------------------


@login_required
def keysites(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    kind = request.GET.get("kind", "")
    if kind not in SiteKind.values:
        kind = ""
    rows = svc.key_sites_for(actor, kind=kind)
    everything = rows if not kind else svc.key_sites_for(actor)
    counts = {
        "sites": len(everything),
        "missed": sum(r.missed for r in everything),
        "done": sum(r.done for r in everything),
        "rounds": sum(len(r.slots) for r in everything),
        "samples_overdue": sum(1 for r in everything if r.sample_overdue),
        "positive": sum(1 for r in everything if r.last_result == EnvSample.Result.POSITIVE),
    }
    kinds = sorted({r.site.kind for r in everything})
    return render(
        request,
        "health/keysites.html",
        {
            "rows": rows,
            "counts": counts,
            "kind": kind,
            "kinds": [(k, SiteKind(k).label) for k in kinds],
            "can_manage": svc.can_manage_sites(actor),
            "can_record": svc.can_record(actor),
            "today": timezone.localdate(),
        },
    )


# --- one site ---------------------------------------------------------------------------------------


def _site_page(
    request: HttpRequest, site: KeySite, sample_form: SampleForm | None = None, status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    now = timezone.now()
    context = {
        "site": site,
        "status": svc.key_site_status(site, now),
        "log": svc.disinfection_log(site, now=now),
        "samples": svc.samples_of(site),
        "alerts": svc.open_alerts(site),
        "rules": [line for line in site.rules.splitlines() if line.strip()],
        "sample_form": sample_form or SampleForm(initial={"taken_on": timezone.localdate(), "count": 1}),
        "can_manage": svc.can_manage_sites(actor, site.community_id),
        "can_record": svc.can_record(actor) and site.active,
        "public_url": request.build_absolute_uri(reverse("health:keysite_public", args=[site.token])),
        "form_url": (
            request.build_absolute_uri(reverse("health:pharmacy_public", args=[form_key(site)]))
            if site.kind == SiteKind.PHARMACY and svc.can_manage_sites(actor, site.community_id)
            else ""
        ),
        "now": now,
    }
    return render(request, "health/keysite.html", context, status=status)


@login_required
def keysite(request: HttpRequest, pk: int) -> HttpResponse:
    return _site_page(request, svc.key_site_get(actor_of(request), pk))


@login_required
def keysite_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    if not svc.can_manage_sites(actor, community.pk):
        raise PermissionDenied
    form = KeySiteForm(request.POST or None, community=community, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            site = svc.key_site_save(actor=actor, community=community, values=form.values())
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("%(name)s is registered as a key site.") % {"name": site.name})
            return redirect("health:keysite", site.pk)
    return _form_page(request, form, community, None)


@login_required
def keysite_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    site = svc.key_site_get(actor, pk)
    if not svc.can_manage_sites(actor, site.community_id):
        raise PermissionDenied
    initial = {
        key: getattr(site, key)
        for key in (
            "name",
            "kind",
            "address",
            "building",
            "grid",
            "contact_name",
            "contact_phone",
            "disinfect_times",
            "sample_every_days",
            "rules",
            "active",
        )
    }
    form = KeySiteForm(request.POST or None, community=site.community, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            site = svc.key_site_save(actor=actor, community=site.community, values=form.values(), site=site)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Saved: %(name)s.") % {"name": site.name})
            return redirect("health:keysite", site.pk)
    return _form_page(request, form, site.community, site)


def _form_page(
    request: HttpRequest, form: KeySiteForm, community: Community, site: KeySite | None
) -> HttpResponse:
    return render(
        request,
        "health/keysite_form.html",
        {
            "form": form,
            "community": community,
            "site": site,
            "defaults": svc.default_rules_by_kind(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@login_required
def keysite_disinfect(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    site = svc.key_site_get(actor, pk)
    form = DisinfectForm(request.POST)
    back = next_url(request, reverse("health:keysite", args=[site.pk]))
    if not form.is_valid():
        messages.error(request, _("Choose the round to log."))
        return redirect(back)
    data = form.cleaned_data
    day = data["day"] or timezone.localdate()
    # Empty: now. A time is on the round's own day (yesterday's 19:00 round logged after midnight).
    done_at = local_at(day, data["done_time"]) if data["done_time"] is not None else None
    try:
        record = svc.disinfection_record(
            actor=actor,
            site=site,
            slot=data["slot"],
            day=day,
            done_by=data["done_by"],
            done_at=done_at,
            agent=data["agent"],
            areas=data["areas"],
            note=data["note"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            _("Logged: %(site)s, %(time)s round, disinfected by %(who)s at %(when)s.")
            % {
                "site": site.name,
                "time": record.slot.strftime("%H:%M"),
                "who": record.done_by,
                "when": timezone.localtime(record.done_at).strftime("%H:%M"),
            },
        )
    return redirect(back)


@require_POST
@login_required
def keysite_sample(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    site = svc.key_site_get(actor, pk)
    form = SampleForm(request.POST)
    if form.is_valid():
        try:
            svc.env_sample_record(actor=actor, site=site, **form.cleaned_data)
        except PermissionDenied as exc:
            form.add_error(None, error_text(exc))
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request,
                _("Logged: %(n)d samples taken on %(day)s; record the result when it comes.")
                % {"n": form.cleaned_data["count"], "day": form.cleaned_data["taken_on"].isoformat()},
            )
            return redirect("health:keysite", site.pk)
    return _site_page(request, site, form, status=400)


@require_POST
@login_required
def keysite_sample_result(request: HttpRequest, pk: int, sample_pk: int) -> HttpResponse:
    actor = actor_of(request)
    site = svc.key_site_get(actor, pk)
    sample = EnvSample.objects.filter(site=site, pk=sample_pk).select_related("site").first()
    if sample is None:
        raise Http404
    result = request.POST.get("result", "")
    try:
        svc.env_sample_result(actor=actor, sample=sample, result=result)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
    else:
        if result == EnvSample.Result.POSITIVE:
            messages.warning(
                request,
                _(
                    "Positive result recorded for %(site)s: the medical team has an urgent task and the commander has been told."
                )
                % {"site": site.name},
            )
        else:
            messages.success(
                request,
                _("Negative result recorded; it is published on the site's public page."),
            )
    return redirect("health:keysite", site.pk)


@require_POST
@login_required
def keysite_token(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    site = svc.key_site_get(actor, pk)
    try:
        svc.key_site_new_token(actor=actor, site=site)
    except PermissionDenied as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request, _("New public link made: print the marker again; the old QR code no longer works.")
        )
    return redirect("health:keysite", site.pk)


@login_required
def keysite_marker(request: HttpRequest, pk: int) -> HttpResponse:
    """The A5 sheet posted at the site: today's rounds with who did them, and a QR to the public page."""
    site = svc.key_site_get(actor_of(request), pk)
    status = svc.key_site_status(site)
    url = request.build_absolute_uri(reverse("health:keysite_public", args=[site.token]))
    context = {
        "site": site,
        "status": status,
        "community": site.community,
        "url": url,
        "qr": qr_png(url),
        "rules": [line for line in site.rules.splitlines() if line.strip()][:6],
    }
    return pdf_response(
        request, "health/keysite_marker.html", context, f"marker-{site.pk}-{status.today:%Y%m%d}.pdf"
    )


# --- the public page --------------------------------------------------------------------------------


def keysite_public(request: HttpRequest, token: str) -> HttpResponse:
    """What a resident sees on scanning the marker: rules, today's rounds (times only) and sample results."""
    site = svc.key_site_by_token(token)
    context = {
        "site": site,
        "status": svc.key_site_status(site),
        "rules": [line for line in site.rules.splitlines() if line.strip()],
        "samples": svc.published_samples(site),
    }
    response = render(request, "health/keysite_public.html", context)
    patch_cache_control(response, no_cache=True)
    response["X-Robots-Tag"] = "noindex"
    # The token stays on this site; "no-referrer" would break the language switch (its POST arrives with
    # "Origin: null", which the CSRF check refuses).
    response["Referrer-Policy"] = "same-origin"
    return response


urlpatterns: list[URLPattern] = [
    path("health/sites/", keysites, name="keysites"),
    path("health/sites/new/", keysite_new, name="keysite_new"),
    path("health/sites/<int:pk>/", keysite, name="keysite"),
    path("health/sites/<int:pk>/edit/", keysite_edit, name="keysite_edit"),
    path("health/sites/<int:pk>/disinfect/", keysite_disinfect, name="keysite_disinfect"),
    path("health/sites/<int:pk>/samples/", keysite_sample, name="keysite_sample"),
    path(
        "health/sites/<int:pk>/samples/<int:sample_pk>/result/",
        keysite_sample_result,
        name="keysite_sample_result",
    ),
    path("health/sites/<int:pk>/token/", keysite_token, name="keysite_token"),
    path("health/sites/<int:pk>/marker.pdf", keysite_marker, name="keysite_marker"),
    path("k/<str:token>/", keysite_public, name="keysite_public"),
]
