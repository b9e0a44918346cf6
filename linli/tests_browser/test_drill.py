"""A drill end to end: the commander copies the seed plan, staffs it and activates it as a drill; a grid
worker finishes a task on a phone; another task goes overdue and escalates; the commander ends the drill
and reads the after-action timings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from linli.conftest import World
from linli.factories import TEST_PASSWORD
from linli.plans.builtin import load_builtin_templates
from linli.plans.models import Plan
from linli.response.models import Response
from linli.tasks.models import Task
from linli.tasks.services import deadline_scan
from linli.tests_browser.conftest import PHONE, Screens, login

pytestmark = pytest.mark.browser


def test_a_drill_from_activation_to_after_action_review(
    world: World, desk_page: Any, browser: Any, live_server: Any, shot: Screens
) -> None:
    load_builtin_templates()
    page = desk_page
    login(page, "commander", TEST_PASSWORD)

    # The commander starts from the built-in seed plan.
    page.goto("/plans/")
    page.locator("[data-template=closed-area-screening]").click()
    page.locator("[data-action=copy]").click()
    page.locator("[data-action=create-plan]").click()
    page.wait_for_url("**/edit/staffing/")
    plan = Plan.objects.get(community=world.community)
    shot(page, "1-staffing")

    # Name who holds two posts; the rest stay gaps, which activation shows but does not block.
    page.locator("[data-position=commander] select").first.select_option(str(world.commander.pk))
    page.locator("[data-position=liaison-leader] select").first.select_option(str(world.alice.pk))
    page.locator("[data-action=save]").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    expect(page.locator("#plan-gaps")).to_be_visible()

    page.locator("[data-action=activate]").click()
    expect(page.locator("#activation-gaps")).to_be_visible()
    page.select_option("#id_level", "2")
    page.fill("#id_reason", "月度演练：模拟2号楼出现阳性病例")
    page.check("#id_drill")
    shot(page, "2-activate")
    page.locator("[data-action=confirm-activate]").click()
    page.wait_for_url("**/responses/*/")
    response = Response.objects.get(plan=plan)
    assert response.is_drill
    expect(page.locator("[data-level='2']")).to_be_visible()
    expect(page.locator("#staffing .row-error").first).to_be_visible()
    shot(page, "3-response")

    # The liaison leader gets it on her phone, reports on duty and finishes her first task.
    phone_context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN")
    phone_context.set_default_timeout(10_000)
    phone = phone_context.new_page()
    try:
        login(phone, "alice", TEST_PASSWORD)
        expect(phone.locator(f"[data-active-response='{response.pk}']")).to_be_visible()
        phone.locator(f"[data-active-response='{response.pk}']").click()
        phone.locator("[data-action=on-duty]").click()
        first = (
            Task.objects.filter(source_id=response.pk, assignee=world.alice)
            .order_by("due_at", "order")
            .first()
        )
        assert first is not None
        shot(phone, "4-phone-response")
        phone.locator(f"#my-posts [data-done='{first.pk}']").click()
        expect(phone.locator(f"#my-posts #task-{first.pk}.status-done")).to_be_visible()
        shot(phone, "5-phone-done")
    finally:
        phone_context.close()
    first.refresh_from_db()
    assert first.status == Task.Status.DONE and first.done_by == world.alice

    # Forty minutes pass for one of her tasks: the deadline scan tells her, then the commander.
    late = (
        Task.objects.filter(source_id=response.pk, assignee=world.alice, status="open")
        .order_by("order")
        .first()
    )
    assert late is not None
    Task.objects.filter(pk=late.pk).update(
        due_at=timezone.now() - dt.timedelta(minutes=40),
        next_escalation_at=timezone.now() - dt.timedelta(minutes=40),
    )
    deadline_scan()  # she is told first
    # Her escalation delay (15 minutes for response steps) passes without her finishing it.
    Task.objects.filter(pk=late.pk).update(next_escalation_at=timezone.now() - dt.timedelta(minutes=1))
    deadline_scan()  # then the commander, as she also leads her team
    page.reload()
    expect(page.locator("[data-count=overdue]")).not_to_have_text("0")
    expect(page.locator("#log [data-log=task]").filter(has_text=late.title[:20]).first).to_be_visible()
    expect(page.locator(".bell b")).to_be_visible()
    shot(page, "6-overdue")
    page.locator(".bell").click()
    expect(page.locator("[data-notification=digest]").first).to_be_visible()

    # The commander ends the drill against the plan's criteria and reads the timings.
    page.goto(f"/responses/{response.pk}/")
    page.locator("[data-action=terminate]").click()
    for box in page.locator("input[name=criteria]").all():
        box.check()
    shot(page, "7-terminate")
    page.locator("[data-action=confirm-terminate]").click()
    page.wait_for_url(f"**/responses/{response.pk}/review/")
    expect(page.locator(f"[data-timing='{first.pk}']")).to_contain_text("按时")
    expect(page.locator("[data-figure=score] b")).not_to_have_text("—")
    expect(page.locator("[data-figure=on-time] b")).to_contain_text("%")
    shot(page, "8-review")
    response.refresh_from_db()
    assert response.status == Response.Status.TERMINATED and response.score is not None
