"""Shared fixtures. The three seats of every access test: someone in scope (alice, grid 1), someone in
the same community but another grid (bob, grid 2), and an outsider from another community (charlie)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
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
