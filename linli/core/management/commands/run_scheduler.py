from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from linli.core.schedule import PERIODIC


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (deadline scan …) when they are due. Runs until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Enqueue every job once and exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        last: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for periodic in PERIODIC:
                if now - last.get(periodic.name, -1e9) >= periodic.every_seconds:
                    import_string(periodic.job).enqueue()
                    last[periodic.name] = now
            if once:
                return
            time.sleep(5)
