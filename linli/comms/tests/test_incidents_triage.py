"""Staff triage: tasks for the grid worker, a team or a person with a deadline; a plan activation (or joining
the one already running); "not an incident"; closing with a note the reporter reads. Who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from linli.comms.incidents import (
    WORKER,
    incident_activate_plan,
    incident_close,
    incident_reject,
    incident_reply,
    incident_reveal_phone,
    incident_tasks_create,
)
from linli.comms.incidents.selectors import incident_tasks, plans_for_incident
from linli.comms.models import Incident, Notification
from linli.comms.tests.test_incidents_fixtures import _incident_env, report  # noqa: F401
from linli.conftest import World
from linli.core.models import AuditLog
from linli.plans.models import Plan
from linli.response.models import LogEntry, Response
from linli.tasks.models import Task, Team

NOW = dt.datetime(2026, 3, 2, 2, 10, tzinfo=dt.UTC)  # 10:10 in Beijing


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_tasks_go_to_the_buildings_grid_worker_and_to_a_team_with_the_deadline(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world, urgent=True)
    due = timezone.now() + dt.timedelta(minutes=30)
    tasks = incident_tasks_create(
        actor=world.commander,
        incident=incident,
        targets=[WORKER, Team.ENGINEERING],
        due_at=due,
        instructions="关闭楼道电源，疏散3层住户",
        reply="工作人员马上到",
    )
    worker_task, team_task = tasks
    assert worker_task.assignee == world.alice and worker_task.grid_id == world.grid1.pk
    assert team_task.team == Team.ENGINEERING and team_task.assignee is None
    assert all(t.due_at == due and t.priority == Task.Priority.URGENT for t in tasks)
    assert all(t.source == Task.Source.INCIDENT and t.source_id == incident.pk for t in tasks)
    assert "关闭楼道电源" in worker_task.detail and f"/comms/incidents/{incident.pk}/" in worker_task.detail
    assert [t.pk for t in incident_tasks(incident)] == [worker_task.pk, team_task.pk]
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIAGED
    assert incident.triaged_by == world.commander and incident.triaged_at == NOW
    assert incident.triage_note.endswith("工作人员马上到") and incident.triage_note.startswith("03-02 10:10")
    assert Notification.objects.filter(
        user=world.alice, kind="assigned", url=f"/tasks/{worker_task.pk}/"
    ).exists()
    assert AuditLog.objects.filter(
        target_type="comms.incident", target_id=str(incident.pk), action="update"
    ).exists()


def test_a_task_for_a_named_person_and_more_tasks_later(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    incident_tasks_create(
        actor=world.alice,
        incident=incident,
        targets=[],
        assignee=world.bob,
        due_at=NOW + dt.timedelta(hours=2),
    )
    incident_tasks_create(
        actor=world.alice, incident=incident, targets=[Team.LOGISTICS], due_at=NOW + dt.timedelta(hours=4)
    )
    assert [t.assignee_id for t in incident_tasks(incident)] == [world.bob.pk, None]


def test_task_refusals(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world, building=None, place="东门")
    later = NOW + dt.timedelta(hours=1)
    with pytest.raises(ValidationError, match="Choose who"):
        incident_tasks_create(actor=world.commander, incident=incident, targets=[], due_at=later)
    with pytest.raises(ValidationError, match="not at a building"):
        incident_tasks_create(actor=world.commander, incident=incident, targets=[WORKER], due_at=later)
    with pytest.raises(ValidationError, match="future"):
        incident_tasks_create(actor=world.commander, incident=incident, targets=[Team.SECURITY], due_at=NOW)
    with pytest.raises(ValidationError, match="teams"):
        incident_tasks_create(actor=world.commander, incident=incident, targets=["friends"], due_at=later)
    with pytest.raises(ValidationError, match="staff"):
        incident_tasks_create(
            actor=world.commander, incident=incident, targets=[], assignee=world.charlie, due_at=later
        )
    assert not Task.objects.exists()


def test_observers_and_other_communities_cannot_act(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    for actor in (world.observer, world.charlie):
        with pytest.raises(PermissionDenied):
            incident_tasks_create(
                actor=actor, incident=incident, targets=[Team.SECURITY], due_at=NOW + dt.timedelta(hours=1)
            )
        with pytest.raises(PermissionDenied):
            incident_close(actor=actor, incident=incident, note="好了")
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.NEW


def test_a_grid_worker_of_another_grid_acts_on_the_communitys_incident(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    incident_tasks_create(
        actor=world.bob, incident=incident, targets=[WORKER], due_at=NOW + dt.timedelta(hours=1)
    )
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.TRIAGED


def test_activating_a_plan_for_a_fire_at_a_building(world: World, small_plan, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    response, started = incident_activate_plan(
        actor=world.commander,
        incident=incident,
        plan=small_plan,
        level=3,
        whole_community=False,
        buildings=[world.building1],
        reply="已启动应急预案",
    )
    assert started and response.plan == small_plan and response.level == 3
    assert list(response.buildings.all()) == [world.building1]
    assert f"#{incident.pk}" in response.reason
    incident.refresh_from_db()
    assert incident.response == response and incident.status == Incident.Status.TRIAGED
    assert Task.objects.filter(source=Task.Source.RESPONSE, source_id=response.pk).exists()


def test_a_second_report_joins_the_response_already_running(world: World, small_plan, clock) -> None:  # type: ignore[no-untyped-def]
    first, second = report(world), report(world, description="又有人报告冒烟")
    running, _started = incident_activate_plan(
        actor=world.commander, incident=first, plan=small_plan, level=4
    )
    response, started = incident_activate_plan(
        actor=world.commander, incident=second, plan=small_plan, level=4
    )
    assert not started and response == running
    assert Response.objects.count() == 1
    second.refresh_from_db()
    assert second.response == running
    assert LogEntry.objects.filter(response=running, text__contains=f"#{second.pk}").exists()


def test_only_commanders_activate_and_only_their_communitys_plans(world: World, small_plan, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    with pytest.raises(PermissionDenied):
        incident_activate_plan(actor=world.alice, incident=incident, plan=small_plan, level=4)
    template = Plan.objects.create(title="模板", category="accident", is_template=True)
    with pytest.raises(ValidationError):
        incident_activate_plan(actor=world.commander, incident=incident, plan=template, level=4)
    with pytest.raises(ValidationError):
        incident_activate_plan(actor=world.commander, incident=incident, plan=small_plan, level=9)
    assert not Response.objects.exists()


def test_the_plan_matching_the_incident_is_suggested_first(world: World, small_plan) -> None:  # type: ignore[no-untyped-def]
    fire_template, _made = Plan.objects.get_or_create(
        is_template=True,
        template_key="building-fire",
        defaults={"title": "居民楼火灾", "category": "accident"},
    )
    fire = Plan.objects.create(
        title="我们的火灾预案", category="accident", community=world.community, source=fire_template
    )
    flood = Plan.objects.create(title="暴雨内涝", category="natural_disaster", community=world.community)
    choices = plans_for_incident(report(world, kind=Incident.Kind.FIRE))
    assert choices[0].plan == fire and choices[0].score == 2
    assert {c.plan for c in choices} == {fire, flood, small_plan}
    assert plans_for_incident(report(world, kind=Incident.Kind.WATER))[0].plan == flood
    assert all(c.score == 0 for c in plans_for_incident(report(world, kind=Incident.Kind.SECURITY)))


def test_not_an_incident_cancels_its_open_tasks_and_the_reporter_reads_why(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    incident_tasks_create(
        actor=world.alice, incident=incident, targets=[WORKER], due_at=NOW + dt.timedelta(hours=1)
    )
    with pytest.raises(ValidationError):
        incident_reject(actor=world.alice, incident=incident, note="  ")
    incident = incident_reject(actor=world.alice, incident=incident, note="已核实，是住户做饭的油烟")
    assert incident.status == Incident.Status.REJECTED and incident.closed_at == NOW
    assert incident.triage_note.splitlines()[-1].endswith("已核实，是住户做饭的油烟")
    assert [t.status for t in incident_tasks(incident)] == [Task.Status.CANCELLED]


def test_closing_keeps_the_tasks_unless_asked_and_a_closed_incident_takes_no_more_actions(
    world: World, clock
) -> None:  # type: ignore[no-untyped-def]
    incident = report(world)
    incident_tasks_create(
        actor=world.alice, incident=incident, targets=[WORKER], due_at=NOW + dt.timedelta(hours=1)
    )
    incident_reply(actor=world.alice, incident=incident, note="物业已到场")
    clock.shift(dt.timedelta(minutes=40))
    incident = incident_close(actor=world.commander, incident=incident, note="已处理完毕")
    assert incident.status == Incident.Status.CLOSED
    assert incident.triage_note.splitlines() == ["03-02 10:10 物业已到场", "03-02 10:50 已处理完毕"]
    assert incident_tasks(incident)[0].status == Task.Status.OPEN
    with pytest.raises(ValidationError, match="already"):
        incident_tasks_create(
            actor=world.alice,
            incident=incident,
            targets=[WORKER],
            due_at=timezone.now() + dt.timedelta(hours=1),
        )
    with pytest.raises(ValidationError, match="already"):
        incident_reject(actor=world.alice, incident=incident, note="x")


def test_revealing_the_reporters_phone_is_logged_and_not_for_observers(world: World) -> None:
    incident = report(world)
    assert incident_reveal_phone(actor=world.alice, incident=incident) == "13911112222"
    assert AuditLog.objects.filter(action="reveal", target_id=str(incident.pk)).count() == 1
    with pytest.raises(PermissionDenied):
        incident_reveal_phone(actor=world.observer, incident=incident)
