"""SMS through a gateway. Linli speaks one plain HTTP interface (HttpGateway); a provider's own API sits
behind a small adapter the intranet's operators run, or implements this interface directly:

    POST SMS_GATEWAY_URL
    Authorization: Bearer SMS_GATEWAY_TOKEN
    X-Linli-Signature: t=…,v1=…            (linli.comms.signing, with SMS_GATEWAY_SECRET)
    {"sender": "【邻里】", "messages": [{"id": "<key>", "to": "13800000000", "text": "…"}, …]}
  → 200 {"results": [{"id": "<key>", "status": "accepted" | "rejected", "provider_id": "…", "error": "…"}]}

`id` is the outbox key: a gateway must drop a message whose id it has accepted before (a worker that died
after sending sends it again). With SMS_GATEWAY_LOOKUP_URL set, Linli first asks about such messages:

    POST SMS_GATEWAY_LOOKUP_URL {"ids": ["<key>", …]}  → 200 {"found": [{"id": "<key>", "provider_id": "…"}]}

and sends only those the gateway does not have, so nobody gets the same text twice even from a gateway
that does not drop repeats. A rejected message is not retried (a wrong number); no answer, a 5xx or a
429 is. The gateway reports back to /api/v1/comms/sms/receipts (delivered or failed) and forwards residents'
replies to /api/v1/comms/sms/replies, both signed with SMS_GATEWAY_SECRET.

SMS_GATEWAY_URL "log:" writes messages to the log instead (development and the demo); empty: SMS is not
configured and SMS messages fail at once, listed on the channels page."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from django.conf import settings

from linli.comms.channels import OK, Result, failure
from linli.comms.channels.http import TransportError, post, retryable
from linli.comms.models import OutboxMessage
from linli.comms.signing import HEADER, signature
from linli.core.identity import mask_phone

log = logging.getLogger("linli.sms")

BATCH = 500


def gateway_url() -> str:
    return str(getattr(settings, "SMS_GATEWAY_URL", ""))


def sender_name() -> str:
    return str(getattr(settings, "SMS_SENDER", "【邻里】"))


# A notification's SMS is at most about two messages (67 Chinese characters each, and the link): the whole
# of a long text is in the app, behind the link.
TEXT_MAX = 130


def text_of(m: OutboxMessage) -> str:
    """The SMS text: as composed (broadcasts compose theirs and check its length), else the title and as
    much of the body as fits in TEXT_MAX characters, then the link."""
    if m.payload.get("sms"):
        return str(m.payload["sms"])
    text = m.title[:TEXT_MAX]
    body = " ".join(m.body.split())
    if body and body != m.title and len(text) + 1 < TEXT_MAX:
        room = TEXT_MAX - len(text) - 1
        text += " " + (body if len(body) <= room else body[: room - 1] + "…")
    return f"{text} {m.url}" if m.url else text


def send(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    url = gateway_url()
    if not url:
        return {
            m.pk: failure("SMS gateway not configured (SMS_GATEWAY_URL)", permanent=True) for m in messages
        }
    if url == "log:":
        for m in messages:
            log.info("SMS to %s: %s", mask_phone(m.address), text_of(m))
        return {m.pk: OK for m in messages}
    results: dict[int, Result] = {}
    in_doubt = [m for m in messages if getattr(m, "in_doubt", False)]
    if in_doubt:
        results.update(_already_sent(in_doubt))
    to_send = [m for m in messages if m.pk not in results]
    for start in range(0, len(to_send), BATCH):
        results.update(_send_batch(url, to_send[start : start + BATCH]))
    return results


def _already_sent(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    """Of messages a dead worker may have sent, those the gateway says it has (nothing when it cannot say:
    they go again, with the same id)."""
    url = str(getattr(settings, "SMS_GATEWAY_LOOKUP_URL", ""))
    if not url:
        return {}
    by_key = {m.key: m for m in messages}
    body = json.dumps({"ids": list(by_key)}).encode()
    try:
        answer = post(url, body, _headers(body))
    except TransportError as exc:
        log.warning("SMS gateway lookup failed: %s", exc)
        return {}
    data = answer.json() if answer.status == 200 else None
    found: dict[int, Result] = {}
    for item in (data or {}).get("found", []) if isinstance(data, dict) else []:
        m = by_key.get(str(item.get("id", "")))
        if m is not None:
            found[m.pk] = Result(ok=True, provider_id=str(item.get("provider_id", ""))[:100])
    return found


def _headers(body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    token = str(getattr(settings, "SMS_GATEWAY_TOKEN", ""))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    secret = str(getattr(settings, "SMS_GATEWAY_SECRET", ""))
    if secret:
        headers[HEADER] = signature(secret, body)
    return headers


def _send_batch(url: str, batch: Sequence[OutboxMessage]) -> dict[int, Result]:
    by_key = {m.key: m for m in batch}
    payload = {
        "sender": sender_name(),
        "messages": [{"id": m.key, "to": m.address, "text": text_of(m)} for m in batch],
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    try:
        answer = post(url, body, _headers(body))
    except TransportError as exc:
        return {m.pk: failure(f"SMS gateway: {exc}") for m in batch}
    if answer.status != 200:
        error = f"SMS gateway answered {answer.status}"
        return {m.pk: failure(error, permanent=not retryable(answer.status)) for m in batch}
    data = answer.json()
    results: dict[int, Result] = {}
    for item in (data or {}).get("results", []) if isinstance(data, dict) else []:
        m = by_key.get(str(item.get("id", "")))
        if m is None:
            continue
        if item.get("status") in ("accepted", "duplicate"):
            results[m.pk] = Result(ok=True, provider_id=str(item.get("provider_id", ""))[:100])
        else:
            results[m.pk] = failure(f"refused: {item.get('error') or item.get('status')}", permanent=True)
    for m in batch:
        # Not in the answer: the gateway did not say, so it goes again (with the same id).
        results.setdefault(m.pk, failure("SMS gateway did not answer for this message"))
    return results
