"""Demo volunteers for the demo community: the pyramid of seed 000 (general, professional, expert),
an enterprise with enrolled first-aiders and a response team, one application waiting, one lapsed
certificate, a need for tonight with call-outs, and a year's hours for the honour roll."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from linli.core.models import User
from linli.core.roles import Role
from linli.registry.demo import DEMO_PASSWORD
from linli.registry.models import Building, Community
from linli.volunteers.catalogue import load_skills
from linli.volunteers.models import (
    ALL_WEEK,
    Certificate,
    Enterprise,
    EnterpriseTeam,
    PointEntry,
    Skill,
    Tier,
    Volunteer,
)
from linli.volunteers.services import call_out, need_create

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "建国",
    "秀英",
    "志强",
    "丽娟",
    "海涛",
    "晓燕",
    "文杰",
    "桂兰",
    "俊峰",
    "雪梅",
    "国庆",
    "婷婷",
    "宏伟",
    "春花",
    "子涵",
]
# (tier, skills, certified) for the demo pyramid
PROFILES = [
    (Tier.GENERAL, ["logistics"], False),
    (Tier.GENERAL, ["security"], False),
    (Tier.GENERAL, ["liaison"], False),
    (Tier.GENERAL, ["liaison", "media"], False),
    (Tier.PROFESSIONAL, ["first-aid"], True),
    (Tier.PROFESSIONAL, ["electrician"], True),
    (Tier.PROFESSIONAL, ["driver", "logistics"], True),
    (Tier.PROFESSIONAL, ["psychology"], True),
    (Tier.EXPERT, ["nursing", "first-aid"], True),
]


def seed_demo_volunteers(community_code: str = "nanli") -> bool:
    community = Community.objects.filter(code=community_code).first()
    lead = User.objects.filter(username="team").first()
    if community is None or lead is None or Volunteer.objects.filter(community=community).exists():
        return False
    load_skills()
    rng = random.Random(2026)
    skills = {s.code: s for s in Skill.objects.all()}
    buildings = list(Building.objects.filter(community=community).order_by("sort_key"))
    today = timezone.localdate()
    with transaction.atomic():
        people: list[Volunteer] = []
        for n in range(60):
            tier, codes, certified = PROFILES[n % len(PROFILES)]
            v = Volunteer.objects.create(
                community=community,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                phone=f"1370000{n:04d}",
                building=rng.choice(buildings) if buildings else None,
                tier=tier,
                status=Volunteer.Status.ACTIVE,
                availability=rng.choice(
                    [ALL_WEEK, 0b111 << 15 | 0b111 << 18, sum(1 << (d * 3 + 2) for d in range(7))]
                ),
                on_call=n % 5 == 0,
                agreement_signed_at=timezone.now() - dt.timedelta(days=200),
                insurer="中国人寿",
                policy_number=f"ZY2026-{n:05d}",
                cover="意外伤害 50 万元",
                insured_until=today + dt.timedelta(days=200),
                approved_at=timezone.now() - dt.timedelta(days=200),
                approved_by=lead,
            )
            v.skills.set([skills[c] for c in codes])
            if certified:
                for code in codes:
                    if skills[code].needs_certificate:
                        lapsed = n == 4  # one lapsed first-aid certificate to renew
                        Certificate.objects.create(
                            volunteer=v,
                            skill=skills[code],
                            number=f"{code.upper()}-{2024 + n % 2}-{n:04d}",
                            issuer="北京市红十字会" if code in ("first-aid", "nursing") else "应急管理局",
                            issued_on=today - dt.timedelta(days=700),
                            expires_on=today - dt.timedelta(days=10)
                            if lapsed
                            else today + dt.timedelta(days=30 + n * 10),
                        )
            people.append(v)
        # A year of service for the honour roll.
        for v in people:
            for _ in range(rng.randint(0, 6)):
                hours = Decimal(rng.choice([2, 3, 4]))
                PointEntry.objects.create(
                    volunteer=v,
                    reason=PointEntry.Reason.HOURS,
                    hours=hours,
                    points=hours,
                    note="社区值守",
                    at=timezone.now() - dt.timedelta(days=rng.randint(1, 300)),
                )
        # The demo volunteer login, and one application waiting for approval.
        # Real volunteers sign in with their phone number; the demo's have short names.
        account = User(username="volunteer", display_name="周晓燕", role=Role.VOLUNTEER)
        account.set_password(DEMO_PASSWORD)
        account.save()
        me = people[13]  # a first-aider with a valid certificate
        me.user = account
        me.name = "周晓燕"
        me.save()
        Volunteer.objects.create(
            community=community,
            name="吴文杰",
            phone="13700009999",
            building=buildings[0] if buildings else None,
            tier=Tier.GENERAL,
            status=Volunteer.Status.APPLIED,
            availability=ALL_WEEK,
            consent_at=timezone.now(),
            agreement_signed_at=timezone.now(),
        ).skills.set([skills["liaison"]])
        enterprise = Enterprise.objects.create(
            street_id=community.street_id,
            name="京南物业服务有限公司",
            credit_code="91110105MA01ABCD26",
            address="潘家园路 18 号",
            contact="陈经理",
            phone="13901010001",
            status=Enterprise.Status.APPROVED,
        )
        EnterpriseTeam.objects.create(
            enterprise=enterprise,
            name="京南物业应急抢险队",
            speciality="水电抢修、排涝",
            full_time=3,
            part_time=45,
            equipment="抽水泵 4 台、发电机 1 台、应急照明 20 套",
            leader="刘师傅",
            phone="13901010002",
        )
        for v in people[5::9]:
            v.enterprise = enterprise
            v.save(update_fields=["enterprise"])
        contact = User(username="enterprise", display_name="陈经理", role=Role.ENTERPRISE)
        contact.set_password(DEMO_PASSWORD)
        contact.save()
        enterprise.accounts.add(contact)
        start = (timezone.localtime() + dt.timedelta(days=1)).replace(
            hour=19, minute=0, second=0, microsecond=0
        )
        need = need_create(
            actor=lead,
            community=community,
            title="12号楼夜间健康监测值守",
            skills=[skills["first-aid"]],
            count=3,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=4),
            building=buildings[11] if len(buildings) > 11 else None,
        )
        call_out(actor=lead, need=need, volunteers=[me], notify=True)
    return True
