"""Task pages: "my tasks" on a phone, a task's page, and the supervisor's overdue list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from linli.core.http import next_url, posted_id
from linli.core.models import User
from linli.core.selectors import community_staff
from linli.registry.models import Resident
from linli.registry.selectors import resident_get
from linli.tasks.models import Task
from linli.tasks.selectors import (
    task_get,
    tasks_mine,
    tasks_needing_reassignment,
    tasks_overdue_for,
)
from linli.tasks.services import can_reassign, can_work_on, task_reassign, task_set_status

LIST_LIMIT = 200


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    overdue = request.GET.get("overdue") == "1"
    done = request.GET.get("done") == "1"
    rows = list(tasks_mine(actor, overdue=overdue, finished=done).select_related("assignee")[:LIST_LIMIT])
    counts = {
        "open": tasks_mine(actor).count(),
        "overdue": tasks_mine(actor, overdue=True).count(),
    }
    return render(
        request,
        "tasks/mine.html",
        {"tasks": rows, "overdue": overdue, "done": done, "counts": counts},
    )


@login_required
def overdue(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    late = list(tasks_overdue_for(actor)[:LIST_LIMIT])
    orphaned = list(tasks_needing_reassignment(actor)[:LIST_LIMIT])
    return render(request, "tasks/overdue.html", {"tasks": late, "orphaned": orphaned})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    task = task_get(actor, pk)
    return render(
        request,
        "tasks/detail.html",
        {
            "task": task,
            "can_work": can_work_on(actor, task),
            "can_reassign": can_reassign(actor, task),
            "people": community_staff(task.community_id) if can_reassign(actor, task) else [],
            "source_url": _source_url(task),
            "source_label": _source_label(task),
            "resident": _resident_to_check(actor, task),
        },
    )


def _resident_to_check(actor: User, task: Task) -> Resident | None:
    """The person a health follow-up (a fever, a positive test) is about, for the worker who goes: where
    they live and a phone to call first (masked until revealed). Only for those who work on the task."""
    if task.source != Task.Source.HEALTH or not task.source_id or not can_work_on(actor, task):
        return None
    try:
        return resident_get(actor, task.source_id)
    except Http404:
        return None


# Where a task's "from" link goes: the page of what it came from.
_SOURCE_PAGES = {
    Task.Source.RESPONSE: "response:detail",
    Task.Source.SCREENING: "screening:campaign",
    Task.Source.VISIT: "health:visit_detail",
    Task.Source.HEALTH: "health:resident_reports",
    Task.Source.KEY_SITE: "health:keysite",
    Task.Source.PHARMACY: "health:pharmacy_report",
    Task.Source.QUESTION: "comms:question",
    Task.Source.INCIDENT: "comms:incident",
    Task.Source.BROADCAST: "comms:broadcast",
}


def _source_url(task: Task) -> str:
    page = _SOURCE_PAGES.get(Task.Source(task.source)) if task.source in Task.Source.values else None
    if page is None or not task.source_id:
        return ""
    try:
        return reverse(page, args=[task.source_id])
    except NoReverseMatch:
        return ""


_SOURCE_LABELS = {
    Task.Source.SCREENING: gettext_lazy("Testing campaign"),
    Task.Source.VISIT: gettext_lazy("Visit"),
    Task.Source.HEALTH: gettext_lazy("Health reports"),
    Task.Source.KEY_SITE: gettext_lazy("Key site"),
    Task.Source.PHARMACY: gettext_lazy("Pharmacy report"),
    Task.Source.QUESTION: gettext_lazy("Resident question"),
    Task.Source.INCIDENT: gettext_lazy("Incident"),
    Task.Source.BROADCAST: pgettext_lazy("notice", "Notice"),
}


def _source_label(task: Task) -> str:
    return str(_SOURCE_LABELS.get(Task.Source(task.source), _("Response")))


@require_POST
@login_required
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    task = task_get(actor, pk)
    try:
        task = task_set_status(
            actor=actor,
            task=task,
            status=request.POST.get("status", ""),
            result=request.POST.get("result", ""),
        )
    except ValidationError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            task.refresh_from_db()
            return render(request, "tasks/_row.html", {"task": task, "error": " ".join(exc.messages)})
        messages.error(request, " ".join(exc.messages))
        return redirect("tasks:detail", pk=pk)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "tasks/_row.html", {"task": task})
    messages.success(request, task.get_status_display())
    return redirect(next_url(request, task.get_absolute_url()))


@require_POST
@login_required
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    task = task_get(actor, pk)
    person = community_staff(task.community_id).filter(pk=posted_id(request.POST.get("assignee"))).first()
    if person is None:
        messages.error(request, _("Choose an active staff member of this community."))
        return redirect("tasks:detail", pk=pk)
    try:
        task_reassign(actor=actor, task=task, assignee=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("tasks:detail", pk=pk)
    messages.success(request, _("Given to %(name)s, who has been notified.") % {"name": person.name})
    return redirect(next_url(request, task.get_absolute_url()))
