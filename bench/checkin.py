"""Checking people in at a sampling site: one scan of a person's code, server time.

The data set is screening_schedule's (the district with bed-bound people and people under control; cached
in bench/out on SQLite, rebuilt on PostgreSQL). Untimed set-up: a campaign for tomorrow in 潘家园南里
(`nanli`, 7,300 residents, about 6,800 to test) with screening_schedule's three sites, opened, scheduled
and its notices sent (campaign_open, campaign_schedule, campaign_notify) by the commander. The scans are
made as `worker1`, a grid worker of the community, at the first site, taking the people called there in
the order of their slots (each person once), with the code their slip's QR holds:
http://127.0.0.1:8000/checkin/c/<codes.person_code(campaign, resident)>/. Tubes take 10 people; a new
tube is opened as each one fills.

Measured:
- `service_ms` / `service_p95_ms`: services.participant_by_code + services.checkin for SCANS people (after
  WARM_UP), the tube opened with services.tube_open every 10 (`service_tube_ms`, median);
- `ms` / `p95_ms`: the same for SCANS other people through the whole Django stack with django.test.Client
  (force_login, query logging off): the page's site step once (POST screening:checkin_site), then each
  tube's barcode (POST screening:checkin_tube, `tube_ms`) and each person's code (POST
  screening:checkin_scan, field `code`) as the page's htmx sends them (HX-Request), answered with the
  live fragment;
- `page_ms`: PAGE_SCANS more scans without htmx (a phone without JavaScript gets the whole page back);
- `queries`: the SQL statements of one htmx scan (logged to stderr with their times);
- `late_ms` / `late_p95_ms`: the end of the day. The rest of the people called to the site are checked in
  by the same worker through the services (untimed; about 2,200 check-ins by then), then LATE_SCANS more
  htmx scans: what a site's last scans cost, where the page lists the worker's own recent check-ins.

Before the HTTP part the worker has checked in WARM_UP + SCANS people through the services, so `ms`
is measured with 520 to 1,040 earlier check-ins of theirs at the site.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import statistics
from collections.abc import Callable, Sequence

import time_machine

from bench.common import (
    Figures,
    Target,
    Timer,
    child_main,
    log,
    peak_mb,
    percentile,
    query_logging_off,
)
from bench.screening_schedule import COMMUNITY, commander_of, open_campaign, open_dataset

DESCRIPTION = "one check-in scan at a sampling site (7,300-resident community), server time"
NAME = "checkin"
WORKER = "worker1"
SCANS = 500
WARM_UP = 20
PAGE_SCANS = 50
LATE_SCANS = 40
POOL = 10
CODE_URL = "http://127.0.0.1:8000/checkin/c/{}/"
CHECKIN_AT = dt.time(8, 0)  # local time on the testing day
TARGETS = {"ms": Target("<=", 100), "p95_ms": Target("<=", 100), "errors": Target("==", 0)}


def summary(samples: Sequence[float], prefix: str = "") -> Figures:
    return {
        f"{prefix}ms": round(statistics.median(samples), 1),
        f"{prefix}p95_ms": round(percentile(samples, 0.95), 1),
        f"{prefix}max_ms": round(max(samples), 1),
    }


def scan_in_tubes(
    codes: Sequence[str], open_tube: Callable[[str], None], scan: Callable[[str], bool], first_tube: int
) -> tuple[list[float], list[float], int]:
    """Scan `codes` into tubes of POOL, opening one before each POOL people: (scan ms, tube ms, errors)."""
    scans: list[float] = []
    tubes: list[float] = []
    errors = 0
    for n, code in enumerate(codes):
        if n % POOL == 0:
            with Timer() as timer:
                open_tube(f"T{first_tube + n // POOL:08d}")
            tubes.append(timer.seconds * 1000)
        with Timer() as timer:
            ok = scan(CODE_URL.format(code))
        scans.append(timer.seconds * 1000)
        errors += not ok
    return scans, tubes, errors


def run() -> Figures:
    build_seconds = open_dataset(NAME)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from linli.core.models import User
    from linli.registry.models import Community
    from linli.screening import codes, services
    from linli.screening.models import Lane, Participant, Tube

    community = Community.objects.get(code=COMMUNITY)
    commander = commander_of(community)
    worker = User.objects.get(username=WORKER)
    with Timer() as setup:
        campaign = open_campaign(community, commander)
        scheduled = services.campaign_schedule(actor=commander, campaign=campaign)
        services.campaign_notify(actor=commander, campaign=campaign)
    site = campaign.sites.order_by("order", "pk").first()
    assert site is not None
    # People under monitoring (the separate route, last in the day) go one to a tube: they are left out, so
    # that every scan here is an ordinary one into a tube of POOL.
    residents = list(
        Participant.objects.filter(campaign=campaign, slot__site=site)
        .exclude(lane=Lane.CONTROLLED)
        .order_by("slot__starts_at", "building_id", "household_id", "id")
        .values_list("resident_id", flat=True)
    )
    needed = 2 * (WARM_UP + SCANS) + PAGE_SCANS + 1 + LATE_SCANS
    if len(residents) < needed:
        raise AssertionError(f"{len(residents)} people are called to {site}; {needed} are needed")
    people = iter([codes.person_code(campaign.pk, r) for r in residents])
    log(
        f"campaign of {scheduled.people:,} people set up in {setup.seconds:.1f} s; "
        f"{len(residents):,} called to {site.name}; load average {os.getloadavg()[0]:.1f}"
    )

    # Check-in is open on the testing day only: the campaign was set up the day before (above), the scans are
    # made on its morning. time_machine moves the clock there (from here to the process's end) and leaves
    # perf_counter alone.
    time_machine.travel(timezone.make_aware(dt.datetime.combine(campaign.day, CHECKIN_AT)), tick=True).start()

    def take(n: int) -> list[str]:
        return list(itertools.islice(people, n))

    figures: Figures = {}

    # Through the services, as the view calls them.
    tube: dict[str, Tube] = {}

    def service_tube(code: str) -> None:
        tube["now"] = services.tube_open(
            actor=worker, campaign=campaign, site=site, code=code, pool_size=POOL
        )

    def service_scan(url: str) -> bool:
        participant = services.participant_by_code(campaign, url)
        services.checkin(
            actor=worker, campaign=campaign, participant=participant, tube=tube["now"], site=site
        )
        return True

    with query_logging_off():
        scans, tubes, _errors = scan_in_tubes(take(WARM_UP + SCANS), service_tube, service_scan, first_tube=1)
    figures.update(summary(scans[WARM_UP:], "service_"))
    figures["service_tube_ms"] = round(statistics.median(tubes), 1)
    log(f"services: {figures}")

    # Through the whole Django stack.
    client = Client(HTTP_HOST="localhost")
    client.force_login(worker)
    htmx = {"HX-Request": "true"}
    answer = client.post(reverse("screening:checkin_site", args=[campaign.pk]), {"site": site.pk})
    if answer.status_code != 302:
        raise AssertionError(f"choosing the site: HTTP {answer.status_code}")
    scan_url = reverse("screening:checkin_scan", args=[campaign.pk])
    tube_url = reverse("screening:checkin_tube", args=[campaign.pk])
    refused: list[str] = []
    last_size = [0]

    def http_tube(code: str) -> None:
        response = client.post(tube_url, {"code": code, "pool": str(POOL)}, headers=htmx)
        if response.status_code != 200 or "✗" in response.content.decode():
            raise AssertionError(f"tube {code}: HTTP {response.status_code}")

    def http_scan(url: str, headers: dict[str, str] = htmx) -> bool:
        response = client.post(scan_url, {"code": url}, headers=headers)
        ok = response.status_code == 200 and "✓" in response.content.decode()
        last_size[0] = len(response.content)
        if not ok and len(refused) < 5:
            refused.append(f"HTTP {response.status_code}: {response.content.decode()[:300]}")
        return ok

    with query_logging_off():
        scans, tubes, errors = scan_in_tubes(take(WARM_UP + SCANS), http_tube, http_scan, first_tube=10_001)
        figures = {**summary(scans[WARM_UP:]), **figures, "tube_ms": round(statistics.median(tubes), 1)}
        page, _tubes, page_errors = scan_in_tubes(
            take(PAGE_SCANS), http_tube, lambda url: http_scan(url, {}), first_tube=20_001
        )
        figures["page_ms"] = round(statistics.median(page), 1)
    errors += page_errors

    # One more scan, its queries counted (into a new tube, so the scan is an ordinary one).
    http_tube("T00030001")
    with CaptureQueriesContext(connection) as queries:
        errors += not http_scan(CODE_URL.format(take(1)[0]))
    scan_queries = len(queries)  # now: every request clears the connection's query log
    for query in queries.captured_queries:
        log(f"  {query['time']:>6} s  {query['sql'][:150]}")

    # The end of the day: the rest of the site's people checked in by the same worker (untimed, through
    # the services), then LATE_SCANS more scans over HTTP.
    rest = take(len(residents) - needed)
    with query_logging_off():
        scan_in_tubes(rest, service_tube, service_scan, first_tube=40_001)
        late, _tubes, late_errors = scan_in_tubes(take(LATE_SCANS), http_tube, http_scan, first_tube=50_001)
    errors += late_errors
    figures["late_ms"] = round(statistics.median(late), 1)
    figures["late_p95_ms"] = round(percentile(late, 0.95), 1)
    for text in refused:
        log(f"refused: {text}")
    checked_in = Participant.objects.filter(campaign=campaign, checked_in_at__isnull=False).count()
    if checked_in != len(residents):
        raise AssertionError(f"{checked_in} people checked in, {len(residents)} expected")
    figures.update(
        {
            "errors": errors,
            "queries": scan_queries,
            "fragment_bytes": last_size[0],
            "scans": SCANS,
            "checked_in": checked_in,
            "people": scheduled.people,
            "load_average": round(os.getloadavg()[0], 1),
            "peak_mb": peak_mb(),
        }
    )
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
