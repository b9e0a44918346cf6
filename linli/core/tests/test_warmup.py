"""The server processes' start-up objects are moved out of the garbage collector's way, once per process."""

from __future__ import annotations

from django_tasks import task_backends
from django_tasks.signals import task_started

from linli.core import warmup


def _record(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    monkeypatch.setattr(warmup, "_frozen", False)
    monkeypatch.setattr(warmup.gc, "collect", lambda: calls.append("collect") or 0)
    monkeypatch.setattr(warmup.gc, "freeze", lambda: calls.append("freeze"))
    return calls


def test_freezing_loads_every_view_first_and_happens_once(monkeypatch) -> None:
    calls = _record(monkeypatch)
    warmup.freeze_long_lived()
    warmup.freeze_long_lived()
    assert calls == ["collect", "freeze"]
    import linli.health.views.selfreport  # noqa: F401  (loaded by the URLconf before the freeze)


def test_a_database_worker_freezes_at_its_first_task_the_immediate_backend_does_not(monkeypatch) -> None:
    from django_tasks_db import DatabaseBackend

    assert any(key[0] == "linli.core.warmup" for key, *_rest in task_started.receivers)
    calls = _record(monkeypatch)
    immediate = task_backends["default"]  # the test settings run tasks inline
    warmup.freeze_in_worker(sender=type(immediate))
    warmup.freeze_in_worker(sender=immediate)
    assert calls == []
    worker_backend = DatabaseBackend(alias="default", params={"QUEUES": ["default"]})
    warmup.freeze_in_worker(sender=worker_backend)  # what db_worker sends: the backend itself
    assert calls == ["collect", "freeze"]
