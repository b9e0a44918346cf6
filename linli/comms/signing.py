"""HMAC signatures for webhooks, both ways: what Linli sends to departments is signed with the subscription's
secret, and what a gateway sends to Linli (SMS receipts and replies) must carry a valid signature.

The header is `X-Linli-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the scheme
Stripe and others use): the timestamp in the signed text stops a captured call being replayed later."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Linli-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, *, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` within TOLERANCE_SECONDS of now."""
    if not secret or not header:
        return False
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, body, t).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
