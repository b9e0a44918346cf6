from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib

import pytest
from django.test import Client

from linli.conftest import World
from linli.core.models import AuditLog
from linli.factories import TEST_PASSWORD
from linli.plans.builtin import builtin_documents, load_builtin_templates
from linli.plans.models import Plan, PlanRevision, PositionHolder, Step
from linli.plans.services import PlanConflict, plan_change, plan_copy
from linli.response.services import response_activate
from linli.tasks.models import Task


def login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.fixture
def templates(db: None) -> dict[str, Plan]:
    load_builtin_templates()
    return {p.template_key: p for p in Plan.objects.filter(is_template=True)}


def test_the_builtin_templates_are_loaded_once(templates: dict[str, Plan]) -> None:
    assert set(templates) >= {"closed-area-screening", "building-fire", "rainstorm-flood", "utility-outage"}
    assert load_builtin_templates() == 0
    assert Plan.objects.filter(is_template=True).count() == len(builtin_documents())


def test_copying_a_template_gives_the_community_its_own_versioned_plan(
    world: World, templates: dict[str, Plan]
) -> None:
    source = templates["closed-area-screening"]
    plan = plan_copy(actor=world.commander, source=source, community=world.community)
    assert plan.community == world.community and not plan.is_template and plan.source == source
    assert plan.version == 1 and plan.revisions.get().note.startswith("Copied from")
    assert plan.steps.count() == source.steps.count() > 20
    assert plan.positions.count() == source.positions.count() == 12
    assert [s.within_minutes for s in plan.steps.all()] == [s.within_minutes for s in source.steps.all()]
    assert AuditLog.objects.filter(target_type="plans.plan", target_id=str(plan.pk), action="create").exists()


def test_the_seed_plan_activates_with_every_procedure_step_as_a_task(
    world: World, templates: dict[str, Plan]
) -> None:
    plan = plan_copy(
        actor=world.commander, source=templates["closed-area-screening"], community=world.community
    )
    response = response_activate(actor=world.commander, plan=plan, level=1, reason="封控")
    expected = plan.steps.exclude(phase="termination").count()
    assert Task.objects.filter(source_id=response.pk, source="response").count() == expected


def test_two_editors_never_lose_each_others_changes(world: World, small_plan: Plan) -> None:
    opened_by_both = small_plan.version
    plan_change(
        actor=world.commander,
        plan=small_plan,
        expected_version=opened_by_both,
        note="first",
        change=lambda: Plan.objects.filter(pk=small_plan.pk).update(summary="A"),
    )
    with pytest.raises(PlanConflict, match="saved version 2 of this plan"):
        plan_change(
            actor=world.street_admin,
            plan=small_plan,
            expected_version=opened_by_both,
            note="second",
            change=lambda: Plan.objects.filter(pk=small_plan.pk).update(summary="B"),
        )
    small_plan.refresh_from_db()
    assert small_plan.summary == "A" and small_plan.version == 2
    assert list(PlanRevision.objects.filter(plan=small_plan).values_list("version", flat=True)) == [2]


def test_a_stale_form_is_refused_with_the_input_kept(client: Client, world: World, small_plan: Plan) -> None:
    login(client, world.commander)
    form = {
        "title": "新标题",
        "category": "public_health",
        "summary": "我的修改",
        "version": small_plan.version,
    }
    Plan.objects.filter(pk=small_plan.pk).update(version=small_plan.version + 1)
    page = client.post(f"/plans/{small_plan.pk}/edit/", form)
    html = page.content.decode()
    assert page.status_code == 200 and 'id="conflict"' in html and "Your changes were not saved" in html
    assert "我的修改" in html
    assert Plan.objects.get(pk=small_plan.pk).title == "测试预案"


def test_editing_a_section_saves_a_new_version_with_a_summary(
    client: Client, world: World, small_plan: Plan
) -> None:
    login(client, world.commander)
    steps = list(small_plan.steps.filter(team="liaison"))
    data = {
        "version": small_plan.version,
        "steps-TOTAL_FORMS": str(len(steps) + 1),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for n, step in enumerate(steps):
        data |= {
            f"steps-{n}-id": str(step.pk),
            f"steps-{n}-order": str(step.order),
            f"steps-{n}-phase": step.phase,
            f"steps-{n}-position": str(step.position_id),
            f"steps-{n}-text": step.text,
            f"steps-{n}-within_minutes": "5" if n == 0 else str(step.within_minutes),
        }
    n = len(steps)
    data |= {
        f"steps-{n}-order": "9",
        f"steps-{n}-phase": "response",
        f"steps-{n}-text": "张贴告示",
        f"steps-{n}-within_minutes": "20",
    }
    answer = client.post(f"/plans/{small_plan.pk}/edit/steps/?team=liaison", data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Step.objects.get(plan=small_plan, text="张贴告示").team == "liaison"
    assert Step.objects.get(pk=steps[0].pk).within_minutes == 5
    revision = small_plan.revisions.get(version=small_plan.version + 1)
    assert "1 changed, 1 added, 0 removed" in revision.note
    assert revision.snapshot["steps"][-1]["text"] == "张贴告示"


def test_staffing_names_people_with_and_without_accounts(
    client: Client, world: World, small_plan: Plan
) -> None:
    login(client, world.commander)
    medical = small_plan.positions.get(key="medical-leader")
    data = {"version": small_plan.version}
    for position in small_plan.positions.all():
        holders = list(position.holders.all())
        prefix = f"h{position.pk}"
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(holders) + 1),
            f"{prefix}-INITIAL_FORMS": str(len(holders)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for n, h in enumerate(holders):
            data |= {f"{prefix}-{n}-id": str(h.pk), f"{prefix}-{n}-user": str(h.user_id or "")}
    data |= {
        f"h{medical.pk}-0-name": "何敏",
        f"h{medical.pk}-0-phone": "13901010004",
        f"h{medical.pk}-0-is_standin": "",
    }
    answer = client.post(f"/plans/{small_plan.pk}/edit/staffing/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert PositionHolder.objects.get(position=medical).name == "何敏"


def test_plans_are_seen_by_their_community_and_edited_only_by_its_commanders(
    client: Client, world: World, small_plan: Plan
) -> None:
    assert login(client, world.alice).get(f"/plans/{small_plan.pk}/").status_code == 200
    assert client.get(f"/plans/{small_plan.pk}/edit/").status_code == 403
    client.logout()
    assert login(client, world.charlie).get(f"/plans/{small_plan.pk}/").status_code == 404
    assert client.get(f"/plans/{small_plan.pk}/cards/").status_code == 404


def test_templates_are_shared_but_read_only(client: Client, world: World, templates: dict[str, Plan]) -> None:
    template = templates["building-fire"]
    login(client, world.charlie)
    assert client.get(f"/plans/{template.pk}/").status_code == 200
    assert client.get(f"/plans/{template.pk}/edit/").status_code == 403
    answer = client.post(f"/plans/{template.pk}/copy/", {"title": "别的社区火灾预案"})
    copy = Plan.objects.get(title="别的社区火灾预案")
    assert answer["Location"] == f"/plans/{copy.pk}/edit/staffing/" and copy.community.code == "other"


def test_the_cards_page_has_one_card_per_position_with_a_qr_code(
    client: Client, world: World, small_plan: Plan
) -> None:
    html = login(client, world.alice).get(f"/plans/{small_plan.pk}/cards/").content.decode()
    assert html.count('class="card"') == small_plan.positions.count()
    assert html.count("<svg") >= small_plan.positions.count()
    assert "通知居民" in html and "救护" in html and "居委会仓库" in html


def test_the_json_export_round_trips_and_is_audited(client: Client, world: World, small_plan: Plan) -> None:
    answer = login(client, world.commander).get(f"/plans/{small_plan.pk}/export.json")
    doc = json.loads(answer.content)
    assert [s["text"] for s in doc["steps"]][:2] == ["宣布启动", "通知居民"]
    assert AuditLog.objects.filter(action="export", target_id=str(small_plan.pk)).exists()
    assert client.get(f"/plans/{small_plan.pk}/export.docx").status_code == 404


def test_the_live_link_on_a_card_opens_the_running_response(
    client: Client, world: World, small_plan: Plan
) -> None:
    login(client, world.alice)
    assert client.get(f"/plans/{small_plan.pk}/live/")["Location"] == f"/plans/{small_plan.pk}/"
    response = response_activate(actor=world.commander, plan=small_plan, level=4, reason="x")
    assert (
        client.get(f"/plans/{small_plan.pk}/live/?post=liaison-leader")["Location"]
        == f"/responses/{response.pk}/"
    )


def pdf_font_names(pdf: bytes) -> str:
    """The /BaseFont names in a PDF, looking inside its compressed object streams too."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        start = match.end()
        end = pdf.find(b"endstream", start)
        try:
            chunks.append(zlib.decompress(pdf[start:end]))
        except zlib.error:
            continue
    names = []
    for chunk in chunks:
        names += [m.decode("latin-1") for m in re.findall(rb"/BaseFont\s*/([^\s/<>\[\]]+)", chunk)]
    return " ".join(names)


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    return "CJK" in subprocess.run(["fc-list"], capture_output=True, text=True).stdout


@pytest.mark.skipif(not _has_cjk_font(), reason="fonts-noto-cjk is not installed (.ci/run installs it)")
def test_cards_and_plan_pdfs_embed_a_chinese_font(client: Client, world: World, small_plan: Plan) -> None:
    login(client, world.commander)
    for url in (f"/plans/{small_plan.pk}/cards/?format=pdf", f"/plans/{small_plan.pk}/export.pdf"):
        answer = client.get(url)
        assert answer["Content-Type"] == "application/pdf"
        assert answer.content.startswith(b"%PDF")
        assert "CJK" in pdf_font_names(answer.content)
