from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from linli.epidemic.models import ControlType
from linli.registry.models import Community
from linli.reports.figures import daily_figures, rollup
from linli.reports.tests.conftest import DAY, Scene, at
from linli.supplies import selectors as supplies
from linli.supplies.models import Item, StoragePoint, Target
from linli.supplies.selectors import boards as supply_boards
from linli.supplies.services import supplies_receive

pytestmark = pytest.mark.django_db


def _units(scene: Scene, now: dt.datetime | None = None) -> dict[str, dict]:
    ids = list(Community.objects.values_list("pk", flat=True))
    return {f"{u.scope}:{u.code}": u.data for u in rollup(daily_figures(ids, DAY, now=now))}


def test_each_grid_counts_its_own_records(scene: Scene) -> None:
    units = _units(scene)
    g1 = units[f"grid:{scene.world.grid1.code}"]["figures"]
    close = ControlType.objects.get(community__isnull=True, key="close_contact").name
    assert g1["control"] == {
        "active": 1,
        "new": 1,
        "released": 1,
        "by_measure": {"central": 1, "home": 0, "monitor": 0},
        "by_type": {close: 1},
    }
    assert g1["reporting"] == {
        "expected": 3,  # resident1, r1b, r1c; r1d lives elsewhere
        "reported": 2,  # r1b's second report replaced the first
        "rate": 0.6667,
        "abnormal": 1,
        "fever": 1,
        "antigen_positive": 0,
    }
    assert g1["spot_checks"] == {"drawn": 1, "confirmed": 1, "mismatch": 0, "unreachable": 0, "pending": 0}
    assert g1["visits"] == {"planned": 1, "done": 0, "overdue": 1}
    assert g1["tasks"] == {"created": 1, "done": 1, "overdue": 1}
    assert g1["incidents"] == {"key_site_alerts": 0, "pharmacy_reports": 0, "positive_samples": 1}

    g2 = units[f"grid:{scene.world.grid2.code}"]["figures"]
    assert g2["control"]["active"] == 2  # one of them is released at 08:45, after the report's time
    assert g2["control"]["by_measure"]["monitor"] == 2
    assert (g2["control"]["new"], g2["control"]["released"]) == (0, 0)
    assert g2["reporting"] == {
        "expected": 2,
        "reported": 1,
        "rate": 0.5,
        "abnormal": 1,
        "fever": 0,
        "antigen_positive": 1,
    }
    assert g2["spot_checks"]["mismatch"] == 1
    assert g2["visits"] == {"planned": 1, "done": 1, "overdue": 0}
    assert g2["tasks"] == {"created": 0, "done": 0, "overdue": 1}  # done at 08:45: overdue at 08:30
    assert g2["incidents"]["pharmacy_reports"] == 1


def test_buildings_without_a_grid_have_their_own_row(scene: Scene) -> None:
    community = _units(scene)[f"community:{scene.world.community.code}"]
    loose = [u for u in community["units"] if u["scope"] == "none"]
    assert len(loose) == 1
    figures = loose[0]["figures"]
    assert figures["reporting"]["expected"] == 1 and figures["reporting"]["reported"] == 1
    assert figures["tasks"]["created"] == 1
    assert figures["incidents"]["key_site_alerts"] == 1


def test_the_community_sums_its_grids_and_adds_its_own_figures(scene: Scene) -> None:
    units = _units(scene)
    community = units[f"community:{scene.world.community.code}"]
    figures = community["figures"]
    assert [u["code"] for u in community["units"]] == [scene.world.grid1.code, scene.world.grid2.code, ""]
    assert figures["reporting"]["expected"] == 6
    assert figures["reporting"]["reported"] == 4
    assert figures["reporting"]["rate"] == round(4 / 6, 4)  # from the sums, not the grids' average
    assert figures["control"]["active"] == 3
    assert figures["control"]["by_measure"] == {"central": 1, "home": 0, "monitor": 2}
    assert figures["tasks"] == {"created": 2, "done": 1, "overdue": 2}
    assert figures["visits"] == {"planned": 2, "done": 1, "overdue": 1}
    assert figures["incidents"] == {
        "key_site_alerts": 1,
        "pharmacy_reports": 1,
        "positive_samples": 1,
        "activations": 1,  # the drill does not count
        "active_responses": 1,
    }
    assert figures["volunteers"] == {"hours": 3.5, "on_duty": 1}


def test_the_street_sums_its_communities(scene: Scene) -> None:
    units = _units(scene)
    street = units[f"street:{scene.world.community.street.code}"]
    assert [u["code"] for u in street["units"]] == ["nanli", "other"]
    figures = street["figures"]
    assert figures["reporting"]["expected"] == 7
    assert figures["reporting"]["reported"] == 5
    assert figures["reporting"]["rate"] == round(5 / 7, 4)
    nanli = units["community:nanli"]["figures"]
    other = units["community:other"]["figures"]
    for section in ("control", "tasks", "visits", "spot_checks"):
        for key, value in figures[section].items():
            if isinstance(value, int):
                assert value == nanli[section][key] + other[section][key], (section, key)
    assert figures["volunteers"]["hours"] == 3.5


def test_a_later_generation_still_describes_half_past_eight(scene: Scene) -> None:
    """Generated at 10:00, the case that started at 09:00 is not counted, and the one released at 08:45
    and the task done at 08:45 are as they were at 08:30."""
    late = _units(scene, now=at(DAY, 10))
    on_time = _units(scene)
    for key in on_time:
        assert late[key]["figures"] == on_time[key]["figures"], key


def test_a_preview_before_the_report_time_counts_as_at_now(scene: Scene) -> None:
    early = _units(scene, now=at(DAY, 8, 40) - dt.timedelta(hours=1))  # 07:40
    grid2 = early[f"grid:{scene.world.grid2.code}"]["figures"]
    assert grid2["control"]["active"] == 2
    assert grid2["tasks"]["overdue"] == 1
    assert early[f"grid:{scene.world.grid2.code}"]["as_at"].startswith("2030-06-04T07:40")


def test_the_counts_take_a_fixed_number_of_queries(scene: Scene, django_assert_max_num_queries) -> None:
    ids = list(Community.objects.values_list("pk", flat=True))
    with django_assert_max_num_queries(28):
        rollup(daily_figures(ids, DAY))


def test_supplies_match_the_board(scene: Scene) -> None:
    """The grouped days of supply equal supplies.selectors.board's for the community."""
    w = scene.world
    point = StoragePoint.objects.create(community=w.community, name="点", address="a", keeper="k", phone="1")
    warehouse = StoragePoint.objects.create(
        street=w.community.street, name="仓", address="b", keeper="k", phone="2"
    )
    suits, masks = Item.objects.get(code="protective-suit"), Item.objects.get(code="surgical-mask")
    expiry = timezone.localdate() + dt.timedelta(days=300)
    supplies_receive(actor=w.street_admin, point=point, item=suits, quantity=5, batch="A", expiry=expiry)
    supplies_receive(actor=w.street_admin, point=point, item=masks, quantity=500, batch="B", expiry=expiry)
    supplies_receive(
        actor=w.street_admin, point=warehouse, item=masks, quantity=900, batch="C", expiry=expiry
    )
    Target.objects.create(community=w.community, item=suits, days=30, per_person_day=Decimal("0.1"))
    community = Community.objects.get(pk=w.community.pk)
    grouped = {
        r.item.code: r for r in supply_boards([community.pk, w.charlie.community_id], on=DAY)[community.pk]
    }
    board = {r.item.code: r for r in supplies.board(community, on=DAY)}
    assert set(grouped) == set(board)
    for code, row in board.items():
        mine = grouped[code]
        assert (mine.on_hand, mine.warehouse, mine.days_of_supply, mine.target_quantity, mine.is_short) == (
            row.on_hand,
            row.warehouse,
            row.days_of_supply,
            row.target_quantity,
            row.is_short,
        ), code
    figures = _units(scene)["community:nanli"]["figures"]["supplies"]
    suit = next(i for i in figures["items"] if i["item"] == "protective-suit")
    assert suit["short"] and suit["target_days"] == 30 and suit["on_hand"] == 5.0
    assert figures["below_target"] >= 1
    street = _units(scene)[f"street:{w.community.street.code}"]["figures"]["supplies"]
    assert any(i["item"] == "protective-suit" and i["community"] == "nanli" for i in street["items"])
