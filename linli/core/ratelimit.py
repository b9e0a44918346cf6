"""Fixed-window rate limits counted in the database: one upsert a hit, right on every app server."""

from __future__ import annotations

import time

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
