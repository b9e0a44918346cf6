"""What the benchmarks share: a database of their own, Django set-up, timing, and the child process.

Every benchmark runs in a process of its own (so that its peak memory is its own) and prints its
figures as a JSON object on its last stdout line; progress goes to stderr.

Databases: BENCH_DATABASE_URL, when set, is used by every benchmark and ITS DATA IS DELETED (flushed)
before each one. Otherwise each benchmark gets a fresh SQLite file bench/out/NAME.sqlite3, copied from
a migrated template that is cached by the hash of the migrations, so a warm run does not migrate.
The development database (var/linli.sqlite3) is never touched.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
RESULTS_FILE = BENCH_DIR / "results.json"
CHILD_TIMEOUT_SECONDS = 900

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """A figure's goal, e.g. Target("<=", 20) for seconds."""

    op: str  # "<=", ">=" or "=="
    value: float | bool

    def met(self, figure: object) -> bool | None:
        if isinstance(figure, bool) or isinstance(self.value, bool):
            return figure == self.value
        if not isinstance(figure, int | float):
            return None
        if self.op == "<=":
            return figure <= self.value
        if self.op == ">=":
            return figure >= self.value
        return figure == self.value

    def __str__(self) -> str:
        shown = str(self.value).lower() if isinstance(self.value, bool) else f"{self.value:g}"
        return f"{self.op} {shown}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fingerprint(*paths: Path, extra: str = "") -> str:
    """A short hash of files' contents: cached data sets are rebuilt when their generator changes."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def schema_fingerprint() -> str:
    migrations = list((ROOT / "linli").glob("*/migrations/*.py"))
    return fingerprint(*migrations, ROOT / "requirements.lock")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite file whose connection Django holds, with its WAL folded in, atomically."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    partial = target.with_suffix(".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def uses_sqlite_files() -> bool:
    return not os.environ.get("BENCH_DATABASE_URL")


def open_database(name: str, *, source: Path | None = None) -> None:
    """Give this process its own migrated database and set Django up on it.

    Must run before anything imports Django models. `source` is a SQLite file (already migrated)
    whose copy becomes the database, e.g. a cached data set.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    if sys.path[0] != str(ROOT):
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    shared = os.environ.get("BENCH_DATABASE_URL")
    if shared:
        if "var/linli.sqlite3" in shared:
            raise SystemExit("BENCH_DATABASE_URL points at the development database; benchmarks delete data")
        os.environ["DATABASE_URL"] = shared
        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("flush", verbosity=0, interactive=False)
        return

    OUT_DIR.mkdir(exist_ok=True)
    path = database_path(name)
    _remove_sqlite(path)
    template = OUT_DIR / f"migrated-{schema_fingerprint()}.sqlite3"
    if source is None and template.exists():
        source = template
    if source is not None:
        shutil.copyfile(source, path)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    django.setup()
    if source is None:
        call_command("migrate", verbosity=0, interactive=False)
        for stale in OUT_DIR.glob("migrated-*.sqlite3"):
            stale.unlink()
        _snapshot_sqlite(path, template)


def database_path(name: str) -> Path:
    return OUT_DIR / f"{name}.sqlite3"


def snapshot_database(name: str, target: Path) -> None:
    """Keep a copy of this benchmark's SQLite database (e.g. an expensive data set) for later runs."""
    _snapshot_sqlite(database_path(name), target)


@contextmanager
def query_logging_off() -> Iterator[None]:
    """Measure as production runs: with DEBUG on, Django keeps the text of every SQL statement."""
    from django.test.utils import override_settings

    with override_settings(DEBUG=False):
        yield


@dataclass
class Timer:
    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def peak_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def process_peak_mb(pid: int) -> float | None:
    """Another running process's peak resident memory, where /proc tells it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def percentile(values: Iterable[float], fraction: float) -> float:
    """Linear interpolation between closest ranks, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_main(run: Callable[[], Figures]) -> None:
    """The entry point of `python -m bench.NAME`: run, then print the figures as the last line."""
    try:
        figures = run()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    sys.stdout.flush()
    print(json.dumps(figures, ensure_ascii=False), flush=True)


@dataclass
class ChildResult:
    name: str
    figures: Figures
    wall_seconds: float
    returncode: int


def run_child(name: str, *, echo: Callable[[str], None] = log) -> ChildResult:
    """Run one benchmark in a fresh interpreter; its stdout lines are echoed, the last one parsed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DEBUG", "true")
    last = ""
    with Timer() as timer:
        process = subprocess.Popen(
            [sys.executable, "-m", f"bench.{name}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        watchdog = threading.Timer(CHILD_TIMEOUT_SECONDS, process.kill)
        watchdog.start()
        try:
            for line in process.stdout:
                line = line.rstrip("\n")
                if line.strip():
                    last = line
                echo(line)
            returncode = process.wait()
        finally:
            watchdog.cancel()
    figures: Figures = {}
    if returncode == 0:
        try:
            parsed = json.loads(last)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            figures = parsed
    return ChildResult(name, figures, round(timer.seconds, 1), returncode)


def analyze() -> None:
    """Statistics, and on PostgreSQL the hint bits and visibility map, as autovacuum would leave them;
    without it the first measured pass pays for the load by dirtying every page it reads."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def open_cached_dataset(
    name: str, cache: Path, build: Callable[[], None], *, stale: str | None = None
) -> float:
    """Open benchmark `name`'s database with its data set: on SQLite from the cached copy when there is
    one, otherwise built (then cached, replacing older copies `stale`-*.sqlite3). Returns the seconds
    spent building (0 when cached)."""
    if uses_sqlite_files() and cache.exists():
        open_database(name, source=cache)
        return 0.0
    open_database(name)
    with Timer() as timer:
        build()
    log(f"built in {timer.seconds:.1f} s")
    if uses_sqlite_files():
        for old in OUT_DIR.glob(f"{stale or name}-*.sqlite3"):
            old.unlink()
        snapshot_database(name, cache)
    return timer.seconds


def _pg_admin(url: str) -> Any:
    """An autocommit connection to the server's maintenance database, for CREATE/DROP DATABASE."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    return psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True)


def _setup_django_on(url: str, env: dict[str, str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.update(env)
    os.environ["DATABASE_URL"] = url
    if sys.path[0] != str(ROOT):
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def open_pg_dataset(
    *, name: str, default_url: str, key: str, build: Callable[[], None], env: dict[str, str] | None = None
) -> tuple[str, float]:
    """A benchmark defined on PostgreSQL: its database with its data set, (url, seconds spent building, 0 if
    cached). BENCH_DATABASE_URL when set (flushed and built again); otherwise `default_url`, created from a
    template database (<name>_cache, kept while its comment equals `key`) so that each run starts from the
    same state. `env` is set before Django starts (e.g. the SECRET_KEY that signs the data set's links)."""
    env = env or {}
    shared = os.environ.get("BENCH_DATABASE_URL")
    if shared:
        if not shared.startswith(("postgres://", "postgresql://")):
            raise SystemExit(f"{name} is defined on PostgreSQL; BENCH_DATABASE_URL is {shared}")
        os.environ.update(env)
        open_database(name)  # migrated and flushed
        with Timer() as timer:
            build()
        return shared, timer.seconds

    url = default_url
    db = urllib.parse.urlsplit(url).path.lstrip("/")
    cache = f"{db}_cache"
    with _pg_admin(url) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [cache]
        ).fetchone()
        cached = row is not None and row[0] == key
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if cached:
            admin.execute(f'CREATE DATABASE "{db}" TEMPLATE "{cache}"')
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{cache}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{db}"')
    _setup_django_on(url, env)
    if cached:
        log(f"database {db} copied from {cache} ({key})")
        return url, 0.0
    with Timer() as timer:
        build()
    from django.db import connection

    connection.close()
    with _pg_admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{cache}" TEMPLATE "{db}"')
        admin.execute(f"COMMENT ON DATABASE \"{cache}\" IS '{key}'")
    log(f"data set built in {timer.seconds:.1f} s and kept as {cache}")
    return url, timer.seconds
