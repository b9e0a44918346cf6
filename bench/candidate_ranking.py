"""Ranking the candidates for one need (services.rank_candidates) among a district's 68,945 volunteers.

The data set is volunteer_assignment's (six streets, 27 communities, 1,000 open needs; the same
cache in bench/out). NEEDS different open needs, drawn at random, are each ranked once to warm up,
then PASSES times in turn, each time from a freshly read Need as a page would have it, at the data
set's fixed "now" (time_machine, since rank_candidates reads the clock). `ms` is the median over the
needs of each need's median; the slowest need's median is beside it. Then the parts of one ranking
are timed alone on the same needs: load_pool for the need's street and skills, candidates() on that
pool, and reading the ranked volunteers (in_bulk), with the queries one ranking makes.
"""

from __future__ import annotations

import functools
import random
import statistics
from collections.abc import Callable
from typing import Any

from bench.common import Figures, Target, Timer, child_main, log, percentile, query_logging_off
from bench.volunteer_assignment import NOW, open_dataset

DESCRIPTION = "rank the candidates for one need among 68,945 volunteers (median over 20 needs)"
NAME = "candidate_ranking"
NEEDS = 20
PASSES = 5
TARGETS = {"ms": Target("<=", 100)}


def timed_ms(call: Callable[[], Any]) -> float:
    with Timer() as timer:
        call()
    return timer.seconds * 1000


def run() -> Figures:
    build_seconds = open_dataset(NAME)

    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from linli.volunteers import dispatch
    from linli.volunteers.models import Need, Volunteer
    from linli.volunteers.services import rank_candidates

    open_ids = list(Need.objects.filter(status=Need.Status.OPEN).order_by("pk").values_list("pk", flat=True))
    chosen = random.Random(20).sample(open_ids, NEEDS)

    def fresh(pk: int) -> Need:
        return Need.objects.get(pk=pk)

    samples: dict[int, list[float]] = {pk: [] for pk in chosen}
    parts: dict[str, list[float]] = {"load_pool_ms": [], "candidates_ms": [], "in_bulk_ms": []}
    sizes, returned = [], []
    with time_machine.travel(NOW, tick=False):
        with CaptureQueriesContext(connection) as queries:
            rank_candidates(fresh(chosen[0]))
        with query_logging_off():
            for pk in chosen:
                returned.append(len(rank_candidates(fresh(pk))))
            for _n in range(PASSES):
                for pk in chosen:
                    need = fresh(pk)
                    samples[pk].append(timed_ms(functools.partial(rank_candidates, need)))
            for pk in chosen:
                need = fresh(pk)
                asked = set(need.shifts.values_list("volunteer_id", flat=True))
                spec = dispatch.NeedSpec.of(need, exclude=asked)
                with Timer() as load:
                    pool = dispatch.load_pool(street_ids=[need.street_id], skill_ids=spec.skill_ids)
                with Timer() as rank:
                    ids, _costs = dispatch.candidates(pool, spec, limit=20)
                with Timer() as read:
                    Volunteer.objects.in_bulk([int(pool.ids[i]) for i in ids])
                parts["load_pool_ms"].append(load.seconds * 1000)
                parts["candidates_ms"].append(rank.seconds * 1000)
                parts["in_bulk_ms"].append(read.seconds * 1000)
                sizes.append(len(pool))
    per_need = [statistics.median(values) for values in samples.values()]
    log(
        f"{NEEDS} needs × {PASSES}: median {statistics.median(per_need):.1f} ms, slowest need "
        f"{max(per_need):.1f} ms; pools of {min(sizes):,}–{max(sizes):,} volunteers"
    )
    figures: Figures = {
        "ms": round(statistics.median(per_need), 1),
        "ms_max": round(max(per_need), 1),
        "ms_p95": round(percentile(per_need, 0.95), 1),
        **{key: round(statistics.median(values), 1) for key, values in parts.items()},
        "queries": len(queries),
        "pool_median": int(statistics.median(sizes)),
        "returned_median": int(statistics.median(returned)),
        "needs": NEEDS,
        "passes": PASSES,
    }
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
