"""The production gunicorn settings: one listening socket per process, and the app they name exists."""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_each_process_listens_on_its_own_socket_and_serves_the_project(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["reuse_port"] is True and conf["workers"] == 3 and conf["worker_class"] == "gthread"
    module, _, name = conf["wsgi_app"].partition(":")
    spec = importlib.util.find_spec(module)  # not imported: config.wsgi freezes this process's objects
    assert spec is not None and spec.origin and f"\n{name} = " in Path(spec.origin).read_text()
