from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from linli.conftest import World
from linli.core.models import User
from linli.core.roles import Role
from linli.factories import UserFactory
from linli.supplies.models import Item, StoragePoint
from linli.supplies.services import supplies_receive


@dataclass
class Stock:
    world: World
    logistics: User  # team member of the community (后勤保障组)
    point: StoragePoint  # the community's emergency point
    point2: StoragePoint  # a second community point
    warehouse: StoragePoint  # the street warehouse
    other_point: StoragePoint  # charlie's community
    suits: Item
    fuel: Item


@pytest.fixture
def stock(world: World) -> Stock:
    logistics = UserFactory(username="logistics", role=Role.TEAM_MEMBER, community=world.community)
    point = StoragePoint.objects.create(
        community=world.community,
        name="南里应急点",
        address="南里 3 号楼底商",
        keeper="王强",
        phone="13800001111",
    )
    point2 = StoragePoint.objects.create(
        community=world.community,
        name="南里二号点",
        address="南里 20 号楼",
        keeper="李刚",
        phone="13800002222",
    )
    warehouse = StoragePoint.objects.create(
        street=world.community.street,
        name="街道仓库",
        address="街道办后院",
        keeper="张华",
        phone="13800003333",
    )
    other_point = StoragePoint.objects.create(
        community=world.charlie.community, name="别的社区点", address="别处", keeper="赵", phone="13800004444"
    )
    suits = Item.objects.get(code="protective-suit")
    fuel = Item.objects.get(code="generator-fuel")
    return Stock(world, logistics, point, point2, warehouse, other_point, suits, fuel)


def receive(
    stock: Stock, quantity: int, *, days: int = 365, point: StoragePoint | None = None, batch: str = ""
) -> None:
    supplies_receive(
        actor=stock.world.street_admin,
        point=point or stock.point,
        item=stock.suits,
        quantity=quantity,
        batch=batch or f"B{days}",
        expiry=timezone.localdate() + dt.timedelta(days=days),
    )
