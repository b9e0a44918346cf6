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
reached once. Nothing queued is lost; a message is only ever marked sent after its channel accepted it. A worker
restarted on the same machine takes back a dead one's messages at once (claimed_by names the process), and
for SMS first asks the gateway which of them it already has (SMS_GATEWAY_LOOKUP_URL), so none is sent twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.core.bulk import insert_rows
from linli.core.models import User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 6))
BACKOFF_SECONDS = float(getattr(settings, "OUTBOX_BACKOFF_SECONDS", 30))
LEASE_SECONDS = int(getattr(settings, "OUTBOX_LEASE_SECONDS", 60))
BATCH = int(getattr(settings, "OUTBOX_BATCH", 500))
# Delivery jobs queued at most for one fan-out: about the number of task workers.
PARALLEL = int(getattr(settings, "OUTBOX_PARALLEL", 2))

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
    "lease_until", "claimed_by", "created_at", "sent_at", "delivered_at", "provider_id", "last_error",
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
            m.broadcast_id, m.community_id, " ".join(m.title.split())[:300], m.body, m.url[:500], m.payload, m.urgent, 0,
            m.not_before or now, None, "", now, None, None, "", "",
        )
        for key, m in wanted.items()
        if key not in existing
    ]  # fmt: skip
    insert_rows(OutboxMessage, _COLUMNS, rows)
    if rows and kick:
        # A big fan-out is shared by several workers (each job takes disjoint batches until none is left).
        jobs = min(PARALLEL, 1 + len(rows) // (2 * BATCH))
        transaction.on_commit(lambda: _kick(jobs))
    return len(rows)


def _kick(jobs: int = 1) -> None:
    from linli.comms.jobs import outbox_deliver_job

    for _ in range(jobs):
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
    broadcast_id: int | None = None,
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
            broadcast_id=broadcast_id,
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
        Q(token__isnull=True) | Q(token__revoked_at__isnull=True, token__user__is_active=True)
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


@functools.cache
def worker_identity() -> str:
    """This process, as recorded on the messages it holds: host, pid and the process's start time (so a
    reused pid is not mistaken for the old process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def _start_ticks(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text[text.rfind(")") + 2 :].split()[19]


def _claim_tag() -> str:
    """This worker and this claim: host:pid:start:claim. The first three name the process (see _dead_here);
    the last tells this claim's rows from those of another claim by the same process."""
    return f"{worker_identity()}:{uuid.uuid4().hex[:8]}"[:100]


def _dead_here(now: dt.datetime) -> list[str]:
    """Claims on this machine whose worker is no longer running (killed, crashed)."""
    host = socket.gethostname()
    holders = (
        OutboxMessage.objects.filter(
            status=Status.SENDING, lease_until__gt=now, claimed_by__startswith=f"{host}:"
        )
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    dead = []
    for holder in holders:
        _host, pid, ticks = [*holder.split(":"), "", "", ""][:3]
        if not pid.isdigit() or _start_ticks(int(pid)) != ticks or not ticks:
            dead.append(holder)
    return dead


def claim(batch: int = BATCH, *, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Take up to `batch` due messages for this worker: queued and due; or `sending` but abandoned (the
    lease ran out, or the worker holding it on this machine is gone). They become `sending` until now +
    LEASE_SECONDS. Several workers on several machines take disjoint rows (SKIP LOCKED on PostgreSQL;
    SQLite has one writer at a time). Abandoned messages come back with `in_doubt` set: their last call may
    or may not have reached the channel."""
    now = now or _now()
    lease = now + dt.timedelta(seconds=LEASE_SECONDS)
    abandoned = Q(status=Status.SENDING, lease_until__lte=now)
    dead = _dead_here(now)
    if dead:
        abandoned |= Q(status=Status.SENDING, claimed_by__in=dead)
    due = Q(status=Status.QUEUED, next_attempt_at__lte=now) | abandoned
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("next_attempt_at", "id")
            .values_list("id", "status")[:batch]
        )
        if not rows:
            return []
        ids = [pk for pk, _status in rows]
        OutboxMessage.objects.filter(pk__in=ids).update(
            status=Status.SENDING, lease_until=lease, claimed_by=_claim_tag()
        )
    in_doubt = {pk for pk, status in rows if status == Status.SENDING}
    messages = list(OutboxMessage.objects.filter(pk__in=ids).select_related("endpoint").order_by("id"))
    for m in messages:
        m.in_doubt = m.pk in in_doubt  # type: ignore[attr-defined]
    return messages


class _Heartbeat:
    """Keeps a claim's lease alive while its messages are being sent (a slow webhook or mail server may take
    longer than one lease): every third of LEASE_SECONDS the lease is pushed on, so no other worker takes
    the messages of a worker that is alive. A worker that dies stops renewing."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import DatabaseError, connection

        try:
            while not self._stop.wait(LEASE_SECONDS / 3):
                try:
                    OutboxMessage.objects.filter(claimed_by=self.tag, status=Status.SENDING).update(
                        lease_until=_now() + dt.timedelta(seconds=LEASE_SECONDS)
                    )
                except DatabaseError:
                    log.exception("could not renew the outbox lease %s", self.tag)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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
        with _Heartbeat(messages[0].claimed_by):
            results = send_messages(messages)
        record(messages, results)
        handled += len(messages)
    return handled


def record(messages: Sequence[OutboxMessage], results: dict[int, Any]) -> None:
    """Write each message's outcome: results[id] is a channels.Result. Only rows still held by this claim
    change (a row another worker took meanwhile, its lease having run out, is that worker's to record).
    A deferred message (not tried: its robot was limiting, its endpoint away) waits without a try counted."""
    now = _now()
    sent: list[int] = []
    with_provider: list[OutboxMessage] = []
    endpoint_ok: set[int] = set()
    endpoint_failed: dict[int, str] = {}
    with transaction.atomic():
        for m in messages:
            result = results.get(m.pk)
            mine = OutboxMessage.objects.filter(pk=m.pk, status=Status.SENDING, claimed_by=m.claimed_by)
            if result is not None and result.deferred:
                mine.update(
                    status=Status.QUEUED,
                    lease_until=None,
                    claimed_by="",
                    next_attempt_at=now + dt.timedelta(seconds=result.retry_after),
                )
                continue
            if result is not None and result.ok:
                sent.append(m.pk)
                if result.provider_id:
                    m.provider_id = result.provider_id
                    with_provider.append(m)
                if m.endpoint_id:
                    endpoint_ok.add(m.endpoint_id)
                continue
            error = (result.error if result is not None else "no answer from the channel")[:500]
            attempts = m.attempts + 1
            if m.endpoint_id:
                endpoint_failed[m.endpoint_id] = error
            if (result is not None and result.permanent) or attempts >= MAX_ATTEMPTS:
                OutboxMessage.objects.filter(
                    pk=m.pk, status=Status.SENDING, lease_until=m.lease_until
                ).update(status=Status.DEAD, attempts=attempts, last_error=error, lease_until=None)
            else:
                OutboxMessage.objects.filter(
                    pk=m.pk, status=Status.SENDING, lease_until=m.lease_until
                ).update(
                    status=Status.QUEUED,
                    attempts=attempts,
                    last_error=error,
                    lease_until=None,
                    next_attempt_at=now + backoff(attempts),
                )
        tags = {m.pk: m.claimed_by for m in messages}
        by_tag: dict[str, list[int]] = {}
        for pk in sent:
            by_tag.setdefault(tags[pk], []).append(pk)
        for tag, ids in by_tag.items():
            for start in range(0, len(ids), 5000):
                OutboxMessage.objects.filter(
                    pk__in=ids[start : start + 5000], status=Status.SENDING, claimed_by=tag
                ).update(status=Status.SENT, sent_at=now, lease_until=None, last_error="", claimed_by="")
        if with_provider:
            OutboxMessage.objects.bulk_update(with_provider, ["provider_id"], batch_size=500)
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
