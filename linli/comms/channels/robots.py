"""WeCom (企业微信) and DingTalk (钉钉) group robots, in their own webhook message formats.

WeCom: POST <robot URL with ?key=…> {"msgtype": "markdown", "markdown": {"content": "…"}} → {"errcode": 0};
45009 is its rate limit (20 messages a minute per robot), retried later.
DingTalk: POST <robot URL with ?access_token=…>[&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256 of
"<timestamp>\\n<secret>" keyed with the secret>] {"msgtype": "markdown", "markdown": {"title", "text"},
"at": {"isAtAll": urgent}} → {"errcode": 0}; 130101 is its rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Mapping, Sequence

from linli.comms.channels import OK, Result, deferred, failure
from linli.comms.channels.http import TransportError, post_json, retryable
from linli.comms.models import OutboxMessage

WECOM_RATE_LIMITED = {45009, -1}
DINGTALK_RATE_LIMITED = {130101, -1}
MAX_BYTES = 4000  # WeCom's markdown content is at most 4,096 bytes


def _markdown(m: OutboxMessage, *, heading: str) -> str:
    lines = [f"{heading} {'🔴 ' if m.urgent else ''}{m.title}"]
    if m.body:
        lines.append(m.body)
    if m.url:
        lines.append(f"[→ 查看 / open]({m.url})")
    text = "\n\n".join(lines)
    while len(text.encode()) > MAX_BYTES:
        text = text[: int(len(text) * 0.9)] + "…"
    return text


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(mac))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _post(url: str, payload: Mapping[str, object], rate_limited: set[int]) -> Result:
    try:
        answer = post_json(url, payload)
    except TransportError as exc:
        return failure(str(exc))
    if answer.status != 200:
        return failure(f"robot answered {answer.status}", permanent=not retryable(answer.status))
    data = answer.json()
    code = data.get("errcode") if isinstance(data, dict) else None
    if code == 0:
        return OK
    message = (
        f"robot error {code}: {data.get('errmsg', '') if isinstance(data, dict) else answer.body[:200]!r}"
    )
    return failure(message, permanent=code not in rate_limited)


def send_wecom(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    results: dict[int, Result] = {}
    for m in messages:
        if m.endpoint is None:
            results[m.pk] = failure("no robot", permanent=True)
            continue
        payload = {"msgtype": "markdown", "markdown": {"content": _markdown(m, heading="**邻里**")}}
        results[m.pk] = _post(m.endpoint.url, payload, WECOM_RATE_LIMITED)
        if not results[m.pk].ok and not results[m.pk].permanent:
            break  # the robot is limited or away: the rest of its batch waits too
    for m in messages:
        results.setdefault(m.pk, deferred("waiting: the robot is limiting or away"))
    return results


def send_dingtalk(messages: Sequence[OutboxMessage]) -> dict[int, Result]:
    results: dict[int, Result] = {}
    for m in messages:
        if m.endpoint is None:
            results[m.pk] = failure("no robot", permanent=True)
            continue
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": m.title[:60], "text": _markdown(m, heading="###")},
            "at": {"isAtAll": bool(m.urgent)},
        }
        results[m.pk] = _post(
            dingtalk_signed_url(m.endpoint.url, m.endpoint.secret), payload, DINGTALK_RATE_LIMITED
        )
        if not results[m.pk].ok and not results[m.pk].permanent:
            break
    for m in messages:
        results.setdefault(m.pk, deferred("waiting: the robot is limiting or away"))
    return results
