from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from linli.comms.models import Notification
from linli.conftest import World
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.factories import UserFactory
from linli.tasks.models import Task
from linli.tasks.selectors import tasks_mine, tasks_needing_reassignment
from linli.tasks.services import (
    TaskConflict,
    TaskSpec,
    deadline_scan,
    task_reassign,
    task_set_status,
    tasks_create,
)

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def make_task(
    world: World, *, minutes: int = 30, assignee=None, leader=None, commander=None, **extra
) -> Task:  # type: ignore[no-untyped-def]
    (task,) = tasks_create(
        [
            TaskSpec(
                title=extra.pop("title", "核查名单"),
                due_at=T0 + dt.timedelta(minutes=minutes),
                community_id=world.community.pk,
                assignee_id=(assignee or world.alice).pk,
                leader_id=leader.pk if leader else None,
                commander_id=commander.pk if commander else None,
                escalation_minutes=30,
                **extra,
            )
        ]
    )
    return task


def inbox(user) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(Notification.objects.filter(user=user).order_by("id"))


def test_an_overdue_task_escalates_to_assignee_then_leader_then_commander_once_each(world: World) -> None:
    leader = UserFactory(username="gl", role=Role.GRID_LEADER, grid=world.grid1)
    task = make_task(world, leader=leader, commander=world.commander)

    with time_machine.travel(T0 + dt.timedelta(minutes=29), tick=False):
        assert deadline_scan().claimed == 0
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        assert deadline_scan().claimed == 1
        assert deadline_scan().claimed == 0  # a second pass (or a second worker) finds nothing to do
    assert [n.title for n in inbox(world.alice)] == ["Overdue: 核查名单"]
    assert inbox(leader) == [] and inbox(world.commander) == []

    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        deadline_scan()
    assert len(inbox(leader)) == 1 and inbox(world.commander) == []
    with time_machine.travel(T0 + dt.timedelta(minutes=91), tick=False):
        deadline_scan()
        deadline_scan()
    assert len(inbox(world.commander)) == 1
    assert len(inbox(world.alice)) == 1 and len(inbox(leader)) == 1
    task.refresh_from_db()
    assert task.escalation_level == 3 and task.next_escalation_at is None


def test_a_task_finished_in_time_never_escalates(world: World) -> None:
    task = make_task(world, commander=world.commander)
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        task_set_status(actor=world.alice, task=task, status=Task.Status.DONE, result="已电话核实")
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        assert deadline_scan().claimed == 0
    assert inbox(world.alice) == [] and inbox(world.commander) == []
    task.refresh_from_db()
    assert task.finished_on_time and task.result == "已电话核实"


def test_a_supervisor_gets_one_digest_instead_of_a_message_per_task(world: World) -> None:
    for n in range(5):
        make_task(
            world, assignee=world.bob if n % 2 else world.alice, commander=world.commander, title=f"任务{n}"
        )
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        deadline_scan()
    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        result = deadline_scan()
    assert result.claimed == 5
    (digest,) = inbox(world.commander)
    assert digest.kind == Notification.Kind.DIGEST
    assert digest.title == "5 tasks are overdue"
    assert all(f"任务{n}" in digest.body for n in range(5))
    # The assignees each got one message for their own tasks, also grouped.
    assert [n.title for n in inbox(world.alice)] == ["3 tasks are overdue"]


def test_the_scan_processes_more_rows_than_one_batch(world: World) -> None:
    for _n in range(7):
        make_task(world, commander=world.commander)
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        result = deadline_scan(batch=3)
    assert result.claimed == 7 and result.passes == 3
    assert len(inbox(world.alice)) == 3  # one digest per batch pass


def test_an_inactive_assignee_is_skipped_and_the_task_is_flagged_for_reassignment(world: World) -> None:
    task = make_task(world, commander=world.commander)
    world.alice.is_active = False
    world.alice.save()
    assert list(tasks_needing_reassignment(world.commander)) == [task]
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        deadline_scan()
    assert inbox(world.alice) == []
    assert [n.title for n in inbox(world.commander)] == ["1 task is overdue"]

    task_reassign(actor=world.commander, task=task, assignee=world.bob)
    assert list(tasks_needing_reassignment(world.commander)) == []
    assert inbox(world.bob)[0].title == "Task assigned to you: 核查名单"
    with pytest.raises(ValidationError):
        task_reassign(actor=world.commander, task=task, assignee=world.alice)


def test_marking_a_task_done_twice_says_who_did_it_first(world: World) -> None:
    task = make_task(world, commander=world.commander)
    stale = Task.objects.get(pk=task.pk)
    task_set_status(actor=world.alice, task=task, status=Task.Status.DONE)
    with pytest.raises(TaskConflict, match=r"Already marked done by .* at \d\d:\d\d"):
        task_set_status(actor=world.commander, task=stale, status=Task.Status.DONE)
    assert AuditLog.objects.filter(target_type="tasks.task", target_id=str(task.pk)).count() == 1


def test_blocking_or_cancelling_needs_a_reason(world: World) -> None:
    task = make_task(world)
    with pytest.raises(ValidationError):
        task_set_status(actor=world.alice, task=task, status=Task.Status.BLOCKED)
    with pytest.raises(ValidationError):
        task_set_status(actor=world.alice, task=task, status=Task.Status.CANCELLED, result="  ")
    task_set_status(actor=world.alice, task=task, status=Task.Status.BLOCKED, result="居民不在家")
    assert Task.objects.get(pk=task.pk).status == Task.Status.BLOCKED


def test_observers_and_other_workers_cannot_update_someone_elses_task(world: World) -> None:
    task = make_task(world)
    with pytest.raises(PermissionDenied):
        task_set_status(actor=world.observer, task=task, status=Task.Status.DONE)
    with pytest.raises(PermissionDenied):
        task_set_status(actor=world.bob, task=task, status=Task.Status.DONE)


def test_reopening_restarts_escalation_from_the_deadline(world: World) -> None:
    task = make_task(world)
    task_set_status(actor=world.alice, task=task, status=Task.Status.DONE)
    task.refresh_from_db()
    task_set_status(actor=world.alice, task=task, status=Task.Status.OPEN)
    task.refresh_from_db()
    assert task.next_escalation_at == task.due_at and task.escalation_level == 0 and task.done_at is None


def test_my_tasks_are_overdue_first_then_soonest_due(world: World) -> None:
    now = timezone.now()
    later = make_task(world, title="later")
    Task.objects.filter(pk=later.pk).update(due_at=now + dt.timedelta(hours=3))
    soon = make_task(world, title="soon")
    Task.objects.filter(pk=soon.pk).update(due_at=now + dt.timedelta(minutes=5))
    late = make_task(world, title="late")
    Task.objects.filter(pk=late.pk).update(due_at=now - dt.timedelta(minutes=5))
    assert [t.title for t in tasks_mine(world.alice)] == ["late", "soon", "later"]
    assert [t.title for t in tasks_mine(world.alice, overdue=True)] == ["late"]


def test_a_long_overdue_task_moves_one_level_per_pass_whatever_the_batch_size(world: World) -> None:
    leader = UserFactory(username="gl", role=Role.GRID_LEADER, grid=world.grid1)
    for _n in range(7):
        make_task(world, leader=leader, commander=world.commander)
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        result = deadline_scan(batch=2)
    assert result.claimed == 7
    assert set(Task.objects.values_list("escalation_level", flat=True)) == {1}
    assert inbox(leader) == [] and inbox(world.commander) == []
    # The leader hears after the task's delay, counted from when the assignee was told.
    with time_machine.travel(T0 + dt.timedelta(hours=3, minutes=29), tick=False):
        assert deadline_scan().claimed == 0
    with time_machine.travel(T0 + dt.timedelta(hours=3, minutes=30), tick=False):
        assert deadline_scan().claimed == 7
    assert len(inbox(leader)) == 1 and inbox(world.commander) == []


def test_the_scan_without_update_returning_claims_the_same_way(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from linli.tasks import services

    monkeypatch.setattr(services, "_update_returning_supported", lambda: False)
    for _n in range(3):
        make_task(world, commander=world.commander)
    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        assert deadline_scan(batch=2).claimed == 3
        assert deadline_scan().claimed == 0
    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        assert deadline_scan().claimed == 3
    assert len(inbox(world.commander)) == 1
