from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from linli.epidemic.models import ControlCase, HealthStatus
from linli.epidemic.models import TestResult as EpidemicTest
from linli.factories import HouseholdFactory, ResidentFactory
from linli.registry.models import SpecialCare, SpecialKind
from linli.screening import codes, services
from linli.screening.models import Campaign, Lane, Participant, Reason, Slot
from linli.screening.tests.conftest import Area
from linli.tasks.models import Task

pytestmark = pytest.mark.django_db


def test_opening_counts_the_people_living_there_with_special_groups_and_controlled_separately(
    area: Area, campaign: Campaign
) -> None:
    counts = campaign.counts
    # resident1, resident2 and the six of the fixture
    assert counts["people"] == 8
    assert counts["households"] == 5
    assert counts["over_80"] == 1
    assert counts["children"] == 1
    assert counts["bed_bound"] == 1
    assert counts["controlled"] == 2
    assert counts["door"] == 2
    assert campaign.sites.count() == 1


def test_only_the_commander_or_street_opens_a_campaign(area: Area) -> None:
    with pytest.raises(PermissionDenied):
        services.campaign_open(actor=area.world.alice, community=area.world.community, day=area.day)
    with pytest.raises(PermissionDenied):
        services.campaign_open(actor=area.world.charlie, community=area.world.community, day=area.day)
    assert services.campaign_open(actor=area.world.street_admin, community=area.world.community, day=area.day)


def test_scheduling_puts_lanes_and_door_to_door_by_who_people_are(area: Area, campaign: Campaign) -> None:
    summary = services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    people = {p.resident_id: p for p in Participant.objects.filter(campaign=campaign).select_related("slot")}
    assert summary.people == 8 and summary.door == 2
    assert people[area.elder.pk].lane == Lane.PRIORITY and people[area.elder.pk].reason == Reason.OVER_80
    assert people[area.child.pk].lane == Lane.PRIORITY
    assert people[area.bedbound.pk].door and people[area.bedbound.pk].slot is None
    assert people[area.isolated.pk].door and people[area.isolated.pk].reason == Reason.HOME_ISOLATION
    monitored = people[area.monitored.pk]
    assert monitored.lane == Lane.CONTROLLED
    # the household comes together; the separate route comes after every other slot has ended
    assert people[area.elder.pk].slot.starts_at == people[area.child.pk].slot.starts_at  # type: ignore[union-attr]
    others_end = max(p.slot.ends_at for p in people.values() if p.slot and p.lane != Lane.CONTROLLED)
    assert monitored.slot.starts_at >= others_end  # type: ignore[union-attr]
    for slot in Slot.objects.filter(campaign=campaign):
        assert slot.load == Participant.objects.filter(slot=slot).count() <= slot.capacity


def test_too_little_capacity_is_refused_with_numbers(area: Area) -> None:
    campaign = services.campaign_open(
        actor=area.world.commander,
        community=area.world.community,
        day=area.day,
        starts_at=dt.time(8, 0),
        ends_at=dt.time(8, 30),
        sites=[services.SiteValues(name="小", normal_per_hour=4, priority_per_hour=0, controlled_per_hour=2)],
    )
    with pytest.raises(ValidationError, match="do not fit"):
        services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    assert not Participant.objects.filter(campaign=campaign).exists()


def test_notices_make_one_door_to_door_task_per_household_for_the_medical_team(
    area: Area, notified: Campaign
) -> None:
    tasks = Task.objects.filter(source=Task.Source.SCREENING, source_id=notified.pk, team="medical")
    assert tasks.count() == 1  # the bed-bound and the isolated person live together
    # and each building's grid worker is asked to post its notice and hand out its slips
    posting = Task.objects.filter(source=Task.Source.SCREENING, title__contains="post the notice")
    assert (
        posting.count() == 2
        and posting.filter(assignee=area.world.alice, title__contains="building 1").exists()
    )
    task = tasks.get()
    assert task.team == "medical" and "刘卧" in task.title and "刘隔" in task.title
    assert (
        Participant.objects.filter(campaign=notified, slot__isnull=False, notified_start__isnull=True).count()
        == 0
    )


def test_checkin_by_code_fills_the_tube_and_refuses_a_second_scan(area: Area, notified: Campaign) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    tube = services.tube_open(actor=commander, campaign=notified, site=site, code="t-001", pool_size=10)
    assert tube.code == "T-001"
    code = codes.person_code(notified.pk, area.elder.pk)
    person = services.participant_by_code(notified, f"http://127.0.0.1:8000/checkin/c/{code}/")
    with time_machine.travel(dt.datetime(2030, 6, 3, 1, 42, tzinfo=dt.UTC), tick=False):
        services.checkin(actor=area.world.alice, campaign=notified, participant=person, tube=tube, site=site)
    with pytest.raises(ValidationError, match=r"Already checked in at .*09:42"):
        services.checkin(actor=commander, campaign=notified, participant=person, tube=tube, site=site)
    tube.refresh_from_db()
    assert tube.members == 1


def test_a_code_from_another_campaign_or_a_forged_one_is_refused(area: Area, notified: Campaign) -> None:
    other = services.campaign_open(actor=area.world.commander, community=area.world.community, day=area.day)
    with pytest.raises(ValidationError, match="another campaign"):
        services.participant_by_code(notified, codes.person_code(other.pk, area.elder.pk))
    forged = codes.person_code(notified.pk, area.elder.pk)[:-1] + "0"
    with pytest.raises(ValidationError, match="not a testing code"):
        services.participant_by_code(notified, forged)
    foreign = services.campaign_open(
        actor=area.world.charlie, community=area.world.other_resident.community, day=area.day
    )
    with pytest.raises(ValidationError, match="another community"):
        services.participant_by_code(notified, codes.person_code(foreign.pk, area.world.other_resident.pk))


def test_a_tube_over_its_pool_size_is_refused(area: Area, notified: Campaign) -> None:
    site = notified.sites.get()
    tube = services.tube_open(
        actor=area.world.commander, campaign=notified, site=site, code="P1", pool_size=1
    )
    first, second = Participant.objects.filter(campaign=notified, door=False)[:2]
    services.checkin(actor=area.world.commander, campaign=notified, participant=first, tube=tube, site=site)
    with pytest.raises(ValidationError, match="full"):
        services.checkin(
            actor=area.world.commander, campaign=notified, participant=second, tube=tube, site=site
        )
    second.refresh_from_db()
    assert second.checked_in_at is None  # nothing half-written
    with pytest.raises(ValidationError, match="already used"):
        services.tube_open(actor=area.world.commander, campaign=notified, site=site, code="P1")


def test_checking_in_a_door_household_closes_its_task(area: Area, notified: Campaign) -> None:
    tube = services.tube_open(
        actor=area.world.commander, campaign=notified, site=None, code="D1", pool_size=1
    )
    tube2 = services.tube_open(
        actor=area.world.commander, campaign=notified, site=None, code="D2", pool_size=1
    )
    bed = Participant.objects.get(campaign=notified, resident=area.bedbound)
    iso = Participant.objects.get(campaign=notified, resident=area.isolated)
    services.checkin(actor=area.world.commander, campaign=notified, participant=bed, tube=tube, site=None)
    assert Task.objects.get(pk=bed.door_task_id).is_open
    services.checkin(actor=area.world.commander, campaign=notified, participant=iso, tube=tube2, site=None)
    assert Task.objects.get(pk=bed.door_task_id).status == Task.Status.DONE


def test_a_pooled_positive_puts_its_members_under_control_and_a_negative_records_results(
    area: Area, notified: Campaign
) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    pos = services.tube_open(actor=commander, campaign=notified, site=site, code="POS-1")
    neg = services.tube_open(actor=commander, campaign=notified, site=site, code="NEG-1")
    for resident in (area.elder, area.child):
        p = Participant.objects.get(campaign=notified, resident=resident)
        services.checkin(actor=commander, campaign=notified, participant=p, tube=pos, site=site)
    p = Participant.objects.get(campaign=notified, resident=area.world.resident1)
    services.checkin(actor=commander, campaign=notified, participant=p, tube=neg, site=site)
    with pytest.raises(PermissionDenied):
        services.tube_result(actor=area.world.alice, tube=pos, result="positive")
    outcome = services.tube_result(actor=commander, tube=pos, result="positive")
    assert outcome.cases == 2
    case = ControlCase.objects.get(resident=area.elder, status="active")
    assert case.control_type.key == "pooled_positive"
    assert HealthStatus.objects.get(resident=area.elder).colour == "yellow"
    services.tube_result(actor=commander, tube=neg, result="negative")
    assert EpidemicTest.objects.get(resident=area.world.resident1).result == "negative"
    # the same result again (a re-uploaded file) changes nothing; a different one is refused
    again = services.tube_result(actor=commander, tube=neg, result="negative")
    assert again.already == 1 and EpidemicTest.objects.filter(resident=area.world.resident1).count() == 1
    with pytest.raises(ValidationError, match="already has the result"):
        services.tube_result(actor=commander, tube=neg, result="positive")


def test_closing_makes_a_followup_task_per_building_listing_the_missed_households(
    area: Area, notified: Campaign
) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    tube = services.tube_open(actor=commander, campaign=notified, site=site, code="T1")
    p = Participant.objects.get(campaign=notified, resident=area.world.resident1)
    services.checkin(actor=commander, campaign=notified, participant=p, tube=tube, site=site)
    made = services.campaign_close(actor=commander, campaign=notified)
    # building 1: the elder's family and the monitored person; building 2: resident2's and the door family
    assert made == 2
    followup = Task.objects.filter(source=Task.Source.SCREENING, title__startswith="Not tested")
    mine = followup.get(assignee=area.world.alice)  # alice is building 1's worker
    assert "张老" in mine.detail and "陈伴" in mine.detail and "102" in mine.detail and "103" in mine.detail
    assert "李秀英" not in mine.detail  # sampled
    # the medical team's door-to-door task ends with the campaign; the grid worker follows up
    assert not Task.objects.filter(source=Task.Source.SCREENING, team="medical", status="open").exists()
    with pytest.raises(ValidationError, match="already closed"):
        services.campaign_close(actor=commander, campaign=notified)


def test_moving_a_building_after_the_notices_tells_its_households_again(
    area: Area, notified: Campaign
) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    later = notified.at(dt.time(15, 0))
    moved = services.building_move(
        actor=commander, campaign=notified, building=area.world.building2, site=site, start=later
    )
    assert moved == 1  # only resident2: the others in building 2 are sampled at home
    p = Participant.objects.select_related("slot").get(campaign=notified, resident=area.world.resident2)
    assert p.slot.starts_at == later  # type: ignore[union-attr]
    assert p.slot_changed_at is not None and p.notified_start == later
    task = Task.objects.get(source=Task.Source.SCREENING, title__contains="new testing arrangement")
    assert "15:00" in task.detail


def test_scheduling_again_after_the_notices_keeps_told_times_and_places_only_the_changes(
    area: Area, notified: Campaign
) -> None:
    site = notified.sites.get()
    tube = services.tube_open(actor=area.world.commander, campaign=notified, site=site, code="T9")
    first = Participant.objects.get(campaign=notified, resident=area.world.resident1)
    services.checkin(actor=area.world.commander, campaign=notified, participant=first, tube=tube, site=site)
    before = dict(Participant.objects.filter(campaign=notified).values_list("resident_id", "slot_id"))
    newcomer = ResidentFactory(
        household=HouseholdFactory(building=area.world.building2, room="808"), name="新邻"
    )
    area.elder.residency = "registered"  # moved away since the notice
    area.elder.save()
    summary = services.campaign_schedule(actor=area.world.commander, campaign=notified)
    after = dict(Participant.objects.filter(campaign=notified).values_list("resident_id", "slot_id"))
    assert area.elder.pk not in after
    assert Participant.objects.get(pk=first.pk).is_checked_in  # a check-in survives
    kept = {rid: slot for rid, slot in before.items() if rid in after and rid != newcomer.pk}
    assert all(after[rid] == slot for rid, slot in kept.items())
    assert after[newcomer.pk] is not None
    assert summary.renotified == 1
    task = Task.objects.get(source=Task.Source.SCREENING, title__contains="new testing arrangement")
    assert "building 2" in task.title and "no notice yet" in task.detail and "808" in task.detail
    for slot in Slot.objects.filter(campaign=notified):
        assert slot.load == Participant.objects.filter(slot=slot).count() <= slot.capacity


def test_a_new_bed_bound_member_joins_the_household_door_task(area: Area, notified: Campaign) -> None:
    household = area.bedbound.household
    newcomer = ResidentFactory(household=household, name="刘新")
    SpecialCare.objects.create(resident=newcomer, kind=SpecialKind.BED_BOUND)
    services.campaign_schedule(actor=area.world.commander, campaign=notified)
    tasks = Task.objects.filter(source=Task.Source.SCREENING, team="medical", status="open")
    assert tasks.count() == 1
    assert Participant.objects.get(campaign=notified, resident=newcomer).door_task_id == tasks.get().pk
    # and a member no longer bed-bound leaves it; a task left with nobody is cancelled
    SpecialCare.objects.filter(resident__in=[area.bedbound, newcomer]).delete()
    ControlCase.objects.filter(resident=area.isolated).update(status="released")
    services.campaign_schedule(actor=area.world.commander, campaign=notified)
    assert not Task.objects.filter(source=Task.Source.SCREENING, team="medical", status="open").exists()


def test_people_under_control_are_kept_apart_at_check_in(area: Area, notified: Campaign) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    pooled = services.tube_open(actor=commander, campaign=notified, site=site, code="POOL-1", pool_size=10)
    monitored = Participant.objects.get(campaign=notified, resident=area.monitored)
    with pytest.raises(ValidationError, match="single tube"):
        services.checkin(actor=commander, campaign=notified, participant=monitored, tube=pooled, site=site)
    isolated = Participant.objects.get(campaign=notified, resident=area.isolated)
    with pytest.raises(ValidationError, match="home isolation"):
        services.checkin(actor=commander, campaign=notified, participant=isolated, tube=pooled, site=site)
    single = services.tube_open(actor=commander, campaign=notified, site=site, code="ONE-1", pool_size=1)
    services.checkin(actor=commander, campaign=notified, participant=monitored, tube=single, site=site)


def test_a_household_or_queue_code_is_not_taken_for_a_tube(area: Area, notified: Campaign) -> None:
    site = notified.sites.get()
    for text in (codes.household_token(notified.pk, area.elder.household_id), "http://x/q/abc/", "X"):
        with pytest.raises(ValidationError):
            services.tube_open(actor=area.world.commander, campaign=notified, site=site, code=text)


def test_check_in_is_open_only_on_the_day_once_notices_are_out(area: Area, campaign: Campaign) -> None:
    services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    assert not services.can_check_in(area.world.alice, campaign)  # scheduled, no notices yet
    services.campaign_notify(actor=area.world.commander, campaign=campaign)
    campaign.refresh_from_db()
    assert services.can_check_in(area.world.alice, campaign)
    with time_machine.travel(campaign.at(dt.time(8, 0)) + dt.timedelta(days=1)):
        assert not services.can_check_in(area.world.alice, campaign)


def test_closing_before_sampling_starts_or_before_the_notices_is_refused(
    area: Area, campaign: Campaign
) -> None:
    services.campaign_schedule(actor=area.world.commander, campaign=campaign)
    with pytest.raises(ValidationError, match="Notices were never sent"):
        services.campaign_close(actor=area.world.commander, campaign=campaign)
    services.campaign_notify(actor=area.world.commander, campaign=campaign)
    with time_machine.travel(campaign.at(dt.time(6, 0))), pytest.raises(ValidationError, match="not started"):
        services.campaign_close(actor=area.world.commander, campaign=campaign)


def test_observer_and_other_community_cannot_check_in(area: Area, notified: Campaign) -> None:
    assert services.can_check_in(area.world.alice, notified)
    assert services.can_check_in(area.world.bob, notified)
    assert not services.can_check_in(area.world.observer, notified)
    assert not services.can_check_in(area.world.charlie, notified)


def test_a_new_resident_after_the_notice_is_told_on_rescheduling(area: Area, notified: Campaign) -> None:
    newcomer = ResidentFactory(
        household=HouseholdFactory(building=area.world.building1, room="909"), name="新来"
    )
    summary = services.campaign_schedule(actor=area.world.commander, campaign=notified)
    assert summary.people == 9
    p = Participant.objects.get(campaign=notified, resident=newcomer)
    assert p.notified_start is not None
    assert Campaign.objects.get(pk=notified.pk).status == Campaign.Status.NOTIFIED


def test_a_negative_tapped_by_mistake_is_corrected_to_a_pooled_positive(
    area: Area, notified: Campaign
) -> None:
    commander = area.world.commander
    site = notified.sites.get()
    tube = services.tube_open(actor=commander, campaign=notified, site=site, code="FIX-1")
    p = Participant.objects.get(campaign=notified, resident=area.world.resident1)
    services.checkin(actor=commander, campaign=notified, participant=p, tube=tube, site=site)
    services.tube_result(actor=commander, tube=tube, result="negative")
    with pytest.raises(ValidationError, match="already has the result"):
        services.tube_result(actor=commander, tube=tube, result="positive")
    outcome = services.tube_result(actor=commander, tube=tube, result="positive", correct=True)
    assert outcome.cases == 1
    assert not EpidemicTest.objects.filter(resident=area.world.resident1, result="negative").exists()
    with pytest.raises(ValidationError, match="cancel or release"):
        services.tube_result(actor=commander, tube=tube, result="negative", correct=True)


def test_a_campaign_whose_sampling_is_already_over_is_refused(area: Area) -> None:
    with pytest.raises(ValidationError, match="already be over"):
        services.campaign_open(
            actor=area.world.commander,
            community=area.world.community,
            day=area.day,
            starts_at=dt.time(6, 0),
            ends_at=dt.time(7, 30),  # the tests run at 08:00 on the day
        )


def test_the_queue_estimate_uses_the_planned_pace_until_enough_people_are_sampled(
    area: Area, notified: Campaign
) -> None:
    from linli.screening.selectors import site_queue

    site = notified.sites.get()
    planned = (site.normal_per_hour + site.priority_per_hour) / 60
    assert site_queue(site).per_minute == planned
    tube = services.tube_open(actor=area.world.commander, campaign=notified, site=site, code="Q-1")
    p = Participant.objects.get(campaign=notified, resident=area.world.resident1)
    services.checkin(actor=area.world.commander, campaign=notified, participant=p, tube=tube, site=site)
    # one scan in the last quarter hour is not a pace: the estimate stays on the plan
    assert site_queue(site).per_minute == planned
