"""Shared fixtures. The three seats of every access test: someone in scope (alice, grid 1), someone in
the same community but another grid (bob, grid 2), and an outsider from another community (charlie)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from linli.core.models import User
from linli.core.roles import Role
from linli.factories import (
    BuildingFactory,
    CommunityFactory,
    GridFactory,
    HouseholdFactory,
    ResidentFactory,
    UserFactory,
)
from linli.registry.models import Building, Community, Grid, Resident


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Tests read English messages; the Chinese default has its own tests (test_i18n)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_flood_counts() -> None:
    """Public pages count posts per address in memory (core.ratelimit.LocalWindow); every test starts from
    zero."""
    from linli.core.ratelimit import reset_local_windows

    reset_local_windows()


def one_flood_window(seconds: int) -> time_machine.travel:
    """A ticking clock a minute into the next rate-limit window of `seconds`: a flood test's posts then all
    fall in one fixed window (core.ratelimit), wherever the suite's own clock stands."""
    return time_machine.travel((time.time() // seconds + 1) * seconds + 60, tick=True)


@pytest.fixture
def client() -> Client:
    return Client(headers={"Accept-Language": "en"})


@dataclass
class World:
    community: Community
    grid1: Grid
    grid2: Grid
    building1: Building
    building2: Building
    resident1: Resident  # in grid 1
    resident2: Resident  # in grid 2
    alice: User  # grid worker, grid 1
    bob: User  # grid worker, grid 2
    charlie: User  # community admin of another community
    commander: User  # community admin of this community
    observer: User  # observer of this community
    street_admin: User
    other_resident: Resident  # in charlie's community


@pytest.fixture
def world(db: None) -> World:
    community = CommunityFactory(code="nanli", name="南里社区")
    grid1 = GridFactory(community=community, number=1)
    grid2 = GridFactory(community=community, number=2)
    building1 = BuildingFactory(community=community, grid=grid1, number="1")
    building2 = BuildingFactory(community=community, grid=grid2, number="2")
    h1 = HouseholdFactory(building=building1, room="101")
    h2 = HouseholdFactory(building=building2, room="201")
    resident1 = ResidentFactory(household=h1, name="李秀英", phone="13812341234")
    resident2 = ResidentFactory(household=h2, name="王建国", phone="13900005678")
    other = CommunityFactory(street=community.street, code="other", name="别的社区")
    other_grid = GridFactory(community=other, number=1)
    other_building = BuildingFactory(community=other, grid=other_grid, number="9")
    other_resident = ResidentFactory(household=HouseholdFactory(building=other_building), name="赵外人")
    alice = UserFactory(username="alice", role=Role.GRID_WORKER, grid=grid1)
    building1.worker = alice
    building1.save()
    return World(
        community=community,
        grid1=grid1,
        grid2=grid2,
        building1=building1,
        building2=building2,
        resident1=resident1,
        resident2=resident2,
        alice=alice,
        bob=UserFactory(username="bob", role=Role.GRID_WORKER, grid=grid2),
        charlie=UserFactory(username="charlie", role=Role.COMMUNITY_ADMIN, community=other),
        commander=UserFactory(
            username="commander", role=Role.COMMUNITY_ADMIN, community=community, is_staff=True
        ),
        observer=UserFactory(username="observer", role=Role.OBSERVER, community=community),
        street_admin=UserFactory(username="streetadmin", role=Role.STREET_ADMIN, street=community.street),
        other_resident=other_resident,
    )


SMALL_PLAN = {
    "key": "",
    "title": "测试预案",
    "category": "public_health",
    "risk": {"event_type": "公共卫生事件"},
    "levels": [{"level": n, "criteria": f"level {n}"} for n in (1, 2, 3, 4)],
    "positions": [
        {
            "key": "commander",
            "team": "command",
            "role": "commander",
            "title": "总指挥",
            "duties": ["启动应急响应"],
        },
        {
            "key": "liaison-leader",
            "team": "liaison",
            "role": "leader",
            "title": "联络组长",
            "duties": ["统筹沟通"],
        },
        {
            "key": "liaison-member",
            "team": "liaison",
            "role": "member",
            "title": "联络组员",
            "duties": ["对内对外联络"],
        },
        {
            "key": "medical-leader",
            "team": "medical",
            "role": "leader",
            "title": "医疗组长",
            "duties": ["组织救援"],
        },
    ],
    "steps": [
        {
            "team": "command",
            "phase": "activation",
            "position": "commander",
            "text": "宣布启动",
            "within_minutes": 10,
        },
        {
            "team": "liaison",
            "phase": "activation",
            "position": "liaison-leader",
            "text": "通知居民",
            "within_minutes": 15,
        },
        {
            "team": "liaison",
            "phase": "response",
            "position": "liaison-leader",
            "text": "开通问题反映渠道",
            "within_minutes": 60,
        },
        {
            "team": "medical",
            "phase": "response",
            "position": "medical-leader",
            "text": "联络120",
            "within_minutes": 30,
        },
        {
            "team": "liaison",
            "phase": "termination",
            "position": "liaison-leader",
            "text": "发布结束通知",
            "within_minutes": 30,
        },
    ],
    "supplies": [{"item": "口罩", "quantity": 100, "unit": "个", "storage": "居委会仓库"}],
    "contacts": [{"kind": "ambulance", "name": "救护", "phone": "120"}],
    "termination_criteria": ["疾控通知结束", "所有居民已通知"],
    "notes": ["做好个人防护"],
}


@pytest.fixture
def small_plan(world: World):  # type: ignore[no-untyped-def]
    """A community plan with known deadlines: commander → commander, alice leads liaison, bob is a liaison
    member, and nobody holds the medical lead (a gap)."""
    from linli.plans.document import plan_build
    from linli.plans.models import PositionHolder

    plan = plan_build(SMALL_PLAN, community=world.community)
    posts = {p.key: p for p in plan.positions.all()}
    PositionHolder.objects.create(position=posts["commander"], user=world.commander)
    PositionHolder.objects.create(position=posts["liaison-leader"], user=world.alice)
    PositionHolder.objects.create(position=posts["liaison-member"], user=world.bob)
    return plan
