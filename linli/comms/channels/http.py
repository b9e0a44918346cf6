"""A small HTTP client for the channels: JSON POSTs with a timeout, keeping one connection per host and
thread alive (a broadcast sends hundreds of requests to the same gateway)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any

from django.conf import settings

TIMEOUT_SECONDS = float(getattr(settings, "CHANNEL_TIMEOUT_SECONDS", 10))

_local = threading.local()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class TransportError(Exception):
    """No answer: the connection failed or timed out (worth trying again later)."""


def _connection(scheme: str, netloc: str) -> http.client.HTTPConnection:
    pool: dict[tuple[str, str], http.client.HTTPConnection] = getattr(_local, "pool", None) or {}
    _local.pool = pool
    conn = pool.get((scheme, netloc))
    if conn is None:
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                netloc, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(netloc, timeout=TIMEOUT_SECONDS)
        pool[(scheme, netloc)] = conn
    return conn


def _drop(scheme: str, netloc: str) -> None:
    pool = getattr(_local, "pool", {})
    conn = pool.pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) address: {url}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {"Content-Length": str(len(body)), "User-Agent": "Linli", **headers}
    for attempt in (1, 2):
        conn = _connection(parts.scheme, parts.netloc)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.will_close:
                _drop(parts.scheme, parts.netloc)
            return Answer(response.status, data)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            # A kept-alive connection the server closed meanwhile: once more on a new one.
            _drop(parts.scheme, parts.netloc)
            if attempt == 2:
                raise TransportError(str(exc) or type(exc).__name__) from exc
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            _drop(parts.scheme, parts.netloc)
            raise TransportError(str(exc) or type(exc).__name__) from exc
    raise TransportError("unreachable")


def post_json(url: str, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return post(url, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def retryable(status: int) -> bool:
    """5xx, 408 and 429 are worth another try; other 4xx will fail the same way again."""
    return status >= 500 or status in (408, 425, 429)


def forbidden_target(url: str) -> str:
    """Why a department's webhook may not go to `url` ("" when it may): the Linli server itself (loopback),
    link-local (cloud metadata), unspecified and multicast addresses. Intranet addresses are what departments
    use and are allowed. The name is resolved now (a name this server cannot resolve passes: nothing can be
    reached through it), and again when each event is sent. WEBHOOK_ALLOW_LOOPBACK lets tests and a one-machine demo use 127.0.0.1."""
    import ipaddress

    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ""  # not known (yet) here: sending will fail and be retried; nothing is reached meanwhile
    allow_loopback = bool(getattr(settings, "WEBHOOK_ALLOW_LOOPBACK", False))
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_loopback and not allow_loopback:
            return "it points at the Linli server itself"
        if address.is_link_local or address.is_unspecified or address.is_multicast:
            return "it is not an address a department's system can have"
    return ""
