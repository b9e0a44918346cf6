"""Sending notifications. Every app calls notify(); delivery channels plug in behind it later."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from linli.comms.models import Notification
from linli.core.models import User


@dataclass(frozen=True)
class Message:
    user_id: int
    title: str
    body: str = ""
    url: str = ""
    kind: str = Notification.Kind.INFO
    urgent: bool = False


def notify_many(messages: Iterable[Message]) -> int:
    """Queue many messages in one insert (the deadline scan sends thousands per pass)."""
    rows = [
        Notification(
            user_id=m.user_id,
            title=m.title[:300],
            body=m.body,
            url=m.url[:300],
            kind=m.kind,
            urgent=m.urgent,
        )
        for m in messages
    ]
    Notification.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def notify(
    *,
    users: Iterable[User],
    title: str,
    body: str = "",
    url: str = "",
    kind: str = Notification.Kind.INFO,
    urgent: bool = False,
) -> int:
    seen: set[int] = set()
    messages = []
    for user in users:
        if user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        messages.append(Message(user.pk, title, body, url, kind, urgent))
    return notify_many(messages)


def notifications_mark_read(*, actor: User, ids: Iterable[int] | None = None) -> int:
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
