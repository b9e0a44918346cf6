"""Logistics on a phone: a team asks for protective suits on the response page, logistics issues them
from the community point, the team confirms receipt, and the days-of-supply board turns red."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from linli.conftest import World
from linli.core.roles import Role
from linli.factories import TEST_PASSWORD, UserFactory
from linli.plans.models import Plan
from linli.response.services import response_activate
from linli.supplies.catalogue import load_catalogue
from linli.supplies.models import Item, Lot, StoragePoint, SupplyRequest, Target
from linli.supplies.services import request_create, supplies_receive
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


def test_logistics_issues_suits_to_a_response_team_and_the_board_changes(
    world: World, small_plan: Plan, phone_page: Any, shot: Screens
) -> None:
    load_catalogue()
    UserFactory(username="logistics", role=Role.TEAM_MEMBER, community=world.community)
    suits = Item.objects.get(code="protective-suit")
    point = StoragePoint.objects.create(
        community=world.community, name="南里应急点", address="3 号楼底商", keeper="王强", phone="13800001111"
    )
    supplies_receive(
        actor=world.commander,
        point=point,
        item=suits,
        quantity=24,
        batch="FH1",
        expiry=timezone.localdate() + dt.timedelta(days=400),
    )
    Target.objects.create(community=world.community, item=suits, basis="fixed", quantity=20)
    response = response_activate(actor=world.commander, plan=small_plan, level=2, reason="2号楼阳性")
    request_create(
        actor=world.alice, response=response, team="medical", item=suits, quantity=10, note="入户排查"
    )

    page = phone_page
    login(page, "logistics", TEST_PASSWORD)
    page.goto("/supplies/")
    row = page.locator("tr[data-item=protective-suit]")
    expect(row.locator(".on-hand")).to_have_text("24")
    expect(row).not_to_have_class("row-short")
    shot(page, "1-board-before")

    page.goto(f"/responses/{response.pk}/#supplies")
    request = page.locator(f"#supply-requests tr[data-request='{SupplyRequest.objects.get().pk}']")
    expect(request).to_have_attribute("data-status", "requested")
    shot(page, "2-request-on-response")
    request.locator(".issue-request").click()
    expect(page.locator("#supply-requests tr[data-status=issued]")).to_be_visible()
    shot(page, "3-issued")
    assert Lot.objects.get().on_hand == 14

    page.goto("/supplies/")
    row = page.locator("tr[data-item=protective-suit]")
    expect(row.locator(".on-hand")).to_have_text("14")
    expect(row).to_have_class("row-short")
    expect(row.locator(".to-order")).to_have_text("6")
    shot(page, "4-board-after")
