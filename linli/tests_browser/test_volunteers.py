"""A volunteer signs up on a phone, the community approves her, she is called out, accepts, checks in
at the site by its QR link, checks out, and sees her hours and points."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from linli.conftest import World
from linli.core.roles import Role
from linli.factories import TEST_PASSWORD, UserFactory
from linli.tests_browser.conftest import Screens, login
from linli.volunteers.catalogue import load_skills
from linli.volunteers.models import Need, Shift, Volunteer

pytestmark = pytest.mark.browser


def test_a_volunteer_signs_up_is_called_out_checks_in_and_sees_her_hours(
    world: World, phone_page: Any, desk_page: Any, shot: Screens
) -> None:
    load_skills()
    UserFactory(username="liaison", role=Role.TEAM_MEMBER, community=world.community)

    # 1. On her phone, from the community's sign-up link.
    phone = phone_page
    phone.goto(f"/v/signup/{world.community.code}/")
    expect(phone.locator("#agreement")).to_be_visible()
    phone.fill("#id_name", "周晓燕")
    phone.fill("#id_phone", "139 0000 1234")
    phone.fill("#id_password", "xiaoyan-2026")
    phone.select_option("#id_building", str(world.building1.pk))
    phone.locator("[data-field=skills] input[type=checkbox]").nth(0).check()  # 联络沟通 (liaison)
    phone.check("#id_on_call")
    phone.check("#id_consent")
    shot(phone, "1-sign-up")
    phone.locator("#sign-up").click()
    phone.wait_for_url("**/v/")
    expect(phone.locator("#pending")).to_be_visible()
    volunteer = Volunteer.objects.get(phone="13900001234")

    # 2. The liaison lead approves her and asks for one liaison volunteer, on now, at building 1.
    desk = desk_page
    login(desk, "liaison", TEST_PASSWORD)
    desk.goto("/volunteers/")
    desk.locator("#applications a", has_text="周晓燕").click()
    desk.locator("#approve").click()
    expect(desk.locator("#volunteer-status")).to_have_attribute("data-status", "active")
    desk.goto("/volunteers/needs/")
    now = timezone.localtime()
    desk.fill("#id_title", "1号楼物资分发")
    desk.locator("[data-field=skills] input[type=checkbox]").nth(0).check()
    desk.fill("#id_count", "1")
    desk.select_option("#id_building", str(world.building1.pk))
    desk.fill("#id_starts_at", (now - dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    desk.fill("#id_ends_at", (now + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    desk.locator("#create-need").click()
    desk.wait_for_url("**/volunteers/needs/*/")
    expect(desk.locator(f"[data-candidate='{volunteer.pk}']")).to_be_visible()
    shot(desk, "2-candidates")
    desk.locator("#call-out").click()
    expect(desk.locator("[data-shift-status=offered]")).to_be_visible()
    need = Need.objects.get()

    # 3. She accepts the call-out on her phone and checks in with the site's QR link.
    phone.goto("/v/")
    expect(phone.locator("#offered [data-shift]")).to_be_visible()
    shot(phone, "3-call-out")
    phone.locator("#offered button[value=accept]").click()
    expect(phone.locator("#upcoming [data-shift]")).to_be_visible()
    phone.goto(f"/v/checkin/{need.checkin_token}/")
    phone.locator("#check-in").click()
    expect(phone.locator("#check-out")).to_be_visible()
    shot(phone, "4-checked-in")

    # 4. Two and a half hours later she checks out; her hours and points are on her page.
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2, minutes=30), tick=True):
        phone.locator("#check-out").click()
        expect(phone.locator("#checkin-state")).to_contain_text("2.5")
        phone.goto("/v/")
        expect(phone.locator("#my-hours b")).to_have_text("2.5")
        expect(phone.locator("#my-points b")).not_to_have_text("0")
        shot(phone, "5-hours")
    assert Shift.objects.get().hours is not None
