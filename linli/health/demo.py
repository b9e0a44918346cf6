"""Demo health monitoring: for every community of the demo street, two weeks of self-reports (about nine
in ten report each day, fewer at weekends), today's reports so far with a few abnormal ones that made
follow-up tasks, and yesterday's spot checks mostly called; then, for the demo community, the key sites'
and the visits' own demo data."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation

from linli.core.bulk import insert_rows
from linli.core.clock import local_at
from linli.health import selfreport as sr
from linli.health.models import Antigen, SelfReport, SpotCheck, Symptom
from linli.health.spotchecks import spot_checks_draw
from linli.registry.models import Community, Resident

# The daily reports of the last 14 mornings count the day before each: 15 days.
HISTORY_DAYS = 15


def seed_demo_health(community_code: str = "nanli") -> bool:
    community = Community.objects.filter(code=community_code).first()
    if community is None or SelfReport.objects.filter(community=community).exists():
        return False
    with translation.override(settings.LANGUAGE_CODE):
        # Every community of the street reports, so the street's daily report is not half empty.
        for neighbour in Community.objects.filter(street_id=community.street_id).order_by("pk"):
            if not SelfReport.objects.filter(community=neighbour).exists():
                _self_reports(neighbour)
        from linli.health.demo_keysites import seed_demo_key_sites
        from linli.health.demo_visits import seed_demo_visits

        seed_demo_key_sites(community)
        seed_demo_visits(community)
    return True


def _self_reports(community: Community) -> None:
    rng = random.Random(7)
    now = timezone.localtime()
    today = now.date()
    people = list(
        Resident.objects.filter(community=community, residency__in=sr.LIVING_HERE).values_list(
            "id", "grid_id", "household__building_id", "household_id"
        )
    )
    fields = [
        "community_id", "grid_id", "building_id", "resident_id", "day", "submitted_at", "temperature",
        "symptoms", "at_home", "away_note", "antigen", "photo", "abnormal", "current", "recorded_by_id", "ip",
    ]  # fmt: skip
    rows = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - dt.timedelta(days=back)
        share = 0.86 if day.weekday() >= 5 else 0.93
        share -= 0.02 * max(0, back - 10)  # the first days were slower, as people found the poster
        for resident_id, grid_id, building_id, _household in people:
            if rng.random() > share:
                continue
            temperature = Decimal(rng.choice(["36.2", "36.4", "36.5", "36.6", "36.7", "36.8"]))
            symptoms = ""
            if rng.random() < 0.004:
                temperature = Decimal(rng.choice(["37.4", "37.8", "38.2"]))
            elif rng.random() < 0.006:
                symptoms = rng.choice([Symptom.COUGH, Symptom.SORE_THROAT, Symptom.FATIGUE]).value
            at = local_at(day, dt.time(7, 0)) + dt.timedelta(minutes=rng.randrange(0, 14 * 60))
            rows.append(
                (
                    community.pk, grid_id, building_id, resident_id, day, at, temperature, symptoms, True, "",
                    Antigen.NONE.value, "", bool(symptoms) or temperature >= Decimal("37.3"), True, None, None,
                )
            )  # fmt: skip
    # Today so far: the share grows through the morning; a few abnormal reports made tasks (through the
    # service, which makes them); the rest are written in one go.
    share = min(0.9, max(0.1, (now.hour - 6) / 4 * 0.9)) if now.hour >= 7 else 0.05
    households: dict[int, list[tuple[int, int, int]]] = {}
    for resident_id, grid_id, building_id, household_id in people:
        households.setdefault(household_id, []).append((resident_id, grid_id, building_id))
    earliest = min(now, local_at(today, dt.time(7, 0)))
    abnormal = []
    for count, (household_id, members) in enumerate(households.items()):
        if rng.random() > share:
            continue
        at = earliest + (now - earliest) * rng.random()
        if count % 211 == 5:
            abnormal.append((household_id, members[0][0], at))
            continue
        for resident_id, grid_id, building_id in members:
            temperature = Decimal(rng.choice(["36.3", "36.5", "36.6"]))
            rows.append(
                (
                    community.pk, grid_id, building_id, resident_id, today, at, temperature, "", True, "",
                    Antigen.NONE.value, "", False, True, None, None,
                )
            )  # fmt: skip
    insert_rows(SelfReport, fields, rows)
    for household_id, resident_id, at in abnormal:
        entry = sr.Entry(resident_id=resident_id, temperature=Decimal("38.1"), symptoms=[Symptom.COUGH])
        sr.self_reports_submit(household_id=household_id, entries=[entry], now=at)
    # Yesterday's spot checks, most of them called.
    yesterday = today - dt.timedelta(days=1)
    spot_checks_draw(community_id=community.pk, day=yesterday, now=local_at(yesterday, dt.time(14, 0)))
    checks = list(SpotCheck.objects.filter(community=community, day=yesterday))
    for check in checks[: int(len(checks) * 0.8)]:
        check.result = rng.choice([SpotCheck.Result.CONFIRMED] * 8 + [SpotCheck.Result.UNREACHABLE])
        check.checked_at = local_at(yesterday, dt.time(16, 0))
    SpotCheck.objects.bulk_update(checks, ["result", "checked_at"])
