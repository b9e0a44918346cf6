"""A worker's verification list and the batch board with more than 10,000 open verification tasks.

The data set: dispatch_intake's community (100,000 residents, 20 grids, a worker and a leader each, a
commander) and the lists it received, each through epidemic.intake.dispatch_list_receive: five older
lists of 400 rows, every record verified (by phone or a visit) and its task done; then the 10,000-row
list of dispatch_intake and a 3,000-row list, all open. Nine in ten of the open records that went to a
worker were handed to one of them (worker1, records and tasks alike), so worker1's list holds about
10,000 open records, the hard case; the others keep their own buildings' records, and the data group
(no worker) the rest. Cached in bench/out by the hash of this file, dispatch_intake.py, demo.py and the
migrations on SQLite; rebuilt on PostgreSQL.

Measured with Django's test client (signed in with force_login, query logging off), after WARM_UP
requests, the median of RUNS requests of each page: worker1's list (epidemic:mine), the commander's
batch board (epidemic:board) and the commander's page of the 10,000-row batch (epidemic:batch). `ms` is
the largest of the three medians.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from pathlib import Path
from typing import Any

from bench.common import (
    OUT_DIR,
    ROOT,
    Figures,
    Target,
    Timer,
    analyze,
    child_main,
    fingerprint,
    log,
    open_cached_dataset,
    query_logging_off,
    schema_fingerprint,
)
from bench.dispatch_intake import CODE, LIST_ROWS, LIST_SEED, SENDER, list_rows, list_xlsx, registry_people
from bench.dispatch_intake import build as build_registry

DESCRIPTION = "a worker's list and the batch board with 10,000+ open verification tasks (server time)"
NAME = "worker_board"
WORKER = "worker1"
SHARE_TO_WORKER = 0.9
SECOND_LIST_ROWS = 3_000
OLD_LISTS = 5
OLD_LIST_ROWS = 400
WARM_UP = 3
RUNS = 20
# The lists arrived on these days (the open ones are all past their deadline when measured).
NOW = dt.datetime(2026, 11, 28, 18, 0, tzinfo=dt.UTC)  # 02:00 in Beijing
TARGETS = {"ms": Target("<=", 300)}


def dataset_cache() -> Path:
    key = fingerprint(
        Path(__file__),
        ROOT / "bench" / "dispatch_intake.py",
        ROOT / "linli" / "registry" / "demo.py",
        extra=schema_fingerprint(),
    )
    return OUT_DIR / f"{NAME}-{key}.sqlite3"


def receive(content: bytes, filename: str, now: dt.datetime) -> Any:
    from linli.core.models import User
    from linli.epidemic.intake import dispatch_list_receive
    from linli.registry.models import Community

    return dispatch_list_receive(
        actor=User.objects.get(username="commander"),
        community=Community.objects.get(code=CODE),
        content=content,
        filename=filename,
        sender=SENDER,
        now=now,
    )


def build() -> None:
    from django.db import transaction

    from linli.core.models import User
    from linli.epidemic.models import DispatchRecord, Verification
    from linli.registry.models import Community
    from linli.tasks.models import Task

    build_registry()
    community = Community.objects.get(code=CODE)
    people = registry_people(community.pk)
    rng = random.Random(300)
    results = [Verification.PHONE, Verification.PHONE, Verification.VISITED, Verification.MOVED]
    for n in range(OLD_LISTS):
        received = NOW - dt.timedelta(days=OLD_LISTS - n, hours=rng.randint(0, 12))
        rows = list_rows(random.Random(1000 + n), people, OLD_LIST_ROWS)
        batch = receive(
            list_xlsx(rows, title=f"第{n + 1}批协查名单"), f"协查名单-{n + 1}.xlsx", received
        ).batch
        with transaction.atomic():
            for pk, assignee, due in DispatchRecord.objects.filter(batch=batch).values_list(
                "pk", "assignee_id", "due_at"
            ):
                done = (
                    due
                    - dt.timedelta(minutes=rng.randint(5, 80))
                    + dt.timedelta(minutes=rng.choice((0, 0, 0, 60)))
                )
                by = assignee or User.objects.get(username="commander").pk
                DispatchRecord.objects.filter(pk=pk).update(
                    result=rng.choice(results), verified_at=done, verified_by_id=by
                )
                Task.objects.filter(source=Task.Source.VERIFICATION, source_id=pk).update(
                    status=Task.Status.DONE, done_at=done, done_by_id=by
                )
        log(f"older list {n + 1}: {batch.rows} records, all verified")
    main = list_rows(random.Random(LIST_SEED), people, LIST_ROWS)
    main_batch = receive(list_xlsx(main), "协查名单.xlsx", NOW).batch
    second = list_rows(random.Random(LIST_SEED + 1), people, SECOND_LIST_ROWS)
    second_batch = receive(
        list_xlsx(second, title="补充协查名单"), "补充协查名单.xlsx", NOW + dt.timedelta(hours=1)
    ).batch
    worker = User.objects.get(username=WORKER)
    with transaction.atomic():
        open_routed = list(
            DispatchRecord.objects.filter(
                batch__in=[main_batch, second_batch], assignee__isnull=False, verified_at__isnull=True
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        handed = [pk for pk in open_routed if rng.random() < SHARE_TO_WORKER]
        for start in range(0, len(handed), 500):
            chunk = handed[start : start + 500]
            DispatchRecord.objects.filter(pk__in=chunk).update(assignee=worker)
            Task.objects.filter(source=Task.Source.VERIFICATION, source_id__in=chunk).update(assignee=worker)
    log(
        f"lists of {main_batch.rows:,} and {second_batch.rows:,} records; {len(handed):,} of their "
        f"{len(open_routed):,} routed records handed to {WORKER}"
    )
    analyze()


def measure(client: Any, url: str, expect: str) -> tuple[float, int]:
    """Median milliseconds of RUNS requests of `url` after WARM_UP; the page must contain `expect`."""
    samples = []
    size = 0
    for n in range(WARM_UP + RUNS):
        with Timer() as timer:
            response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"{url}: HTTP {response.status_code}")
        if n == 0 and expect not in response.content.decode():
            raise AssertionError(f"{url}: {expect!r} is not on the page")
        size = len(response.content)
        if n >= WARM_UP:
            samples.append(timer.seconds * 1000)
    return round(statistics.median(samples), 1), size


def run() -> Figures:
    build_seconds = open_cached_dataset(NAME, dataset_cache(), build)

    from django.test import Client
    from django.urls import reverse

    from linli.core.models import User
    from linli.epidemic.models import DispatchBatch, DispatchRecord

    worker = User.objects.get(username=WORKER)
    commander = User.objects.get(username="commander")
    main_batch = DispatchBatch.objects.get(filename="协查名单.xlsx")
    open_records = DispatchRecord.objects.filter(verified_at__isnull=True)
    figures: Figures = {}
    counts = {
        "open_in_community": open_records.count(),
        "open_for_worker": open_records.filter(assignee=worker).count(),
        "open_for_data_group": open_records.filter(assignee__isnull=True).count(),
        "batches": DispatchBatch.objects.count(),
        "batch_records": main_batch.rows,
    }
    log(", ".join(f"{k} {v:,}" for k, v in counts.items()))
    pages = {
        "mine": (worker, reverse("epidemic:mine"), f'id="count-open">{counts["open_for_worker"]}<'),
        "board": (commander, reverse("epidemic:board"), main_batch.sender),
        "batch": (commander, reverse("epidemic:batch", args=[main_batch.pk]), main_batch.filename),
    }
    with query_logging_off():
        for key, (user, url, expect) in pages.items():
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            ms, size = measure(client, url, expect)
            figures[f"{key}_ms"] = ms
            log(f"{key}: {url} median {ms} ms ({size / 1000:.0f} kB)")
    figures = {"ms": max(figures.values()), **figures, **counts}
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
