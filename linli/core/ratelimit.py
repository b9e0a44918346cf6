"""Fixed-window rate limits counted in the database: one upsert a hit, right on every app server."""

from __future__ import annotations

import threading
import time
import weakref

from django.db import connection

from linli.core.models import RateCount

_TABLE = RateCount._meta.db_table


def hit(key: str, *, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """Count one hit on `key`; False when that makes more than `limit` in the current window."""
    return hits(key, window_seconds=window_seconds, now=now, add=1) <= limit


def hits(key: str, *, window_seconds: int, now: float | None = None, add: int = 0) -> int:
    """The hits on `key` in the current window, after adding `add` (0: only read)."""
    window = int((time.time() if now is None else now) // window_seconds)
    key = key[:200]
    if not add:
        row = RateCount.objects.filter(key=key, bucket=window).values_list("hits", flat=True).first()
        return row or 0
    # SQLite (3.35+) and PostgreSQL both take this upsert; a new window starts the count again.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (key, bucket, hits) VALUES (%s, %s, %s) "
            f"ON CONFLICT (key) DO UPDATE SET "
            f"hits = CASE WHEN {_TABLE}.bucket = excluded.bucket THEN {_TABLE}.hits + excluded.hits "
            f"ELSE excluded.hits END, bucket = excluded.bucket RETURNING hits",
            [key, window, add],
        )
        return int(cursor.fetchone()[0])


def clear(key: str) -> None:
    RateCount.objects.filter(key=key[:200]).delete()


class LocalWindow:
    """Hits per key in this process, a fixed window at a time: for floods, where a hit must cost nothing.
    With P app processes an address gets at most P × limit a window, as nginx's limit_req counts per server;
    the counts that must hold across servers (wrong identities) use hit() above."""

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._window = -1
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        _WINDOWS.add(self)

    def hit(self, key: str, now: float | None = None) -> bool:
        window = int((time.time() if now is None else now) // self.window_seconds)
        with self._lock:
            if window != self._window:
                self._window, self._hits = window, {}
            count = self._hits.get(key, 0) + 1
            self._hits[key] = count
        return count <= self.limit

    def reset(self) -> None:
        with self._lock:
            self._window, self._hits = -1, {}


_WINDOWS: weakref.WeakSet[LocalWindow] = weakref.WeakSet()


def reset_local_windows() -> None:
    """Forget every in-process count (each test starts from zero)."""
    for window in list(_WINDOWS):
        window.reset()
