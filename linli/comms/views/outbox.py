"""Pages: the communications hub, channels and delivery (group robots, what failed), and each person's
notification settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from linli.comms import endpoints, outbox, preferences
from linli.comms.channels import email as email_channel
from linli.comms.channels import sms as sms_channel
from linli.comms.models import Channel, OutboxMessage
from linli.core.access import administers, community_ids_in_scope
from linli.core.http import actor_of, chosen_community_code, form_errors_from, posted_ids
from linli.core.identity import mobile_number
from linli.registry.selectors import community_chosen
from linli.tasks.models import Team


@login_required
def hub(request: HttpRequest) -> HttpResponse:
    """One place for everything that talks to residents, staff and other systems."""
    actor = actor_of(request)
    ids = community_ids_in_scope(actor)
    scope = Q() if ids is None else Q(community_id__in=ids)
    from linli.comms.models import Incident, Question

    counts = {
        "questions_open": Question.objects.filter(scope, status=Question.Status.OPEN).count(),
        "incidents_new": Incident.objects.filter(scope, status=Incident.Status.NEW).count(),
        "dead": OutboxMessage.objects.filter(scope, status=OutboxMessage.Status.DEAD).count(),
    }
    return render(
        request,
        "comms/hub.html",
        {"counts": counts, "is_admin": administers(actor), "acts": not actor.is_read_only},
    )


class RobotForm(forms.Form):
    kind = forms.ChoiceField(
        label=pgettext_lazy("robot", "app"),
        choices=[(Channel.WECOM, Channel.WECOM.label), (Channel.DINGTALK, Channel.DINGTALK.label)],
    )
    name = forms.CharField(label=pgettext_lazy("robot", "group chat name"), max_length=100)
    url = forms.CharField(label=gettext_lazy("robot webhook address"), max_length=500)
    secret = forms.CharField(
        label=gettext_lazy("signing secret (DingTalk, if set)"), max_length=200, required=False
    )
    team = forms.ChoiceField(
        label=gettext_lazy("team group (empty: the whole community)"),
        choices=[("", "—"), *Team.choices],
        required=False,
    )


def _dead_in_scope(ids: list[int] | None) -> Any:
    qs = OutboxMessage.objects.filter(status=OutboxMessage.Status.DEAD)
    return qs if ids is None else qs.filter(community_id__in=ids)


@login_required
def channels(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    is_admin = administers(actor, community.pk)
    form = RobotForm()
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        form = RobotForm(request.POST)
        if form.is_valid():
            try:
                robot = endpoints.robot_save(actor=actor, community=community, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(
                    request, _("Group robot %(name)s saved. Send it a test message.") % {"name": robot.name}
                )
                return redirect(f"{request.path}?community={community.code}")
    summary = preferences.channel_summary([community.pk])
    rows = []
    for value, label in Channel.choices:
        if value == Channel.INAPP:
            continue
        by_status = summary.get(value, {})
        rows.append(
            {
                "channel": value,
                "label": label,
                **{s: by_status.get(s, 0) for s in OutboxMessage.Status.values},
            }
        )
    dead = list(_dead_in_scope([community.pk]).select_related("endpoint").order_by("-created_at")[:100])
    robots = list(endpoints.robots_for(actor).filter(community=community).order_by("kind", "name"))
    recent = dict(
        OutboxMessage.objects.filter(endpoint__in=robots).values_list("endpoint_id").annotate(n=Count("id"))
    )
    for robot in robots:
        robot.sent_count = recent.get(robot.pk, 0)  # type: ignore[attr-defined]
    sms_url = sms_channel.gateway_url()
    context = {
        "community": community,
        "is_admin": is_admin,
        "rows": rows,
        "dead": dead,
        "robots": robots,
        "form": form,
        "sms_state": "log" if sms_url == "log:" else ("on" if sms_url else "off"),
        "email_on": email_channel.configured(),
        "max_attempts": outbox.MAX_ATTEMPTS,
    }
    return render(request, "comms/channels.html", context)


@require_POST
@login_required
def robot_action(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    robot = endpoints.robot_get(actor, pk)
    action = request.POST.get("action")
    if action == "test":
        endpoints.robot_test(actor=actor, robot=robot)
        messages.success(
            request,
            _("Test message queued for %(name)s; it shows below within seconds.") % {"name": robot.name},
        )
    elif action in ("off", "on"):
        endpoints.robot_switch(actor=actor, robot=robot, active=action == "on")
    code = robot.community.code if robot.community else ""
    return redirect(f"/comms/channels/?community={code}")


@require_POST
@login_required
def retry(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    if not administers(actor, community.pk):
        raise PermissionDenied
    dead = _dead_in_scope([community.pk])
    if request.POST.get("all") != "1":
        dead = dead.filter(pk__in=posted_ids(request.POST.getlist("ids")))
    count = outbox.retry(actor=actor, ids=list(dead.values_list("pk", flat=True)))
    messages.success(request, _("%(n)s messages will be sent again.") % {"n": count})
    return redirect(f"/comms/channels/?community={community.code}")


class PreferenceForm(forms.Form):
    sms = forms.BooleanField(label=gettext_lazy("SMS to my phone"), required=False)
    email = forms.BooleanField(label=gettext_lazy("Email"), required=False)
    quiet_start = forms.TimeField(
        label=gettext_lazy("Quiet from"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label=gettext_lazy("Quiet until"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    digest = forms.BooleanField(
        label=gettext_lazy("Sum up non-urgent messages in one digest"), required=False
    )
    digest_minutes = forms.TypedChoiceField(
        label=gettext_lazy("Digest at most every"),
        coerce=int,
        choices=[
            (30, gettext_lazy("30 minutes")),
            (60, gettext_lazy("hour")),
            (120, gettext_lazy("2 hours")),
            (240, gettext_lazy("4 hours")),
        ],
    )


@login_required
def preference_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    pref = preferences.preference_for(actor)
    initial = {
        "sms": pref.sms,
        "email": pref.email,
        "quiet_start": pref.quiet_start,
        "quiet_end": pref.quiet_end,
        "digest": pref.digest,
        "digest_minutes": pref.digest_minutes,
    }
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        pref = preferences.preference_save(actor=actor, **form.cleaned_data)
        messages.success(request, _("Saved."))
        if pref.email and not actor.email:
            messages.warning(
                request, _("Your account has no email address: ask your administrator to add one.")
            )
        if pref.sms and not mobile_number(actor.phone):
            messages.warning(
                request, _("Your account has no mobile number: ask your administrator to add one.")
            )
        return redirect("comms:preferences")
    context = {
        "form": form,
        "phone": mobile_number(actor.phone),
        "email": actor.email,
        "quiet_now": preferences.quiet_until(pref, dt.datetime.now(dt.UTC)) is not None,
    }
    return render(request, "comms/preferences.html", context)


urlpatterns: list[URLPattern | URLResolver] = [
    path("comms/", hub, name="hub"),
    path("comms/channels/", channels, name="channels"),
    path("comms/channels/retry/", retry, name="outbox_retry"),
    path("comms/channels/robots/<int:pk>/", robot_action, name="robot_action"),
    path("comms/preferences/", preference_page, name="preferences"),
]
