"""Key sites: registering them with their rules, logging disinfection on a phone, samples and their results,
the scan that alerts about missed rounds and overdue samples, the marker and the public page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.api.services import api_token_create
from linli.comms.models import Notification
from linli.conftest import World
from linli.core.models import AuditLog
from linli.health import keysites as svc
from linli.health.models import Disinfection, EnvSample, KeySite, SiteKind
from linli.tasks.models import Task, Team

CST = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2030, 6, 3)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The evening before DAY, after its last round: sites are registered then, so DAY's rounds are their
    first."""
    with time_machine.travel(at(21, 0, DAY - dt.timedelta(days=1)), tick=False) as traveller:
        yield traveller


def make_site(world: World, kind: str = SiteKind.SUPERMARKET, **values: object) -> KeySite:
    fields: dict[str, object] = {"name": "华联超市", "kind": kind, "building": world.building1} | values
    return svc.key_site_save(
        actor=world.commander, community=world.community, values=svc.SiteValues(**fields)
    )  # type: ignore[arg-type]


@pytest.fixture
def site(world: World, clock: time_machine.Coordinates) -> KeySite:
    return make_site(world)


def alerts(site: KeySite) -> list[Task]:
    return list(Task.objects.filter(source=Task.Source.KEY_SITE, source_id=site.pk).order_by("id"))


def login(user: object) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)  # type: ignore[arg-type]
    return client


# --- registering ------------------------------------------------------------------------------------


def test_a_new_site_starts_with_the_usual_rules_of_its_kind(world: World, clock: object) -> None:
    site = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链", disinfect_times="19:00, 7:00")

    assert site.rules == svc.default_rules(SiteKind.COLD_CHAIN)
    assert len(site.rules.splitlines()) == 4
    assert site.sample_every_days == 3  # cold chain: every 3 days, without being told
    assert site.disinfect_times == "07:00,19:00"
    assert site.grid_id == world.grid1.pk  # from its building
    assert AuditLog.objects.filter(
        action="create", target_type="health.keysite", target_id=str(site.pk)
    ).exists()
    assert make_site(world, SiteKind.SCHOOL, name="小学", rules="封闭管理").rules == "封闭管理"
    assert make_site(world, SiteKind.SCHOOL, name="小学2").sample_every_days is None


def test_site_input_is_refused_by_field(world: World, clock: object) -> None:
    from linli.factories import BuildingFactory

    elsewhere = BuildingFactory(community=world.charlie.community)
    with pytest.raises(ValidationError) as caught:
        make_site(
            world,
            name=" ",
            disinfect_times="7点",
            contact_phone="12345",
            building=elsewhere,
            sample_every_days=90,
        )
    assert set(caught.value.message_dict) == {
        "name",
        "disinfect_times",
        "contact_phone",
        "building",
        "sample_every_days",
    }


def test_only_the_commander_or_the_street_registers_sites(world: World, clock: object) -> None:
    values = svc.SiteValues(name="超市", kind=SiteKind.SUPERMARKET)
    for who in (world.alice, world.observer, world.charlie):
        with pytest.raises(PermissionDenied):
            svc.key_site_save(actor=who, community=world.community, values=values)
    assert svc.key_site_save(actor=world.street_admin, community=world.community, values=values).pk


def test_the_new_site_page_saves_and_shows_errors_by_field(world: World, clock: object) -> None:
    client = login(world.commander)
    assert client.get(reverse("health:keysite_new")).status_code == 200
    bad = client.post(
        reverse("health:keysite_new"), {"name": "驿站", "kind": "express", "disinfect_times": "25:00"}
    )
    assert bad.status_code == 400
    assert "is not a time of day" in bad.content.decode()
    good = client.post(
        reverse("health:keysite_new"),
        {
            "name": "驿站",
            "kind": "express",
            "disinfect_times": "07:00,19:00",
            "active": "on",
            "grid": world.grid2.pk,
        },
    )
    created = KeySite.objects.get(name="驿站")
    assert good.status_code == 302 and good.url == reverse("health:keysite", args=[created.pk])
    assert created.grid_id == world.grid2.pk and created.rules
    assert login(world.alice).get(reverse("health:keysite_new")).status_code == 403


# --- who sees a site ----------------------------------------------------------------------------------


def test_a_site_is_seen_by_its_grid_and_the_community_not_by_another_grid_or_community(
    world: World, site: KeySite
) -> None:
    shared = make_site(
        world, name="社区药房", kind=SiteKind.PHARMACY, building=None
    )  # no grid: community-wide
    url = reverse("health:keysite", args=[site.pk])
    assert login(world.alice).get(url).status_code == 200
    assert login(world.commander).get(url).status_code == 200
    assert login(world.observer).get(url).status_code == 200
    assert login(world.bob).get(url).status_code == 404
    assert login(world.charlie).get(url).status_code == 404
    assert login(world.bob).get(reverse("health:keysite", args=[shared.pk])).status_code == 200
    names = login(world.bob).get(reverse("health:keysites")).content.decode()
    assert "社区药房" in names and "华联超市" not in names
    assert "华联超市" not in login(world.charlie).get(reverse("health:keysites")).content.decode()


def test_the_list_keeps_its_query_count(world: World, site: KeySite, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(8):
        make_site(world, SiteKind.COLD_CHAIN, name=f"冷链{n}")
    client = login(world.commander)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("health:keysites"))
    assert response.content.decode().count('<li class="ks-card ') == 9


# --- the rounds of a day ------------------------------------------------------------------------------


def test_each_round_is_upcoming_due_done_late_or_missed(world: World, site: KeySite, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(6, 50))
    assert [s.state for s in svc.key_site_status(site).slots] == ["upcoming", "upcoming"]
    clock.move_to(at(7, 30))
    assert svc.key_site_status(site).slots[0].state == "due"
    clock.move_to(at(8, 1))
    status = svc.key_site_status(site)
    assert status.slots[0].state == "missed" and status.missed == 1 and status.state == "missed"
    clock.move_to(at(8, 20))
    svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(7, 0), done_by="王师傅")
    assert svc.key_site_status(site).slots[0].state == "late"
    clock.move_to(at(19, 10))
    svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(19, 0))
    slots = svc.key_site_status(site).slots
    assert [s.state for s in slots] == ["late", "done"]
    assert slots[1].record is not None and slots[1].record.done_by == world.alice.name


def test_a_round_is_logged_once_and_only_at_its_time(world: World, site: KeySite, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(7, 5))
    svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(7, 0), done_by="王师傅")
    with pytest.raises(ValidationError, match="already logged: 王师傅 at 07:05"):
        svc.disinfection_record(actor=world.commander, site=site, slot=dt.time(7, 0))
    with pytest.raises(ValidationError, match="not one of this site's disinfection times"):
        svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(12, 0))
    with pytest.raises(ValidationError, match="cannot be logged before 17:30"):
        svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(19, 0))
    with pytest.raises(ValidationError, match="has not come yet"):
        svc.disinfection_record(
            actor=world.alice, site=site, slot=dt.time(7, 0), day=DAY + dt.timedelta(days=1)
        )
    with pytest.raises(PermissionDenied):
        svc.disinfection_record(actor=world.observer, site=site, slot=dt.time(19, 0))
    assert Disinfection.objects.filter(site=site).count() == 1


def test_a_worker_logs_a_round_with_one_tap_on_the_list(world: World, site: KeySite, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(7, 2))
    client = login(world.alice)
    page = client.get(reverse("health:keysites")).content.decode()
    assert "log the 07:00 round" in page
    response = client.post(
        reverse("health:keysite_disinfect", args=[site.pk]),
        {"slot": "07:00", "day": DAY.isoformat(), "next": reverse("health:keysites")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("health:keysites")
    assert "Logged: 华联超市, 07:00 round, disinfected by" in response.content.decode()
    record = Disinfection.objects.get(site=site)
    assert record.recorded_by == world.alice and record.done_at == at(7, 2)
    # Bob (another grid) cannot reach it; the observer is told no.
    assert (
        login(world.bob)
        .post(reverse("health:keysite_disinfect", args=[site.pk]), {"slot": "19:00"})
        .status_code
        == 404
    )
    clock.move_to(at(18, 0))
    observed = login(world.observer).post(
        reverse("health:keysite_disinfect", args=[site.pk]), {"slot": "19:00"}, follow=True
    )
    assert "may look at key sites but not log" in observed.content.decode()
    assert Disinfection.objects.filter(site=site).count() == 1


def test_the_evening_round_can_be_logged_an_hour_and_a_half_early_not_as_the_missed_morning(  # type: ignore[no-untyped-def]
    world: World, site: KeySite, clock
) -> None:
    clock.move_to(at(17, 29))
    status = svc.key_site_status(site)
    assert status.slots[1].state == "upcoming" and not status.slots[1].open
    assert status.open_slot is not None and status.open_slot.hhmm == "07:00"  # only the missed morning
    clock.move_to(at(18, 31))
    status = svc.key_site_status(site)
    assert status.slots[1].open and status.slots[1].label == "due soon"
    assert status.open_slot is not None and status.open_slot.hhmm == "19:00"
    client = login(world.alice)
    assert "log the 19:00 round" in client.get(reverse("health:keysites")).content.decode()
    page = client.get(reverse("health:keysite", args=[site.pk])).content.decode()
    assert "log the 19:00 round" in page and "log the 07:00 round" in page
    client.post(
        reverse("health:keysite_disinfect", args=[site.pk]), {"slot": "19:00", "day": DAY.isoformat()}
    )
    assert Disinfection.objects.get(site=site).slot == dt.time(19, 0)
    clock.move_to(at(19, 10))
    assert [s.state for s in svc.key_site_status(site).slots] == ["missed", "done"]


def test_yesterdays_evening_round_is_logged_on_its_own_day(world: World, site: KeySite, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(0, 30, DAY + dt.timedelta(days=1)))
    login(world.alice).post(
        reverse("health:keysite_disinfect", args=[site.pk]),
        {"slot": "19:00", "day": DAY.isoformat(), "done_time": "19:05", "done_by": "李阿姨"},
    )
    record = Disinfection.objects.get(site=site)
    assert (record.day, record.done_at, record.done_by) == (DAY, at(19, 5), "李阿姨")


# --- the scan -----------------------------------------------------------------------------------------


def test_a_missed_round_makes_one_task_for_the_grid_worker_however_often_it_is_scanned(
    world: World, site: KeySite, clock
) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(7, 59))
    assert svc.key_site_scan().created == 0
    clock.move_to(at(8, 5))
    assert svc.key_site_scan().disinfection == 1
    assert svc.key_site_scan().created == 0
    clock.move_to(at(8, 10))
    assert svc.key_site_scan().created == 0
    [task] = alerts(site)
    assert task.stage == "disinf-20300603-0700"
    assert task.assignee_id == world.alice.pk and task.commander_id == world.commander.pk
    assert task.priority == Task.Priority.HIGH and task.due_at == at(8, 35)
    assert (
        Notification.objects.filter(user=world.alice, url=reverse("tasks:detail", args=[task.pk])).count()
        == 1
    )


def test_a_second_worker_racing_the_first_finds_the_alert_already_made(
    world: World, site: KeySite, clock
) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(8, 5))
    alert = svc._disinfection_alert(site, DAY, dt.time(7, 0), timezone.now())
    owners = {"assignee_id": world.alice.pk}
    assert svc._alert_create(alert, owners) is not None
    assert svc._alert_create(alert, owners) is None
    assert len(alerts(site)) == 1


def test_logging_the_round_late_closes_its_alert(world: World, site: KeySite, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(8, 5))
    svc.key_site_scan()
    clock.move_to(at(8, 20))
    svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(7, 0), done_by="王师傅")
    [task] = alerts(site)
    assert task.status == Task.Status.DONE and "王师傅" in task.result and task.done_by == world.alice
    clock.move_to(at(8, 30))
    assert svc.key_site_scan().created == 0


def test_the_scan_leaves_alone_rounds_before_a_site_existed_inactive_sites_and_logged_rounds(
    world: World, clock
) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(7, 30))
    new = make_site(world, name="新开超市")
    closed = make_site(world, name="已关闭", active=False)
    clock.move_to(at(20, 30))
    svc.key_site_scan()
    assert [t.stage for t in alerts(new)] == ["disinf-20300603-1900"]
    assert alerts(closed) == []


def test_a_site_without_building_alerts_a_worker_of_its_grid_and_without_grid_the_commander(
    world: World, clock
) -> None:  # type: ignore[no-untyped-def]
    gridded = make_site(world, name="二网格驿站", building=None, grid=world.grid2)
    loose = make_site(world, name="社区药房", building=None)
    clock.move_to(at(8, 5))
    svc.key_site_scan()
    assert alerts(gridded)[0].assignee_id == world.bob.pk
    assert alerts(loose)[0].assignee_id == world.commander.pk


def test_an_overdue_cold_chain_sample_makes_one_task_which_sampling_closes(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    cold = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链")
    Disinfection.objects.bulk_create(
        Disinfection(site=cold, day=d, slot=t, done_at=at(t.hour, 0, d), done_by="x")
        for d in (DAY + dt.timedelta(days=n) for n in range(5))
        for t in cold.slot_times()
    )
    clock.move_to(at(12, 0))
    assert svc.key_site_status(cold).sample_due_today is False and svc.key_site_status(cold).sample_overdue
    # Registered yesterday and never sampled: due yesterday, so today it is overdue.
    assert svc.key_site_scan().samples == 1
    assert svc.key_site_scan().samples == 0
    [task] = alerts(cold)
    assert task.stage == "sample-20300602" and task.assignee_id == world.alice.pk
    sample = svc.env_sample_record(actor=world.alice, site=cold, count=4, points="冷库门把手")
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    status = svc.key_site_status(cold)
    assert status.next_sample_due == DAY + dt.timedelta(days=3) and not status.sample_overdue
    clock.move_to(at(12, 0, DAY + dt.timedelta(days=3)))
    assert svc.key_site_status(cold).sample_due_today and svc.key_site_scan().samples == 0
    clock.move_to(at(0, 5, DAY + dt.timedelta(days=4)))
    assert svc.key_site_scan().samples == 1
    assert alerts(cold)[-1].stage == "sample-20300606"
    assert sample.result == EnvSample.Result.PENDING


# --- samples and results ------------------------------------------------------------------------------


def test_a_positive_sample_alerts_the_medical_team_and_the_commander(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    cold = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链")
    clock.move_to(at(10, 0))
    sample = svc.env_sample_record(actor=world.alice, site=cold, count=6)
    svc.env_sample_result(actor=world.alice, sample=sample, result="positive")
    [task] = [t for t in alerts(cold) if t.stage.startswith("positive")]
    assert task.team == Team.MEDICAL and task.priority == Task.Priority.URGENT
    assert task.commander_id == world.commander.pk and task.due_at == at(11, 0)
    assert Notification.objects.filter(user=world.commander, urgent=True, title__contains="鲜达冷链").exists()
    with pytest.raises(ValidationError, match="already recorded as positive"):
        svc.env_sample_result(actor=world.commander, sample=sample, result="negative")
    with pytest.raises(ValidationError):
        svc.env_sample_record(actor=world.alice, site=cold, taken_on=DAY + dt.timedelta(days=1))


def test_samples_and_results_through_the_site_page(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    cold = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链")
    clock.move_to(at(10, 0))
    client = login(world.alice)
    bad = client.post(
        reverse("health:keysite_sample", args=[cold.pk]), {"taken_on": "2030-07-01", "count": "0"}
    )
    assert bad.status_code == 400
    response = client.post(
        reverse("health:keysite_sample", args=[cold.pk]),
        {"taken_on": DAY.isoformat(), "count": "3", "points": "柜台"},
    )
    assert response.status_code == 302
    sample = EnvSample.objects.get(site=cold)
    client.post(reverse("health:keysite_sample_result", args=[cold.pk, sample.pk]), {"result": "negative"})
    sample.refresh_from_db()
    assert sample.result == "negative" and sample.result_at == at(10, 0)
    other = make_site(world, name="别的")
    assert (
        client.post(
            reverse("health:keysite_sample_result", args=[other.pk, sample.pk]), {"result": "positive"}
        ).status_code
        == 404
    )


# --- the public page, the marker, the link --------------------------------------------------------------


def test_the_public_page_shows_rules_rounds_and_results_without_names(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    cold = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链", rules="三证查验\n每日测温")
    clock.move_to(at(7, 10))
    svc.disinfection_record(actor=world.alice, site=cold, slot=dt.time(7, 0), done_by="王师傅")
    sample = svc.env_sample_record(actor=world.alice, site=cold, taken_by="区疾控 张医生")
    svc.env_sample_result(actor=world.alice, sample=sample, result="negative")
    response = Client(headers={"Accept-Language": "en"}).get(
        reverse("health:keysite_public", args=[cold.token])
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "三证查验" in page and "done at 07:10" in page and "Disinfected today" in page and "negative" in page
    )
    assert "王师傅" not in page and "张医生" not in page and world.alice.name not in page
    assert Client().get(reverse("health:keysite_public", args=["nope"])).status_code == 404


def test_the_public_page_puts_a_positive_sample_above_the_green_tick_and_says_when_a_round_was_late(  # type: ignore[no-untyped-def]
    world: World, clock
) -> None:
    cold = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链")
    clock.move_to(at(18, 31))
    svc.disinfection_record(actor=world.alice, site=cold, slot=dt.time(7, 0))
    sample = svc.env_sample_record(actor=world.alice, site=cold, count=6)
    url = reverse("health:keysite_public", args=[cold.token])
    english = Client(headers={"Accept-Language": "en"})
    page = english.get(url).content.decode()
    assert "done late, at 18:31" in page and "positive" not in page and "6 samples" in page
    svc.env_sample_result(actor=world.alice, sample=sample, result="positive")
    page = english.get(url).content.decode()
    assert page.index("positive") < page.index("Disinfected today")
    assert "medical team is dealing with it" in page and 'class="ks-banner grey">✓' in page
    site_page = login(world.commander).get(reverse("health:keysite", args=[cold.pk])).content.decode()
    assert "Medical" in site_page.split("Open alerts")[1] and "nobody" not in site_page


def test_a_new_link_retires_the_old_one(world: World, site: KeySite) -> None:
    old = site.token
    login(world.commander).post(reverse("health:keysite_token", args=[site.pk]))
    site.refresh_from_db()
    assert site.token != old
    assert Client().get(reverse("health:keysite_public", args=[old])).status_code == 404
    assert Client().get(reverse("health:keysite_public", args=[site.token])).status_code == 200
    login(world.alice).post(reverse("health:keysite_token", args=[site.pk]))
    assert KeySite.objects.get(pk=site.pk).token == site.token


def test_the_marker_is_a_pdf_for_the_sites_staff(world: World, site: KeySite, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(at(7, 10))
    svc.disinfection_record(actor=world.alice, site=site, slot=dt.time(7, 0), done_by="王师傅")
    response = login(world.alice).get(reverse("health:keysite_marker", args=[site.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert login(world.bob).get(reverse("health:keysite_marker", args=[site.pk])).status_code == 404


# --- the API ----------------------------------------------------------------------------------------------


def test_the_status_endpoint_gives_the_rounds_and_the_sampling(world: World, clock) -> None:  # type: ignore[no-untyped-def]
    cold = make_site(world, SiteKind.COLD_CHAIN, name="鲜达冷链")
    clock.move_to(at(8, 30))
    svc.disinfection_record(actor=world.alice, site=cold, slot=dt.time(7, 0), done_by="王师傅")
    url = f"/api/v1/health/key-sites/{cold.pk}/status"
    body = login(world.alice).get(url).json()
    assert body["state"] == "done" and body["community"] == "nanli"
    assert [(s["time"], s["state"], s["done_by"]) for s in body["slots"]] == [
        ("07:00", "late", "王师傅"),
        ("19:00", "upcoming", ""),
    ]
    assert body["sample"]["every_days"] == 3 and body["sample"]["overdue"] is True
    assert Client().get(url).status_code == 401
    assert login(world.bob).get(url).status_code == 404
    token = api_token_create(actor=None, role="community_admin", scope_code="other")[1]
    assert Client().get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 404
