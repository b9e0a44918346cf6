"""Delivery channels. Each takes a batch of outbox messages and says, per message, whether it went:
`Result(ok=True)`, or a failure that is retried (`permanent=False`: a timeout, a 5xx, a rate limit) or not
(`permanent=True`: a wrong number, an invalid robot key, a 4xx). A channel that raises fails its own batch
only; send_messages never raises."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from linli.comms.models import Channel, OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    ok: bool
    error: str = ""
    permanent: bool = False
    provider_id: str = ""
    # Not tried at all (its robot is limiting, its endpoint is away): it waits `retry_after` seconds and no
    # try is counted against it.
    deferred: bool = False
    retry_after: float = 0


OK = Result(ok=True)


def failure(error: str, *, permanent: bool = False) -> Result:
    return Result(ok=False, error=error[:500], permanent=permanent)


def deferred(reason: str, *, retry_after: float = 60) -> Result:
    return Result(ok=False, error=reason[:500], deferred=True, retry_after=retry_after)


# Messages one robot or webhook endpoint gets from one claim: the rest go in the next claims, so a slow
# endpoint cannot hold a worker for long.
PER_ENDPOINT = 50
# Order within a claim: a batch of SMS is one quick call; robots, webhooks and mail go one by one after it.
_ORDER = {Channel.SMS: 0, Channel.EMAIL: 1, Channel.WECOM: 2, Channel.DINGTALK: 2, Channel.WEBHOOK: 3}


def send_messages(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    """Send a claimed batch, grouped by channel (and by robot or webhook endpoint)."""
    from linli.comms.channels import email, robots, sms, webhook

    senders = {
        Channel.SMS: sms.send,
        Channel.EMAIL: email.send,
        Channel.WECOM: robots.send_wecom,
        Channel.DINGTALK: robots.send_dingtalk,
        Channel.WEBHOOK: webhook.send,
    }
    groups: dict[tuple[str, int | None], list[OutboxMessage]] = defaultdict(list)
    for m in messages:
        groups[(m.channel, m.endpoint_id)].append(m)
    results: dict[int, Result] = {}
    for (channel, endpoint), group in sorted(groups.items(), key=lambda kv: _ORDER.get(kv[0][0], 9)):  # type: ignore[call-overload]
        if endpoint is not None and len(group) > PER_ENDPOINT:
            results.update(
                {m.pk: deferred("waiting for its turn", retry_after=0) for m in group[PER_ENDPOINT:]}
            )
            group = group[:PER_ENDPOINT]
        sender = senders.get(channel)  # type: ignore[call-overload]
        if sender is None:
            results.update({m.pk: failure(f"unknown channel {channel}", permanent=True) for m in group})
            continue
        try:
            results.update(sender(group))
        except Exception as exc:  # a broken channel must not stop the others
            log.exception("channel %s failed", channel)
            # Messages the channel may have sent before it broke are in doubt: they go again with their key.
            results.update(
                {m.pk: failure(f"{type(exc).__name__}: {exc}") for m in group if m.pk not in results}
            )
    return results
