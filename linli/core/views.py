from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from linli.core.auth import ThrottledAuthenticationForm
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.core.selectors import audit_for


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from linli.core.models import ImportJob
    from linli.registry.selectors import (
        buildings_with_counts,
        communities_with_counts,
        grids_for,
        overview,
        residents_to_complete,
    )

    user = request.user
    context: dict[str, object] = {"overview": overview(user)}  # type: ignore[arg-type]
    if user.role in (Role.GRID_WORKER, Role.GRID_LEADER) and not user.is_superuser:  # type: ignore[union-attr]
        mine = buildings_with_counts(user).filter(worker=user)  # type: ignore[arg-type]
        context["my_buildings"] = mine if mine.exists() else buildings_with_counts(user)  # type: ignore[arg-type]
        context["to_complete"] = residents_to_complete(user)  # type: ignore[arg-type]
        template = "core/home_grid.html"
    elif user.scope_level == "street" or user.is_superuser:  # type: ignore[union-attr]
        context["communities"] = communities_with_counts(user)  # type: ignore[arg-type]
        template = "core/home_street.html"
    else:
        context["grids"] = grids_for(user).prefetch_related("buildings", "staff")  # type: ignore[arg-type]
        context["to_complete"] = residents_to_complete(user, limit=10)  # type: ignore[arg-type]
        if user.can_import:  # type: ignore[union-attr]
            context["imports"] = ImportJob.objects.filter(community_id=user.community_id).defer("content")[:5]  # type: ignore[union-attr]
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
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
