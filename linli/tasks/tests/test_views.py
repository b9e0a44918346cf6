from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from linli.comms.models import Notification
from linli.conftest import World
from linli.factories import TEST_PASSWORD
from linli.tasks.models import Task
from linli.tasks.services import TaskSpec, deadline_scan, tasks_create


def login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def grid_task(world: World, minutes: int = -5, **kwargs) -> Task:  # type: ignore[no-untyped-def]
    (task,) = tasks_create(
        [
            TaskSpec(
                title=kwargs.pop("title", "上门核查 1号楼101"),
                due_at=timezone.now() + dt.timedelta(minutes=minutes),
                community_id=world.community.pk,
                grid_id=world.grid1.pk,
                assignee_id=world.alice.pk,
                commander_id=world.commander.pk,
                **kwargs,
            )
        ]
    )
    return task


def test_my_tasks_page_lists_overdue_first_with_a_done_button(client: Client, world: World) -> None:
    grid_task(world, minutes=60, title="later")
    late = grid_task(world, minutes=-5, title="late")
    html = login(client, world.alice).get("/tasks/").content.decode()
    assert html.index("late") < html.index("later")
    assert f'data-done="{late.pk}"' in html and "overdue 5 min" in html


def test_a_task_is_seen_by_its_grid_and_commanders_not_by_another_grid_or_community(
    client: Client, world: World
) -> None:
    task = grid_task(world)
    for user, status in ((world.alice, 200), (world.commander, 200), (world.bob, 404), (world.charlie, 404)):
        client.logout()
        assert login(client, user).get(f"/tasks/{task.pk}/").status_code == status, user


def test_finishing_from_the_task_page_with_a_result(client: Client, world: World) -> None:
    task = grid_task(world)
    login(client, world.alice).post(f"/tasks/{task.pk}/status/", {"status": "done", "result": "电话已联系"})
    task.refresh_from_db()
    assert task.status == "done" and task.result == "电话已联系"


def test_a_blocked_task_without_a_reason_shows_the_error(client: Client, world: World) -> None:
    task = grid_task(world)
    answer = login(client, world.alice).post(f"/tasks/{task.pk}/status/", {"status": "blocked"}, follow=True)
    assert "Say what is blocking the task." in answer.content.decode()


def test_the_supervisor_sees_overdue_and_orphaned_tasks_and_reassigns(client: Client, world: World) -> None:
    task = grid_task(world)
    world.alice.is_active = False
    world.alice.save()
    html = login(client, world.commander).get("/tasks/overdue/").content.decode()
    assert 'id="orphaned"' in html and "inactive — reassign" in html
    client.post(f"/tasks/{task.pk}/reassign/", {"assignee": world.bob.pk})
    assert Task.objects.get(pk=task.pk).assignee == world.bob


def test_a_grid_worker_cannot_reassign(client: Client, world: World) -> None:
    task = grid_task(world)
    login(client, world.alice).post(f"/tasks/{task.pk}/reassign/", {"assignee": world.bob.pk})
    assert Task.objects.get(pk=task.pk).assignee == world.alice


def test_notifications_show_in_the_bell_and_the_inbox(client: Client, world: World) -> None:
    grid_task(world)
    deadline_scan()
    login(client, world.alice)
    html = client.get("/tasks/").content.decode()
    assert 'data-unread="1"' in html
    assert "Overdue: 上门核查 1号楼101" in client.get("/notifications/").content.decode()
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=world.alice, read_at=None).exists()


def test_my_tasks_query_count_is_constant(
    client: Client, world: World, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for n in range(60):
        grid_task(world, minutes=n - 30, title=f"t{n}")
    login(client, world.alice)
    with django_assert_max_num_queries(12):
        client.get("/tasks/")
