"""Importing a 100,000-row resident ledger into an empty community, through the service path.

import_create → import_preview → import_commit, as a community administrator, with "create missing
buildings" ticked; then the same file again, which must create nobody. Timed with SQL logging off,
as in production; the ledger is written beforehand, in another process, so that its memory is not
counted here.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import Figures, Target, Timer, child_main, log, open_database, peak_mb, query_logging_off
from bench.ledger import ensure_ledger

if TYPE_CHECKING:
    from linli.core.models import ImportJob, User
    from linli.registry.models import Community

DESCRIPTION = "100,000-row .xlsx ledger: preview + commit, then the same file again"
ROWS = 100_000
# A re-import is an import too: the same time and memory targets hold for it.
TARGETS = {
    "seconds": Target("<=", 20),
    "peak_mb": Target("<=", 600),
    "rejected": Target("==", 0),
    "reimport_seconds": Target("<=", 20),
    "reimport_peak_mb": Target("<=", 600),
    "reimport_created": Target("==", 0),
}


@dataclass
class Run:
    job: ImportJob
    seconds: float
    cpu_seconds: float
    preview_seconds: float
    commit_seconds: float


def import_file(ledger: Path, content: bytes, actor: User, community: Community, label: str) -> Run:
    from linli.core.imports import import_commit, import_create, import_preview
    from linli.core.models import ImportJob
    from linli.registry.io import RESIDENT_KIND

    gc.collect()
    log(f"{label}: preview …")
    cpu = time.process_time()
    with query_logging_off(), Timer() as total:
        with Timer() as preview:
            job = import_create(
                actor=actor,
                kind=RESIDENT_KIND,
                community_id=community.pk,
                filename=ledger.name,
                content=content,
                options={"create_buildings": True},
            )
            job = import_preview(job=job)
        if job.status != ImportJob.Status.PREVIEWED:
            raise RuntimeError(f"the preview failed: {job.status} {job.message}")
        log(
            f"{label}: {preview.seconds:.1f} s, {job.accepted:,} accepted, {job.rejected:,} rejected; commit …"
        )
        with Timer() as commit:
            job = import_commit(actor=actor, job=job)
    cpu = time.process_time() - cpu
    log(f"{label}: {commit.seconds:.1f} s, {job.created:,} created, {job.unchanged:,} unchanged")
    return Run(job, total.seconds, cpu, preview.seconds, commit.seconds)


def measure(ledger: Path) -> Figures:
    from linli.core.models import User
    from linli.core.roles import Role
    from linli.registry.models import Community, Street

    street = Street.objects.create(code="bench", name="基准街道")
    community = Community.objects.create(street=street, code="bench-c", name="基准社区")
    actor = User.objects.create(
        username="bench_admin", display_name="基准管理员", role=Role.COMMUNITY_ADMIN, community=community
    )
    content = ledger.read_bytes()
    first = import_file(ledger, content, actor, community, "import")
    first_peak = peak_mb()
    again = import_file(ledger, content, actor, community, "same file again")
    return {
        "seconds": round(first.seconds, 2),
        "cpu_seconds": round(first.cpu_seconds, 2),
        "preview_seconds": round(first.preview_seconds, 2),
        "commit_seconds": round(first.commit_seconds, 2),
        "peak_mb": first_peak,
        "rows": first.job.rows,
        "rejected": first.job.rejected,
        "created": first.job.created,
        "reimport_seconds": round(again.seconds, 2),
        "reimport_peak_mb": peak_mb(),
        "reimport_created": again.job.created,
        "reimport_unchanged": again.job.unchanged,
    }


def run() -> Figures:
    ledger = ensure_ledger(ROWS)
    open_database("registry_import")
    return measure(ledger)


if __name__ == "__main__":
    child_main(run)
