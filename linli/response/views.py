"""Response pages: the live board, staffing, log and situation reports, termination, after-action review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.models import User
from linli.core.selectors import community_staff
from linli.plans.models import LEVEL_CHOICES
from linli.response.forms import SitrepForm
from linli.response.selectors import (
    after_action,
    drill_history,
    latest_sitrep,
    log_for,
    my_assignments,
    response_get,
    responses_list,
    staffing,
    task_board,
    task_counts,
    task_counts_by_team,
)
from linli.response.services import (
    can_command,
    can_write_log,
    response_assign,
    response_change_level,
    response_note,
    response_on_duty,
    response_review,
    response_sitrep,
    response_terminate,
)
from linli.supplies.forms import RequestForm
from linli.supplies.selectors import response_supplies
from linli.tasks.models import Task, Team
from linli.tasks.selectors import tasks_mine

# The board shows each team's most urgent tasks; a team's own view (?team=…) shows more. Nobody reads
# 5,000 rows at 2 a.m., and rendering them would make the page slow for everyone.
BOARD_ROWS_PER_TEAM = 25
TEAM_VIEW_ROWS = 300
ACTIONS = ("duty", "note", "sitrep", "level", "assign")


@login_required
def response_list(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    rows = list(responses_list(actor)[:100])
    return render(request, "response/list.html", {"responses": rows})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    response = response_get(actor, pk)
    team = request.GET.get("team", "")
    status = request.GET.get("status", "")
    by_team = task_counts_by_team(response)
    board = task_board(
        response,
        team=team,
        status=status,
        limit=TEAM_VIEW_ROWS if team else BOARD_ROWS_PER_TEAM,
        by_team=by_team,
    )
    context = {
        "response": response,
        "board": board,
        "counts": task_counts(response, by_team),
        "posts": staffing(response),
        "mine": my_assignments(actor, response),
        "my_tasks": list(tasks_mine(actor).filter(source=Task.Source.RESPONSE, source_id=response.pk)[:20]),
        "log": log_for(response),
        "sitrep": latest_sitrep(response),
        "sitrep_form": SitrepForm(),
        "can_command": can_command(actor, response),
        "can_write": can_write_log(actor),
        "levels": LEVEL_CHOICES,
        "teams": Team.choices,
        "team": team,
        "status": status,
        "people": community_staff(response.community_id),
        "supplies": response_supplies(actor, response),
        "request_form": RequestForm(),
    }
    return render(request, "response/detail.html", context)


@require_POST
@login_required
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The response page's small forms: on duty, log note, situation report, level, fill a post."""
    if action not in ACTIONS:
        raise Http404
    actor: User = request.user  # type: ignore[assignment]
    response = response_get(actor, pk)
    post = request.POST
    try:
        if action == "duty":
            response_on_duty(actor=actor, response=response)
            messages.success(request, _("You are on duty. Your tasks are below."))
        elif action == "note":
            response_note(actor=actor, response=response, text=post.get("text", ""))
        elif action == "sitrep":
            form = SitrepForm(post)
            if not form.is_valid():
                raise ValidationError(_("Describe the situation."))
            response_sitrep(actor=actor, response=response, **form.cleaned_data)
            messages.success(request, _("Situation report filed."))
        elif action == "level":
            response_change_level(
                actor=actor,
                response=response,
                level=int(post.get("level") or 0),
                reason=post.get("reason", ""),
            )
            messages.success(request, _("Level changed; everyone on the response was notified."))
        elif action == "assign":
            position = response.plan.positions.filter(pk=post.get("position") or 0).first()
            if position is None:
                raise ValidationError(_("Choose a position."))
            person = community_staff(response.community_id).filter(pk=post.get("user") or 0).first()
            response_assign(
                actor=actor,
                response=response,
                position=position,
                user=person,
                name=post.get("name", ""),
                phone=post.get("phone", ""),
            )
            messages.success(request, _("Position filled."))
    except (ValidationError, ValueError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else _("Check the form.")
        messages.error(request, text)
    return redirect("response:detail", pk=pk)


@login_required
def terminate(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    response = response_get(actor, pk)
    if not can_command(actor, response):
        messages.error(request, _("Only the commander may end the response."))
        return redirect("response:detail", pk=pk)
    error = ""
    if request.method == "POST":
        try:
            response_terminate(
                actor=actor,
                response=response,
                criteria_met=request.POST.getlist("criteria"),
                note=request.POST.get("note", ""),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("The response has ended. Recovery steps have been assigned."))
            return redirect("response:review", pk=pk)
    return render(
        request,
        "response/terminate.html",
        {
            "response": response,
            "criteria": response.plan.termination_criteria_list,
            "checked": request.POST.getlist("criteria"),
            "note": request.POST.get("note", ""),
            "counts": task_counts(response),
            "error": error,
        },
    )


@login_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    response = response_get(actor, pk)
    if request.method == "POST":
        try:
            response_review(
                actor=actor,
                response=response,
                went_well=request.POST.get("went_well", ""),
                to_improve=request.POST.get("to_improve", ""),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Review saved."))
        return redirect("response:review", pk=pk)
    return render(
        request,
        "response/review.html",
        {"response": response, "aar": after_action(response), "can_command": can_command(actor, response)},
    )


@login_required
def drills(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    rows, teams = drill_history(actor)
    return render(request, "response/drills.html", {"rows": rows, "teams": teams})
