"""A demo testing campaign for today in the demo community: three sites (one with the separate route),
scheduled and with notices sent, so the check-in page, the notices and the queue screens have something to
show. Some very old residents who need help are marked bed-bound, for door-to-door sampling, and two people
are put under health monitoring, for the separate route."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from linli.core.models import User
from linli.core.roles import Role
from linli.epidemic.cases import case_open
from linli.epidemic.models import ControlType
from linli.registry.models import Community, Residency, Resident, SpecialCare, SpecialKind
from linli.screening import services
from linli.screening.models import Campaign

BED_BOUND_DEMO = 12


def seed_demo_screening(community_code: str = "nanli") -> bool:
    with translation.override(settings.LANGUAGE_CODE):
        return _seed(community_code)


def _demo_day() -> tuple[dt.date, dt.time]:
    """Today, 07:00 to 21:00 (later when the demo is loaded in the evening), so check-in is open; tomorrow
    when it is too late tonight."""
    now = timezone.localtime()
    if now.hour >= 23:
        return now.date() + dt.timedelta(days=1), dt.time(21, 0)
    return now.date(), max(dt.time(21, 0), dt.time(now.hour + 1, 0))


def _seed(community_code: str) -> bool:
    community = Community.objects.filter(code=community_code).first()
    commander = (
        User.objects.filter(community=community, role=Role.COMMUNITY_ADMIN, grid__isnull=True)
        .order_by("id")
        .first()
    )
    if community is None or commander is None or Campaign.objects.filter(community=community).exists():
        return False
    oldest = (
        Resident.objects.filter(community=community, special__kind=SpecialKind.NEEDS_HELP)
        .order_by("birth_date", "id")
        .values_list("id", flat=True)[:BED_BOUND_DEMO]
    )
    # Two people under health monitoring (时空伴随), so the separate route has someone to call last.
    companion = ControlType.objects.filter(community__isnull=True, key="companion").first()
    monitored = list(
        Resident.objects.filter(
            community=community,
            control_cases__isnull=True,
            household__building__number="12",
            residency__in=[Residency.BOTH, Residency.LIVING],
        ).order_by("id")[:2]
    )
    day, ends_at = _demo_day()
    with transaction.atomic():
        if companion is not None:
            for resident in monitored:
                case_open(actor=commander, resident=resident, control_type=companion, note="演示：时空伴随")
        SpecialCare.objects.bulk_create(
            [SpecialCare(resident_id=pk, kind=SpecialKind.BED_BOUND, note="卧床") for pk in oldest],
            ignore_conflicts=True,
        )
        campaign = services.campaign_open(
            actor=commander,
            community=community,
            day=day,
            name="第一轮全员核酸筛查",
            starts_at=dt.time(7, 0),
            ends_at=ends_at,
            sites=[
                services.SiteValues("东门广场采样点", "东门内广场，排队线沿围墙", 300, 80, 0),
                services.SiteValues("西门停车场采样点", "西门停车场，雨棚下", 300, 80, 0),
                services.SiteValues(
                    "北侧绿地（单独通道）", "北侧绿地，健康监测人员单独路线，最后检测", 0, 0, 40
                ),
            ],
        )
        services.campaign_schedule(actor=commander, campaign=campaign)
        services.campaign_notify(actor=commander, campaign=campaign)
    return True
