from __future__ import annotations

from django.db.models import QuerySet

from linli.comms.models import Notification
from linli.core.models import User


def notifications_for(actor: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=actor).order_by("-created_at", "-id")


def unread_count(actor: User) -> int:
    return Notification.objects.filter(user=actor, read_at__isnull=True).count()
