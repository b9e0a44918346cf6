"""Local stand-ins for the outside systems the channels talk to: an HTTP server that records what it gets
and answers as told (SMS gateway, WeCom and DingTalk robots, a department's webhook receiver), and an SMTP
server. Tests never reach the internet."""

from __future__ import annotations

import json
import socketserver
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeServer:
    url: str
    requests: list[Received] = field(default_factory=list)
    # (request) -> (status, JSON body); the default accepts everything the way each system does.
    answer: Callable[[Received], tuple[int, Any]] = lambda r: (200, {"errcode": 0, "errmsg": "ok"})


@contextmanager
def fake_http() -> Iterator[FakeServer]:
    server_box: dict[str, FakeServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            parts = urllib.parse.urlsplit(self.path)
            received = Received(
                parts.path,
                urllib.parse.parse_qs(parts.query),
                dict(self.headers.items()),
                self.rfile.read(length),
            )
            fake = server_box["fake"]
            fake.requests.append(received)
            status, payload = fake.answer(received)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_box["fake"] = FakeServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_box["fake"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def sms_gateway_answer(refuse: set[str] = frozenset()) -> Callable[[Received], tuple[int, Any]]:  # type: ignore[assignment]
    """An SMS gateway that accepts every message except those to the phones in `refuse`."""

    def answer(r: Received) -> tuple[int, Any]:
        results = []
        for m in r.json()["messages"]:
            if m["to"] in refuse:
                results.append({"id": m["id"], "status": "rejected", "error": "invalid number"})
            else:
                results.append({"id": m["id"], "status": "accepted", "provider_id": f"p-{m['id']}"})
        return 200, {"results": results}

    return answer


@dataclass
class FakeSmtp:
    port: int
    mails: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def fake_smtp() -> Iterator[FakeSmtp]:
    box: dict[str, FakeSmtp] = {}

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 fake ESMTP\r\n")
            mail: dict[str, Any] = {"rcpt": []}
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                command = line.decode(errors="replace").strip()
                upper = command.upper()
                if upper.startswith(("EHLO", "HELO")):
                    self.wfile.write(b"250 fake\r\n")
                elif upper.startswith("MAIL FROM"):
                    mail = {"from": command[10:], "rcpt": []}
                    self.wfile.write(b"250 OK\r\n")
                elif upper.startswith("RCPT TO"):
                    mail["rcpt"].append(command[8:].strip("<> "))
                    self.wfile.write(b"250 OK\r\n")
                elif upper == "DATA":
                    self.wfile.write(b"354 go ahead\r\n")
                    data = []
                    while True:
                        chunk = self.rfile.readline()
                        if chunk in (b".\r\n", b".\n", b""):
                            break
                        data.append(chunk)
                    mail["data"] = b"".join(data)
                    box["smtp"].mails.append(mail)
                    self.wfile.write(b"250 queued\r\n")
                elif upper == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 OK\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box["smtp"] = FakeSmtp(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["smtp"]
    finally:
        server.shutdown()
        server.server_close()
