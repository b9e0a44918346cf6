"""Mass testing from end to end: the commander opens a campaign for today and schedules it, a site
volunteer checks three people in on a phone (a second scan is refused), the commander closes the campaign,
and the people nobody saw become door-to-door follow-ups on the grid worker's task list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from linli.conftest import World
from linli.factories import TEST_PASSWORD, HouseholdFactory, ResidentFactory
from linli.screening.codes import person_code
from linli.screening.models import Campaign, Participant
from linli.tasks.models import Task
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


def test_a_campaign_is_scheduled_three_people_check_in_and_the_missed_become_followups(
    world: World, phone_page: Any, desk_page: Any, shot: Screens, live_server: Any
) -> None:
    family = HouseholdFactory(building=world.building1, room="301")
    mother = ResidentFactory(household=family, name="孙丽")
    son = ResidentFactory(
        household=family, name="孙小明", birth_date=timezone.localdate() - dt.timedelta(days=365 * 8)
    )
    ResidentFactory(household=HouseholdFactory(building=world.building1, room="402"), name="周建")
    today = timezone.localdate()

    # 1. The commander opens the campaign at the desk, schedules it and sends the notices.
    desk = desk_page
    desk.on("dialog", lambda dialog: dialog.accept())
    login(desk, world.commander.username, TEST_PASSWORD)
    desk.goto("/screening/")
    desk.click("#new-campaign")
    desk.fill("#id_name", "全员核酸第一轮")
    desk.fill("#id_day", today.isoformat())
    desk.fill("#id_starts_at", "00:00")  # sampling under way whenever the suite runs
    desk.fill("#id_ends_at", "23:30")
    desk.fill("#id_site-name", "东门广场")
    shot(desk, "1-open")
    desk.click("#open-campaign")
    desk.wait_for_url("**/screening/*/")
    campaign = Campaign.objects.get()
    expect(desk.locator("#counts .stat").nth(1)).to_contain_text("5")  # five people live in the two buildings
    desk.click("#run-schedule")
    expect(desk.locator("#slots")).to_be_visible()
    desk.click("#send-notices")
    expect(desk.locator("#status")).to_have_text("已通知")
    shot(desk, "2-scheduled")
    assert Participant.objects.filter(campaign=campaign, slot__isnull=False).count() == 5

    # 2. The grid worker, at the site with her phone, picks the site, scans a tube and three people.
    phone = phone_page
    login(phone, world.alice.username, TEST_PASSWORD)
    phone.goto(f"/checkin/{campaign.pk}/")
    phone.locator("#choose-site button[data-site]").first.click()
    code_box = phone.locator("#scan-code")
    code_box.fill("T-0001")
    code_box.press("Enter")
    expect(phone.locator("#tube-code")).to_have_text("T-0001")
    for resident in (world.resident1, mother, son):
        code_box.fill(f"{live_server.url}/checkin/c/{person_code(campaign.pk, resident.pk)}/")
        code_box.press("Enter")
        expect(phone.locator("#verdict")).to_have_attribute("data-ok", "1")
        expect(phone.locator("#verdict")).to_contain_text(resident.name)
    expect(phone.locator("#tube-count")).to_have_text("3 / 10")
    shot(phone, "3-checked-in")
    code_box.fill(person_code(campaign.pk, son.pk))
    code_box.press("Enter")
    expect(phone.locator("#verdict")).to_have_attribute("data-ok", "0")
    expect(phone.locator("#verdict")).to_contain_text("已于")
    shot(phone, "4-already")

    # 3. The commander closes the campaign; the three nobody saw go to their grid workers' task lists.
    desk.goto(f"/screening/{campaign.pk}/coverage/")
    expect(desk.locator('#buildings [data-building="1"]')).to_contain_text("3 / 4")
    shot(desk, "5-coverage")
    desk.goto(f"/screening/{campaign.pk}/")
    desk.click("#close-campaign")
    expect(desk.locator("#status")).to_have_text("已结束")
    followups = Task.objects.filter(source=Task.Source.SCREENING, title__contains="确认")
    assert followups.count() == 2  # 周建's household (building 1) and 王建国's (building 2)
    assert followups.filter(assignee=world.alice).count() == 1
    phone.goto("/tasks/")
    expect(phone.get_by_text("周建", exact=False)).to_be_visible()
    shot(phone, "6-followup")
