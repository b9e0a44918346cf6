"""Searching the district data set over HTTP, as a street administrator types into the search box.

The district (27 communities, about 190,000 residents) is built with seed_demo("district") and cached
in bench/out by the hash of demo.py and the migrations. A real server (runserver) is started on it;
the client signs in as `street` and times about 300 mixed searches against the JSON API and the same
searches against the HTML page: last 4 digits of a phone, last 4–6 characters of an ID number,
a surname, a full name, and addresses written 3-2-501.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import (
    OUT_DIR,
    ROOT,
    Figures,
    Target,
    Timer,
    child_main,
    fingerprint,
    free_port,
    log,
    open_database,
    percentile,
    process_peak_mb,
    schema_fingerprint,
    snapshot_database,
    uses_sqlite_files,
)
from bench.http_client import Session

DESCRIPTION = "district data set (~190,000 residents): 300 searches over HTTP, API and page"
NAME = "registry_search"
USERNAME = "street"
SEARCHES_PER_KIND = 60  # five kinds: 300 searches
WARM_UP = 10
TARGETS = {"p95_ms": Target("<=", 100), "p95_ms_page": Target("<=", 100), "errors": Target("==", 0)}


def district_cache() -> Path:
    demo = ROOT / "linli" / "registry" / "demo.py"
    return OUT_DIR / f"district-{fingerprint(demo, extra=schema_fingerprint())}.sqlite3"


def open_district(name: str = NAME) -> float:
    """The database `name` (a benchmark's) holding the district, copied from the cache or built (and then
    cached for the next benchmark); the seconds spent building it (0 if cached)."""
    cache = district_cache()
    if uses_sqlite_files() and cache.exists():
        open_database(name, source=cache)
        return 0.0
    open_database(name)
    from linli.registry.demo import seed_demo

    log("building the district data set (seed_demo('district')) …")
    with Timer() as timer:
        seed_demo("district", log=log)
    log(f"built in {timer.seconds:.1f} s")
    if uses_sqlite_files():
        for stale in OUT_DIR.glob("district-*.sqlite3"):
            stale.unlink()
        snapshot_database(name, cache)
    return timer.seconds


def search_terms(username: str, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text) pairs taken from the data the user may see, in a shuffled order."""
    from linli.core.models import User
    from linli.registry.models import Household
    from linli.registry.selectors import residents_for

    user = User.objects.get(username=username)
    people = list(residents_for(user).values_list("name", "id_number", "phone").order_by("id"))
    homes = list(
        Household.objects.filter(community__in=residents_for(user).values("community"))
        .values_list("building__number", "entrance__number", "room")
        .order_by("id")
    )
    with_phone = [p for p in people if p[2]]
    n = SEARCHES_PER_KIND
    terms = [
        *[("phone_tail", p[2][-4:]) for p in rng.sample(with_phone, n)],
        *[("id_tail", p[1][-rng.randint(4, 6) :]) for p in rng.sample(people, n)],
        *[("surname", p[0][0]) for p in rng.sample(people, n)],
        *[("full_name", p[0]) for p in rng.sample(people, n)],
        *[("address", f"{b}-{e}-{room}" if e else f"{b}-{room}") for b, e, room in rng.sample(homes, n)],
    ]
    rng.shuffle(terms)
    return terms


def start_server(port: int) -> subprocess.Popen[bytes]:
    server_log = (OUT_DIR / f"{NAME}-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}); see {server_log.name}")
        try:
            if Session("127.0.0.1", port).get("/healthz").status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not answer /healthz within 60 s")


def summarise(samples: list[tuple[str, float]], suffix: str = "") -> Figures:
    times = [ms for _kind, ms in samples]
    figures: Figures = {
        f"p50_ms{suffix}": round(percentile(times, 0.50), 1),
        f"p95_ms{suffix}": round(percentile(times, 0.95), 1),
        f"max_ms{suffix}": round(max(times), 1),
        f"requests{suffix}": len(times),
    }
    return figures


def by_kind(samples: list[tuple[str, float]], suffix: str = "") -> Figures:
    grouped: dict[str, list[float]] = defaultdict(list)
    for kind, ms in samples:
        grouped[kind].append(ms)
    return {f"p95_ms{suffix}_{kind}": round(percentile(v, 0.95), 1) for kind, v in sorted(grouped.items())}


def run() -> Figures:
    import json

    from django.db import connection

    build_seconds = open_district()
    terms = search_terms(USERNAME, random.Random(20260101))
    connection.close()

    port = free_port()
    server = start_server(port)
    try:
        session = Session("127.0.0.1", port)
        session.login(USERNAME, "linli-demo-2026")
        for _kind, text in terms[:WARM_UP]:
            session.get("/api/v1/registry/residents", q=text)
            session.get("/residents/", q=text)
        api: list[tuple[str, float]] = []
        page: list[tuple[str, float]] = []
        errors = 0
        without_hits = 0
        log(f"timing {len(terms)} searches, API and page, on port {port} …")
        for kind, text in terms:
            answer = session.get("/api/v1/registry/residents", q=text)
            errors += answer.status != 200
            if answer.status == 200 and json.loads(answer.body)["count"] == 0:
                without_hits += 1
            api.append((kind, answer.ms))
            answer = session.get("/residents/", q=text)
            errors += answer.status != 200
            page.append((kind, answer.ms))
        session.close()
        server_peak = process_peak_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures: dict[str, Any] = {
        **summarise(api),
        **summarise(page, "_page"),
        "errors": errors,
        "searches_without_hits": without_hits,
        **by_kind(api),
        **by_kind(page, "_page"),
        "server_peak_mb": server_peak,
    }
    if build_seconds:
        figures["district_build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
