"""The SMS gateway calls back: delivery receipts and residents' replies. No token: each call must carry the
gateway's signature (X-Linli-Signature with SMS_GATEWAY_SECRET, see linli.comms.signing); anything else is
refused with 401 and nothing is read from it."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from ninja import Router

from linli.comms import outbox
from linli.comms.signing import HEADER, verify

router = Router(tags=["comms"])
log = logging.getLogger(__name__)


def _signed_body(request: HttpRequest) -> dict[str, Any] | None:
    secret = str(getattr(settings, "SMS_GATEWAY_SECRET", ""))
    if not verify(secret, request.body, request.headers.get(HEADER)):
        log.warning(
            "SMS gateway callback with a bad or missing signature from %s", request.META.get("REMOTE_ADDR")
        )
        return None
    try:
        data = json.loads(request.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refused() -> HttpResponse:
    return JsonResponse({"detail": "bad signature"}, status=401)


@router.post("/sms/receipts", auth=None, summary="SMS gateway: delivery receipts (signed)")
def sms_receipts(request: HttpRequest) -> HttpResponse:
    """`{"receipts": [{"id": "<message id>", "status": "delivered" | "failed", "error": "…", "at": ISO}]}`."""
    data = _signed_body(request)
    if data is None:
        return _refused()
    delivered: list[str] = []
    failed: dict[str, str] = {}
    for item in data.get("receipts", []) if isinstance(data.get("receipts"), list) else []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        if item.get("status") == "delivered":
            delivered.append(str(item["id"]))
        elif item.get("status") == "failed":
            failed[str(item["id"])] = str(item.get("error") or "not delivered")
    count = outbox.mark_delivered(keys=delivered) if delivered else 0
    for key, error in failed.items():
        count += outbox.mark_failed(keys=[key], error=f"gateway: {error}")
    return JsonResponse({"updated": count})


@router.post("/sms/replies", auth=None, summary="SMS gateway: residents' replies (signed)")
def sms_replies(request: HttpRequest) -> HttpResponse:
    """`{"replies": [{"from": "13800000000", "text": "1", "at": ISO}]}`: a reply such as 1 or 收到 confirms the
    latest notice that asked that phone for a confirmation."""
    from linli.comms.broadcasts import broadcast_ack_by_reply

    data = _signed_body(request)
    if data is None:
        return _refused()
    confirmed = 0
    for item in data.get("replies", []) if isinstance(data.get("replies"), list) else []:
        if not isinstance(item, dict):
            continue
        at = parse_datetime(str(item.get("at") or "")) if item.get("at") else None
        if broadcast_ack_by_reply(phone=str(item.get("from", "")), text=str(item.get("text", "")), at=at):
            confirmed += 1
    return JsonResponse({"confirmed": confirmed})
