"""A resident's question from end to end (issue 8): she opens her building's ask link on her phone, types a
question, the FAQ suggests an answer while she types, she sends it anyway; the liaison team's lead answers
it at the desk; she reloads her ticket page and reads the answer (and gets it by SMS)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from linli.comms.models import FaqEntry, OutboxMessage, Question
from linli.conftest import World
from linli.factories import TEST_PASSWORD
from linli.health.selfreport import building_token
from linli.tasks.models import Task, Team
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser

ANSWER = "明天上午8:00–11:30照常在17号院南侧广场采样，1号楼是9:00–9:30，请带好身份证。"


def test_a_resident_asks_the_faq_suggests_she_sends_anyway_liaison_answers_and_she_reads_it(
    world: World, small_plan: Any, phone_page: Any, desk_page: Any, shot: Screens
) -> None:
    from linli.comms.views.questions import flood_counts_reset

    flood_counts_reset()
    entry = FaqEntry.objects.create(
        community=world.community,
        team=Team.LIAISON,
        question="今天核酸几点开始？在哪里做？",
        answer="每天上午8:00–11:30，在17号院南侧广场采样点，按楼栋分时段下楼。",
    )
    FaqEntry.objects.create(community=world.community, question="垃圾怎么扔？", answer="早7点放到单元门口。")

    # 1. The QR poster at her building door opens the ask page on her phone; she types, and the FAQ answers.
    phone = phone_page
    phone.goto(f"/ask/{building_token(world.building1.pk)}/")
    expect(phone.locator("h1")).to_contain_text(world.building1.number)
    phone.locator("#ask-text").press_sequentially("明天还做核酸吗？几点在哪里做？", delay=20)
    suggestion = phone.locator(f".ask-faq[data-faq='{entry.pk}']")
    expect(suggestion).to_be_visible()
    expect(phone.locator(".ask-faq")).to_have_count(1)  # the rubbish entry is not like it
    suggestion.locator("summary").click()
    expect(suggestion.locator(".ask-faq-answer")).to_contain_text("17号院南侧广场")
    shot(phone, "1-suggested")

    # 2. It is about tomorrow, not today: she sends her question anyway, with her phone for the SMS.
    phone.fill("#ask-phone", "138 1234 5678")
    phone.click("#ask-send")
    phone.wait_for_url("**/ask/t/**")
    expect(phone.locator("#ticket")).to_have_attribute("data-status", "open")
    expect(phone.locator("#ticket")).to_contain_text("明天还做核酸吗")
    expect(phone.locator("#ticket")).to_contain_text("138****5678")
    shot(phone, "2-ticket")
    ticket_url = phone.url
    question = Question.objects.get()
    assert question.team == Team.LIAISON and question.phone == "13812345678"
    task = Task.objects.get(pk=question.task_id)
    assert task.team == Team.LIAISON and task.is_open
    entry.refresh_from_db()
    assert entry.shown == 1 and entry.helped == 0

    # 3. Alice leads the liaison team: she answers at her desk.
    desk = desk_page
    login(desk, world.alice.username, TEST_PASSWORD)
    desk.goto("/comms/questions/")
    row = desk.locator(f"tr[data-question='{question.pk}']")
    expect(row).to_contain_text("明天还做核酸吗")
    shot(desk, "3-desk")
    row.locator("a").first.click()
    expect(desk.locator("#question-text")).to_contain_text("明天还做核酸吗")
    expect(desk.locator("#faq-matches")).to_contain_text(entry.question)  # the FAQ's words, one tap away
    desk.fill("#id_answer", ANSWER)
    shot(desk, "4-answer")
    desk.click("#answer-send")
    expect(desk.locator("#question-answer")).to_contain_text("1号楼是9:00–9:30")
    shot(desk, "5-answered")
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.done_by == world.alice
    sms = OutboxMessage.objects.get(key=f"q{question.pk}:answer")
    assert sms.address == "13812345678" and question.token in sms.body

    # 4. She reloads her ticket page and reads the answer.
    phone.goto(ticket_url.split("?")[0])
    expect(phone.locator("#ticket")).to_have_attribute("data-status", "answered")
    expect(phone.locator("#ticket-answer")).to_contain_text("1号楼是9:00–9:30")
    shot(phone, "6-answer")
    # Her building's page lists the question as answered.
    phone.goto(f"/ask/{building_token(world.building1.pk)}/")
    expect(phone.locator("#ask-mine")).to_contain_text("明天还做核酸吗")
