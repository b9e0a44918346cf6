"""The day's spot-check list: drawn once the draw time has come, kept, and worked through by phone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from linli.conftest import World
from linli.factories import HouseholdFactory, ResidentFactory
from linli.health import selfreport as sr
from linli.health.models import SpotCheck
from linli.health.spotchecks import spot_checks_due

BEIJING = dt.timezone(dt.timedelta(hours=8))


def _reporters(world: World, building, n: int) -> None:
    for i in range(n):
        person = ResidentFactory(household=HouseholdFactory(building=building, room=str(300 + i)))
        sr.self_reports_submit(
            household_id=person.household_id,
            entries=[sr.Entry(resident_id=person.pk, temperature=Decimal("36.5"))],
        )


@pytest.fixture
def afternoon() -> Iterator[None]:
    """15:00 on a reporting day: the 14:00 draw is due."""
    with time_machine.travel(dt.datetime(2030, 3, 5, 15, 0, tzinfo=BEIJING), tick=False):
        yield


def _drawn(world: World, building, n: int) -> list[SpotCheck]:
    """n people of the building report and the day's draw is made: the checks, oldest first."""
    _reporters(world, building, n)
    spot_checks_due()
    return list(SpotCheck.objects.order_by("pk"))


def test_the_draw_waits_for_its_hour_then_takes_a_tenth_per_grid_once(world: World) -> None:
    with time_machine.travel(dt.datetime(2030, 3, 5, 9, 0, tzinfo=BEIJING), tick=False):
        _reporters(world, world.building1, 21)
        _reporters(world, world.building2, 9)
        assert spot_checks_due() == 0
    with time_machine.travel(dt.datetime(2030, 3, 5, 14, 0, tzinfo=BEIJING), tick=False):
        assert spot_checks_due() == 4  # ceil(2.1) + ceil(0.9)
        assert spot_checks_due() == 0
    by_grid = {g: SpotCheck.objects.filter(grid=g).count() for g in (world.grid1, world.grid2)}
    assert by_grid == {world.grid1: 3, world.grid2: 1}


@pytest.mark.usefixtures("afternoon")
def test_spot_checks_are_worked_from_the_page_in_scope(world: World, client: Client) -> None:
    [check] = _drawn(world, world.building1, 10)
    client.force_login(world.alice)
    page = client.get(reverse("health:spot_checks")).content.decode()
    assert check.resident.name in page
    url = reverse("health:spot_check_record", args=[check.pk])
    client.post(url, {"result": "mismatch"})
    check.refresh_from_db()
    assert check.result == "pending"  # a mismatch needs a note
    client.post(url, {"result": "mismatch", "note": "说是37.5"}, follow=True)
    check.refresh_from_db()
    assert (check.result, check.checked_by) == ("mismatch", world.alice)
    client.force_login(world.bob)
    assert check.resident.name not in client.get(reverse("health:spot_checks")).content.decode()
    assert client.post(url, {"result": "confirmed"}).status_code == 404
    client.force_login(world.charlie)
    assert client.post(url, {"result": "confirmed"}).status_code == 404


@pytest.mark.usefixtures("afternoon")
def test_the_list_shows_what_is_left_to_call_by_grid_and_keeps_the_place_on_a_refusal(
    world: World, client: Client
) -> None:
    _reporters(world, world.building1, 21)
    _reporters(world, world.building2, 9)
    spot_checks_due()
    first, second, _third = SpotCheck.objects.filter(grid=world.grid1).order_by("pk")
    other = SpotCheck.objects.get(grid=world.grid2)
    client.force_login(world.alice)
    url = reverse("health:spot_check_record", args=[first.pk])
    refused = client.post(url, {"result": "mismatch", "show": "todo"}, follow=True)
    assert refused.redirect_chain[-1][0].endswith(f"show=todo#c{first.pk}")
    assert f"{first.resident.name}: " in refused.content.decode()
    client.post(url, {"result": "confirmed", "show": "todo"})
    todo = client.get(reverse("health:spot_checks")).content.decode()
    assert f'id="c{second.pk}"' in todo and f'id="c{first.pk}"' not in todo
    everything = client.get(reverse("health:spot_checks") + "?show=all").content.decode()
    assert f'id="c{first.pk}"' in everything
    client.force_login(world.commander)
    page = client.get(reverse("health:spot_checks")).content.decode()
    assert f'id="c{other.pk}"' in page and 'name="grid"' in page
    page = client.get(reverse("health:spot_checks") + f"?grid={world.grid2.pk}").content.decode()
    assert f'id="c{other.pk}"' in page and f'id="c{second.pk}"' not in page
    # Someone else's grid id in the query changes nothing for a grid worker.
    client.force_login(world.alice)
    page = client.get(reverse("health:spot_checks") + f"?grid={world.grid2.pk}").content.decode()
    assert f'id="c{second.pk}"' in page and f'id="c{other.pk}"' not in page


@pytest.mark.usefixtures("afternoon")
def test_an_observer_sees_the_calls_with_names_masked(world: World, client: Client) -> None:
    [check] = _drawn(world, world.building1, 10)
    client.force_login(world.observer)
    page = client.get(reverse("health:spot_checks")).content.decode()
    assert check.resident.name not in page and check.resident.name[0] in page
    assert 'name="result"' not in page
    refused = client.post(
        reverse("health:spot_check_record", args=[check.pk]), {"result": "confirmed"}, follow=True
    )
    assert check.resident.name not in refused.content.decode()
    check.refresh_from_db()
    assert check.result == "pending"


def test_the_commander_can_draw_before_the_hour(world: World, client: Client) -> None:
    with time_machine.travel(dt.datetime(2030, 3, 5, 10, 0, tzinfo=BEIJING), tick=False):
        _reporters(world, world.building1, 10)
        client.force_login(world.commander)
        client.post(reverse("health:spot_checks_draw"))
        assert SpotCheck.objects.count() == 1
        client.force_login(world.alice)
        assert client.post(reverse("health:spot_checks_draw")).status_code == 403


def test_an_early_draw_by_hand_leaves_the_other_grids_to_the_afternoon_draw(
    world: World, client: Client
) -> None:
    with time_machine.travel(dt.datetime(2030, 3, 5, 8, 0, tzinfo=BEIJING), tick=False):
        _reporters(world, world.building1, 10)
        client.force_login(world.commander)
        client.post(reverse("health:spot_checks_draw"))
    with time_machine.travel(dt.datetime(2030, 3, 5, 11, 0, tzinfo=BEIJING), tick=False):
        _reporters(world, world.building2, 11)
    with time_machine.travel(dt.datetime(2030, 3, 5, 14, 0, tzinfo=BEIJING), tick=False):
        assert spot_checks_due() == 2
    assert SpotCheck.objects.filter(grid=world.grid2).count() == 2
    assert SpotCheck.objects.filter(grid=world.grid1).count() == 1
