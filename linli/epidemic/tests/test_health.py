from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from linli.comms.models import Notification
from linli.conftest import World
from linli.epidemic import cases as svc
from linli.epidemic.catalogue import load_control_types
from linli.epidemic.models import ControlType, HealthChange, HealthStatus
from linli.tasks.models import Task
from linli.tasks.services import deadline_scan

T0 = dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 Beijing


@pytest.fixture
def types(world: World) -> dict[str, ControlType]:
    load_control_types()
    return {t.key: t for t in ControlType.objects.filter(community__isnull=True)}


def colour(resident) -> str:  # type: ignore[no-untyped-def]
    row = HealthStatus.objects.filter(resident=resident).first()
    return row.colour if row else "green"


def test_no_row_means_green_and_refreshing_writes_nothing(world: World) -> None:
    assert svc.health_refresh([world.resident1.pk]) == 0
    assert colour(world.resident1) == "green"
    assert not HealthChange.objects.exists()


def test_a_red_type_turns_red_a_yellow_type_yellow_and_release_turns_green(world, types) -> None:
    with time_machine.travel(T0, tick=False):
        red = svc.case_open(
            actor=world.commander, resident=world.resident1, control_type=types["close_contact"]
        )
        yellow = svc.case_open(
            actor=world.commander, resident=world.resident2, control_type=types["companion"]
        )
        assert colour(world.resident1) == "red" and colour(world.resident2) == "yellow"
        svc.case_release(actor=world.commander, case=red)
        svc.case_release(actor=world.commander, case=yellow)
    assert colour(world.resident1) == "green" and colour(world.resident2) == "green"
    assert list(HealthChange.objects.filter(resident=world.resident1).values_list("colour", flat=True)) == [
        "green",
        "red",
    ]


def test_history_is_written_only_when_the_colour_changes(world, types) -> None:
    with time_machine.travel(T0, tick=False):
        svc.case_open(actor=world.commander, resident=world.resident1, control_type=types["close_contact"])
        svc.health_refresh([world.resident1.pk])
        svc.health_refresh([world.resident1.pk])
    assert HealthChange.objects.filter(resident=world.resident1).count() == 1


def test_an_overdue_test_step_turns_a_monitored_resident_yellow(world, types) -> None:
    # A custom green-while-monitored type: only the overdue test makes the colour yellow.
    ctype = ControlType.objects.create(
        key="watch",
        name="观察",
        measure="monitor",
        days=3,
        colour="green",
        steps=[
            {"title": "核酸检测（第1天）", "owner": "medical", "kind": "test", "day": 1},
            {"title": "解除", "owner": "worker", "kind": "release"},
        ],
    )
    with time_machine.travel(T0, tick=False):
        svc.case_open(actor=world.commander, resident=world.resident1, control_type=ctype)
    assert colour(world.resident1) == "green"
    with time_machine.travel(T0 + dt.timedelta(hours=10), tick=False):  # 19:00, the 18:00 test is late
        deadline_scan()
    assert colour(world.resident1) == "yellow"


def test_a_positive_test_on_a_test_step_turns_red_and_tells_the_commander(world, types) -> None:
    with time_machine.travel(T0, tick=False):
        case = svc.case_open(
            actor=world.alice, resident=world.resident1, control_type=types["high_risk_return"]
        )
        assert colour(world.resident1) == "yellow"
        step = Task.objects.get(source="control", source_id=case.pk, title__startswith="核酸检测（第1天）")
        svc.test_record(
            actor=world.alice,
            case_or_resident=case,
            taken_on=dt.date(2026, 5, 1),
            result="positive",
            step_task=step,
        )
    step.refresh_from_db()
    assert step.status == "done"
    assert colour(world.resident1) == "red"
    assert Notification.objects.filter(user=world.commander, urgent=True, title__contains="Positive").exists()


def test_a_positive_test_counts_for_fourteen_days_and_a_later_negative_clears_it(world) -> None:
    with time_machine.travel(T0, tick=False):
        svc.test_record(
            actor=world.alice,
            case_or_resident=world.resident1,
            taken_on=dt.date(2026, 5, 1),
            result="positive",
        )
        assert colour(world.resident1) == "red"
    with time_machine.travel(T0 + dt.timedelta(days=14), tick=False):
        svc.health_refresh([world.resident1.pk])
    assert colour(world.resident1) == "green"
    with time_machine.travel(T0, tick=False):
        svc.health_refresh([world.resident1.pk])
        assert colour(world.resident1) == "red"
        svc.test_record(
            actor=world.alice,
            case_or_resident=world.resident1,
            taken_on=dt.date(2026, 5, 1),
            result="negative",
        )
    assert colour(world.resident1) == "green"


def test_the_badge_shows_on_the_resident_list_and_page(world, types, client) -> None:
    with time_machine.travel(T0, tick=False):
        case = svc.case_open(
            actor=world.commander, resident=world.resident1, control_type=types["close_contact"]
        )
    client.force_login(world.alice)
    listing = client.get("/residents/").content.decode()
    assert 'data-health="red"' in listing
    page = client.get(f"/residents/{world.resident1.pk}/").content.decode()
    assert 'data-health="red"' in page and f"/epidemic/cases/{case.pk}/" in page
    other = client.get(f"/residents/{world.resident2.pk}/")
    assert other.status_code == 404  # bob's grid
    client.force_login(world.bob)
    page2 = client.get(f"/residents/{world.resident2.pk}/").content.decode()
    assert 'data-health="green"' in page2 and "put-under-control" in page2
    client.force_login(world.observer)
    assert "put-under-control" not in client.get(f"/residents/{world.resident2.pk}/").content.decode()


def test_the_periodic_job_lets_an_old_positive_test_expire(world) -> None:
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from linli.epidemic.jobs import health_refresh_job

    resident = world.resident1
    svc.test_record(
        actor=world.commander, case_or_resident=resident, taken_on=timezone.localdate(), result="positive"
    )
    assert colour(resident) == "red"
    with time_machine.travel(timezone.now() + dt.timedelta(days=20)):
        health_refresh_job.call()
    assert colour(resident) == "green"
