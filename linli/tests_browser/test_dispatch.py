"""A dispatched list arrives at night; the grid worker closes its three records on her phone, puts one
person under home isolation, and the board shows the list complete before its deadline."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from linli.conftest import World
from linli.epidemic.models import ControlCase, DispatchBatch, DispatchRecord
from linli.epidemic.tests.test_intake import xlsx
from linli.factories import TEST_PASSWORD, ResidentFactory
from linli.tasks.models import Task
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


def test_a_list_is_verified_on_a_phone_and_one_person_goes_into_home_isolation(
    world: World, phone_page: Any, desk_page: Any, shot: Screens, tmp_path: Any
) -> None:
    household = world.resident1.household
    second = ResidentFactory(household=household, name="李建华", phone="13812340002")
    third = ResidentFactory(household=household, name="李小雨", phone="")
    path = tmp_path / "区疾控中心推送名单.xlsx"
    path.write_bytes(
        xlsx(
            [
                ["李秀英", world.resident1.id_number, "", "1号楼1单元101室", "次密接"],
                ["李建华", "", "138 1234 0002", "1栋101", "次密接"],
                ["李小雨", third.id_number, "", "", "时空伴随"],
            ]
        )
    )

    # 1. The commander receives the list at the desk.
    desk = desk_page
    login(desk, world.commander.username, TEST_PASSWORD)
    desk.goto("/epidemic/")
    desk.set_input_files("#id_file", str(path))
    desk.fill("#id_sender", "区疾控中心")
    shot(desk, "1-receive")
    desk.locator("#upload button.primary").click()
    desk.wait_for_url("**/epidemic/lists/*/")
    expect(desk.locator("#records [data-record]")).to_have_count(3)
    shot(desk, "2-batch")
    batch = DispatchBatch.objects.get()
    assert Task.objects.filter(source=Task.Source.VERIFICATION, assignee=world.alice).count() == 3

    # 2. The grid worker, on her phone, closes the three verifications.
    phone = phone_page
    login(phone, world.alice.username, TEST_PASSWORD)
    phone.goto("/epidemic/mine/")
    cards = phone.locator("#records [data-record]")
    expect(cards).to_have_count(3)
    shot(phone, "3-my-verifications")
    ids = {r.name: r.pk for r in DispatchRecord.objects.filter(batch=batch)}
    for name, result in (("李秀英", "phone"), ("李建华", "visited"), ("李小雨", "phone")):
        card = phone.locator(f"#r{ids[name]}")
        card.locator(f"button[data-result={result}]").click()
        expect(phone.locator(f"#r{ids[name]}.status-done")).to_be_visible()
    expect(phone.locator("#count-open")).to_have_text("0")  # the counter follows the taps
    shot(phone, "4-all-verified")
    assert not DispatchRecord.objects.filter(batch=batch, verified_at__isnull=True).exists()

    # 3. 李建华 goes into home isolation (secondary contact), straight from the card.
    phone.locator(f"#r{ids['李建华']} [data-control]").click()
    phone.wait_for_url("**/epidemic/cases/new/**")
    shot(phone, "5-put-under-control")
    phone.locator("form button.primary").click()
    phone.wait_for_url("**/epidemic/cases/*/")
    case = ControlCase.objects.get()
    assert case.resident == second and case.measure == "home" and case.record_id == ids["李建华"]
    shot(phone, "6-case")

    # 4. The board shows the list complete, before its deadline.
    desk.goto("/epidemic/")
    row = desk.locator(f"#batches [data-batch='{batch.pk}']")
    expect(row.locator("[data-complete]")).to_be_visible()
    shot(desk, "7-board-complete")
    batch.refresh_from_db()
    assert batch.completed_at is not None and batch.completed_at <= batch.deadline
