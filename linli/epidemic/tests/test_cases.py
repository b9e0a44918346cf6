from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from linli.comms.models import Notification
from linli.conftest import World
from linli.core.models import AuditLog, User
from linli.epidemic import cases as svc
from linli.epidemic.case_selectors import my_pipelines
from linli.epidemic.catalogue import load_control_types
from linli.epidemic.models import ControlCase, ControlType
from linli.factories import HouseholdFactory, ResidentFactory
from linli.registry.models import Resident
from linli.tasks.models import Task, Team
from linli.tasks.services import task_set_status

# 09:00 on 1 May 2026 in Beijing.
T0 = dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)
LOCAL = timezone.get_fixed_timezone(8 * 60)


def step_title(task) -> str:  # type: ignore[no-untyped-def]
    """The template's step title, without the " · name 1-1-101" every step task carries."""
    return task.title.split(" · ")[0]


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 5, day, hour, minute, tzinfo=LOCAL)


@pytest.fixture
def types(world: World) -> dict[str, ControlType]:
    load_control_types()
    return {t.key: t for t in ControlType.objects.filter(community__isnull=True)}


@pytest.fixture
def now() -> object:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def open_case(
    world: World, types: dict[str, ControlType], key: str = "secondary_contact", **kw
) -> ControlCase:  # type: ignore[no-untyped-def]
    return svc.case_open(
        actor=kw.pop("actor", world.commander),
        resident=kw.pop("resident", world.resident1),
        control_type=types[key],
        **kw,
    )


def steps(case: ControlCase) -> list[Task]:
    return list(
        Task.objects.filter(source=Task.Source.CONTROL, source_id=case.pk).order_by("due_at", "order", "id")
    )


# --- opening ----------------------------------------------------------------------------------------


def test_opening_a_case_makes_the_pipeline_of_steps_with_owners_and_deadlines(world, types, now) -> None:
    case = open_case(world, types)

    assert case.release_on == dt.date(2026, 5, 8)
    tasks = steps(case)
    # 5 steps, 7 daily temperature checks, 3 tests and the release.
    assert len(tasks) == 16
    by_title = {step_title(t): t for t in tasks}
    sensor = by_title["安装门磁"]
    assert sensor.team == Team.SECURITY and sensor.assignee_id is None
    assert sensor.leader_id == world.commander.pk  # grid 1 has no leader: the commander routes it
    assert sensor.due_at == T0 + dt.timedelta(hours=4)
    notify_step = by_title["通知本人，告知居家隔离要求"]
    assert notify_step.assignee_id == world.alice.pk and notify_step.grid_id == world.grid1.pk
    assert by_title["核酸检测（第4天）"].due_at == local(4, 18)
    assert by_title["早晚两次体温（第7天）"].due_at == local(7, 18)
    assert "早晚两次体温（第8天）" not in by_title
    release = by_title["解除居家隔离，拆除门磁"]
    assert release.stage == "release" and release.due_at == local(8, 10)
    assert {t.stage for t in tasks} == {"step", "daily", "test", "release"}
    assert AuditLog.objects.filter(
        action="create", target_type="epidemic.controlcase", target_id=str(case.pk)
    ).exists()
    assert Notification.objects.filter(user=world.alice, url=case.get_absolute_url()).count() == 1
    assert world.resident1.health.colour == "red"


def test_a_resident_with_an_active_case_cannot_get_a_second_one(world, types, now) -> None:
    open_case(world, types)
    with pytest.raises(ValidationError, match="already under control"):
        open_case(world, types, key="close_contact")
    assert ControlCase.objects.filter(resident=world.resident1).count() == 1


def test_observers_and_outsiders_cannot_open_a_case(world, types, now) -> None:
    with pytest.raises(PermissionDenied):
        open_case(world, types, actor=world.observer)
    with pytest.raises(PermissionDenied):
        open_case(world, types, actor=world.charlie)
    with pytest.raises(PermissionDenied):
        open_case(world, types, actor=world.bob)  # resident 1 lives in alice's grid
    assert not ControlCase.objects.exists()


# --- changing the release date ---------------------------------------------------------------------


def test_shortening_cancels_the_steps_due_after_the_new_date_and_moves_the_release(world, types, now) -> None:
    case = open_case(world, types)
    with pytest.raises(ValidationError, match="reason"):
        svc.case_change_release(actor=world.alice, case=case, release_on=dt.date(2026, 5, 5), reason=" ")

    svc.case_change_release(actor=world.alice, case=case, release_on=dt.date(2026, 5, 5), reason="疾控通知")

    tasks = steps(case)
    open_titles = {step_title(t) for t in tasks if t.is_open}
    assert "早晚两次体温（第4天）" in open_titles
    assert "早晚两次体温（第5天）" not in open_titles
    assert "核酸检测（第7天）" not in open_titles
    assert "核酸检测（第4天）" in open_titles
    release = next(t for t in tasks if t.stage == "release")
    assert release.due_at == local(5, 10) and release.is_open
    case.refresh_from_db()
    assert case.changes[-1]["from"] == "2026-05-08" and case.changes[-1]["reason"] == "疾控通知"
    assert AuditLog.objects.filter(target_type="epidemic.controlcase", detail="疾控通知").exists()


def test_extending_adds_the_daily_steps_of_the_new_days(world, types, now) -> None:
    case = open_case(world, types)
    svc.case_change_release(actor=world.alice, case=case, release_on=dt.date(2026, 5, 11), reason="延长3天")

    daily = [t for t in steps(case) if t.stage == "daily" and t.is_open]
    assert len(daily) == 10
    assert step_title(daily[-1]) == "早晚两次体温（第10天）" and daily[-1].due_at == local(10, 18)
    assert next(t for t in steps(case) if t.stage == "release").due_at == local(11, 10)


def test_shortening_then_extending_again_does_not_duplicate_daily_steps(world, types, now) -> None:
    case = open_case(world, types)
    svc.case_change_release(actor=world.alice, case=case, release_on=dt.date(2026, 5, 4), reason="a")
    svc.case_change_release(actor=world.alice, case=case, release_on=dt.date(2026, 5, 8), reason="b")
    live = [t for t in steps(case) if t.stage == "daily" and t.status != "cancelled"]
    assert sorted(step_title(t) for t in live) == sorted(f"早晚两次体温（第{d}天）" for d in range(1, 8))


# --- releasing ---------------------------------------------------------------------------------------


def test_marking_the_release_step_done_in_the_task_engine_releases_the_case(world, types, now) -> None:
    case = open_case(world, types)
    release = next(t for t in steps(case) if t.stage == "release")

    task_set_status(actor=world.alice, task=release, status=Task.Status.DONE)

    case.refresh_from_db()
    assert case.status == ControlCase.Status.RELEASED and case.released_by == world.alice
    assert not [t for t in steps(case) if t.is_open]
    world.resident1.refresh_from_db()
    assert not Resident.objects.filter(pk=world.resident1.pk, health__isnull=False).exists()


def test_cancelling_needs_a_reason_and_closes_every_step(world, types, now) -> None:
    case = open_case(world, types)
    with pytest.raises(ValidationError):
        svc.case_cancel(actor=world.commander, case=case, reason="")
    svc.case_cancel(actor=world.commander, case=case, reason="录入错误")
    case.refresh_from_db()
    assert case.status == "cancelled"
    assert {t.status for t in steps(case)} == {"cancelled"}


def test_the_case_runner_may_tick_off_a_team_step(world, types, now) -> None:
    case = open_case(world, types)
    sensor = next(t for t in steps(case) if step_title(t) == "安装门磁")
    svc.case_step_done(actor=world.alice, case=case, task=sensor)
    sensor.refresh_from_db()
    assert sensor.status == "done" and sensor.done_by == world.alice
    with pytest.raises(PermissionDenied):
        svc.case_step_done(actor=world.observer, case=case, task=next(t for t in steps(case) if t.is_open))


# --- pipelines ---------------------------------------------------------------------------------------


def test_my_pipelines_lists_late_cases_first(world, types, now) -> None:
    early = open_case(world, types)
    other = ResidentFactory(household=HouseholdFactory(building=world.building1, room="102"))
    with time_machine.travel(T0 + dt.timedelta(hours=20), tick=False):
        later = open_case(world, types, resident=other)
        pipelines = my_pipelines(world.alice)
    assert [p.case.pk for p in pipelines] == [early.pk, later.pk]
    assert pipelines[0].late > 0 and pipelines[1].late == 0
    assert my_pipelines(world.bob) == []


# --- pages -------------------------------------------------------------------------------------------


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_case_pages_from_three_seats(world, types, now, client) -> None:
    case = open_case(world, types)
    url = f"/epidemic/cases/{case.pk}/"
    assert login(client, world.alice).get(url).status_code == 200
    assert "李秀英" in client.get("/epidemic/cases/").content.decode()
    assert login(client, world.bob).get(url).status_code == 404
    assert "李秀英" not in client.get("/epidemic/cases/").content.decode()
    assert login(client, world.charlie).get(url).status_code == 404
    assert client.get(url + "release-notice.pdf").status_code == 404
    page = login(client, world.commander).get(url).content.decode()
    assert "安装门磁" in page and "Change the release date" in page


def test_putting_a_resident_under_control_through_the_page(world, types, now, client) -> None:
    login(client, world.alice)
    page = client.get(f"/epidemic/cases/new/?resident={world.resident1.pk}")
    assert page.status_code == 200
    response = client.post(
        "/epidemic/cases/new/",
        {
            "resident": world.resident1.pk,
            "control_type": types["high_risk_return"].pk,
            "started_at": "2026-05-01T09:00",
        },
    )
    case = ControlCase.objects.get(resident=world.resident1)
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    assert case.control_type.key == "high_risk_return"
    assert (
        login(client, world.bob).get(f"/epidemic/cases/new/?resident={world.resident1.pk}").status_code == 404
    )
    assert (
        login(client, world.observer).get(f"/epidemic/cases/new/?resident={world.resident1.pk}").status_code
        == 403
    )


def test_a_step_is_marked_done_with_one_tap_through_htmx(world, types, now, client) -> None:
    case = open_case(world, types)
    first = steps(case)[0]
    login(client, world.alice)
    response = client.post(
        f"/epidemic/cases/{case.pk}/steps/{first.pk}/done/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "status-done" in response.content.decode()
    first.refresh_from_db()
    assert first.status == "done"
    assert "李秀英" in client.get("/epidemic/mine/pipelines/").content.decode()


def test_release_date_change_from_the_page_requires_a_reason(world, types, now, client) -> None:
    case = open_case(world, types)
    login(client, world.alice)
    url = f"/epidemic/cases/{case.pk}/release-date/"
    assert "This field is required" in client.post(url, {"release_on": "2026-05-10"}).content.decode()
    assert client.post(url, {"release_on": "2026-05-10", "reason": "延长"}).status_code == 302
    case.refresh_from_db()
    assert case.release_on == dt.date(2026, 5, 10)


def test_release_notice_prints_as_pdf(world, types, now, client) -> None:
    case = open_case(world, types)
    response = login(client, world.alice).get(f"/epidemic/cases/{case.pk}/release-notice.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_case_list_runs_a_constant_number_of_queries(
    world, types, now, client, django_assert_max_num_queries
) -> None:
    for n in range(30):
        resident = ResidentFactory(
            household=HouseholdFactory(building=world.building1 if n % 2 else world.building2)
        )
        open_case(world, types, resident=resident, key="companion" if n % 3 else "close_contact")
    login(client, world.commander)
    with django_assert_max_num_queries(12):
        page = client.get("/epidemic/cases/")
    assert page.status_code == 200 and page.content.decode().count("data-case=") == 30
    with django_assert_max_num_queries(12):
        assert client.get("/epidemic/cases/?late=1&type=companion").status_code == 200
    login(client, world.alice)
    with django_assert_max_num_queries(12):
        assert client.get("/epidemic/mine/pipelines/").status_code == 200


# --- control types -----------------------------------------------------------------------------------


def test_steps_text_is_parsed_with_an_error_per_bad_line() -> None:
    parsed = svc.steps_parse(
        "安装门磁 | security | step | 4h\n核酸检测（第3天） | medical | test | day 3\n早晚两次体温 | worker | daily |\n解除居家隔离 | worker | release |"
    )
    assert parsed[0] == {"title": "安装门磁", "owner": "security", "kind": "step", "hours": 4}
    assert parsed[1]["day"] == 3 and parsed[2] == {
        "title": "早晚两次体温",
        "owner": "worker",
        "kind": "daily",
    }
    with pytest.raises(ValidationError) as err:
        svc.steps_parse("门磁 | guard | step | 4h\n测温 | worker | daily | soon\n放 | worker | release |")
    assert any(m.startswith("Line 1:") and "guard" in m for m in err.value.messages)
    assert any(m.startswith("Line 2:") for m in err.value.messages)


def test_editing_a_built_in_type_makes_the_community_copy(world, types, client) -> None:
    builtin = types["secondary_contact"]
    login(client, world.commander)
    assert client.get("/epidemic/types/").status_code == 200
    data = {
        "name": "次密接",
        "aliases": "次密接",
        "verify_minutes": 240,
        "measure": "home",
        "days": 10,
        "colour": "red",
        "steps": "通知本人 | worker | step | 1h\n解除 | worker | release |",
    }
    response = client.post(f"/epidemic/types/{builtin.pk}/edit/", data)
    assert response.status_code == 302
    copy = ControlType.objects.get(community=world.community, key="secondary_contact")
    assert copy.days == 10 and len(copy.steps) == 2
    builtin.refresh_from_db()
    assert builtin.days == 7
    bad = client.post(f"/epidemic/types/{copy.pk}/edit/", data | {"steps": "x | nobody | step | 1h"})
    assert "Line 1" in bad.content.decode()
    assert login(client, world.alice).get(f"/epidemic/types/{builtin.pk}/edit/").status_code == 403


def test_steps_are_written_in_chinese_words_and_read_back_the_same() -> None:
    text = "安装门磁 | 治安 | 步骤 | 4小时\n核酸检测（第3天） | 医疗 | 检测 | 第3天\n早晚两次体温 | 网格员 | 每天\n解除 | 网格员 | 解除"
    steps = svc.steps_parse(text)
    assert steps[0] == {"title": "安装门磁", "owner": "security", "kind": "step", "hours": 4}
    assert steps[1]["day"] == 3 and steps[2]["kind"] == "daily" and steps[3]["kind"] == "release"
    assert svc.steps_parse(svc.steps_text(steps)) == steps
    with pytest.raises(ValidationError) as caught:
        svc.steps_parse("安装门磁 治安 步骤 4小时\n解除 | 网格员 | 解除")
    assert "separate the parts" in str(caught.value)


def test_a_step_after_the_last_day_is_refused(world) -> None:
    builtin = ControlType.objects.get(community=None, key="companion")
    steps = svc.steps_parse("核酸检测（第5天） | 医疗 | 检测 | 第5天\n解除 | 网格员 | 解除")
    with pytest.raises(ValidationError) as caught:
        svc.control_type_save(
            actor=world.commander,
            community=world.community,
            control_type=builtin,
            values={"name": "时空伴随", "measure": "monitor", "colour": "yellow", "days": 3, "steps": steps},
        )
    assert "after the last day (3)" in str(caught.value)
