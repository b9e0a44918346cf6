"""factory_boy factories shared by the test suites and benchmarks."""

from __future__ import annotations

import random
from datetime import date

import factory

from linli.core.identity import check_character
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Building, Community, Entrance, Grid, Household, Resident, Street

_rng = random.Random(7)
TEST_PASSWORD = "test-pass-123"


def make_id_number(
    born: date = date(1980, 5, 17), sex: str = "M", area: str = "110105", seq: int | None = None
) -> str:
    if seq is None:
        seq = _rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Street

    code = factory.Sequence(lambda n: f"street{n}")
    name = factory.Sequence(lambda n: f"第{n}街道")


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community

    street = factory.SubFactory(StreetFactory)
    code = factory.Sequence(lambda n: f"comm{n}")
    name = factory.Sequence(lambda n: f"测试{n}社区")


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid

    community = factory.SubFactory(CommunityFactory)
    number = factory.Sequence(lambda n: n + 1)
    code = factory.LazyAttribute(lambda o: f"{o.community.code}-g{o.number}")
    name = factory.LazyAttribute(lambda o: f"第{o.number}网格")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    community = factory.SubFactory(CommunityFactory)
    grid = factory.SubFactory(GridFactory, community=factory.SelfAttribute("..community"))
    number = factory.Sequence(lambda n: str(n + 1))


class EntranceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entrance
        django_get_or_create = ("building", "number")

    building = factory.SubFactory(BuildingFactory)
    number = "1"


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    building = factory.SubFactory(BuildingFactory)
    entrance = factory.SubFactory(EntranceFactory, building=factory.SelfAttribute("..building"))
    community = factory.SelfAttribute("building.community")
    grid = factory.SelfAttribute("building.grid")
    room = factory.Sequence(lambda n: str(101 + n))


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    household = factory.SubFactory(HouseholdFactory)
    community = factory.SelfAttribute("household.community")
    grid = factory.SelfAttribute("household.grid")
    name = factory.Sequence(
        lambda n: "张" + "伟芳娜敏静丽强磊军洋"[n % 10] + "一二三四五六七八九十"[n // 10 % 10]
    )
    sex = "M"
    birth_date = date(1980, 5, 17)
    id_number = factory.LazyAttributeSequence(
        lambda o, n: make_id_number(o.birth_date, o.sex, seq=(n * 2 + (1 if o.sex == "M" else 0)) % 1000)
    )
    phone = factory.Sequence(lambda n: f"138{n:08d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"工作人员{n}")
    role = Role.GRID_WORKER
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def saved(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
