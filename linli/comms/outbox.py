"""The outbox: queue messages for channels outside the app, and deliver them from background workers.

Every app queues through outbox_enqueue (or notify_many, which adds the in-app list and each person's
channel preferences), inside its own transaction: the message exists exactly when what caused it does. A
worker kicked after the commit (and the periodic job as a safety net) claims due rows, hands them to their
channel in batches, and records the outcome:

- sent: the channel accepted it; `delivered` when the gateway's receipt says so;
- a failure is retried with exponential backoff (BACKOFF_SECONDS doubling, with jitter) up to MAX_ATTEMPTS,
  then the message is dead and listed for staff (who may send it again);
- a channel that fails, hangs (each call has a timeout) or raises holds up only its own messages.

A claim is a lease: the row is `sending` until lease_until. A worker killed mid-batch leaves its rows in
that state; when the lease runs out another worker takes them again. Whether the killed worker's last
call reached the gateway is unknown, so the message goes again with the same key (the SMS message `id`,
the webhook's X-Linli-Delivery): receivers drop a repeat of a key they have seen, and the person is
reached once. Nothing queued is lost; a message is only ever marked sent after its channel accepted it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.core.bulk import insert_rows
from linli.core.models import User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 6))
BACKOFF_SECONDS = float(getattr(settings, "OUTBOX_BACKOFF_SECONDS", 30))
LEASE_SECONDS = int(getattr(settings, "OUTBOX_LEASE_SECONDS", 60))
BATCH = int(getattr(settings, "OUTBOX_BATCH", 200))

Status = OutboxMessage.Status


@dataclass(frozen=True)
class Outgoing:
    """A message to queue. `key` makes it idempotent: queueing the same key again does nothing."""

    key: str
    channel: str
    title: str
    body: str = ""
    url: str = ""
    address: str = ""  # phone (SMS) or email address
    endpoint_id: int | None = None  # robots and webhooks
    user_id: int | None = None
    resident_id: int | None = None
    broadcast_id: int | None = None
    community_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    not_before: dt.datetime | None = None


_COLUMNS = [
    "key", "channel", "status", "address", "endpoint_id", "user_id", "resident_id", "broadcast_id",
    "community_id", "title", "body", "url", "payload", "urgent", "attempts", "next_attempt_at",
    "lease_until", "created_at", "sent_at", "delivered_at", "provider_id", "last_error",
]  # fmt: skip


def outbox_enqueue(messages: Iterable[Outgoing], *, kick: bool = True) -> int:
    """Queue messages; keys already queued are skipped. Returns how many were queued. Call inside the
    transaction that caused them: the workers are asked to deliver once it commits."""
    now = timezone.now()
    wanted: dict[str, Outgoing] = {}
    for m in messages:
        wanted.setdefault(m.key, m)
    if not wanted:
        return 0
    existing: set[str] = set()
    keys = list(wanted)
    for start in range(0, len(keys), 5000):
        existing.update(
            OutboxMessage.objects.filter(key__in=keys[start : start + 5000]).values_list("key", flat=True)
        )
    rows = [
        (
            m.key[:120], m.channel, Status.QUEUED, m.address[:300], m.endpoint_id, m.user_id, m.resident_id,
            m.broadcast_id, m.community_id, m.title[:300], m.body, m.url[:500], m.payload, m.urgent, 0,
            m.not_before or now, None, now, None, None, "", "",
        )
        for key, m in wanted.items()
        if key not in existing
    ]  # fmt: skip
    insert_rows(OutboxMessage, _COLUMNS, rows)
    if rows and kick:
        transaction.on_commit(_kick)
    return len(rows)


def _kick() -> None:
    from linli.comms.jobs import outbox_deliver_job

    outbox_deliver_job.enqueue()


def robots_post(
    *,
    community_id: int,
    key: str,
    title: str,
    body: str = "",
    url: str = "",
    team: str = "",
    urgent: bool = False,
    kinds: Sequence[str] = (Channel.WECOM, Channel.DINGTALK),
) -> int:
    """Post to the community's WeCom/DingTalk group robots (with `team`: that team's groups and the
    community-wide ones). `key` is made unique per robot."""
    endpoints = ChannelEndpoint.objects.filter(
        kind__in=list(kinds), community_id=community_id, is_active=True
    )
    endpoints = endpoints.filter(Q(team="") | Q(team=team)) if team else endpoints.filter(team="")
    return outbox_enqueue(
        Outgoing(
            key=f"{key}:e{e.pk}",
            channel=e.kind,
            endpoint_id=e.pk,
            title=title,
            body=body,
            url=url,
            urgent=urgent,
            community_id=community_id,
        )
        for e in endpoints.only("pk", "kind")
    )


WEBHOOK_EVENTS = ("case.created", "incident.reported", "response.activated")


def webhook_event(
    *, event: str, key: str, data: dict[str, Any], community_id: int | None, street_id: int | None = None
) -> int:
    """Queue `event` for every active subscription to it whose scope covers the community (a street's
    subscription covers its communities). `key` identifies the event (e.g. "incident:42"); each
    subscription gets it once."""
    from linli.registry.models import Community

    if street_id is None and community_id is not None:
        street_id = Community.objects.filter(pk=community_id).values_list("street_id", flat=True).first()
    scope = Q(community__isnull=True, street__isnull=True)
    if community_id is not None:
        scope |= Q(community_id=community_id)
    if street_id is not None:
        scope |= Q(street_id=street_id, community__isnull=True)
    endpoints = ChannelEndpoint.objects.filter(scope, kind=Channel.WEBHOOK, is_active=True).filter(
        Q(token__isnull=True) | Q(token__revoked_at__isnull=True)
    )
    now = timezone.now()
    chosen = [e for e in endpoints if event in (e.events or [])]
    return outbox_enqueue(
        Outgoing(
            key=f"wh:{key}:{event}:e{e.pk}",
            channel=Channel.WEBHOOK,
            endpoint_id=e.pk,
            title=event,
            payload={"event": event, "id": f"{key}:{event}", "created_at": now.isoformat(), "data": data},
            community_id=community_id,
        )
        for e in chosen
    )


def user_addresses(users: Iterable[User]) -> dict[int, tuple[str, str]]:
    """(phone, email) of each user, for the channels their preferences switch on."""
    return {u.pk: (u.phone, u.email) for u in users}


# --- delivery ---------------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return timezone.now()


def backoff(attempts: int) -> dt.timedelta:
    """BACKOFF_SECONDS, doubling with each failure, with ±20 % jitter so that a gateway that comes back is
    not hit by every waiting message at the same second."""
    base = BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=base * random.uniform(0.8, 1.2))


def claim(batch: int = BATCH, *, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Take up to `batch` due messages (queued and due, or sending with an expired lease) for this worker:
    they become `sending` until now + LEASE_SECONDS. Several workers on several machines take disjoint
    rows (SKIP LOCKED on PostgreSQL; SQLite has one writer at a time)."""
    now = now or _now()
    lease = now + dt.timedelta(seconds=LEASE_SECONDS)
    due = Q(status=Status.QUEUED, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lte=now)
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return []
        OutboxMessage.objects.filter(pk__in=ids).update(status=Status.SENDING, lease_until=lease)
    return list(OutboxMessage.objects.filter(pk__in=ids).select_related("endpoint").order_by("id"))


def deliver(batch: int = BATCH, *, rounds: int | None = None) -> int:
    """Claim and send until nothing is due (or `rounds` claims). Returns how many messages were handled."""
    from linli.comms.channels import send_messages

    handled = 0
    done_rounds = 0
    while rounds is None or done_rounds < rounds:
        messages = claim(batch)
        if not messages:
            break
        done_rounds += 1
        results = send_messages(messages)
        record(messages, results)
        handled += len(messages)
    return handled


def record(messages: Sequence[OutboxMessage], results: dict[int, Any]) -> None:
    """Write each message's outcome: results[id] is a channels.Result."""
    now = _now()
    sent: dict[str, list[int]] = {}
    endpoint_ok: set[int] = set()
    endpoint_failed: dict[int, str] = {}
    with transaction.atomic():
        for m in messages:
            result = results.get(m.pk)
            if result is not None and result.ok:
                sent.setdefault(result.provider_id, []).append(m.pk)
                if m.endpoint_id:
                    endpoint_ok.add(m.endpoint_id)
                continue
            error = (result.error if result is not None else "no answer from the channel")[:500]
            attempts = m.attempts + 1
            if m.endpoint_id:
                endpoint_failed[m.endpoint_id] = error
            if (result is not None and result.permanent) or attempts >= MAX_ATTEMPTS:
                OutboxMessage.objects.filter(pk=m.pk, status=Status.SENDING).update(
                    status=Status.DEAD, attempts=attempts, last_error=error, lease_until=None
                )
            else:
                OutboxMessage.objects.filter(pk=m.pk, status=Status.SENDING).update(
                    status=Status.QUEUED,
                    attempts=attempts,
                    last_error=error,
                    lease_until=None,
                    next_attempt_at=now + backoff(attempts),
                )
        for provider_id, ids in sent.items():
            for start in range(0, len(ids), 5000):
                OutboxMessage.objects.filter(pk__in=ids[start : start + 5000], status=Status.SENDING).update(
                    status=Status.SENT, sent_at=now, provider_id=provider_id, lease_until=None, last_error=""
                )
        if endpoint_ok:
            ChannelEndpoint.objects.filter(pk__in=endpoint_ok).update(last_success_at=now)
        for endpoint_id, error in endpoint_failed.items():
            ChannelEndpoint.objects.filter(pk=endpoint_id).update(last_failure_at=now, last_error=error)


def retry(*, actor: User, ids: Iterable[int]) -> int:
    """Staff send dead messages again (the gateway is fixed, the number corrected)."""
    from linli.core.audit import audit_record

    ids = list(ids)
    count = OutboxMessage.objects.filter(pk__in=ids, status=Status.DEAD).update(
        status=Status.QUEUED, attempts=0, next_attempt_at=_now(), last_error=""
    )
    if count:
        audit_record(actor=actor, action="update", detail=f"outbox: {count} failed messages sent again")
        transaction.on_commit(_kick)
    return count


def mark_delivered(
    *, provider_ids: Iterable[str] = (), keys: Iterable[str] = (), at: dt.datetime | None = None
) -> int:
    """A gateway's receipt: the messages reached the phone."""
    at = at or _now()
    q = Q(provider_id__in=list(provider_ids)) | Q(key__in=list(keys))
    return OutboxMessage.objects.filter(q, status__in=[Status.SENT, Status.SENDING, Status.QUEUED]).update(
        status=Status.DELIVERED, delivered_at=at, lease_until=None
    )


def mark_failed(*, keys: Iterable[str], error: str) -> int:
    """A gateway's receipt that a message could not be delivered (a wrong number): it is dead, listed."""
    return (
        OutboxMessage.objects.filter(key__in=list(keys))
        .exclude(status=Status.DELIVERED)
        .update(status=Status.DEAD, last_error=error[:500], lease_until=None)
    )


def vendor_is_postgres() -> bool:
    return connection.vendor == "postgresql"
