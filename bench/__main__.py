"""`python -m bench [NAME ...]`: run benchmarks, each in its own process, and print their figures.

With no NAME every benchmark runs and stdout gets a table; with one or more NAMEs stdout ends with
the last benchmark's figures as a JSON object. Progress goes to stderr. bench/results.json keeps
the latest figures of every benchmark that has run.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib
import json
import os
import platform
import subprocess
import sys
from types import ModuleType
from typing import Any

from bench.common import RESULTS_FILE, ROOT, ChildResult, Target, log, run_child

BENCHMARKS = [
    "registry_import",
    "registry_search",
    "resident_list_queries",
    "plan_activation",
    "response_page",
    "deadline_scan",
    "supplies_board",
    "supplies_concurrency",
    "volunteer_assignment",
    "candidate_ranking",
    "dispatch_intake",
    "worker_board",
    "screening_schedule",
    "checkin",
    "self_report_load",
    "daily_report",
    "broadcast_fanout",
]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}")


def targets(name: str) -> dict[str, Target]:
    return dict(getattr(module(name), "TARGETS", {}))


def verdict(target: Target | None, figure: object) -> str:
    if target is None:
        return ""
    met = target.met(figure)
    return "" if met is None else ("ok" if met else "OVER")


def shown(figure: object) -> str:
    if isinstance(figure, bool) or figure is None:
        return json.dumps(figure)
    if isinstance(figure, int | float):
        return f"{figure:,}"
    return str(figure)


def table(results: list[ChildResult]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    for result in results:
        goals = targets(result.name)
        if result.returncode != 0:
            rows.append((result.name, "(failed)", f"exit {result.returncode}", "", "FAILED"))
            continue
        first = True
        for key, figure in result.figures.items():
            goal = goals.get(key)
            rows.append(
                (
                    result.name if first else "",
                    key,
                    shown(figure),
                    str(goal) if goal else "",
                    verdict(goal, figure),
                )
            )
            first = False
        rows.append(("", "(wall clock)", f"{result.wall_seconds:,.1f} s", "", ""))
    header = ("benchmark", "figure", "value", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i == 2 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def git_commit() -> str:
    try:
        answer = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return answer.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def save(results: list[ChildResult]) -> None:
    """Merge into bench/results.json: a benchmark not run this time keeps its previous figures."""
    try:
        saved: dict[str, Any] = json.loads(RESULTS_FILE.read_text())
    except (OSError, json.JSONDecodeError):
        saved = {}
    benchmarks: dict[str, Any] = saved.get("benchmarks", {})
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for result in results:
        goals = targets(result.name)
        benchmarks[result.name] = {
            "at": now,
            "ok": result.returncode == 0
            and all(verdict(goal, result.figures.get(key)) == "ok" for key, goal in goals.items()),
            "returncode": result.returncode,
            "wall_seconds": result.wall_seconds,
            "figures": result.figures,
            "targets": {key: str(goal) for key, goal in goals.items()},
        }
    saved = {
        "at": now,
        "commit": git_commit(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
        },
        "database": "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "sqlite (bench/out)",
        "benchmarks": {name: benchmarks[name] for name in sorted(benchmarks)},
    }
    RESULTS_FILE.write_text(json.dumps(saved, ensure_ascii=False, indent=2) + "\n")


def echo(name: str, line: str) -> None:
    log(f"   [{name}] {line}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and what they measure")
    args = parser.parse_args()
    if args.list:
        for name in BENCHMARKS:
            print(f"{name:<24} {module(name).DESCRIPTION}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    results: list[ChildResult] = []
    for name in args.names or BENCHMARKS:
        log(f"== {name}: {module(name).DESCRIPTION}")
        result = run_child(name, echo=functools.partial(echo, name))
        if result.returncode != 0:
            log(f"== {name} failed (exit {result.returncode})")
        results.append(result)
    save(results)
    print(table(results))
    if args.names:
        print(json.dumps(results[-1].figures, ensure_ascii=False))
    return 0 if all(r.returncode == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
