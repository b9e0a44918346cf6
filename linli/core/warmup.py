"""A server process's long-lived objects, out of the garbage collector's way.

A web or task-worker process holds some 150,000 objects that live as long as it does: the modules, the models,
every view and the API's schemas. Python's collector walks all of them at each full collection, which under
load comes every few seconds and holds the whole process for 100-200 ms: the slowest answers of the morning
rush of self-reports, and a tenth of a worker's time writing them. freeze_long_lived() loads them all at
once (the URLconf imports every view and service), collects what start-up left behind, and moves the rest to
the collector's permanent generation (gc.freeze), so that later collections only walk what requests and
jobs make.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_long_lived() -> None:
    """Once per process: after the WSGI/ASGI application is made, and at a task worker's first task."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf: every view, service and schema)
    gc.collect()
    gc.freeze()


def freeze_in_worker(sender: object, **_kwargs: object) -> None:
    """django_tasks' task_started receiver: in a db_worker (it has no application object to hook), at its
    first task. Not for the immediate backend, which runs tasks in the web process (frozen already) or in
    tests."""
    from django_tasks_db import DatabaseBackend

    if isinstance(sender, DatabaseBackend) or sender is DatabaseBackend:
        freeze_long_lived()
