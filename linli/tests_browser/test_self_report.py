"""Daily self-reporting from end to end: a resident scans the QR poster at her building door with her phone,
proves who she is and reports a fever; a 2-hour home check lands on the grid worker's task list; the next
morning's daily report counts the abnormal report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from linli.conftest import World
from linli.core.clock import local_at
from linli.factories import TEST_PASSWORD, ResidentFactory
from linli.health.models import SelfReport
from linli.health.selfreport import building_token
from linli.reports.services import daily_reports_due
from linli.tasks.models import Task
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


def test_a_resident_reports_a_fever_the_worker_gets_a_task_and_the_morning_report_counts_it(
    world: World, phone_page: Any, desk_page: Any, shot: Screens
) -> None:
    her = world.resident1  # 李秀英, building 1, entrance 1, room 101
    husband = ResidentFactory(household=her.household, name="周国强")

    # 1. The poster's QR code opens the building's page on her phone; she proves who she is once.
    phone = phone_page
    phone.goto(f"/r/{building_token(world.building1.pk)}/")
    expect(phone.locator("h1")).to_contain_text("健康申报")
    phone.fill("#room", "1-101")
    phone.fill("#name", her.name)
    phone.fill("#id_tail", "1111" if her.id_number.endswith("0000") else "0000")
    phone.click("button.sr-submit")
    expect(phone.locator(".notice.error")).to_contain_text(
        "不一致"
    )  # a wrong ID: the same words as for anyone
    phone.fill("#id_tail", her.id_number[-4:])
    shot(phone, "1-identify")
    phone.click("button.sr-submit")

    # 2. Her household's form: masked names; she reports for both.
    expect(phone.locator(f"[data-member='{her.pk}'] .sr-name")).to_contain_text("李*英")
    phone.fill(f"#t-{her.pk}", "38.2")
    expect(phone.locator(f"[data-member='{her.pk}'] .sr-fever")).to_be_visible()
    phone.locator(f"[data-member='{her.pk}'] label", has_text="有不适").click()
    phone.locator(f"[data-member='{her.pk}'] label", has_text="咳嗽").click()
    phone.fill(f"#t-{husband.pk}", "36.6")
    shot(phone, "2-fever")
    phone.click("button.sr-submit")
    expect(phone.locator(".notice.success")).to_contain_text("谢谢")
    expect(phone.locator(f"[data-member='{her.pk}'] .badge.red")).to_contain_text("38.2")
    expect(phone.locator(".notice.error")).to_contain_text("请居家")
    shot(phone, "3-thanks")
    report = SelfReport.objects.get(resident=her)
    assert report.abnormal and report.current

    # 3. The grid worker sees the 2-hour home check on her task list.
    task = Task.objects.get(source=Task.Source.HEALTH)
    assert task.assignee == world.alice
    desk = desk_page
    login(desk, world.alice.username, TEST_PASSWORD)
    desk.goto("/tasks/")
    expect(desk.locator("body")).to_contain_text(f"2小时内上门核查（38.2 °C）：{her.name}")
    desk.goto("/health/")
    expect(desk.locator("body")).to_contain_text(her.name)
    shot(desk, "4-worker")

    # 4. The next morning at 08:30 the daily report is made; it counts yesterday's abnormal report.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with time_machine.travel(local_at(tomorrow, dt.time(8, 31)), tick=True):
        daily_reports_due()
        login(desk, world.alice.username, TEST_PASSWORD)  # a new working day: the session has run out
        desk.goto(f"/reports/daily/?scope={world.grid1.code}&date={tomorrow.isoformat()}")
        expect(desk.locator("#card-abnormal b")).to_have_text("1")
        expect(desk.locator("#card-rate b")).to_have_text("100.0%")  # both people living in her grid reported
        shot(desk, "5-report")
