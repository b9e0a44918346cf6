"""Sending notifications. Every app calls notify()/notify_many(): the in-app list, and the outbox for each
person's other channels (SMS, email) by their preferences."""

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
    """Write many notifications in one insert (the deadline scan sends thousands per pass), and queue them on
    each person's other channels by their preferences (comms.preferences)."""
    messages = list(messages)
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
    from linli.comms.preferences import messages_for_channels

    messages_for_channels(messages, [n.pk for n in rows])
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
