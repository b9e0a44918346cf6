"""Demo key-population visits for the demo community: weekly plans made from the ledger (tagging a few
more people when the ledger has too few), three weeks of visits in which two people were missed last week,
this week visited up to today with two more missed, about half of today's done, and one visit this hour
that asked for groceries and so made a task for the logistics team."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone, translation

from linli.core.clock import local_at
from linli.core.models import User
from linli.health.models import Visit, VisitGroup, VisitPlan, week_of
from linli.health.visits import eligible_residents, visit_plans_sync, visit_record
from linli.registry.models import Community, Residency, Resident, SpecialCare, SpecialKind

# Below this many people to visit the demo tags some more, so every worker has a week's list.
MIN_ELIGIBLE = 40
MEDICINES = ("硝苯地平缓释片", "氨氯地平片", "二甲双胍片", "阿司匹林肠溶片", "阿托伐他汀钙片", "胰岛素")
SYMPTOMS = ("膝盖疼", "睡眠不好", "有点头晕", "胃口差")


def seed_demo_visits(community: Community | str = "nanli") -> bool:
    if isinstance(community, str):
        found = Community.objects.filter(code=community).first()
        if found is None:
            return False
        community = found
    if Visit.objects.filter(community=community).exists():
        return False
    # Task titles and notes are stored: in the site's language, as a visit saved from the page would be.
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        _seed(community)
    return True


def _tag_more(community: Community, today: dt.date, rng: random.Random) -> None:
    """People who live alone and are over 60, and some over 50, tagged as the ledger would have them."""
    living = Resident.objects.filter(
        community=community, residency__in=[Residency.BOTH, Residency.LIVING]
    ).exclude(special__kind__in=[SpecialKind.ELDERLY_ALONE, SpecialKind.CHRONIC])
    alone = list(
        living.filter(birth_date__lte=today - dt.timedelta(days=62 * 366))
        .annotate(n=Count("household__members"))
        .filter(n=1)
        .order_by("id")
        .values_list("id", flat=True)[:MIN_ELIGIBLE]
    )
    older = list(
        living.filter(birth_date__lte=today - dt.timedelta(days=55 * 366))
        .exclude(pk__in=alone)
        .order_by("id")
        .values_list("id", flat=True)[: MIN_ELIGIBLE * 3]
    )
    chronic = rng.sample(older, min(len(older), MIN_ELIGIBLE // 2))
    SpecialCare.objects.bulk_create(
        [SpecialCare(resident_id=pk, kind=SpecialKind.ELDERLY_ALONE) for pk in alone]
        + [SpecialCare(resident_id=pk, kind=SpecialKind.CHRONIC) for pk in chronic],
        ignore_conflicts=True,
    )


def _reading(rng: random.Random, plan: VisitPlan) -> dict[str, object]:
    chronic = plan.group == VisitGroup.CHRONIC
    systolic = rng.randint(122, 168) if chronic else rng.randint(108, 150)
    diastolic = min(systolic - 30, rng.randint(68, 98) if chronic else rng.randint(62, 90))
    values: dict[str, object] = {
        "method": rng.choices(list(Visit.Method.values), weights=(80, 15, 5))[0],
        "bp_systolic": systolic,
        "bp_diastolic": diastolic,
        "temperature": Decimal(rng.choice(["36.2", "36.4", "36.5", "36.6", "36.7", "36.8"])),
        "symptoms": rng.choice(SYMPTOMS) if rng.random() < 0.08 else "",
    }
    if chronic or rng.random() < 0.4:
        values["medicines"] = "、".join(rng.sample(MEDICINES, rng.choice((1, 1, 2))))
        values["medicine_days_left"] = rng.randint(6, 40)
    return values


def _seed(community: Community) -> None:
    rng = random.Random(60)
    now = timezone.localtime()
    today = now.date()
    monday = week_of(today)
    if len(eligible_residents(community.pk, today)) < MIN_ELIGIBLE:
        _tag_more(community, today, rng)
    visit_plans_sync(actor=None, community=community, today=today)
    # The plans have run for a month, so last week's and this week's visits were all due.
    VisitPlan.objects.filter(community=community).update(starts_on=monday - dt.timedelta(days=28))

    plans = list(
        VisitPlan.objects.filter(community=community, active=True)
        .select_related("resident__household__building__worker", "visitor")
        .order_by("resident__household__building__sort_key", "resident__household__room", "id")
    )
    if not plans:
        return
    worker1 = User.objects.filter(username="worker1", community=community).first()
    mine = [p for p in plans if worker1 and p.resident.household.building.worker_id == worker1.pk] or plans
    # Two people nobody reached last week, and two this week whose day has passed (when any has).
    missed_last_week = {p.pk for p in mine[3:5]}
    earlier = [p for p in mine if p.weekday < today.weekday() and p.pk not in missed_last_week]
    missed_this_week = {p.pk for p in earlier[-2:]}
    due_today = [p for p in mine if p.weekday == today.weekday() and p.pk not in missed_last_week]
    groceries = due_today[0] if due_today else next(p for p in mine if p.pk not in missed_last_week)

    rows: list[Visit] = []

    def add(plan: VisitPlan, day: dt.date, latest: dt.datetime | None = None) -> None:
        at = local_at(day, dt.time(8, 30)) + dt.timedelta(minutes=rng.randrange(0, 9 * 60))
        if latest is not None and at > latest:
            at = latest - dt.timedelta(minutes=rng.randrange(5, 60))
        rows.append(
            Visit(
                community_id=plan.community_id,
                grid_id=plan.grid_id,
                resident_id=plan.resident_id,
                plan=plan,
                week=week_of(day),
                visited_at=at,
                visitor=plan.visitor or plan.resident.household.building.worker,
                **_reading(rng, plan),  # type: ignore[arg-type]
            )
        )

    for plan in plans:
        for weeks_back in (3, 2, 1):
            if weeks_back == 1 and plan.pk in missed_last_week:
                continue
            add(plan, monday - dt.timedelta(days=7 * weeks_back - plan.weekday))
        if plan.pk in missed_last_week or plan.pk in missed_this_week or plan.pk == groceries.pk:
            continue
        if plan.weekday < today.weekday():
            add(plan, plan.due_on(today))
        elif plan.weekday == today.weekday() and now.hour >= 9 and rng.random() < 0.5:
            add(plan, today, latest=now)
    Visit.objects.bulk_create(rows, batch_size=500)

    visitor = (
        groceries.visitor
        or groceries.resident.household.building.worker
        or User.objects.filter(username="commander", community=community).first()
    )
    if visitor is not None:
        visit_record(
            actor=visitor,
            resident=groceries.resident,
            visited_at=timezone.now() - dt.timedelta(minutes=40),
            bp_systolic=146,
            bp_diastolic=88,
            temperature=Decimal("36.5"),
            medicines="氨氯地平片",
            medicine_days_left=12,
            symptoms="腿脚不便，下楼困难",
            needs=["groceries"],
            needs_note="代买大米5斤、青菜和鸡蛋，老人付现金",
        )
