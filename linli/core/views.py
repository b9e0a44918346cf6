from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from linli.core.auth import ThrottledAuthenticationForm
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.core.selectors import audit_for


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from linli.core.models import ImportJob
    from linli.health.selfreport import day_counts
    from linli.registry.selectors import (
        buildings_with_counts,
        communities_with_counts,
        grids_for,
        overview,
        residents_to_complete,
    )
    from linli.response.selectors import responses_for
    from linli.screening.selectors import campaigns_under_way
    from linli.tasks.selectors import tasks_mine, tasks_needing_reassignment
    from linli.tasks.services import can_reassign_any

    user: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {
        "overview": overview(user),
        "active_responses": list(
            responses_for(user)
            .filter(status="active")
            .select_related("community")
            .order_by("-activated_at")[:5]
        ),
        "my_tasks": list(tasks_mine(user)[:5]),
        "my_overdue": tasks_mine(user, overdue=True).count(),
        "orphaned_count": tasks_needing_reassignment(user).count() if can_reassign_any(user) else 0,
        "testing_now": campaigns_under_way(user),
        "health_today": day_counts(user, timezone.localdate()),
    }
    if user.role in (Role.GRID_WORKER, Role.GRID_LEADER) and not user.is_superuser:
        mine = buildings_with_counts(user).filter(worker=user)
        context["my_buildings"] = mine if mine.exists() else buildings_with_counts(user)
        context["to_complete"] = residents_to_complete(user)
        template = "core/home_grid.html"
    elif user.scope_level == "street" or user.is_superuser:
        context["communities"] = communities_with_counts(user)
        template = "core/home_street.html"
    else:
        context["grids"] = grids_for(user).prefetch_related("buildings", "staff")
        if user.community is not None:
            from linli.supplies.selectors import board

            context["supplies_short"] = [r for r in board(user.community) if r.is_short]
        context["to_complete"] = residents_to_complete(user, limit=10)
        if user.can_import:
            context["imports"] = ImportJob.objects.filter(community=user.community).defer("content")[:5]
        template = "core/home_community.html"
    return render(request, template, context)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = audit_for(request.user)  # type: ignore[arg-type]
    action = request.GET.get("action", "")
    if action in AuditLog.Action.values:
        qs = qs.filter(action=action)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request, "core/audit.html", {"page": page, "actions": AuditLog.Action.choices, "action": action}
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    from django.http import HttpResponsePermanentRedirect
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("linli/favicon.svg"))


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
