"""Closed-area gate control: exit requests, approvals with a window, and checks at the gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.comms.models import Notification
from linli.conftest import World
from linli.core.models import AuditLog, User
from linli.epidemic import gate as g
from linli.epidemic.models import ClosedArea, ExitPass, GateCheck
from linli.factories import HouseholdFactory, ResidentFactory
from linli.plans.models import Category, Plan, Position, PositionRole
from linli.registry.models import Residency
from linli.response.models import Assignment, Response
from linli.response.services import response_activate, response_terminate


def at(hour: int, minute: int = 0, day: int = 2) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 3, day, hour, minute))


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(at(9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def closed(world: World, small_plan: Plan, clock: time_machine.Traveller) -> Response:
    """A closed-management response over the whole community."""
    return response_activate(actor=world.commander, plan=small_plan, level=2, reason="封控")


def login(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def approved(world: World, response: Response, start: int = 14, end: int = 16) -> ExitPass:
    exit_pass = g.exit_request(
        actor=world.alice, response=response, resident=world.resident1, reason="hospital", detail="透析"
    )
    return g.exit_decide(
        actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=at(start), valid_until=at(end)
    )


# --- who is locked in ---------------------------------------------------------------------------------


def test_only_running_public_health_responses_are_closed_areas(world: World, closed: Response) -> None:
    assert list(g.closed_responses_for(world.alice)) == [closed]
    assert list(g.closed_responses_for(world.charlie)) == []
    Plan.objects.filter(pk=closed.plan_id).update(category=Category.ACCIDENT)
    assert list(g.closed_responses_for(world.commander)) == []


def test_locked_in_are_those_living_in_the_covered_buildings(world: World, small_plan: Plan, clock) -> None:
    away = ResidentFactory(household=world.resident1.household, residency=Residency.REGISTERED)
    response = response_activate(
        actor=world.commander,
        plan=small_plan,
        level=2,
        reason="一号楼封控",
        whole_community=False,
        buildings=[world.building1],
    )
    assert set(g.locked_in_residents(response)) == {world.resident1}
    assert away not in g.locked_in_residents(response)
    assert g.locked_in_by_building(response) == [
        {"household__building__number": "1", "household__building__sort_key": 1, "n": 1}
    ]


# --- applying -----------------------------------------------------------------------------------------


def test_a_grid_worker_applies_and_the_approvers_are_told(world: World, closed: Response) -> None:
    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident1, reason="hospital", detail="透析"
    )
    assert exit_pass.status == ExitPass.Status.PENDING
    assert exit_pass.community_id == world.community.pk
    assert Notification.objects.filter(user=world.commander, url=exit_pass.get_absolute_url()).exists()
    assert not Notification.objects.filter(user=world.alice).filter(url=exit_pass.get_absolute_url()).exists()
    assert AuditLog.objects.filter(target_type="epidemic.exitpass", target_id=str(exit_pass.pk)).exists()


def test_a_second_open_request_for_the_same_resident_is_refused(world: World, closed: Response) -> None:
    g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="hospital")
    with pytest.raises(ValidationError, match="waiting for approval"):
        g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="official")


def test_an_approved_unused_pass_blocks_another_but_an_expired_one_does_not(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    approved(world, closed)
    with pytest.raises(ValidationError, match="approved pass"):
        g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="hospital")
    clock.move_to(at(17))
    assert g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="hospital")


def test_residents_outside_the_closed_buildings_cannot_apply(world: World, small_plan: Plan, clock) -> None:
    response = response_activate(
        actor=world.commander,
        plan=small_plan,
        level=2,
        reason="一号楼封控",
        whole_community=False,
        buildings=[world.building1],
    )
    with pytest.raises(ValidationError, match="does not live in the buildings"):
        g.exit_request(actor=world.commander, response=response, resident=world.resident2, reason="hospital")
    registered_only = ResidentFactory(household=HouseholdFactory(building=world.building1, room="102"))
    registered_only.residency = Residency.REGISTERED
    registered_only.save()
    with pytest.raises(ValidationError):
        g.exit_request(actor=world.commander, response=response, resident=registered_only, reason="hospital")


def test_observers_cannot_apply_and_ended_responses_take_no_requests(world: World, closed: Response) -> None:
    with pytest.raises(PermissionDenied):
        g.exit_request(actor=world.observer, response=closed, resident=world.resident1, reason="hospital")
    Response.objects.filter(pk=closed.pk).update(status=Response.Status.TERMINATED)
    closed.refresh_from_db()
    with pytest.raises(ValidationError, match="ended"):
        g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="hospital")


def test_other_needs_a_reason_in_words(world: World, closed: Response) -> None:
    with pytest.raises(ValidationError):
        g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="other")


# --- deciding -----------------------------------------------------------------------------------------


def test_only_commanders_and_the_community_admin_decide(world: World, closed: Response) -> None:
    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident1, reason="hospital"
    )
    for seat in (world.alice, world.bob, world.observer, world.charlie):
        with pytest.raises(PermissionDenied):
            g.exit_decide(
                actor=seat, exit_pass=exit_pass, approve=True, valid_from=at(10), valid_until=at(12)
            )
    g.exit_decide(
        actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=at(10), valid_until=at(12)
    )
    exit_pass.refresh_from_db()
    assert exit_pass.status == ExitPass.Status.APPROVED
    assert exit_pass.decided_by == world.commander
    assert Notification.objects.filter(user=world.alice, title__contains="Exit approved").exists()


def test_the_site_commander_of_the_response_may_decide(world: World, closed: Response) -> None:
    post = Position.objects.create(
        plan=closed.plan, key="site", team="command", role=PositionRole.SITE_COMMANDER, title="现场指挥"
    )
    Assignment.objects.create(response=closed, position=post, user=world.bob)
    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident1, reason="hospital"
    )
    assert Notification.objects.filter(user=world.bob, url=exit_pass.get_absolute_url()).exists()
    g.exit_decide(actor=world.bob, exit_pass=exit_pass, approve=False, note="改为上门诊疗")
    exit_pass.refresh_from_db()
    assert exit_pass.status == ExitPass.Status.REFUSED
    assert exit_pass.decision_note == "改为上门诊疗"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, None, "time window"),
        (at(12), at(11), "end after it starts"),
        (at(10), at(10, day=3) + dt.timedelta(minutes=1), "at most 24 hours"),
        (at(6), at(8), "already over"),
    ],
)
def test_an_approval_needs_a_sensible_window(
    world: World, closed: Response, start: dt.datetime | None, end: dt.datetime | None, message: str
) -> None:
    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident1, reason="hospital"
    )
    with pytest.raises(ValidationError, match=message):
        g.exit_decide(
            actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=start, valid_until=end
        )


def test_a_refusal_needs_a_reason_and_a_decision_is_made_once(world: World, closed: Response) -> None:
    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident1, reason="hospital"
    )
    with pytest.raises(ValidationError, match="reason for refusing"):
        g.exit_decide(actor=world.commander, exit_pass=exit_pass, approve=False)
    g.exit_decide(actor=world.commander, exit_pass=exit_pass, approve=False, note="不需要")
    with pytest.raises(ValidationError, match="already been decided"):
        g.exit_decide(
            actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=at(10), valid_until=at(11)
        )


def test_the_applicant_cancels_but_not_once_the_resident_is_out(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    with pytest.raises(PermissionDenied):
        g.exit_cancel(actor=world.bob, exit_pass=exit_pass)
    clock.move_to(at(14, 5))
    g.gate_check(actor=world.bob, token=exit_pass.token, direction="out")
    exit_pass.refresh_from_db()
    with pytest.raises(ValidationError, match="already out"):
        g.exit_cancel(actor=world.alice, exit_pass=exit_pass)
    other = g.exit_request(actor=world.alice, response=closed, resident=world.resident2, reason="official")
    g.exit_cancel(actor=world.alice, exit_pass=other, note="不去了")
    other.refresh_from_db()
    assert other.status == ExitPass.Status.CANCELLED


# --- at the gate --------------------------------------------------------------------------------------


def test_a_pass_lets_out_only_inside_its_window_and_every_check_is_logged(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    clock.move_to(at(13, 30))
    early = g.gate_check(actor=world.bob, token=exit_pass.token, direction="out", gate="东门")
    assert not early.allowed
    assert early.reason == "Outside its window 14:00–16:00."
    assert early.resident == world.resident1 and early.gate == "东门"

    clock.move_to(at(14, 12))
    out = g.gate_check(actor=world.bob, token=exit_pass.token, direction="out")
    assert out.allowed
    exit_pass.refresh_from_db()
    assert exit_pass.out_at == at(14, 12)

    clock.move_to(at(14, 20))
    again = g.gate_check(actor=world.alice, token=exit_pass.token, direction="out")
    assert not again.allowed
    assert again.reason == "Already out since 14:12."

    clock.move_to(at(15, 30))
    back = g.gate_check(actor=world.bob, token=exit_pass.token, direction="in")
    assert back.allowed and back.reason == "Back within the window."

    clock.move_to(at(15, 40))
    reuse = g.gate_check(actor=world.bob, token=exit_pass.token, direction="out")
    assert not reuse.allowed and "already used" in reuse.reason

    assert GateCheck.objects.filter(exit_pass=exit_pass).count() == 5
    assert GateCheck.objects.filter(exit_pass=exit_pass, allowed=False).count() == 3
    assert AuditLog.objects.filter(target_type="epidemic.gatecheck").count() == 5


def test_coming_back_late_is_let_in_and_flagged(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    clock.move_to(at(15))
    g.gate_check(actor=world.bob, token=exit_pass.token, direction="out")
    clock.move_to(at(17, 5))
    back = g.gate_check(actor=world.bob, token=exit_pass.token, direction="in")
    assert back.allowed
    assert back.reason == "Back late: the window ended at 16:00."


def test_unapproved_unknown_and_not_out_passes_are_refused_and_logged(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    pending = g.exit_request(actor=world.alice, response=closed, resident=world.resident1, reason="hospital")
    check = g.gate_check(actor=world.bob, token=pending.token, direction="out")
    assert not check.allowed and check.reason == "Not approved yet."

    unknown = g.gate_check(actor=world.bob, token="not-a-pass", direction="out")
    assert not unknown.allowed and unknown.reason == "No such pass."
    assert unknown.response == closed and unknown.resident is None

    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident2, reason="official"
    )
    g.exit_decide(
        actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=at(9), valid_until=at(11)
    )
    not_out = g.gate_check(actor=world.bob, token=exit_pass.token, direction="in")
    assert not not_out.allowed and "No exit was recorded" in not_out.reason
    assert GateCheck.objects.filter(allowed=False).count() == 3


def test_a_pass_from_another_community_is_no_such_pass(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    clock.move_to(at(14, 30))
    # charlie runs no closed area, so the refusal has nowhere to be filed: refused without a hint.
    with pytest.raises(ValidationError, match="No such pass"):
        g.gate_check(actor=world.charlie, token=exit_pass.token, direction="out")
    exit_pass.refresh_from_db()
    assert exit_pass.out_at is None


def test_observers_cannot_record_gate_checks(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    clock.move_to(at(14, 30))
    with pytest.raises(PermissionDenied):
        g.gate_check(actor=world.observer, token=exit_pass.token, direction="out")
    assert not GateCheck.objects.exists()


def test_after_the_response_ends_nobody_is_let_out_on_a_pass(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    Response.objects.filter(pk=closed.pk).update(status=Response.Status.TERMINATED)
    clock.move_to(at(14, 30))
    check = g.gate_check(actor=world.bob, token=exit_pass.token, direction="out")
    assert not check.allowed and "ended" in check.reason


def test_gate_settings_are_for_approvers(world: World, closed: Response) -> None:
    with pytest.raises(PermissionDenied):
        g.closed_area_settings(actor=world.alice, response=closed, pickup_point="x", gates="", notes="")
    g.closed_area_settings(
        actor=world.commander,
        response=closed,
        pickup_point=" 南门快递架 ",
        gates="东门、南门",
        notes="戴口罩",
    )
    area = ClosedArea.objects.get(response=closed)
    assert area.pickup_point == "南门快递架"
    assert AuditLog.objects.filter(target_type="epidemic.closedarea").exists()


# --- pages --------------------------------------------------------------------------------------------


def test_the_gate_page_goes_straight_to_the_only_closed_area(world: World, closed: Response) -> None:
    r = login(world.alice).get(reverse("epidemic:gate"))
    assert r.status_code == 302 and r.url == reverse("epidemic:gate_area", args=[closed.pk])
    r = login(world.charlie).get(reverse("epidemic:gate"))
    assert r.status_code == 200
    assert "No closed-management response is running" in r.content.decode()


def test_the_gate_area_from_three_seats(world: World, closed: Response) -> None:
    url = reverse("epidemic:gate_area", args=[closed.pk])
    g.closed_area_settings(
        actor=world.commander, response=closed, pickup_point="南门快递架", gates="", notes=""
    )
    mine = login(world.alice).get(url, {"q": world.resident1.name})
    page = mine.content.decode()
    assert mine.status_code == 200
    assert "南门快递架" in page and f'data-resident="{world.resident1.pk}"' in page
    assert 'id="settings"' not in page
    other = login(world.bob).get(url, {"q": world.resident1.name}).content.decode()
    assert f'data-resident="{world.resident1.pk}"' not in other
    assert login(world.charlie).get(url).status_code == 404
    observer = login(world.observer).get(url, {"q": world.resident1.name}).content.decode()
    assert 'id="apply"' not in observer
    assert 'id="settings"' in login(world.commander).get(url).content.decode()


def test_the_gate_area_shows_a_room_search(world: World, closed: Response) -> None:
    page = (
        login(world.alice).get(reverse("epidemic:gate_area", args=[closed.pk]), {"q": "101"}).content.decode()
    )
    assert f'data-resident="{world.resident1.pk}"' in page


def test_the_gate_area_query_count_does_not_grow_with_passes(
    world: World, closed: Response, clock: time_machine.Traveller, django_assert_max_num_queries
) -> None:
    household = world.resident1.household
    for n in range(8):
        resident = ResidentFactory(household=household)
        exit_pass = g.exit_request(
            actor=world.commander, response=closed, resident=resident, reason="official"
        )
        if n % 2:
            g.exit_decide(
                actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=at(9), valid_until=at(12)
            )
            g.gate_check(actor=world.commander, token=exit_pass.token, direction="out")
    g.gate_check(actor=world.commander, token="nothing", direction="out")
    client = login(world.commander)
    url = reverse("epidemic:gate_area", args=[closed.pk])
    with django_assert_max_num_queries(16):
        page = client.get(url).content.decode()
    assert page.count('class="btn primary approve-pass"') == 4
    assert 'data-count="out">4<' in page
    bob = login(world.bob)
    with django_assert_max_num_queries(16):
        assert bob.get(url).status_code == 200


def test_the_closed_areas_list_query_count(
    world: World, closed: Response, django_assert_max_num_queries
) -> None:
    from linli.conftest import SMALL_PLAN
    from linli.plans.document import plan_build

    second = plan_build({**SMALL_PLAN, "title": "二号楼封控"}, community=world.community)
    response_activate(
        actor=world.commander,
        plan=second,
        level=3,
        reason="另一片",
        whole_community=False,
        buildings=[world.building2],
    )
    alice = login(world.alice)
    with django_assert_max_num_queries(10):
        page = alice.get(reverse("epidemic:gate")).content.decode()
    assert page.count("data-response=") == 2
    assert "Building 2" in page


def test_applying_and_approving_through_the_pages(world: World, closed: Response) -> None:
    alice = login(world.alice)
    r = alice.post(
        reverse("epidemic:gate_apply", args=[closed.pk]),
        {"resident": world.resident1.pk, "reason": "hospital", "detail": "透析"},
    )
    exit_pass = ExitPass.objects.get()
    assert r.status_code == 302 and r.url == exit_pass.get_absolute_url()
    # bob may not apply for a resident of another grid: the resident is a 404 to him.
    r = login(world.bob).post(
        reverse("epidemic:gate_apply", args=[closed.pk]),
        {"resident": world.resident1.pk, "reason": "hospital"},
    )
    assert r.status_code == 404

    r = alice.post(
        reverse("epidemic:pass_act", args=[exit_pass.pk, "approve"]),
        {"valid_from": "2026-03-02T10:00", "valid_until": "2026-03-02T12:00"},
    )
    exit_pass.refresh_from_db()
    assert exit_pass.status == ExitPass.Status.PENDING

    commander = login(world.commander)
    commander.post(
        reverse("epidemic:pass_act", args=[exit_pass.pk, "approve"]),
        {"valid_from": "2026-03-02T10:00", "valid_until": "2026-03-02T12:00", "back": "gate"},
    )
    exit_pass.refresh_from_db()
    assert exit_pass.status == ExitPass.Status.APPROVED
    assert exit_pass.valid_from == at(10) and exit_pass.valid_until == at(12)


def test_the_pass_page_from_three_seats_shows_the_qr_once_approved(world: World, closed: Response) -> None:
    exit_pass = g.exit_request(
        actor=world.alice, response=closed, resident=world.resident1, reason="hospital"
    )
    url = reverse("epidemic:pass", args=[exit_pass.pk])
    alice = login(world.alice)
    page = alice.get(url).content.decode()
    assert "Waiting for the commander" in page and 'id="pass-qr"' not in page
    assert login(world.bob).get(url).status_code == 404
    assert login(world.charlie).get(url).status_code == 404
    assert 'id="decide"' in login(world.commander).get(url).content.decode()

    g.exit_decide(
        actor=world.commander, exit_pass=exit_pass, approve=True, valid_from=at(10), valid_until=at(12)
    )
    page = alice.get(url).content.decode()
    assert 'id="pass-qr"' in page and "<svg width=" in page and exit_pass.token in page
    assert "10:00–12:00" in page


def test_the_guard_page_shows_the_verdict_and_changes_nothing_on_get(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    exit_pass = approved(world, closed)
    url = reverse("epidemic:gate_check", args=[exit_pass.token])
    bob = login(world.bob)  # other grid, on gate duty

    clock.move_to(at(13))
    page = bob.get(url).content.decode()
    assert 'data-allowed="0"' in page and "Outside its window 14:00–16:00." in page
    assert world.resident1.name in page and world.resident1.masked_id_number in page
    assert world.resident1.id_number not in page

    clock.move_to(at(14, 12))
    page = bob.get(url).content.decode()
    assert 'data-allowed="1"' in page and "LET OUT" in page
    assert not GateCheck.objects.exists()

    r = bob.post(url, {"direction": "out", "gate": "东门"})
    check = GateCheck.objects.get()
    assert r.status_code == 302 and f"recorded={check.pk}" in r.url
    page = bob.get(r.url).content.decode()
    assert 'id="recorded"' in page and "went OUT" in page
    page = bob.get(url).content.decode()
    assert "LET IN" in page and 'value="东门"' in page

    outsider = login(world.charlie).get(url).content.decode()
    assert "No such pass." in outsider and world.resident1.name not in outsider


def test_a_code_typed_or_pasted_at_the_gate_opens_its_check_page(world: World, closed: Response) -> None:
    exit_pass = approved(world, closed)
    client = login(world.bob)
    check = reverse("epidemic:gate_check", args=[exit_pass.token])
    grouped = " ".join(exit_pass.token[i : i + 4] for i in range(0, len(exit_pass.token), 4))
    r = client.get(reverse("epidemic:gate_check_enter"), {"code": f" {grouped} "})
    assert r.url == check
    r = client.get(
        reverse("epidemic:gate_check_enter"), {"code": f"http://testserver{check}", "area": closed.pk}
    )
    assert r.url == f"{check}?area={closed.pk}"
    assert client.get(reverse("epidemic:gate_check_enter")).status_code == 200


def test_a_refusal_recorded_from_the_guard_page_is_logged(
    world: World, closed: Response, clock: time_machine.Traveller
) -> None:
    client = login(world.bob)
    url = reverse("epidemic:gate_check", args=["made-up"]) + f"?area={closed.pk}"
    page = client.get(url).content.decode()
    assert "No such pass." in page and 'id="record-refusal"' in page
    client.post(url, {"direction": "out"})
    check = GateCheck.objects.get()
    assert not check.allowed and check.response == closed and check.by == world.bob


def test_the_response_page_links_to_the_gate(world: World, closed: Response) -> None:
    page = login(world.alice).get(closed.get_absolute_url()).content.decode()
    assert reverse("epidemic:gate_area", args=[closed.pk]) in page


def test_terminating_the_response_keeps_the_log_readable(world: World, closed: Response) -> None:
    approved(world, closed)
    response_terminate(actor=world.commander, response=closed, note="解封", criteria_met=[])
    page = login(world.commander).get(reverse("epidemic:gate_area", args=[closed.pk])).content.decode()
    assert 'id="ended"' in page and "approve-pass" not in page
