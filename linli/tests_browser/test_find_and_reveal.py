"""A grid worker on a phone finds a resident by the last digits of the phone and reveals the ID number."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from linli.conftest import World
from linli.core.models import AuditLog
from linli.factories import TEST_PASSWORD
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


def test_grid_worker_finds_resident_by_phone_tail_and_reveals_id(
    world: World, phone_page: Any, shot: Screens
) -> None:
    page = phone_page
    resident = world.resident1
    login(page, "alice", TEST_PASSWORD)
    shot(page, "1-home")

    page.goto("/residents/")
    page.fill("#q", "1234")
    # The list refreshes through htmx as the worker types; the URL follows the search.
    page.wait_for_url(re.compile(r"[?&]q=1234"))
    results = page.locator("#results")
    expect(results.get_by_role("link", name="李秀英")).to_be_visible()
    # Bob's grid is not alice's: his resident never appears, even on a matching search.
    expect(results.get_by_text("王建国")).to_have_count(0)
    shot(page, "2-search")

    results.get_by_role("link", name="李秀英").click()
    page.wait_for_url(f"**/residents/{resident.pk}/")
    masked = page.locator("#reveal-id_number .mono")
    masked_id = resident.id_number[:6] + "*" * 8 + resident.id_number[-4:]
    expect(masked).to_have_text(masked_id)
    expect(page.locator("body")).not_to_contain_text(resident.id_number)
    shot(page, "3-masked")

    page.locator("#reveal-id_number button").click()
    expect(page.locator("[data-revealed=id_number]")).to_have_text(resident.id_number)
    # The history refreshes by itself after a reveal; a reload must show the same.
    expect(page.locator("#history li[data-action=reveal]")).to_have_count(1)
    shot(page, "4-revealed")
    page.reload()
    reveal_entry = page.locator("#history li[data-action=reveal]")
    expect(reveal_entry).to_have_count(1)
    expect(reveal_entry).to_contain_text(world.alice.name)
    shot(page, "5-history")

    entry = AuditLog.objects.get(action="reveal", target_id=str(resident.pk))
    assert entry.actor == world.alice
    assert entry.target_type == "registry.resident"
    assert entry.via == "web"
