"""A deterministic demo community shaped by the seeds, and the people generator the benchmarks share.

Seed 002: one community of 16 staff, 33 buildings and about 7,300 residents; another of 9 staff and
1,100 households. Seed 003: a district of 27 communities. Names, ID numbers (valid GB 11643 check
characters) and phones are realistic but invented.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from linli.core.bulk import insert_rows
from linli.core.identity import check_character
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.io import HOUSEHOLD_COLUMNS, RESIDENT_COLUMNS
from linli.registry.models import (
    Building,
    Community,
    Entrance,
    Grid,
    Household,
    Relation,
    Residency,
    Resident,
    SpecialCare,
    SpecialKind,
    Street,
    building_sort_key,
)

DEMO_PASSWORD = "linli-demo-2026"
TODAY = date(2026, 11, 1)  # ages are computed against a fixed day so the data set never changes

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文海东林峰亮成龙庆斌晨阳博宁旭子轩睿泽"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀英华慧巧美玲桂兰琳雪梅洁红燕萍云莉婷倩佳欣怡雨涵悦诗琪蕾晶颖薇彦君"
BEIJING_AREAS = ("110105", "110105", "110105", "110101", "110102", "110106", "110108")
OTHER_AREAS = ("130102", "370102", "410102", "420102", "510104", "320102", "230102", "610102")
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "170",
    "176",
    "177",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "195",
    "199",
)


@dataclass
class PersonFactory:
    """Makes people with unique valid ID numbers and phones, deterministically from a seed."""

    rng: random.Random
    used_ids: set[str] = field(default_factory=set)
    used_phones: set[str] = field(default_factory=set)

    def name(self, sex: str, surname: str | None = None) -> str:
        chars = MALE_CHARS if sex == "M" else FEMALE_CHARS
        given = self.rng.choice(chars) + (self.rng.choice(chars) if self.rng.random() < 0.7 else "")
        return (surname or self.rng.choice(SURNAMES)) + given

    def id_number(self, born: date, sex: str, local: bool = True) -> str:
        area = self.rng.choice(BEIJING_AREAS if local else OTHER_AREAS)
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
            first17 = f"{area}{born:%Y%m%d}{seq:03d}"
            number = first17 + check_character(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def phone(self) -> str:
        while True:
            phone = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def birth_date(self, age: int) -> date:
        return TODAY - timedelta(days=age * 365 + self.rng.randrange(365))


@dataclass
class Member:
    name: str
    sex: str
    born: date
    relation: str
    id_number: str
    phone: str
    residency: str
    special: list[str]
    contact_name: str = ""
    contact_phone: str = ""


def household_members(people: PersonFactory) -> list[Member]:
    """One household: a householder, maybe a spouse, children or a parent, realistic ages and tags."""
    rng = people.rng
    size = rng.choices((1, 2, 3, 4, 5), weights=(20, 33, 29, 13, 5))[0]
    renters = rng.random() < 0.12
    away = rng.random() < 0.07
    local = not renters
    residency = Residency.LIVING if renters else (Residency.REGISTERED if away else Residency.BOTH)
    if size == 1:
        age = rng.choice((rng.randint(24, 59), rng.randint(60, 94), rng.randint(65, 92)))
    else:
        age = rng.choices(
            (rng.randint(26, 45), rng.randint(46, 64), rng.randint(65, 90)), weights=(40, 35, 25)
        )[0]
    head_sex = rng.choice("MF")
    surname = rng.choice(SURNAMES)
    members: list[Member] = []

    def add(sex: str, age: int, relation: str, surname_of: str | None = None) -> Member:
        born = people.birth_date(age)
        member = Member(
            name=people.name(sex, surname_of),
            sex=sex,
            born=born,
            relation=relation,
            id_number=people.id_number(born, sex, local),
            phone="" if age < 12 or (age > 82 and rng.random() < 0.5) else people.phone(),
            residency=residency,
            special=[],
        )
        members.append(member)
        return member

    head = add(head_sex, age, Relation.SELF, surname)
    family_surname = surname if head_sex == "M" else rng.choice(SURNAMES)
    if size >= 2:
        spouse_age = max(20, age + rng.randint(-5, 5))
        add(
            "F" if head_sex == "M" else "M",
            spouse_age,
            Relation.SPOUSE,
            family_surname if head_sex == "F" else None,
        )
    for _ in range(max(0, size - 2)):
        if age > 62 and rng.random() < 0.5:
            child_age = age - rng.randint(24, 34)
        else:
            child_age = max(0, age - rng.randint(22, 38))
        if age < 50 and rng.random() < 0.15 and len(members) < size:
            add(rng.choice("MF"), min(95, age + rng.randint(24, 32)), Relation.PARENT)
            continue
        add(rng.choice("MF"), child_age, Relation.CHILD, family_surname)
    members = members[:size]

    today_age = {id(m): (TODAY - m.born).days // 365 for m in members}
    for m in members:
        a = today_age[id(m)]
        if size == 1 and a >= 60:
            m.special.append(SpecialKind.ELDERLY_ALONE)
        if rng.random() < 0.022:
            m.special.append(SpecialKind.DISABLED)
        if a >= 50 and rng.random() < 0.16:
            m.special.append(SpecialKind.CHRONIC)
        if m.sex == "F" and 22 <= a <= 40 and rng.random() < 0.03:
            m.special.append(SpecialKind.PREGNANT)
        if a >= 75 and rng.random() < 0.12:
            m.special.append(SpecialKind.NEEDS_HELP)
    # Someone to call for the vulnerable: a child living elsewhere, or the spouse.
    for m in members:
        if m.special:
            other = next((o for o in members if o is not m and o.phone), None)
            if other is not None:
                m.contact_name, m.contact_phone = other.name, other.phone
            elif rng.random() < 0.8:
                m.contact_name, m.contact_phone = people.name(rng.choice("MF"), head.name[0]), people.phone()
    return members


def rooms_for(rng: random.Random, households: int, entrances: int) -> Iterator[tuple[str, str]]:
    """(entrance, room) pairs for a building holding about `households` households."""
    per_floor = 2
    floors = max(1, -(-households // (entrances * per_floor)))
    made = 0
    for floor in range(1, floors + 1):
        for entrance in range(1, entrances + 1):
            for unit in range(1, per_floor + 1):
                if made >= households:
                    return
                made += 1
                yield str(entrance), f"{floor}{unit:02d}"


@dataclass
class CommunityPlan:
    code: str
    name: str
    buildings: int
    households: int
    grids: int
    staff: Sequence[tuple[str, str, int | None]]  # (username, role, grid number)


def demo_password_hash() -> str:
    # Hashing is deliberately slow; every demo account shares one password, so hash it once.
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = make_password(DEMO_PASSWORD)
    return _PASSWORD_HASH


_PASSWORD_HASH: str | None = None


@dataclass
class _PlannedBuilding:
    building: Building
    households: list[tuple[str, str, list[Member]]]  # (entrance, room, members)


def build_community(street: Street, plan: CommunityPlan, people: PersonFactory) -> Community:
    rng = people.rng
    community = Community.objects.create(
        street=street, code=plan.code, name=plan.name, phone="010-6" + f"{rng.randrange(10**7):07d}"
    )
    grids = [
        Grid.objects.create(community=community, code=f"{plan.code}-g{n}", number=n, name=f"第{n}网格")
        for n in range(1, plan.grids + 1)
    ]
    staff: dict[int, list[User]] = {}
    for username, role, grid_number in plan.staff:
        sex = rng.choice("MF")
        user = User(
            username=username,
            display_name=people.name(sex),
            phone=people.phone(),
            role=role,
            community=None if grid_number else community,
            grid=grids[grid_number - 1] if grid_number else None,
            is_staff=role in (Role.STREET_ADMIN, Role.COMMUNITY_ADMIN),
        )
        user.password = demo_password_hash()
        user.save()
        if grid_number:
            staff.setdefault(grid_number, []).append(user)
            if role == Role.GRID_LEADER:
                Grid.objects.filter(pk=grids[grid_number - 1].pk).update(leader=user)

    per_building = [plan.households // plan.buildings] * plan.buildings
    for i in range(plan.households - sum(per_building)):
        per_building[i] += 1

    # Everything is generated first, in the order the random numbers were always drawn, so the data
    # set stays the same; then each table is written in one pass.
    planned: list[_PlannedBuilding] = []
    for index, count in enumerate(per_building):
        grid = grids[index * plan.grids // plan.buildings]
        workers = staff.get(grid.number, [])
        worker = next((u for u in workers if u.role == Role.GRID_WORKER), workers[0] if workers else None)
        number = str(index + 1)
        building = Building(
            community=community, grid=grid, number=number, sort_key=building_sort_key(number), worker=worker
        )
        entrance_count = rng.choice((2, 3, 3, 4))
        households = [
            (entrance_no, room, household_members(people))
            for entrance_no, room in rooms_for(rng, count, entrance_count)
        ]
        building.floors = max(int(room[:-2]) for _e, room, _m in households)
        # The building contact (楼组长) is a resident with a phone, often a retired neighbour.
        candidates = [
            m for _e, _r, ms in households for m in ms if m.phone and m.residency != Residency.REGISTERED
        ]
        if candidates:
            contact = rng.choice(candidates)
            building.contact_name, building.contact_phone = contact.name, contact.phone
        planned.append(_PlannedBuilding(building, households))

    Building.objects.bulk_create([p.building for p in planned])
    building_ids = dict(Building.objects.filter(community=community).values_list("number", "id"))
    entrances = [
        Entrance(building_id=building_ids[p.building.number], number=number)
        for p in planned
        for number in dict.fromkeys(e for e, _r, _m in p.households)
    ]
    Entrance.objects.bulk_create(entrances)
    entrance_ids = {
        (b, n): pk
        for b, n, pk in Entrance.objects.filter(building__community=community).values_list(
            "building_id", "number", "id"
        )
    }

    rows: list[tuple[Any, ...]] = []
    for p in planned:
        building_id = building_ids[p.building.number]
        for entrance_no, room, _members in p.households:
            rows.append(
                (
                    community.pk,
                    p.building.grid_id,
                    building_id,
                    entrance_ids[(building_id, entrance_no)],
                    room,
                    "",
                )
            )
    insert_rows(Household, HOUSEHOLD_COLUMNS, rows)
    household_ids = {
        (e, room): pk
        for e, room, pk in Household.objects.filter(community=community).values_list(
            "entrance_id", "room", "id"
        )
    }

    now = timezone.now()
    rows = []
    tags: list[tuple[str, str]] = []
    for p in planned:
        building_id = building_ids[p.building.number]
        for entrance_no, room, members in p.households:
            household_id = household_ids[(entrance_ids[(building_id, entrance_no)], room)]
            for m in members:
                # In the importer's column order; reversed copies as Resident.fill_search_keys makes them.
                rows.append(
                    (
                        community.pk,
                        m.id_number,
                        m.id_number[::-1],
                        m.phone[::-1],
                        m.name,
                        household_id,
                        p.building.grid_id,
                        m.born,
                        m.sex,
                        False,
                        m.phone,
                        m.relation,
                        m.residency,
                        m.contact_name,
                        m.contact_phone,
                        "",
                        now,
                        now,
                    )
                )
                tags.extend((m.id_number, k) for k in m.special)
    insert_rows(Resident, RESIDENT_COLUMNS, rows)
    resident_ids = dict(Resident.objects.filter(community=community).values_list("id_number", "id"))
    insert_rows(SpecialCare, ["resident", "kind", "note"], [(resident_ids[i], k, "") for i, k in tags])
    return community


MAIN_STAFF = [
    ("commander", Role.COMMUNITY_ADMIN, None),
    ("deputy", Role.COMMUNITY_ADMIN, None),
    *[(f"leader{n}", Role.GRID_LEADER, n) for n in range(1, 7)],
    *[(f"worker{n}", Role.GRID_WORKER, n) for n in range(1, 7)],
    ("team", Role.TEAM_MEMBER, None),
    ("observer", Role.OBSERVER, None),
]

DEMO_LOGINS = [
    ("street", Role.STREET_ADMIN, "潘家园街道 (panjiayuan)"),
    ("commander", Role.COMMUNITY_ADMIN, "南里社区 (nanli)"),
    ("leader1", Role.GRID_LEADER, "南里社区 第1网格 (nanli-g1)"),
    ("worker1", Role.GRID_WORKER, "南里社区 第1网格 (nanli-g1)"),
    ("worker2", Role.GRID_WORKER, "南里社区 第2网格 (nanli-g2)"),
    ("team", Role.TEAM_MEMBER, "南里社区 (nanli)"),
    ("observer", Role.OBSERVER, "南里社区 (nanli)"),
    ("volunteer", Role.VOLUNTEER, "南里社区 volunteer: /v/ (call-outs, check-in, hours)"),
    ("enterprise", Role.ENTERPRISE, "京南物业 enterprise contact: enrolment, hours and points"),
    ("admin", "superuser", "back office /admin/"),
]

DISTRICT_NAMES = [
    "松榆里",
    "松榆东里",
    "松榆西里",
    "华威北里",
    "华威西里",
    "武圣东里",
    "武圣北里",
    "东柏林",
    "大郊亭",
    "黄木厂",
    "光辉里",
    "劲松中街",
    "劲松北",
    "劲松东",
    "劲松西",
    "农光里",
    "垂杨柳东里",
    "垂杨柳西里",
    "广和里",
    "百子湾",
    "双花园",
    "九龙",
    "西大望路",
    "金蝉里",
    "弘善家园",
    "欢乐谷",
    "南磨房",
]


def demo_plans(scale: str) -> list[tuple[str, str, list[CommunityPlan]]]:
    street_plans: list[tuple[str, str, list[CommunityPlan]]] = [
        (
            "panjiayuan",
            "潘家园街道",
            [
                CommunityPlan("nanli", "潘家园南里社区", 33, 2900, 6, MAIN_STAFF),
                CommunityPlan(
                    "songyu",
                    "松榆东里社区",
                    14,
                    1100,
                    3,
                    [
                        ("songyu_admin", Role.COMMUNITY_ADMIN, None),
                        *[(f"songyu_w{n}", Role.GRID_WORKER, n) for n in (1, 2, 3)],
                    ],
                ),
                CommunityPlan(
                    "huawei", "华威西里社区", 18, 1500, 4, [("huawei_admin", Role.COMMUNITY_ADMIN, None)]
                ),
            ],
        )
    ]
    if scale == "district":
        extra: list[CommunityPlan] = []
        for index, name in enumerate(DISTRICT_NAMES[: 27 - 3], start=1):
            code = f"d{index:02d}"
            extra.append(
                CommunityPlan(
                    code, f"{name}社区", 30, 2950, 6, [(f"{code}_admin", Role.COMMUNITY_ADMIN, None)]
                )
            )
        for s in range(4):
            street_plans.append((f"street{s + 2}", f"第{s + 2}街道", extra[s * 6 : (s + 1) * 6]))
    return street_plans


@contextmanager
def _large_sqlite_cache() -> Iterator[None]:
    """Keep the new rows' indexes in memory while seeding; SQLite's default 2 MB cache makes each
    insert into the name and reversed-ID indexes (random order) go back to the file."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -262144")  # KiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def seed_demo(scale: str = "community", log: object = print) -> list[Community]:
    with _large_sqlite_cache(), transaction.atomic():
        made = _seed_demo(scale, log)
    if made:
        # Freshly loaded tables need planner statistics: without them SQLite looks a phone's last
        # digits up through the community index, reading every resident in scope.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return made


def _seed_demo(scale: str, log: object) -> list[Community]:
    people = PersonFactory(random.Random(20220425))
    made: list[Community] = []
    for street_code, street_name, plans in demo_plans(scale):
        street, _created = Street.objects.get_or_create(code=street_code, defaults={"name": street_name})
        for plan in plans:
            if Community.objects.filter(code=plan.code).exists():
                continue
            made.append(build_community(street, plan, people))
            log(
                f"  {plan.name} ({plan.code}): {Resident.objects.filter(community__code=plan.code).count()} residents"
            )  # type: ignore[operator]
    if not User.objects.filter(username="street").exists():
        street = Street.objects.get(code="panjiayuan")
        user = User(
            username="street", display_name="街道应急办", role=Role.STREET_ADMIN, street=street, is_staff=True
        )
        user.password = demo_password_hash()
        user.save()
    if not User.objects.filter(username="admin").exists():
        admin = User(username="admin", display_name="系统管理员", is_staff=True, is_superuser=True)
        admin.password = demo_password_hash()
        admin.save()
    return made
