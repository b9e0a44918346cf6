"""A small HTTP client with a session cookie, for timing a real server.

Each request opens its own connection by default. runserver (wsgiref) writes the headers and the
body of a response in separate packets without TCP_NODELAY, so on a kept-alive connection every
response waits for the client's delayed ACK (40 ms on Linux): that would time the network stack,
not Linli.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie


@dataclass
class Response:
    status: int
    body: bytes
    ms: float
    headers: dict[str, str]


@dataclass
class Session:
    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    keep_alive: bool = False
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Response:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        ms = (time.perf_counter() - start) * 1000
        for value in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        if not self.keep_alive or response.headers.get("Connection", "").lower() == "close":
            self.close()
        return Response(response.status, data, ms, {k.lower(): v for k, v in response.headers.items()})

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Response:
        try:
            return self._send(method, path, body, dict(headers))
        except (http.client.HTTPException, ConnectionError):
            # The server closed a kept-alive connection between requests: reconnect once.
            self.close()
            return self._send(method, path, body, dict(headers))

    def get(self, path: str, **params: str) -> Response:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self.request("GET", path + query)

    def login(self, username: str, password: str) -> None:
        """Sign in through the login form, as a browser does (CSRF cookie and token included)."""
        page = self.get("/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if match is None:
            raise RuntimeError(f"no CSRF token on the login page (status {page.status})")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()}
        ).encode()
        answer = self.request(
            "POST", "/login/", form, **{"Content-Type": "application/x-www-form-urlencoded"}
        )
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} failed (status {answer.status})")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
