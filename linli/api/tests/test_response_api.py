from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from linli.api.services import api_token_create
from linli.conftest import World
from linli.plans.models import Plan
from linli.response.services import response_activate
from linli.tasks.models import Task


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def admin_token(world: World) -> str:
    return api_token_create(actor=None, role="community_admin", scope_code=world.community.code)[1]


@pytest.fixture
def outsider_token(world: World) -> str:
    return api_token_create(actor=None, role="community_admin", scope_code="other")[1]


def test_plans_list_templates_and_the_communitys_own(
    client: Client, small_plan: Plan, admin_token: str
) -> None:
    rows = client.get("/api/v1/plans", headers=bearer(admin_token)).json()
    own = [r for r in rows if not r["template"]]
    assert own == [
        {
            "id": small_plan.pk,
            "title": "测试预案",
            "version": 1,
            "template": False,
            "category": "public_health",
            "community": "nanli",
            "archived": False,
        }
    ]


def test_activating_through_the_api_returns_task_counts_and_gaps(
    client: Client, small_plan: Plan, admin_token: str
) -> None:
    body = {"plan": small_plan.pk, "level": 2, "scope": "community", "reason": "疾控通知", "drill": True}
    answer = client.post(
        "/api/v1/responses", body, content_type="application/json", headers=bearer(admin_token)
    )
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert data["tasks"] == {"total": 4, "open": 4} and data["overdue"] == 0 and data["drill"] is True
    assert data["staffing_gaps"] == [{"position": "医疗组长", "team": "medical"}]
    again = client.post(
        "/api/v1/responses", body, content_type="application/json", headers=bearer(admin_token)
    )
    assert again.status_code == 409 and again.json()["existing"] == data["id"]
    read = client.get(f"/api/v1/responses/{data['id']}", headers=bearer(admin_token)).json()
    assert read["status"] == "active" and read["scope"] == "community"


def test_activation_for_some_buildings_and_bad_input(
    client: Client, world: World, small_plan: Plan, admin_token: str
) -> None:
    body = {"plan": small_plan.pk, "level": 3, "scope": [world.building1.pk], "reason": "1号楼"}
    answer = client.post(
        "/api/v1/responses", body, content_type="application/json", headers=bearer(admin_token)
    )
    assert answer.status_code == 201 and answer.json()["scope"] == [world.building1.pk]
    bad = body | {"scope": [999999]}
    assert (
        client.post(
            "/api/v1/responses", bad, content_type="application/json", headers=bearer(admin_token)
        ).status_code
        == 400
    )
    bad = body | {"level": 7, "scope": [world.building2.pk]}
    assert (
        client.post(
            "/api/v1/responses", bad, content_type="application/json", headers=bearer(admin_token)
        ).status_code
        == 400
    )


def test_outsiders_neither_see_nor_activate_the_plan(
    client: Client, world: World, small_plan: Plan, outsider_token: str
) -> None:
    body = {"plan": small_plan.pk, "level": 2, "scope": "community", "reason": "x"}
    assert (
        client.post(
            "/api/v1/responses", body, content_type="application/json", headers=bearer(outsider_token)
        ).status_code
        == 404
    )
    response = response_activate(actor=world.commander, plan=small_plan, level=2, reason="x")
    assert client.get(f"/api/v1/responses/{response.pk}", headers=bearer(outsider_token)).status_code == 404


def test_my_overdue_tasks_through_the_api(client: Client, world: World, small_plan: Plan) -> None:
    response = response_activate(actor=world.commander, plan=small_plan, level=2, reason="x")
    Task.objects.filter(source_id=response.pk, title="通知居民").update(
        due_at=timezone.now() - dt.timedelta(minutes=3)
    )
    client.force_login(world.alice)
    rows = client.get("/api/v1/tasks?mine=true&overdue=true").json()
    assert [r["title"] for r in rows] == ["通知居民"] and rows[0]["overdue"] is True
    mine = client.get("/api/v1/tasks?mine=true").json()
    assert [r["title"] for r in mine] == ["通知居民", "开通问题反映渠道"]
    done = client.post(
        f"/api/v1/tasks/{rows[0]['id']}/status", {"status": "done"}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    twice = client.post(
        f"/api/v1/tasks/{rows[0]['id']}/status", {"status": "done"}, content_type="application/json"
    )
    assert twice.status_code == 409
    client.force_login(world.charlie)
    assert (
        client.post(
            f"/api/v1/tasks/{rows[0]['id']}/status", {"status": "open"}, content_type="application/json"
        ).status_code
        == 404
    )
