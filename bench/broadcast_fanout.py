"""A notice to a whole community by SMS, through the outbox and its workers to a local SMS gateway, with one
worker killed mid-run and restarted (issue 8).

The data set is seed_demo("community"): 潘家园南里 (`nanli`, ~7,200 residents) and two smaller
communities. PostgreSQL only (several workers share the outbox): BENCH_DATABASE_URL when set, otherwise
postgres://postgres@127.0.0.1:5432/linli_bench_broadcast, created from a cached template database.

The run, as in production: WORKERS task workers (`manage.py db_worker`) and the scheduler
(`manage.py run_scheduler`) beside this process, which plays the commander: broadcast_create +
broadcast_send of a resident notice asking for confirmation, by SMS, to the whole community. The SMS
gateway is a local HTTP server in this process speaking linli.comms.channels.sms's interface: it accepts
every message, records every message id it receives (it does NOT drop repeats, so a message sent twice is
counted) and answers lookups ("which of these ids do you have?").

When the gateway has received KILL_AT of the messages, the worker then holding the most messages claimed
(`sending`) is killed with SIGKILL, in the middle of its batch, and a new worker is started at once, as a
process supervisor would.

Figures: `messages_per_s` = messages / seconds from broadcast_send's start (fan-out included) to the last
message received; `lost` = messages queued that the gateway never received, plus any not marked sent;
`duplicated` = messages the gateway received more than once; and beside them the fan-out's seconds, the
messages the killed worker held, how many of those the gateway already had (found by lookup, not sent
again), and the recipients.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.common import (
    OUT_DIR,
    ROOT,
    Figures,
    Target,
    Timer,
    child_main,
    fingerprint,
    log,
    open_pg_dataset,
    schema_fingerprint,
)

NAME = "broadcast_fanout"
DESCRIPTION = "SMS notice to a 7,200-resident community via the outbox, a worker SIGKILLed mid-run"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/linli_bench_broadcast"
DATASET_VERSION = "community-v1"
COMMUNITY = "nanli"
WORKERS = int(os.environ.get("BENCH_TASK_WORKERS", 2))
KILL_AT = 0.35
TIMEOUT_SECONDS = 120
SECRET_KEY = "bench-broadcast-fanout-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

TARGETS = {
    "messages_per_s": Target(">=", 1000),
    "lost": Target("==", 0),
    "duplicated": Target("==", 0),
}


class Gateway:
    """The local SMS gateway: records ids (with repeats) and answers lookups."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.last_at = 0.0
        self.requests = 0
        self.lookups = 0
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = json.loads(body)
                if self.path == "/lookup":
                    with gateway.lock:
                        gateway.lookups += 1
                        found = [
                            {"id": i, "provider_id": f"g-{i}"} for i in data["ids"] if i in gateway.received
                        ]
                    answer: dict[str, Any] = {"found": found}
                else:
                    ids = [m["id"] for m in data["messages"]]
                    with gateway.lock:
                        gateway.requests += 1
                        gateway.received.update(ids)
                        gateway.last_at = time.monotonic()
                    answer = {"results": [{"id": i, "status": "accepted"} for i in ids]}
                out = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def unique(self) -> int:
        with self.lock:
            return len(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dataset_key() -> str:
    return fingerprint(
        ROOT / "linli" / "registry" / "demo.py", extra=f"{schema_fingerprint()}:{DATASET_VERSION}"
    )


def build_dataset() -> None:
    from linli.registry.demo import seed_demo

    log("building seed_demo('community') …")
    seed_demo("community", log=log)


def process_env(url: str, gateway: Gateway) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BENCH_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "SMS_GATEWAY_URL": f"{gateway.url}/send",
        "SMS_GATEWAY_LOOKUP_URL": f"{gateway.url}/lookup",
        "OUTBOX_PARALLEL": str(WORKERS),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def start(command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
    out = (OUT_DIR / f"{NAME}-{log_name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )


def start_worker(env: dict[str, str], n: int) -> subprocess.Popen[bytes]:
    return start(
        ["db_worker", "--interval=0.2", "--no-startup-delay", "--no-reload", f"--worker-id=bench-{n}"],
        env,
        f"worker{n}",
    )


def held_by(pid: int) -> int:
    from linli.comms.models import OutboxMessage

    return OutboxMessage.objects.filter(status="sending", claimed_by__contains=f":{pid}:").count()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run() -> Figures:
    url, build_seconds = open_pg_dataset(
        name=NAME,
        default_url=DEFAULT_URL,
        key=dataset_key(),
        build=build_dataset,
        env={"SECRET_KEY": SECRET_KEY},
    )
    OUT_DIR.mkdir(exist_ok=True)
    for old in OUT_DIR.glob(f"{NAME}-*.log"):
        old.unlink()
    gateway = Gateway()
    env = process_env(url, gateway)
    os.environ.update({k: env[k] for k in ("SMS_GATEWAY_URL", "SMS_GATEWAY_LOOKUP_URL", "OUTBOX_PARALLEL")})

    from django.conf import settings
    from django.db import connection

    settings.SMS_GATEWAY_URL = env["SMS_GATEWAY_URL"]
    settings.TASKS["default"]["BACKEND"] = "django_tasks_db.DatabaseBackend"
    from linli.comms import outbox
    from linli.comms.broadcasts import broadcast_create, broadcast_send
    from linli.comms.models import OutboxMessage
    from linli.core.models import User
    from linli.registry.models import Community

    outbox.PARALLEL = WORKERS
    community = Community.objects.get(code=COMMUNITY)
    commander = User.objects.filter(community=community, role="community_admin").order_by("pk").first()
    connection.close()

    workers = [start_worker(env, n) for n in range(WORKERS)]
    scheduler = start(["run_scheduler"], env, "scheduler")
    killed: dict[str, Any] = {}
    try:
        time.sleep(3)  # the workers start (Django, the database); a real deployment has them waiting
        for w in [*workers, scheduler]:
            if w.poll() is not None:
                raise RuntimeError(f"a worker exited at start ({w.returncode}); see {OUT_DIR}/{NAME}-*.log")
        broadcast = broadcast_create(
            actor=commander,
            community=community,
            title="核酸检测通知",
            body="明天（周三）7:00-11:00 在社区广场做核酸，请带好身份证，按楼号分时段排队。",
            channels=["sms"],
            require_ack=True,
        )
        start_at = time.monotonic()
        with Timer() as fanout:
            recipients = broadcast_send(actor=commander, broadcast=broadcast)
        messages = OutboxMessage.objects.filter(broadcast=broadcast).count()
        log(f"{recipients:,} recipients, {messages:,} SMS queued in {fanout.seconds:.2f} s")
        deadline = start_at + TIMEOUT_SECONDS
        restarted = False
        while time.monotonic() < deadline:
            got = gateway.unique()
            if not restarted and got >= KILL_AT * messages:
                holding = {w.pid: held_by(w.pid) for w in workers if w.poll() is None}
                victim = max(workers, key=lambda w: holding.get(w.pid, -1))
                if holding.get(victim.pid, 0) > 0:
                    killed = {"pid": victim.pid, "held": holding[victim.pid], "received": got}
                    os.kill(victim.pid, signal.SIGKILL)
                    victim.wait()
                    workers.remove(victim)
                    workers.append(start_worker(env, WORKERS + 1))
                    restarted = True
                    log(f"killed worker {victim.pid} holding {killed['held']} messages at {got:,} received")
            if got >= messages and restarted:
                pending = OutboxMessage.objects.filter(broadcast=broadcast).exclude(status="sent").count()
                if pending == 0:
                    break
            if all(w.poll() is not None for w in workers):
                raise RuntimeError(f"every worker exited; see {OUT_DIR}/{NAME}-*.log")
            time.sleep(0.01)
        seconds = gateway.last_at - start_at
        keys = set(OutboxMessage.objects.filter(broadcast=broadcast).values_list("key", flat=True))
        unsent = set(
            OutboxMessage.objects.filter(broadcast=broadcast)
            .exclude(status="sent")
            .values_list("key", flat=True)
        )
        connection.close()
    finally:
        for w in workers:
            stop(w)
        stop(scheduler)
        gateway.stop()
    received = gateway.received
    # Lost: queued and never received, or never written as sent (it would be sent again later: a duplicate).
    lost = len({k for k in keys if k not in received} | unsent)
    duplicated = sum(1 for k in keys if received[k] > 1)
    # Messages the killed worker may have sent, which the gateway said it had: written as sent, not resent.
    found_by_lookup = OutboxMessage.objects.filter(broadcast=broadcast, provider_id__startswith="g-").count()
    connection.close()
    return {
        "messages_per_s": round(messages / seconds, 1) if seconds > 0 else 0.0,
        "lost": lost,
        "duplicated": duplicated,
        "messages": messages,
        "recipients": recipients,
        "seconds": round(seconds, 2),
        "fanout_seconds": round(fanout.seconds, 2),
        "killed_worker_held": killed.get("held", 0),
        "killed_at_received": killed.get("received", 0),
        "found_by_lookup": found_by_lookup,
        "gateway_requests": gateway.requests,
        "gateway_lookups": gateway.lookups,
        "workers": WORKERS,
        "build_seconds": round(build_seconds, 1),
    }


if __name__ == "__main__":
    child_main(run)
