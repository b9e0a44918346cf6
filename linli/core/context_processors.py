from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if user.is_outside:
        items = [
            ("me", _("My page"), reverse("volunteers:me")),
            ("badge", _("My badge"), reverse("comms:my_badge")),
        ]
        if user.role == "enterprise":
            items.append(("enrol", _("Enrol employees"), reverse("volunteers:enrol")))
        elif _testing_open(user):
            items.append(("checkin", _("Testing check-in"), reverse("screening:checkin_home")))
        return _nav(request, items)
    items = [
        ("home", _("Home"), reverse("home")),
        ("tasks", _("My tasks"), reverse("tasks:mine")),
        ("responses", _("Responses"), reverse("response:list")),
        ("plans", _("Plans"), reverse("plans:list")),
        ("supplies", _("Supplies"), reverse("supplies:board")),
        ("volunteers", _("Volunteers"), reverse("volunteers:pool")),
        ("epidemic", _("Epidemic"), reverse("epidemic:board")),
        ("screening", _("Mass testing"), reverse("screening:campaigns")),
        ("health", _("Health monitoring"), reverse("health:board")),
        ("reports", _("Daily report"), reverse("reports:daily")),
        ("comms", _("Communications"), reverse("comms:hub")),
        ("residents", _("Residents"), reverse("registry:residents")),
        ("buildings", _("Buildings"), reverse("registry:buildings")),
    ]
    if user.can_import:
        items.append(("imports", _("Imports"), reverse("registry:imports")))
    items.append(("audit", _("Audit log"), reverse("audit")))
    # The back office is not scoped by area, so only system administrators get it.
    if user.is_superuser:
        items.append(("admin", _("Back office"), reverse("admin:index")))
    return _nav(request, items)


def _testing_open(user: Any) -> bool:
    """A volunteer sees the check-in page in the menu while their community has a campaign under way."""
    from linli.screening.models import Campaign
    from linli.screening.selectors import checkin_campaigns_for

    return checkin_campaigns_for(user).filter(status=Campaign.Status.NOTIFIED).exists()


def _nav(request: HttpRequest, items: list[tuple[str, str, str]]) -> dict[str, Any]:
    user: Any = request.user
    path = request.path
    nav = []
    for key, label, url in items:
        active = path == url if key in ("home", "me") else path.startswith(url)
        nav.append({"key": key, "label": label, "url": url, "active": active})
    from linli.comms.selectors import unread_count

    return {"nav_items": nav, "unread_notifications": unread_count(user)}
