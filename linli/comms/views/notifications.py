from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from linli.comms.selectors import notifications_for
from linli.comms.services import notifications_mark_read
from linli.core.models import User


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    items = list(notifications_for(actor)[:100])
    return render(request, "comms/inbox.html", {"items": items})


@require_POST
@login_required
def mark_read(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    notifications_mark_read(actor=actor)
    return redirect("comms:inbox")
