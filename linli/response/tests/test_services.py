from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from linli.comms.models import Notification
from linli.conftest import World
from linli.plans.models import Plan
from linli.response.models import LogEntry, Response
from linli.response.selectors import after_action, staffing, task_counts
from linli.response.services import (
    ActivationRefused,
    response_activate,
    response_assign,
    response_change_level,
    response_on_duty,
    response_terminate,
)
from linli.tasks.models import Task
from linli.tasks.services import deadline_scan, task_set_status

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)


def activate(world: World, plan: Plan, **kwargs) -> Response:  # type: ignore[no-untyped-def]
    args = {"actor": world.commander, "plan": plan, "level": 2, "reason": "疾控通知", "now": T0} | kwargs
    return response_activate(**args)


def tasks_of(response: Response) -> dict[str, Task]:
    return {t.title: t for t in Task.objects.filter(source="response", source_id=response.pk)}


def test_activation_turns_the_procedure_into_tasks_with_absolute_deadlines(
    world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    tasks = tasks_of(response)
    # Termination steps wait for the end of the response.
    assert set(tasks) == {"宣布启动", "通知居民", "开通问题反映渠道", "联络120"}
    assert tasks["通知居民"].due_at == T0 + dt.timedelta(minutes=15)
    assert tasks["通知居民"].assignee == world.alice
    assert tasks["通知居民"].leader == world.alice and tasks["通知居民"].commander == world.commander
    assert tasks["宣布启动"].assignee == world.commander
    # Nobody holds the medical lead: the task waits for someone and escalates to the commander.
    assert tasks["联络120"].assignee is None and tasks["联络120"].leader == world.commander


def test_activation_lists_the_gaps_and_notifies_everyone_assigned(world: World, small_plan: Plan) -> None:
    response = activate(world, small_plan)
    gaps = [p.position.title for p in staffing(response) if p.is_gap]
    assert gaps == ["医疗组长"]
    for user in (world.commander, world.alice, world.bob):
        (note,) = Notification.objects.filter(user=user)
        assert note.urgent and f"/responses/{response.pk}/" == note.url
    assert "Unstaffed positions: 医疗组长." in response.log.get(kind=LogEntry.Kind.ACTIVATED).text


def test_a_plan_already_active_for_the_same_area_is_refused_with_the_running_response(
    world: World, small_plan: Plan
) -> None:
    first = activate(world, small_plan)
    with pytest.raises(ActivationRefused) as refused:
        activate(world, small_plan, level=1)
    assert refused.value.existing == first
    with pytest.raises(ActivationRefused):
        activate(world, small_plan, whole_community=False, buildings=[world.building1])


def test_buildings_that_do_not_overlap_can_run_their_own_response(world: World, small_plan: Plan) -> None:
    one = activate(world, small_plan, whole_community=False, buildings=[world.building1])
    two = activate(world, small_plan, whole_community=False, buildings=[world.building2])
    assert one.pk != two.pk
    with pytest.raises(ActivationRefused) as refused:
        activate(world, small_plan, whole_community=False, buildings=[world.building2, world.building1])
    assert refused.value.existing in (one, two)
    with pytest.raises(ActivationRefused):
        activate(world, small_plan)


def test_only_a_commander_activates_and_templates_cannot_be_activated(world: World, small_plan: Plan) -> None:
    with pytest.raises(PermissionDenied):
        activate(world, small_plan, actor=world.alice)
    small_plan.is_template = True
    with pytest.raises(PermissionDenied):
        activate(world, small_plan)


def test_bad_activation_input_is_refused(world: World, small_plan: Plan) -> None:
    with pytest.raises(ValidationError):
        activate(world, small_plan, level=5)
    with pytest.raises(ValidationError):
        activate(world, small_plan, reason=" ")
    with pytest.raises(ValidationError):
        activate(world, small_plan, whole_community=False, buildings=[])


def test_full_staffing_is_reached_when_every_post_has_someone_on_duty(world: World, small_plan: Plan) -> None:
    response = activate(world, small_plan)
    with time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False):
        for user in (world.commander, world.alice, world.bob):
            response_on_duty(actor=user, response=response)
    response.refresh_from_db()
    assert response.staffed_at is None  # the medical lead is still a gap

    with time_machine.travel(T0 + dt.timedelta(minutes=12), tick=False):
        response_assign(
            actor=world.commander,
            response=response,
            position=small_plan.positions.get(key="medical-leader"),
            user=world.observer,
        )
    assert tasks_of(response)["联络120"].assignee == world.observer
    with time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False):
        response_on_duty(actor=world.observer, response=response)
    response.refresh_from_db()
    assert response.time_to_staffing == dt.timedelta(minutes=20)


def test_a_team_member_cannot_change_staffing_or_level(world: World, small_plan: Plan) -> None:
    response = activate(world, small_plan)
    with pytest.raises(PermissionDenied):
        response_change_level(actor=world.bob, response=response, level=1, reason="x")
    with pytest.raises(PermissionDenied):
        response_assign(
            actor=world.bob, response=response, position=small_plan.positions.first(), user=world.bob
        )


def test_a_level_change_is_logged_and_everyone_is_told(world: World, small_plan: Plan) -> None:
    response = activate(world, small_plan)
    response_change_level(actor=world.commander, response=response, level=1, reason="扩散到多栋楼")
    assert Response.objects.get(pk=response.pk).level == 1
    assert response.log.filter(kind=LogEntry.Kind.LEVEL, text__contains="扩散到多栋楼").exists()
    assert Notification.objects.filter(user=world.alice, title__contains="Level I").exists()
    with pytest.raises(ValidationError):
        response_change_level(actor=world.commander, response=response, level=1, reason="again")


def test_overdue_response_tasks_escalate_and_the_log_says_so(world: World, small_plan: Plan) -> None:
    response = activate(world, small_plan)
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        deadline_scan()
    (told,) = response.log.filter(kind=LogEntry.Kind.TASK, text__contains="通知居民")
    assert told.text == f"Overdue: “通知居民” — {world.alice.name} was told."
    assert Notification.objects.filter(user=world.alice, kind=Notification.Kind.OVERDUE).count() == 1
    # Response tasks escalate every 15 minutes: the commander hears about the unheld medical task.
    with time_machine.travel(T0 + dt.timedelta(minutes=46), tick=False):
        deadline_scan()
    assert Notification.objects.filter(user=world.commander, kind=Notification.Kind.DIGEST).exists()


def test_termination_checks_the_criteria_cancels_open_steps_and_starts_recovery(
    world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan, drill=True)
    tasks = tasks_of(response)
    with time_machine.travel(T0 + dt.timedelta(minutes=8), tick=False):
        response_on_duty(actor=world.alice, response=response)
        task_set_status(actor=world.commander, task=tasks["宣布启动"], status=Task.Status.DONE)
    with time_machine.travel(T0 + dt.timedelta(minutes=25), tick=False):
        task_set_status(actor=world.alice, task=tasks["通知居民"], status=Task.Status.DONE)  # 10 min late

    with time_machine.travel(T0 + dt.timedelta(minutes=70), tick=False):
        with pytest.raises(ValidationError, match="所有居民已通知"):
            response_terminate(actor=world.commander, response=response, criteria_met=["疾控通知结束"])
        response_terminate(
            actor=world.commander, response=response, criteria_met=["疾控通知结束", "所有居民已通知"]
        )
    response.refresh_from_db()
    assert response.status == Response.Status.TERMINATED
    after = tasks_of(response)
    assert after["开通问题反映渠道"].status == Task.Status.CANCELLED
    recovery = after["发布结束通知"]
    assert recovery.assignee == world.alice and recovery.due_at == T0 + dt.timedelta(minutes=100)

    review = after_action(response)
    assert [t.title for t in review.tasks] == ["宣布启动", "通知居民", "开通问题反映渠道", "联络120"]
    assert review.on_time_share == 0.25
    assert review.recovery_tasks == [recovery]
    assert review.time_to_staffing is None
    # 70 × 1/4 on time, nothing for staffing (never fully staffed).
    assert response.score == 18
    assert task_counts(response).by_status[Task.Status.CANCELLED] == 2


def test_termination_without_every_criterion_needs_the_commanders_reason(
    world: World, small_plan: Plan
) -> None:
    response = activate(world, small_plan)
    response_terminate(actor=world.commander, response=response, criteria_met=[], note="上级通知提前结束")
    response.refresh_from_db()
    assert "上级通知提前结束" in response.log.get(kind=LogEntry.Kind.TERMINATED).text
    with pytest.raises(ValidationError):
        response_terminate(actor=world.commander, response=response, criteria_met=[], note="again")
