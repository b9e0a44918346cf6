"""Departments' webhooks: the event as JSON, signed with the subscription's secret (linli.comms.signing).
Headers: X-Linli-Event, X-Linli-Delivery (the outbox key: the same on a retry, so a receiver drops a repeat)
and X-Linli-Signature. A 2xx is delivered; 5xx, 408, 429 and no answer are retried; other 4xx are not."""

from __future__ import annotations

import json
from collections.abc import Sequence

from linli.comms.channels import OK, Result, deferred, failure
from linli.comms.channels.http import TransportError, forbidden_target, post, retryable
from linli.comms.models import OutboxMessage
from linli.comms.signing import HEADER, signature


def send(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    results: dict[int, Result] = {}
    away = False
    for m in messages:
        if away:
            # The endpoint did not answer or is failing: the rest wait for the next try, none counted.
            results[m.pk] = deferred("waiting: the receiver did not answer an earlier event")
            continue
        endpoint = m.endpoint
        if endpoint is None or not endpoint.is_active:
            results[m.pk] = failure("the subscription was removed", permanent=True)
            continue
        why = forbidden_target(endpoint.url)
        if why:
            results[m.pk] = failure(f"address not allowed: {why}", permanent=True)
            continue
        body = json.dumps(m.payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Linli-Event": m.title,
            "X-Linli-Delivery": m.key,
            HEADER: signature(endpoint.secret, body),
        }
        try:
            answer = post(endpoint.url, body, headers)
        except TransportError as exc:
            results[m.pk] = failure(str(exc))
            away = True
            continue
        if 200 <= answer.status < 300:
            results[m.pk] = OK
        else:
            results[m.pk] = failure(f"answered {answer.status}", permanent=not retryable(answer.status))
            away = retryable(answer.status)
    return results
