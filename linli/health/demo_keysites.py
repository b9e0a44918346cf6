"""Demo key sites for the demo community: six sites with their rules, a week of disinfection rounds (today's
07:00 round done everywhere but at the express point, which the scan will flag), a cold-chain store with
samples (one negative published, one awaiting its result) and a pharmacy with two fever-medicine reports,
one buyer found in the ledger and one not."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from linli.core.clock import local_at
from linli.core.models import User
from linli.core.roles import Role
from linli.health.keysites import SiteValues, key_site_save
from linli.health.models import Disinfection, EnvSample, KeySite, SiteKind
from linli.health.pharmacy import Via, pharmacy_report_record
from linli.registry.models import Building, Community, Resident

HISTORY_DAYS = 6
CLEANERS = ["王师傅", "李阿姨", "赵师傅", "保洁 刘姐"]


def seed_demo_key_sites(community: Community | str = "nanli") -> bool:
    """Seed the community's key sites once; False when it has some already (or has no commander)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _seed(community)


def _seed(community: Community | str) -> bool:
    if isinstance(community, str):
        found = Community.objects.filter(code=community).first()
        if found is None:
            return False
        community = found
    commander = (
        User.objects.filter(community=community, role=Role.COMMUNITY_ADMIN, grid__isnull=True, is_active=True)
        .order_by("id")
        .first()
    )
    if commander is None or KeySite.objects.filter(community=community).exists():
        return False
    buildings = list(Building.objects.filter(community=community).order_by("sort_key", "number"))
    if not buildings:
        return False
    worker1 = User.objects.filter(username="worker1", community=community).first()
    mine = [b for b in buildings if worker1 is not None and b.worker_id == worker1.pk] or buildings

    def near(index: int, own: bool = True) -> Building:
        pool = mine if own else buildings
        return pool[index % len(pool)]

    plans = [
        ("华联超市南里店", SiteKind.SUPERMARKET, near(0), "南里路12号", "陈店长", "13601012345"),
        ("南里小学", SiteKind.SCHOOL, near(3, own=False), "南里路20号", "周校长", "13701023456"),
        ("南里菜鸟驿站", SiteKind.EXPRESS, near(1), "3号楼底商", "孙站长", "13801034567"),
        ("鲜达冷链生鲜店", SiteKind.COLD_CHAIN, near(2), "南里农贸市场内", "吴经理", "13901045678"),
        ("南里颐养院", SiteKind.NURSING_HOME, near(6, own=False), "南里东街5号", "郑院长", "15001056789"),
        ("康宁大药房南里店", SiteKind.PHARMACY, near(0), "南里路8号", "冯药师", "15101067890"),
    ]
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        sites = {}
        for name, kind, building, address, contact, phone in plans:
            site = key_site_save(
                actor=commander,
                community=community,
                values=SiteValues(
                    name=name,
                    kind=kind,
                    address=address,
                    building=building,
                    contact_name=contact,
                    contact_phone=phone,
                ),
            )
            sites[kind] = site
        # Registered a week ago, so the log has a history and the scan does not flag the past.
        KeySite.objects.filter(pk__in=[s.pk for s in sites.values()]).update(
            created_at=now - dt.timedelta(days=HISTORY_DAYS + 1)
        )
        rounds = []
        for n, site in enumerate(sites.values()):
            for back in range(HISTORY_DAYS, -1, -1):
                day = today - dt.timedelta(days=back)
                for slot in site.slot_times():
                    scheduled = local_at(day, slot)
                    done_at = scheduled + dt.timedelta(minutes=(n * 7 + back * 3) % 25 - 5)
                    if done_at > now:
                        continue
                    if back == 0 and site.kind == SiteKind.EXPRESS:
                        continue  # today's round at the express point was missed
                    rounds.append(
                        Disinfection(
                            site=site,
                            day=day,
                            slot=slot,
                            done_at=done_at,
                            done_by=CLEANERS[(n + back) % len(CLEANERS)],
                            recorded_by=commander,
                            agent="含氯消毒液 500mg/L",
                            areas="入口、收银台、货架、电梯"
                            if site.kind != SiteKind.COLD_CHAIN
                            else "冷库、柜台、外包装",
                        )
                    )
        Disinfection.objects.bulk_create(rounds)
        cold = sites[SiteKind.COLD_CHAIN]
        EnvSample.objects.create(
            site=cold,
            taken_on=today - dt.timedelta(days=6),
            points="冷库门把手、柜台、进口冻品外包装",
            count=6,
            taken_by="区疾控中心",
            result=EnvSample.Result.NEGATIVE,
            result_at=now - dt.timedelta(days=5, hours=4),
            recorded_by=commander,
        )
        EnvSample.objects.create(
            site=cold,
            taken_on=today - dt.timedelta(days=3),
            points="冷库地面、砧板、从业人员手套",
            count=5,
            taken_by="区疾控中心",
            result=EnvSample.Result.NEGATIVE,
            result_at=now - dt.timedelta(days=2, hours=3),
            recorded_by=commander,
        )
        EnvSample.objects.create(
            site=cold,
            taken_on=today,
            points="冷库门把手、柜台、进口冻品外包装",
            count=6,
            taken_by="区疾控中心",
            recorded_by=commander,
        )
        _pharmacy_reports(community, sites[SiteKind.PHARMACY], commander, near(0))
    return True


def _pharmacy_reports(community: Community, site: KeySite, commander: User, building: Building) -> None:
    buyer = (
        Resident.objects.filter(
            household__building=building, phone__startswith="1", birth_date__year__lt=2000
        )
        .select_related("household__building", "household__entrance")
        .order_by("id")
        .first()
    )
    now = timezone.now()
    if buyer is not None:
        pharmacy_report_record(
            actor=None,
            community=community,
            pharmacy=site,
            buyer_name=buyer.name,
            buyer_phone=buyer.phone,
            address=f"{buyer.household.building.number}号楼{buyer.household.entrance.number}单元{buyer.household.room}",
            medicine="布洛芬缓释胶囊",
            quantity=1,
            bought_at=now - dt.timedelta(minutes=40),
            via=Via.LINK,
        )
    phone = next(
        p
        for p in (f"1370000{n:04d}" for n in range(1234, 9999))
        if not Resident.objects.filter(community=community, phone=p).exists()
    )
    pharmacy_report_record(
        actor=commander,
        community=community,
        pharmacy=site,
        buyer_name="周立新",
        buyer_phone=phone,
        address="南里社区附近，具体不详",
        medicine="对乙酰氨基酚片",
        quantity=2,
        bought_at=now - dt.timedelta(minutes=15),
        via=Via.FORM,
    )
