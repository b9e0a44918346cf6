from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from linli.conftest import World
from linli.factories import TEST_PASSWORD
from linli.plans.models import Plan
from linli.response.models import Response
from linli.response.services import response_activate
from linli.tasks.models import Task
from linli.tasks.services import TaskSpec, tasks_create


def login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def activate(world: World, plan: Plan, **kwargs) -> Response:  # type: ignore[no-untyped-def]
    return response_activate(actor=world.commander, plan=plan, level=3, reason="演练", **kwargs)


def test_the_commander_activates_from_the_page_and_lands_on_the_response(
    client: Client, world: World, small_plan: Plan
) -> None:
    login(client, world.commander)
    page = client.get(f"/plans/{small_plan.pk}/activate/")
    assert "医疗组长" in page.content.decode()  # the gap is shown before activating
    answer = client.post(
        f"/plans/{small_plan.pk}/activate/",
        {"level": "2", "scope": "community", "reason": "疾控通知", "drill": "on"},
    )
    response = Response.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/responses/{response.pk}/"
    assert response.is_drill and response.level == 2


def test_activating_again_shows_the_running_response(client: Client, world: World, small_plan: Plan) -> None:
    running = activate(world, small_plan)
    login(client, world.commander)
    page = client.post(
        f"/plans/{small_plan.pk}/activate/", {"level": "2", "scope": "community", "reason": "again"}
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "already active for this area" in html and f'href="/responses/{running.pk}/"' in html
    assert Response.objects.count() == 1


def test_choosing_some_buildings_requires_at_least_one(
    client: Client, world: World, small_plan: Plan
) -> None:
    login(client, world.commander)
    page = client.post(
        f"/plans/{small_plan.pk}/activate/", {"level": "2", "scope": "buildings", "reason": "x"}
    )
    assert "Choose at least one building" in page.content.decode()
    assert not Response.objects.exists()


def test_grid_workers_cannot_activate(client: Client, world: World, small_plan: Plan) -> None:
    login(client, world.alice)
    assert client.get(f"/plans/{small_plan.pk}/activate/").status_code == 403


def test_the_response_page_is_seen_by_the_community_and_hidden_from_outsiders(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    for user in (world.alice, world.bob, world.observer, world.street_admin):
        client.logout()
        page = login(client, user).get(f"/responses/{response.pk}/")
        assert page.status_code == 200, user
    client.logout()
    assert login(client, world.charlie).get(f"/responses/{response.pk}/").status_code == 404


def test_people_without_an_account_or_phone_show_on_the_staffing_list(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    medical = small_plan.positions.get(key="medical-leader")
    login(client, world.commander).post(
        f"/responses/{response.pk}/do/assign/", {"position": medical.pk, "name": "何敏"}
    )
    html = client.get(f"/responses/{response.pk}/").content.decode()
    assert "何敏" in html and "gap — nobody assigned" not in html


def test_the_response_page_shows_overdue_first_and_my_tasks(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    Task.objects.filter(source_id=response.pk, title="开通问题反映渠道").update(
        due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    html = login(client, world.alice).get(f"/responses/{response.pk}/").content.decode()
    assert 'id="my-posts"' in html and "联络组长" in html
    board = html[html.index('id="board"') :]
    assert board.index("开通问题反映渠道") < board.index("通知居民")
    assert "gap — nobody assigned" in html


def test_a_worker_marks_a_task_done_from_the_list_with_htmx(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    task = Task.objects.get(source_id=response.pk, title="通知居民")
    login(client, world.alice)
    answer = client.post(f"/tasks/{task.pk}/status/", {"status": "done"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "status-done" in answer.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.done_by == world.alice
    assert response.log.filter(text__contains="通知居民").exists()


def test_anyone_on_the_response_writes_in_the_log_but_observers_do_not(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    login(client, world.bob).post(f"/responses/{response.pk}/do/note/", {"text": "3号楼门口已设卡"})
    assert response.log.filter(text="3号楼门口已设卡", actor=world.bob).exists()
    client.logout()
    login(client, world.observer).post(f"/responses/{response.pk}/do/note/", {"text": "看看"})
    assert not response.log.filter(text="看看").exists()


def test_situation_report_and_level_change_from_the_page(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    login(client, world.commander)
    client.post(f"/responses/{response.pk}/do/sitrep/", {"situation": "2号楼1例阳性", "needs": "防护服200套"})
    client.post(f"/responses/{response.pk}/do/level/", {"level": "1", "reason": "扩散"})
    html = client.get(f"/responses/{response.pk}/").content.decode()
    assert "2号楼1例阳性" in html and "防护服200套" in html
    assert 'data-level="1"' in html


def test_termination_page_requires_the_criteria_then_shows_the_review(
    client: Client, world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan, drill=True)
    login(client, world.commander)
    page = client.post(f"/responses/{response.pk}/terminate/", {"criteria": ["疾控通知结束"]})
    assert "Not all termination criteria are confirmed" in page.content.decode()
    answer = client.post(
        f"/responses/{response.pk}/terminate/", {"criteria": ["疾控通知结束", "所有居民已通知"]}
    )
    assert answer["Location"] == f"/responses/{response.pk}/review/"
    review = client.get(answer["Location"]).content.decode()
    assert 'data-figure="score"' in review and "通知居民" in review
    client.post(f"/responses/{response.pk}/review/", {"went_well": "集合快", "to_improve": "医疗组无人"})
    assert Response.objects.get(pk=response.pk).to_improve == "医疗组无人"
    assert "测试预案" in client.get("/responses/drills/").content.decode()


def test_a_bob_cannot_terminate(client: Client, world: World, small_plan: Plan) -> None:
    response = activate(world, small_plan)
    login(client, world.bob).post(f"/responses/{response.pk}/terminate/", {"note": "x"})
    assert Response.objects.get(pk=response.pk).is_active


@pytest.mark.parametrize("tasks", [50, 500])
def test_the_response_page_query_count_does_not_grow_with_tasks(
    client: Client, world: World, small_plan: Plan, django_assert_max_num_queries, tasks: int
) -> None:
    response = activate(world, small_plan)
    now = timezone.now()
    tasks_create(
        [
            TaskSpec(
                title=f"t{n}",
                due_at=now + dt.timedelta(minutes=n - 10),
                community_id=world.community.pk,
                assignee_id=world.alice.pk,
                team=["liaison", "medical", "logistics"][n % 3],
                source="response",
                source_id=response.pk,
            )
            for n in range(tasks)
        ]
    )
    login(client, world.commander)
    with django_assert_max_num_queries(30):
        html = client.get(f"/responses/{response.pk}/").content.decode()
    # Each team shows its most urgent rows and links to the rest.
    assert ('data-more="liaison"' in html) is (tasks > 3 * 25)
    if tasks > 3 * 25:
        team_view = client.get(f"/responses/{response.pk}/?team=medical").content.decode()
        assert team_view.count('class="task') >= tasks // 3
