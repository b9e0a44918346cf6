"""Key-population visits: the weekly schedule (time-machine), plans made from the ledger, the visit form's
rules, needs becoming tasks, alerts, access from the three seats, and the board's query count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from linli.comms.models import Notification
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.factories import HouseholdFactory, ResidentFactory, UserFactory
from linli.health.models import Need, Visit, VisitGroup, VisitPlan
from linli.health.visits import (
    visit_plan_update,
    visit_plans_sync,
    visit_record,
    visits_board,
)
from linli.registry.models import Residency, Resident, SpecialCare, SpecialKind
from linli.tasks.models import Task, Team

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    """A moment in November 2026: the 2nd is a Monday, the 4th a Wednesday, the 9th the next Monday."""
    return dt.datetime(2026, month, day, hour, 0, tzinfo=TZ)


def login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def tag(resident: Resident, kind: str) -> Resident:
    SpecialCare.objects.create(resident=resident, kind=kind)
    return resident


def elderly(world, *, building=None, born: dt.date = dt.date(1950, 3, 1), **kwargs) -> Resident:  # type: ignore[no-untyped-def]
    household = HouseholdFactory(building=building or world.building1)
    return tag(ResidentFactory(household=household, birth_date=born, **kwargs), SpecialKind.ELDERLY_ALONE)


def plan_for(resident: Resident, weekday: int, starts_on: dt.date = dt.date(2026, 10, 1)) -> VisitPlan:
    return VisitPlan.objects.create(
        community_id=resident.community_id,
        grid_id=resident.grid_id,
        resident=resident,
        group=VisitGroup.ELDERLY_ALONE,
        weekday=weekday,
        starts_on=starts_on,
    )


def visit(world, resident: Resident, when: dt.datetime, **kwargs) -> Visit:  # type: ignore[no-untyped-def]
    with time_machine.travel(when, tick=False):
        return visit_record(actor=kwargs.pop("actor", world.alice), resident=resident, **kwargs).visit


def sections(world, day: dt.date, actor=None) -> dict[str, set[int]]:  # type: ignore[no-untyped-def]
    board = visits_board(actor or world.commander, day)
    return {
        "overdue": {r.resident.pk for r in board.overdue},
        "today": {r.resident.pk for r in board.today},
        "upcoming": {r.resident.pk for r in board.upcoming},
        "done": {v.resident_id for v in board.done},
    }


@pytest.fixture
def leader(world):  # type: ignore[no-untyped-def]
    user = UserFactory(username="leader1", role=Role.GRID_LEADER, grid=world.grid1)
    world.grid1.leader = user
    world.grid1.save()
    return user


# --- the weekly schedule ---------------------------------------------------------------------------


def test_a_wednesday_plan_is_due_on_wednesday_overdue_on_thursday_cleared_by_a_visit_and_due_again_next_week(
    world,
) -> None:
    old = elderly(world)
    plan_for(old, weekday=2)
    visit(world, old, at(28, month=10))  # last week's visit was made

    with time_machine.travel(at(3), tick=False):  # Tuesday
        assert old.pk in sections(world, dt.date(2026, 11, 3))["upcoming"]
        assert not VisitPlan.objects.overdue(dt.date(2026, 11, 3)).exists()
    with time_machine.travel(at(4, 20), tick=False):  # Wednesday evening: due, not yet overdue
        today = sections(world, dt.date(2026, 11, 4))
        assert old.pk in today["today"] and old.pk not in today["overdue"]
        # The daily report's rule: on the list the day after.
        assert list(VisitPlan.objects.overdue(dt.date(2026, 11, 4))) == [old.visit_plan]
    with time_machine.travel(at(5), tick=False):  # Thursday
        assert sections(world, dt.date(2026, 11, 5))["overdue"] == {old.pk}

    visit(world, old, at(5, 11))
    with time_machine.travel(at(5, 12), tick=False):
        thursday = sections(world, dt.date(2026, 11, 5))
        assert thursday["overdue"] == set() and thursday["done"] == {old.pk}
        assert not VisitPlan.objects.overdue(dt.date(2026, 11, 5)).exists()

    with time_machine.travel(at(9), tick=False):  # next Monday: a new week, not due before Wednesday
        monday = sections(world, dt.date(2026, 11, 9))
        assert monday["overdue"] == set() and monday["done"] == set() and monday["upcoming"] == {old.pk}
    with time_machine.travel(at(11), tick=False):
        assert sections(world, dt.date(2026, 11, 11))["today"] == {old.pk}
    with time_machine.travel(at(12), tick=False):
        assert sections(world, dt.date(2026, 11, 12))["overdue"] == {old.pk}


def test_a_plan_starting_mid_week_is_not_due_for_a_day_already_past(world) -> None:
    tuesday_person, friday_person = elderly(world), elderly(world)
    plan_for(tuesday_person, weekday=1, starts_on=dt.date(2026, 11, 5))
    plan_for(friday_person, weekday=4, starts_on=dt.date(2026, 11, 5))
    with time_machine.travel(at(5), tick=False):  # Thursday, the day the plans begin
        board = sections(world, dt.date(2026, 11, 5))
        assert board["overdue"] == set() and board["upcoming"] == {friday_person.pk}
    with time_machine.travel(at(9), tick=False):  # Monday: last week's Tuesday was before the start
        assert sections(world, dt.date(2026, 11, 9))["overdue"] == {friday_person.pk}
    with time_machine.travel(at(10), tick=False):
        assert tuesday_person.pk in sections(world, dt.date(2026, 11, 10))["today"]


def test_a_visit_missed_last_week_stays_overdue_until_someone_visits(world) -> None:
    old = elderly(world)
    plan_for(old, weekday=4)  # Fridays; nobody came on Friday the 6th
    with time_machine.travel(at(9), tick=False):
        board = visits_board(world.alice, dt.date(2026, 11, 9))
        assert [r.resident.pk for r in board.overdue] == [old.pk] and board.overdue[0].missed_last_week
    with time_machine.travel(at(10), tick=False):
        assert sections(world, dt.date(2026, 11, 10))["overdue"] == {old.pk}
    visit(world, old, at(10, 15))
    with time_machine.travel(at(10, 16), tick=False):
        board = sections(world, dt.date(2026, 11, 10))
        assert board["overdue"] == set() and board["done"] == {old.pk}


def test_a_second_visit_the_same_week_is_recorded_as_another_visit(world) -> None:
    old = elderly(world)
    plan_for(old, weekday=0)
    first = visit(world, old, at(2, 9))
    second = visit(world, old, at(4, 9), method=Visit.Method.PHONE)
    assert first.pk != second.pk and first.week == second.week == dt.date(2026, 11, 2)
    assert second.plan == old.visit_plan
    with time_machine.travel(at(4, 10), tick=False):
        board = visits_board(world.commander, dt.date(2026, 11, 4))
        assert board.counts["done"] == 1 and len(board.done) == 2


def test_a_sunday_night_visit_counts_for_its_own_week_in_local_time(world) -> None:
    old = elderly(world)
    # 23:30 in Beijing on Sunday the 8th is still Sunday: last week's visit, though UTC says Sunday too
    # and a naive Monday boundary would not.
    v = visit(world, old, at(8, 23) + dt.timedelta(minutes=30))
    assert v.week == dt.date(2026, 11, 2)


# --- plans from the ledger -------------------------------------------------------------------------


def test_sync_plans_everyone_eligible_and_stops_those_who_are_not_any_more(world) -> None:
    alone = elderly(world)
    young_alone = elderly(world, born=dt.date(1970, 1, 1))
    chronic = tag(ResidentFactory(household=HouseholdFactory(building=world.building2)), SpecialKind.CHRONIC)
    away = tag(
        ResidentFactory(household=HouseholdFactory(building=world.building2), residency=Residency.REGISTERED),
        SpecialKind.CHRONIC,
    )
    tag(world.other_resident, SpecialKind.CHRONIC)  # another community

    with time_machine.travel(at(5), tick=False):
        result = visit_plans_sync(actor=world.commander, community=world.community)
    assert (result.created, result.stopped) == (2, 0)
    plans = {p.resident_id: p for p in VisitPlan.objects.all()}
    assert set(plans) == {alone.pk, chronic.pk}
    assert plans[alone.pk].group == VisitGroup.ELDERLY_ALONE and plans[chronic.pk].group == VisitGroup.CHRONIC
    assert plans[alone.pk].starts_on == dt.date(2026, 11, 5) and plans[alone.pk].grid_id == world.grid1.pk
    assert young_alone.pk not in plans and away.pk not in plans
    assert AuditLog.objects.filter(
        actor=world.commander, detail__startswith="visit plans synced: 2 created"
    ).exists()

    # The tag is removed and someone moves away: their plans stop; a second sync changes nothing more.
    SpecialCare.objects.filter(resident=chronic).delete()
    Resident.objects.filter(pk=alone.pk).update(residency=Residency.REGISTERED)
    result = visit_plans_sync(actor=world.commander, community=world.community)
    assert (result.created, result.stopped) == (0, 2)
    assert not VisitPlan.objects.filter(active=True).exists()
    assert not visit_plans_sync(actor=world.commander, community=world.community).changed


def test_sync_spreads_a_workers_new_plans_over_monday_to_friday(world) -> None:
    for _n in range(12):
        elderly(world)
    visit_plans_sync(actor=world.commander, community=world.community)
    days = sorted(VisitPlan.objects.values_list("weekday", flat=True))
    assert days == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4]


def test_only_administrators_sync_and_a_plan_stopped_by_hand_stays_stopped(world, leader) -> None:
    old = elderly(world)
    with pytest.raises(PermissionDenied):
        visit_plans_sync(actor=world.alice, community=world.community)
    with pytest.raises(PermissionDenied):
        visit_plans_sync(actor=world.charlie, community=world.community)
    visit_plans_sync(actor=world.commander, community=world.community)
    plan = old.visit_plan
    visit_plan_update(actor=leader, plan=plan, weekday=plan.weekday, visitor=None, active=False)
    assert not visit_plans_sync(actor=world.commander, community=world.community).changed
    plan.refresh_from_db()
    assert not plan.active


def test_a_new_visit_day_counts_from_today(world, leader) -> None:
    old = elderly(world)
    plan = plan_for(old, weekday=4)
    with time_machine.travel(at(5), tick=False):  # Thursday: moved to Monday, not overdue this week
        visit_plan_update(actor=leader, plan=plan, weekday=0, visitor=world.alice, active=True)
        plan.refresh_from_db()
        assert (plan.weekday, plan.visitor, plan.starts_on) == (0, world.alice, dt.date(2026, 11, 5))
        assert sections(world, dt.date(2026, 11, 5))["overdue"] == set()
    with pytest.raises(ValidationError):
        visit_plan_update(actor=leader, plan=plan, weekday=0, visitor=world.charlie, active=True)
    with pytest.raises(PermissionDenied):
        visit_plan_update(actor=world.alice, plan=plan, weekday=1, visitor=None, active=True)
    log = AuditLog.objects.filter(target_type="health.visitplan", target_id=str(plan.pk)).first()
    assert log is not None and log.changes["weekday"] == [4, 0]


# --- the visit form's rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"bp_systolic": 270, "bp_diastolic": 90}, "bp_systolic"),
        ({"bp_systolic": 45, "bp_diastolic": 30}, "bp_systolic"),
        ({"bp_systolic": 140, "bp_diastolic": 170}, "bp_diastolic"),
        ({"bp_systolic": 80, "bp_diastolic": 120}, "bp_systolic"),
        ({"bp_systolic": 120, "bp_diastolic": 120}, "bp_systolic"),
        ({"bp_systolic": 120}, "bp_diastolic"),
        ({"temperature": Decimal("43.5")}, "temperature"),
        ({"temperature": Decimal("33.9")}, "temperature"),
        ({"medicine_days_left": 400}, "medicine_days_left"),
        ({"needs": ["cake"]}, "needs"),
        ({"method": "pigeon"}, "method"),
    ],
)
def test_readings_no_person_could_have_are_refused(world, values, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        visit_record(actor=world.alice, resident=world.resident1, **values)
    assert field in caught.value.message_dict
    assert not Visit.objects.exists()


def test_the_edges_of_the_ranges_are_accepted(world) -> None:
    visit_record(actor=world.alice, resident=world.resident1, bp_systolic=260, bp_diastolic=160)
    visit_record(actor=world.alice, resident=world.resident1, bp_systolic=50, bp_diastolic=30)
    visit_record(
        actor=world.alice, resident=world.resident1, temperature=Decimal("34.0"), medicine_days_left=0
    )
    visit_record(
        actor=world.alice, resident=world.resident1, temperature=Decimal("43.0"), medicine_days_left=365
    )
    assert Visit.objects.count() == 4


def test_a_visit_in_the_future_or_more_than_a_week_ago_is_refused(world) -> None:
    with time_machine.travel(at(5), tick=False):
        for when in (at(5, 12), at(5) - dt.timedelta(days=9)):
            with pytest.raises(ValidationError) as caught:
                visit_record(actor=world.alice, resident=world.resident1, visited_at=when)
            assert "visited_at" in caught.value.message_dict
        v = visit_record(actor=world.alice, resident=world.resident1, visited_at=at(1, 18)).visit
        assert v.week == dt.date(2026, 10, 26)  # entered on Thursday, it counts for last week


def test_the_form_warns_of_a_fever_reported_today_in_the_household(world) -> None:  # type: ignore[no-untyped-def]
    from linli.health import selfreport as sr

    flatmate = ResidentFactory(household=world.resident1.household, name="田斌")
    url = reverse("health:visit_new", args=[world.resident1.pk])
    assert 'id="household-alert"' not in login(world.alice).get(url).content.decode()
    sr.self_reports_submit(
        household_id=flatmate.household_id,
        entries=[sr.Entry(resident_id=flatmate.pk, temperature=Decimal("38.6"))],
    )
    page = login(world.alice).get(url).content.decode()
    assert 'id="household-alert"' in page and "田斌" in page and "38.6" in page


def test_the_form_shows_the_refusal_next_to_the_field_with_a_400(world) -> None:
    response = login(world.alice).post(
        reverse("health:visit_new", args=[world.resident1.pk]),
        {"method": "home", "bp_systolic": "80", "bp_diastolic": "120"},
    )
    assert response.status_code == 400
    assert "are they swapped?" in response.content.decode()
    assert not Visit.objects.exists()


# --- needs become tasks ----------------------------------------------------------------------------


def test_each_need_becomes_one_task_for_whoever_takes_it_over(world, leader) -> None:
    with time_machine.travel(at(5), tick=False):
        outcome = visit_record(
            actor=world.alice,
            resident=world.resident1,
            medicines="硝苯地平",
            medicine_days_left=2,
            symptoms="头晕",
            needs=[Need.MEDICAL, Need.GROCERIES, Need.HELP, Need.MEDICINE],
            needs_note="大米五斤",
        )
    v = outcome.visit
    assert v.needs == "groceries,medicine,help,medical" and v.grid_id == world.grid1.pk
    tasks = {t.stage: t for t in Task.objects.filter(source=Task.Source.VISIT, source_id=v.pk)}
    assert set(tasks) == {"groceries", "medicine", "help", "medical"}
    groceries, medicine, help_, medical = (tasks[n] for n in ("groceries", "medicine", "help", "medical"))
    assert (groceries.team, groceries.assignee_id, groceries.leader_id) == (Team.LOGISTICS, None, leader.pk)
    assert groceries.due_at == at(6) and groceries.priority == Task.Priority.NORMAL
    assert "1号楼" in groceries.detail or "Bldg 1" in groceries.detail
    assert "101" in groceries.detail and "大米五斤" in groceries.detail
    assert (medicine.team, medicine.priority) == (Team.MEDICAL, Task.Priority.HIGH)
    assert medicine.due_at == at(5, 22) and "硝苯地平" in medicine.detail  # two days left: within 12 h
    assert (help_.team, help_.assignee_id) == ("", world.alice.pk)
    assert (medical.team, medical.priority, medical.due_at) == (Team.MEDICAL, Task.Priority.URGENT, at(5, 12))
    assert "头晕" in medical.detail
    assert all(t.grid_id == world.grid1.pk and t.commander_id == world.commander.pk for t in tasks.values())
    # The grid leader hears of the team's tasks, the worker of hers.
    assert Notification.objects.filter(user=leader, kind="assigned").count() == 3
    assert Notification.objects.filter(user=world.alice, kind="assigned").count() == 1


def test_no_needs_no_tasks(world) -> None:
    visit_record(actor=world.alice, resident=world.resident1, bp_systolic=130, bp_diastolic=80)
    assert not Task.objects.filter(source=Task.Source.VISIT).exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("values", "told"),
    [
        ({"bp_systolic": 182, "bp_diastolic": 95}, True),
        ({"bp_systolic": 150, "bp_diastolic": 110}, True),
        ({"temperature": Decimal("37.3")}, True),
        ({"bp_systolic": 179, "bp_diastolic": 109, "temperature": Decimal("37.2")}, False),
    ],
)
def test_high_pressure_or_a_fever_is_told_to_the_grid_leader(world, leader, values, told) -> None:  # type: ignore[no-untyped-def]
    outcome = visit_record(actor=world.alice, resident=world.resident1, **values)
    notes = Notification.objects.filter(user=leader, urgent=True)
    assert notes.exists() is told
    assert bool(outcome.alerts) is told
    if told:
        assert notes.get().url == reverse("health:visit_detail", args=[outcome.visit.pk])


def test_without_a_grid_leader_the_commander_is_told(world) -> None:
    visit_record(actor=world.alice, resident=world.resident1, temperature=Decimal("38.5"))
    assert Notification.objects.filter(user=world.commander, urgent=True).exists()


def test_the_worker_saves_a_visit_on_the_phone_and_sees_which_tasks_were_made(world, leader) -> None:
    client = login(world.alice)
    page = client.get(reverse("health:visit_new", args=[world.resident1.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'inputmode="numeric"' in html and "李秀英" in html and "138****1234" in html
    response = client.post(
        reverse("health:visit_new", args=[world.resident1.pk]),
        {
            "method": "home",
            "bp_systolic": "135",
            "bp_diastolic": "85",
            "temperature": "36.6",
            "needs": ["groceries"],
            "needs_note": "米和青菜",
        },
        follow=True,
    )
    assert response.status_code == 200
    v = Visit.objects.get()
    assert response.redirect_chain[-1][0] == reverse("health:visit_detail", args=[v.pk]) + "?saved=1"
    html = response.content.decode()
    assert "1 task created from the needs" in html and "Logistics" in html
    assert (v.visitor, v.bp_systolic, v.temperature) == (world.alice, 135, Decimal("36.6"))
    assert AuditLog.objects.filter(actor=world.alice, target_type="health.visit", action="create").exists()


# --- access from the three seats -------------------------------------------------------------------


@pytest.fixture
def two_plans(world):  # type: ignore[no-untyped-def]
    tag(world.resident1, SpecialKind.CHRONIC)
    tag(world.resident2, SpecialKind.CHRONIC)
    visit_plans_sync(actor=world.commander, community=world.community)
    return world


def test_the_board_shows_each_seat_only_its_own_people(two_plans) -> None:
    world = two_plans
    alice = login(world.alice).get(reverse("health:visits")).content.decode()
    assert "李秀英" in alice and "王建国" not in alice
    bob = login(world.bob).get(reverse("health:visits")).content.decode()
    assert "王建国" in bob and "李秀英" not in bob
    charlie = login(world.charlie).get(reverse("health:visits")).content.decode()
    assert "王建国" not in charlie and "李秀英" not in charlie
    commander = login(world.commander).get(reverse("health:visits")).content.decode()
    assert "王建国" in commander and "李秀英" in commander
    street = login(world.street_admin).get(reverse("health:visits")).content.decode()
    assert "王建国" in street and "李秀英" in street


def test_observers_see_masked_names_and_no_health_data(two_plans) -> None:
    world = two_plans
    v = visit_record(actor=world.alice, resident=world.resident1, bp_systolic=150, bp_diastolic=90).visit
    client = login(world.observer)
    board = client.get(reverse("health:visits")).content.decode()
    assert "李*英" in board and "李秀英" not in board and "150/90" not in board
    assert client.get(reverse("health:visit_detail", args=[v.pk])).status_code == 403
    assert client.get(reverse("health:visit_new", args=[world.resident1.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        visit_record(actor=world.observer, resident=world.resident1)


@pytest.mark.parametrize(
    ("seat", "status"), [("alice", 200), ("commander", 200), ("bob", 404), ("charlie", 404)]
)
def test_a_visit_and_a_residents_visits_are_404_outside_the_seats_scope(two_plans, seat, status) -> None:  # type: ignore[no-untyped-def]
    world = two_plans
    v = visit_record(actor=world.alice, resident=world.resident1, needs=["help"]).visit
    client = login(getattr(world, seat))
    assert client.get(reverse("health:visit_detail", args=[v.pk])).status_code == status
    assert client.get(reverse("health:visit_history", args=[world.resident1.pk])).status_code == status
    assert client.get(reverse("health:visit_new", args=[world.resident1.pk])).status_code == status
    if status == 404:
        response = client.post(reverse("health:visit_new", args=[world.resident1.pk]), {"method": "home"})
        assert response.status_code == 404
        assert Visit.objects.count() == 1


def test_the_service_refuses_a_resident_out_of_scope(two_plans) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        visit_record(actor=two_plans.bob, resident=two_plans.resident1)


def test_plans_page_sync_and_edit_by_seat(two_plans, leader) -> None:
    world = two_plans
    plan = world.resident1.visit_plan
    commander = login(world.commander)
    page = commander.get(reverse("health:visit_plans")).content.decode()
    assert "Update from the ledger" in page and "李秀英" in page and "王建国" in page
    response = commander.post(reverse("health:visit_plans_sync"), {"community_code": "nanli"}, follow=True)
    assert "already match the ledger" in response.content.decode()

    alice = login(world.alice)
    page = alice.get(reverse("health:visit_plans")).content.decode()
    assert "李秀英" in page and "王建国" not in page and "Update from the ledger" not in page
    assert alice.get(reverse("health:visit_plan_edit", args=[plan.pk])).status_code == 403
    assert alice.post(reverse("health:visit_plans_sync"), {}).status_code == 302
    assert login(world.bob).get(reverse("health:visit_plan_edit", args=[plan.pk])).status_code == 404
    assert login(world.charlie).get(reverse("health:visit_plan_edit", args=[plan.pk])).status_code == 404
    assert login(world.charlie).post(
        reverse("health:visit_plans_sync"), {"community_code": "nanli"}
    ).status_code in (302, 404)
    assert VisitPlan.objects.filter(community=world.community).count() == 2

    response = login(leader).post(
        reverse("health:visit_plan_edit", args=[plan.pk]), {"weekday": "3", "visitor": "", "active": "on"}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.weekday == 3 and plan.visitor is None


# --- query count ----------------------------------------------------------------------------------


def test_the_board_reads_a_fixed_number_of_queries_however_many_people(
    world, django_assert_max_num_queries
) -> None:
    def add(n: int) -> None:
        for i in range(n):
            building = world.building1 if i % 2 else world.building2
            person = elderly(world, building=building)
            plan_for(person, weekday=i % 7)
            if i % 3 == 0:
                visit(world, person, at(2, 9), actor=world.commander)

    add(6)
    url = reverse("health:visits")
    seats = (world.commander, world.alice, world.street_admin)
    with time_machine.travel(at(4), tick=False):
        clients = [login(seat) for seat in seats]
        for client in clients:
            client.get(url)  # the session's first request writes it
        few = []
        for client in clients:
            with django_assert_max_num_queries(24) as captured:
                assert client.get(url).status_code == 200
            few.append(len(captured))
        add(30)
        for client, before in zip(clients, few, strict=True):
            with django_assert_max_num_queries(24) as captured:
                page = client.get(url)
            assert page.status_code == 200 and len(captured) == before
