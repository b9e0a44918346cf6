"""Residents report through the building's link: identity once, then the household's form; staff follow up."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from linli.conftest import World
from linli.core.models import AuditLog
from linli.factories import HouseholdFactory, ResidentFactory
from linli.health import selfreport as sr
from linli.health.models import SelfReport, SelfReportInbox
from linli.tasks.models import Task

NOON = dt.datetime(2030, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(NOON, tick=False):
        yield


def _url(world: World) -> str:
    return reverse("health:report_page", args=[sr.building_token(world.building1.pk)])


def _verified(world: World) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    person = world.resident1
    response = client.post(
        _url(world),
        {"action": "verify", "room": "1-101", "name": person.name, "id_tail": person.id_number[-4:]},
    )
    assert response.status_code == 302
    return client


def _photo(kind: str = "JPEG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, kind)
    return SimpleUploadedFile("test.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_the_building_link_is_signed(world: World, client: Client) -> None:
    assert client.get(_url(world)).status_code == 200
    forged = f"{world.building2.pk}-{sr.building_token(world.building1.pk).split('-')[1]}"
    assert client.get(reverse("health:report_page", args=[forged])).status_code == 404


def test_a_resident_proves_who_they_are_once_and_reports_for_the_household(world: World) -> None:
    spouse = ResidentFactory(household=world.resident1.household, name="李建华")
    client = _verified(world)
    page = client.get(_url(world)).content.decode()
    assert "李*英" in page and "李*华" in page
    assert world.resident1.name not in page  # names are masked even to the household
    response = client.post(
        _url(world),
        {
            "action": "report",
            f"t-{world.resident1.pk}": "36.5",
            f"t-{spouse.pk}": "３６．８",
            f"home-{spouse.pk}": "1",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?done=1")
    reports = {r.resident_id: r for r in SelfReport.objects.all()}
    assert reports[world.resident1.pk].temperature == Decimal("36.5")
    assert reports[spouse.pk].temperature == Decimal("36.8")
    assert not any(r.abnormal for r in reports.values())
    assert (
        reports[spouse.pk].building_id == world.building1.pk and reports[spouse.pk].grid_id == world.grid1.pk
    )
    assert "Thank you" in client.get(response["Location"]).content.decode()
    assert AuditLog.objects.filter(action="self_report").count() == 1


def test_wrong_identity_gets_the_same_words_whatever_was_wrong_and_is_stopped(
    world: World, client: Client
) -> None:
    person = world.resident1
    tries = [
        {"room": "1-101", "name": person.name, "id_tail": "0000"},  # wrong ID
        {"room": "1-999", "name": person.name, "id_tail": person.id_number[-4:]},  # wrong room
        {
            "room": "2-201",
            "name": world.resident2.name,
            "id_tail": world.resident2.id_number[-4:],
        },  # other building
        {"room": "1-101", "name": "不存在", "id_tail": person.id_number[-4:]},
    ]
    bodies = set()
    for data in tries:
        response = client.post(_url(world), {"action": "verify", **data})
        assert response.status_code == 400
        bodies.add(response.content.decode().count("These details do not match our records."))
    assert bodies == {1}
    client.post(_url(world), {"action": "verify", "room": "1-101", "name": "x", "id_tail": "1111"})
    right = {"action": "verify", "room": "1-101", "name": person.name, "id_tail": person.id_number[-4:]}
    # Five misses from this address: even the right answer waits now, so guessing gets nowhere.
    assert client.post(_url(world), right).status_code == 429
    with time_machine.travel(NOON + dt.timedelta(minutes=16), tick=False):
        assert client.post(_url(world), right).status_code == 302


def test_a_flood_from_one_address_gets_429(world: World, client: Client, settings) -> None:
    for _ in range(sr.POST_LIMIT_PER_MINUTE):
        client.post(_url(world), {"action": "report"})
    assert client.post(_url(world), {"action": "report"}).status_code == 429


@pytest.mark.parametrize("value", ["33.9", "43.1", "abc", "3650"])
def test_temperatures_outside_34_to_43_are_refused_and_nothing_is_saved(world: World, value: str) -> None:
    client = _verified(world)
    response = client.post(_url(world), {"action": "report", f"t-{world.resident1.pk}": value})
    assert response.status_code == 400
    assert "temperature" in response.content.decode().lower()
    assert not SelfReport.objects.exists()


def test_a_photo_that_is_not_an_image_or_too_large_is_refused(world: World) -> None:
    client = _verified(world)
    key = world.resident1.pk
    fake = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not a picture", content_type="image/jpeg")
    response = client.post(_url(world), {"action": "report", f"t-{key}": "36.6", f"photo-{key}": fake})
    assert response.status_code == 400 and "not a photo" in response.content.decode()
    big = SimpleUploadedFile("big.jpg", b"\xff" * (10 * 1024 * 1024 + 1), content_type="image/jpeg")
    response = client.post(_url(world), {"action": "report", f"t-{key}": "36.6", f"photo-{key}": big})
    assert response.status_code == 400 and "10 MB" in response.content.decode()
    assert not SelfReport.objects.exists()
    response = client.post(
        _url(world),
        {"action": "report", f"t-{key}": "36.6", f"ag-{key}": "negative", f"photo-{key}": _photo()},
    )
    assert response.status_code == 302
    assert SelfReport.objects.get().photo.name.endswith(".jpg")


def test_unwell_with_nothing_ticked_is_asked_what_is_wrong_not_saved_as_well(world: World) -> None:
    client = _verified(world)
    key = world.resident1.pk
    response = client.post(_url(world), {"action": "report", f"t-{key}": "36.8", f"feel-{key}": "unwell"})
    page = response.content.decode()
    assert response.status_code == 400 and "Tick what is wrong" in page
    assert f'name="feel-{key}" value="unwell" checked' in page  # the choice is kept, not flipped to "well"
    assert not SelfReport.objects.exists()
    answer = client.post(
        _url(world), {"action": "report", f"t-{key}": "36.8", f"feel-{key}": "unwell", f"s-{key}": "other"}
    )
    assert answer.status_code == 302 and SelfReport.objects.get().abnormal


def test_a_second_report_the_same_day_replaces_the_first_without_losing_it(world: World) -> None:
    client = _verified(world)
    key = world.resident1.pk
    client.post(_url(world), {"action": "report", f"t-{key}": "36.5"})
    with time_machine.travel(NOON + dt.timedelta(hours=3), tick=False):
        client.post(_url(world), {"action": "report", f"t-{key}": "38.1", f"s-{key}": ["cough"]})
    reports = list(SelfReport.objects.order_by("submitted_at"))
    assert [(r.temperature, r.current) for r in reports] == [
        (Decimal("36.5"), False),
        (Decimal("38.1"), True),
    ]
    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        client.post(_url(world), {"action": "report", f"t-{key}": "36.4"})
    assert SelfReport.objects.filter(current=True).count() == 2  # one for each day


def test_a_fever_becomes_a_two_hour_home_check_for_the_grid_worker_once_a_day(world: World) -> None:
    client = _verified(world)
    key = world.resident1.pk
    client.post(_url(world), {"action": "report", f"t-{key}": "37.8"})
    task = Task.objects.get(source=Task.Source.HEALTH)
    assert task.assignee == world.alice
    assert task.due_at == NOON + dt.timedelta(hours=2)
    assert task.priority == Task.Priority.URGENT
    assert world.resident1.name in task.title and "37.8" in task.detail
    assert world.alice.notifications.filter(title=task.title).exists()
    client.post(_url(world), {"action": "report", f"t-{key}": "38.2"})
    assert Task.objects.filter(source=Task.Source.HEALTH).count() == 1


def test_the_home_check_task_page_says_who_and_where_with_the_phone_masked_until_revealed(
    world: World, client: Client
) -> None:
    _verified(world).post(_url(world), {"action": "report", f"t-{world.resident1.pk}": "38.6"})
    task = Task.objects.get(source=Task.Source.HEALTH)
    client.force_login(world.alice)
    page = client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert 'id="resident"' in page and str(world.resident1.household) in page
    assert "13812341234" not in page and world.resident1.masked_phone in page
    assert reverse("health:reveal_phone", args=[world.resident1.pk]) in page
    client.force_login(world.observer)
    observed = client.get(reverse("tasks:detail", args=[task.pk]))
    assert observed.status_code in (200, 404) and 'id="resident"' not in observed.content.decode()


def test_symptoms_without_fever_become_a_call_and_a_positive_antigen_tells_the_commander(
    world: World,
) -> None:
    client = _verified(world)
    key = world.resident1.pk
    client.post(_url(world), {"action": "report", f"t-{key}": "36.6", f"s-{key}": ["cough", "sore_throat"]})
    call = Task.objects.get(source=Task.Source.HEALTH)
    assert call.priority == Task.Priority.HIGH and call.due_at == NOON + dt.timedelta(hours=4)
    world.commander.save()
    sr.self_reports_submit(
        household_id=world.resident1.household_id,
        entries=[sr.Entry(resident_id=key, temperature=Decimal("36.6"), antigen="positive")],
    )
    assert world.commander.notifications.filter(urgent=True).exists()


def test_a_person_of_another_household_cannot_be_reported_for(world: World) -> None:
    client = _verified(world)
    # Only a forged form names someone else: it is taken like any other and written for nobody.
    response = client.post(
        _url(world),
        {"action": "report", f"t-{world.resident2.pk}": "36.5", f"t-{world.resident1.pk}": "36.6"},
    )
    assert response.status_code == 302
    assert list(SelfReport.objects.values_list("resident_id", flat=True)) == [world.resident1.pk]
    assert not SelfReportInbox.objects.exists()


def test_the_cookie_of_one_building_does_not_open_another(world: World) -> None:
    client = _verified(world)
    other = reverse("health:report_page", args=[sr.building_token(world.building2.pk)])
    assert "Last 4 characters" in client.get(other).content.decode()


def test_rooms_are_matched_as_people_type_them() -> None:
    assert sr._room_matches("2单元301室", "2", "301")
    assert sr._room_matches("301", "2", "301")
    assert sr._room_matches("２-３０１", "2", "301")
    assert sr._room_matches("3号楼2单元301", "2", "301")
    assert sr._room_matches("3-2-301", "2", "301")
    assert sr._room_matches("二单元301", "2", "301")
    assert sr._room_matches("2 301", "2", "301")
    assert not sr._room_matches("1-301", "2", "301")
    assert not sr._room_matches("", "2", "301")


# --- staff follow-up ---------------------------------------------------------------------------------------


def _report(world: World, person, temperature: str = "36.5") -> None:
    sr.self_reports_submit(
        household_id=person.household_id,
        entries=[sr.Entry(resident_id=person.pk, temperature=Decimal(temperature))],
    )


def test_the_board_counts_the_day_by_building_in_scope(
    world: World, client: Client, django_assert_max_num_queries
) -> None:
    ResidentFactory(household=HouseholdFactory(building=world.building1, room="102"))
    _report(world, world.resident1, "38.0")
    _report(world, world.resident2)
    client.force_login(world.commander)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("health:board")).content.decode()
    summary = sr.day_summary(world.commander, NOON.date())
    assert (summary.expected, summary.reported, summary.abnormal, summary.fever) == (3, 2, 1, 1)
    assert world.resident1.name in page
    alice = sr.day_summary(world.alice, NOON.date())
    assert (alice.expected, alice.reported) == (2, 1)
    client.force_login(world.alice)
    assert world.resident2.name not in client.get(reverse("health:board")).content.decode()


def test_who_has_not_reported_with_masked_phones_to_reveal(world: World, client: Client) -> None:
    quiet = ResidentFactory(
        household=HouseholdFactory(building=world.building1, room="102"), phone="13700001111"
    )
    _report(world, world.resident1)
    client.force_login(world.alice)
    page = client.get(reverse("health:building", args=[world.building1.pk])).content.decode()
    assert quiet.name in page and "137****1111" in page and "13700001111" not in page
    revealed = client.post(reverse("health:reveal_phone", args=[quiet.pk])).content.decode()
    assert "13700001111" in revealed
    assert AuditLog.objects.filter(action="reveal", target_id=str(quiet.pk)).exists()


def test_other_grids_and_outsiders_get_404(world: World, client: Client) -> None:
    _report(world, world.resident1)
    report = SelfReport.objects.get()
    for seat in (world.bob, world.charlie):
        client.force_login(seat)
        assert client.get(reverse("health:building", args=[world.building1.pk])).status_code == 404
        assert client.post(reverse("health:reveal_phone", args=[world.resident1.pk])).status_code == 404
        assert client.get(reverse("health:resident_reports", args=[world.resident1.pk])).status_code == 404
        assert client.get(reverse("health:report_photo", args=[report.pk])).status_code == 404
    client.force_login(world.observer)
    assert client.post(reverse("health:reveal_phone", args=[world.resident1.pk])).status_code == 403


def test_the_antigen_photo_is_shown_to_staff_in_scope_only(world: World, client: Client) -> None:
    sr.self_reports_submit(
        household_id=world.resident1.household_id,
        entries=[
            sr.Entry(
                resident_id=world.resident1.pk,
                temperature=Decimal("36.5"),
                antigen="negative",
                photo=_photo(),
            )
        ],
    )
    report = SelfReport.objects.get()
    client.force_login(world.alice)
    response = client.get(reverse("health:report_photo", args=[report.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_the_poster_is_a_pdf_with_the_building_link(world: World, client: Client) -> None:
    client.force_login(world.alice)
    response = client.get(reverse("health:poster_pdf", args=[world.building1.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(reverse("health:poster_pdf", args=[world.building2.pk])).status_code == 404
    assert AuditLog.objects.filter(action="export").exists()


def test_a_worker_records_a_report_for_someone_without_a_smartphone(world: World, client: Client) -> None:
    client.force_login(world.alice)
    url = reverse("health:report_for", args=[world.resident1.pk])
    assert client.post(url, {f"t-{world.resident1.pk}": "44"}).status_code == 400
    response = client.post(url, {f"t-{world.resident1.pk}": "36.7", f"home-{world.resident1.pk}": "1"})
    assert response.status_code == 302
    report = SelfReport.objects.get()
    assert report.recorded_by == world.alice and report.temperature == Decimal("36.7")
    for seat in (world.bob, world.charlie):
        client.force_login(seat)
        assert client.get(url).status_code == 404
    client.force_login(world.observer)
    assert client.get(url).status_code == 403


def test_the_spot_check_draw_is_a_reproducible_tenth_of_each_grids_reporters() -> None:
    from linli.health.spotchecks import draw

    day = dt.date(2030, 3, 5)
    ids = list(range(1, 101))
    first = draw(ids, day=day, grid_id=7, community_id=1)
    assert len(first) == 10 and set(first) <= set(ids)
    assert draw(list(reversed(ids)), day=day, grid_id=7, community_id=1) == first
    assert draw(ids, day=day + dt.timedelta(days=1), grid_id=7, community_id=1) != first
    assert len(draw(ids[:5], day=day, grid_id=7, community_id=1)) == 1
    assert draw([], day=day, grid_id=7, community_id=1) == []


def test_reports_received_wait_in_the_inbox_until_a_worker_writes_them_in_order(
    world: World, monkeypatch
) -> None:
    from types import SimpleNamespace

    from linli.health import jobs

    spouse = ResidentFactory(household=world.resident1.household, name="李建华")
    household = world.resident1.household_id
    enqueued: list[int] = []
    # No worker this time: the reports wait.
    monkeypatch.setattr(jobs, "self_report_inbox_job", SimpleNamespace(enqueue=lambda: enqueued.append(1)))
    first = [sr.Entry(resident_id=world.resident1.pk, temperature=Decimal("38.0"))]
    second = [
        sr.Entry(resident_id=world.resident1.pk, temperature=Decimal("36.6")),
        sr.Entry(resident_id=spouse.pk, temperature=Decimal("36.7")),
    ]
    sr.self_report_accept(household_id=household, building_id=world.building1.pk, entries=first)
    with time_machine.travel(NOON + dt.timedelta(minutes=5), tick=False):
        sr.self_report_accept(household_id=household, building_id=world.building1.pk, entries=second)
    assert enqueued and not SelfReport.objects.exists()
    assert sr.inbox_pending(household) == {world.resident1.pk: False, spouse.pk: False}  # the later, 36.6
    assert sr.inbox_process(batch=1) == 2  # one at a time, oldest first
    rows = SelfReport.objects.filter(resident=world.resident1).order_by("submitted_at")
    assert [(r.temperature, r.current) for r in rows] == [(Decimal("38.0"), False), (Decimal("36.6"), True)]
    assert Task.objects.filter(source=Task.Source.HEALTH).count() == 1  # the fever counted when it came in
    assert AuditLog.objects.filter(action="self_report", ip__isnull=True).count() == 2
    assert sr.inbox_process() == 0 and not sr.inbox_pending(household)


def test_a_pass_that_has_caught_up_leaves_what_came_in_meanwhile_to_the_next(
    world: World, monkeypatch
) -> None:
    from types import SimpleNamespace

    from linli.health import jobs

    monkeypatch.setattr(jobs, "self_report_inbox_job", SimpleNamespace(enqueue=lambda: None))
    household, building = world.resident1.household_id, world.building1.pk

    def report(temperature: str) -> None:
        entry = sr.Entry(resident_id=world.resident1.pk, temperature=Decimal(temperature))
        sr.self_report_accept(household_id=household, building_id=building, entries=[entry])

    report("36.5")
    report("36.6")
    write = sr._inbox_write

    arrivals = iter(["36.7", "36.8"])

    def write_while_another_arrives(rows):  # type: ignore[no-untyped-def]
        write(rows)
        temperature = next(arrivals, None)
        if temperature:
            report(temperature)  # a resident posts while the worker writes

    monkeypatch.setattr(sr, "_inbox_write", write_while_another_arrives)
    assert sr.inbox_process(batch=5) == 2  # the batch was not full: caught up, the pass ends
    assert SelfReportInbox.objects.count() == 1
    monkeypatch.setattr(sr, "_inbox_write", write)
    assert sr.inbox_process(batch=5) == 1
    assert sr.inbox_process(batch=2) == 0 and not SelfReportInbox.objects.exists()
    for n in range(4):
        report(f"36.{n}")
    assert sr.inbox_process(batch=2) == 4  # full batches go on until the queue is empty
    assert list(SelfReport.objects.filter(current=True).values_list("temperature", flat=True)) == [
        Decimal("36.3")
    ]


def test_a_cough_then_a_fever_written_in_one_batch_make_one_home_check(world: World, monkeypatch) -> None:
    from types import SimpleNamespace

    from linli.health import jobs

    monkeypatch.setattr(jobs, "self_report_inbox_job", SimpleNamespace(enqueue=lambda: None))
    household, building, key = world.resident1.household_id, world.building1.pk, world.resident1.pk
    cough = sr.Entry(resident_id=key, temperature=Decimal("36.8"), symptoms=["cough"])
    fever = sr.Entry(resident_id=key, temperature=Decimal("38.4"), symptoms=["cough"])
    sr.self_report_accept(household_id=household, building_id=building, entries=[cough])
    with time_machine.travel(NOON + dt.timedelta(minutes=2), tick=False):
        sr.self_report_accept(household_id=household, building_id=building, entries=[fever])
    assert sr.inbox_process() == 2 and not SelfReportInbox.objects.exists()
    task = Task.objects.get(source=Task.Source.HEALTH, source_id=key)
    assert task.priority == Task.Priority.URGENT and "38.4" in task.title
    assert task.due_at <= timezone.now() + dt.timedelta(hours=2)
    assert task.detail.splitlines()[0].startswith("38.4")  # the later report first, the cough kept below


def test_an_older_report_written_late_does_not_replace_a_newer_one(world: World) -> None:
    key = world.resident1.pk
    household = world.resident1.household_id
    with time_machine.travel(NOON + dt.timedelta(minutes=5), tick=False):
        sr.self_reports_submit(
            household_id=household, entries=[sr.Entry(resident_id=key, temperature=Decimal("36.9"))]
        )
    sr.self_reports_submit(
        household_id=household, entries=[sr.Entry(resident_id=key, temperature=Decimal("36.1"))]
    )
    assert SelfReport.objects.get(current=True).temperature == Decimal("36.9")
    assert SelfReport.objects.count() == 2


def test_a_worse_report_later_the_same_day_turns_the_call_into_a_home_check(world: World) -> None:
    key, household = world.resident1.pk, world.resident1.household_id
    sr.self_reports_submit(
        household_id=household,
        entries=[sr.Entry(resident_id=key, temperature=Decimal("36.6"), symptoms=["cough"])],
    )
    call = Task.objects.get(source=Task.Source.HEALTH)
    assert call.priority == Task.Priority.HIGH
    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        sr.self_reports_submit(
            household_id=household, entries=[sr.Entry(resident_id=key, temperature=Decimal("39.2"))]
        )
    call.refresh_from_db()
    assert Task.objects.filter(source=Task.Source.HEALTH).count() == 1
    assert call.priority == Task.Priority.URGENT and "39.2" in call.title
    assert call.due_at == NOON + dt.timedelta(hours=3)


def test_repeated_symptoms_are_taken_once_and_a_refused_row_does_not_hold_up_the_rest(
    world: World, monkeypatch
) -> None:
    from types import SimpleNamespace

    from linli.health import jobs

    client = _verified(world)
    key = world.resident1.pk
    client.post(_url(world), {"action": "report", f"t-{key}": "36.6", f"s-{key}": ["cough"] * 40})
    assert SelfReport.objects.get().symptoms == "cough"
    # A row the database refuses (here: a made-up oversized value) is set aside; the next one is written.
    monkeypatch.setattr(jobs, "self_report_inbox_job", SimpleNamespace(enqueue=lambda: None))
    bad = SelfReportInbox.objects.create(
        household_id=world.resident1.household_id,
        building_id=world.building1.pk,
        entries=[{"resident": key, "temperature": "36.5", "away": "x" * 500, "at_home": False}],
        received_at=NOON,
    )
    monkeypatch.setattr(sr, "_inbox_write", _refusing(sr._inbox_write, bad.pk))
    sr.self_report_accept(
        household_id=world.resident2.household_id,
        building_id=world.building2.pk,
        entries=[sr.Entry(resident_id=world.resident2.pk, temperature=Decimal("36.4"))],
    )
    assert sr.inbox_process() == 2
    assert SelfReport.objects.filter(resident=world.resident2).exists()
    bad.refresh_from_db()
    assert bad.failed_at is not None and bad.error


def _refusing(write, bad_pk: int):
    from django.db import DataError

    def wrapped(rows):
        if any(r.pk == bad_pk for r in rows):
            raise DataError("value too long")
        return write(rows)

    return wrapped


def test_a_decompression_bomb_is_not_a_photo() -> None:
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, "PNG")
    upload = SimpleUploadedFile("bomb.png", buffer.getvalue(), content_type="image/png")
    with pytest.raises(ValidationError):
        sr.check_photo(upload)


def test_neighbours_mistyping_their_own_names_do_not_lock_the_building(world: World, client: Client) -> None:
    for n in range(40):
        other = Client(REMOTE_ADDR=f"10.0.0.{n}", headers={"Accept-Language": "en"})
        other.post(_url(world), {"action": "verify", "room": "1-101", "name": f"某人{n}", "id_tail": "1234"})
    person = world.resident1
    right = {
        "action": "verify",
        "room": "1号楼1单元101",
        "name": person.name,
        "id_tail": person.id_number[-4:],
    }
    assert client.post(_url(world), right).status_code == 302


def test_a_report_not_yet_written_shows_as_received_with_what_to_do(world: World, monkeypatch) -> None:
    from types import SimpleNamespace

    from linli.health import jobs

    client = _verified(world)
    key = world.resident1.pk
    client.post(_url(world), {"action": "report", f"t-{key}": "36.5"})
    monkeypatch.setattr(jobs, "self_report_inbox_job", SimpleNamespace(enqueue=lambda: None))  # worker busy
    response = client.post(_url(world), {"action": "report", f"t-{key}": "38.4"}, follow=True)
    page = response.content.decode()
    assert "received" in page and "please stay at home" in page
    assert "reported" not in page.split("received")[0].split(f'data-member="{key}"')[-1]


@pytest.mark.django_db(transaction=True)
def test_a_received_report_the_database_refuses_leaves_nothing_behind(world: World, monkeypatch) -> None:
    """Outside a transaction (as in a request) the report goes in one round trip on PostgreSQL; a refused
    one is rolled back there and then, and the next report on the same connection is taken."""
    from types import SimpleNamespace

    from django.db import DatabaseError

    from linli.health import jobs

    monkeypatch.setattr(jobs, "self_report_inbox_job", SimpleNamespace(enqueue=lambda: None))
    entries = [sr.Entry(resident_id=world.resident1.pk, temperature=Decimal("36.6"))]
    household = world.resident1.household_id
    with pytest.raises((DatabaseError, OverflowError)):
        # An id no table can hold: refused by the database (or by SQLite's driver before it).
        sr.self_report_accept(household_id=2**64, building_id=world.building1.pk, entries=entries)
    assert not SelfReportInbox.objects.exists()
    sr.self_report_accept(household_id=household, building_id=world.building1.pk, entries=entries)
    assert list(SelfReportInbox.objects.values_list("household_id", flat=True)) == [household]
    assert sr.inbox_process() == 1
    assert SelfReport.objects.get().temperature == Decimal("36.6")


def test_the_posters_page_counts_the_households_living_there(world: World, client: Client) -> None:
    HouseholdFactory(building=world.building1, room="999")  # nobody lives there
    client.force_login(world.commander)
    response = client.get(reverse("health:posters"))
    assert response.status_code == 200
    rows = {b.pk: b.household_count for b in response.context["buildings"]}
    assert rows[world.building1.pk] == 1
