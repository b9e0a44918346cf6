"""Verifying dispatched records: the worker's two taps, the board, the data group, the API and access."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.api.services import api_token_create
from linli.comms.models import Notification
from linli.core.models import AuditLog
from linli.epidemic.intake import dispatch_list_receive
from linli.epidemic.models import DispatchBatch, DispatchRecord, Outcome
from linli.epidemic.services import record_verify
from linli.epidemic.tests.test_intake import xlsx
from linli.factories import HouseholdFactory, ResidentFactory
from linli.tasks.models import Task
from linli.tasks.services import task_set_status


def login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def batch(world) -> DispatchBatch:
    """Two records for alice's building 1, one nobody can match (data group)."""
    ResidentFactory(household=world.resident1.household, name="李二")
    content = xlsx(
        [
            ["李秀英", world.resident1.id_number, "", "", "密接"],
            ["李二", "", "", "1号楼101", "次密接"],
            ["无此人", "", "", "88号楼1单元101", ""],
        ]
    )
    return dispatch_list_receive(
        actor=world.commander,
        community=world.community,
        content=content,
        filename="list.xlsx",
        sender="区大数据中心",
    ).batch


def records(batch: DispatchBatch) -> list[DispatchRecord]:
    return list(DispatchRecord.objects.filter(batch=batch).order_by("row"))


def test_the_worker_closes_a_record_in_one_tap_and_its_task_is_done(world, batch) -> None:
    first = records(batch)[0]
    response = login(world.alice).post(
        reverse("epidemic:verify", args=[first.pk]), {"result": "phone"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Put under control" in response.content.decode()
    first.refresh_from_db()
    assert first.result == "phone" and first.verified_by == world.alice and first.verified_at is not None
    task = Task.objects.get(source=Task.Source.VERIFICATION, source_id=first.pk)
    assert task.status == Task.Status.DONE and "reached by phone" in task.result
    log = AuditLog.objects.get(target_id=str(first.pk), detail__startswith="verification")
    assert log.actor == world.alice and log.detail == "verification - → phone"


def test_the_batch_completes_when_every_record_is_verified_and_the_sender_is_told(
    world, batch, django_capture_on_commit_callbacks
) -> None:
    a, b, unmatched = records(batch)
    record_verify(actor=world.alice, record=a, result="phone")
    record_verify(actor=world.alice, record=b, result="visited")
    batch.refresh_from_db()
    assert batch.completed_at is None
    # The unmatched one is the data group's: any acting staff of the community (here the commander).
    assert unmatched.assignee_id is None and unmatched.outcome == Outcome.NOT_FOUND
    record_verify(actor=world.commander, record=unmatched, result="not_ours")
    batch.refresh_from_db()
    assert batch.completed_at is not None
    assert Notification.objects.filter(user=world.commander, title__contains="return report").exists()
    page = login(world.commander).get(reverse("epidemic:board"))
    assert "complete" in page.content.decode()


def test_closing_the_task_on_the_task_page_verifies_the_record_too(world, batch) -> None:
    first = records(batch)[0]
    task = Task.objects.get(source=Task.Source.VERIFICATION, source_id=first.pk)
    task_set_status(actor=world.alice, task=task, status=Task.Status.DONE, result="打过电话")
    first.refresh_from_db()
    assert first.verified_at is not None and first.result_note == "打过电话"


def test_other_grids_outsiders_and_observers_cannot_see_or_verify(world, batch) -> None:
    first = records(batch)[0]
    url = reverse("epidemic:verify", args=[first.pk])
    assert login(world.bob).post(url, {"result": "phone"}).status_code == 404
    assert login(world.charlie).post(url, {"result": "phone"}).status_code == 404
    assert login(world.charlie).get(reverse("epidemic:batch", args=[batch.pk])).status_code == 404
    login(world.observer).post(url, {"result": "phone"})
    first.refresh_from_db()
    assert first.verified_at is None
    # Bob sees the batch page but none of grid 1's records.
    page = login(world.bob).get(reverse("epidemic:batch", args=[batch.pk])).content.decode()
    assert "李秀英" not in page


def test_a_bad_outcome_is_refused_with_a_message(world, batch) -> None:
    first = records(batch)[0]
    response = login(world.alice).post(
        reverse("epidemic:verify", args=[first.pk]), {"result": "teleported"}, headers={"HX-Request": "true"}
    )
    assert "Choose what you found" in response.content.decode()
    first.refresh_from_db()
    assert first.verified_at is None


def test_the_data_group_picks_the_right_candidate_and_the_worker_gets_it(world) -> None:
    h = HouseholdFactory(building=world.building1, room="505")
    one = ResidentFactory(household=h, name="周大海")
    ResidentFactory(household=HouseholdFactory(building=world.building2, room="202"), name="周大海")
    batch = dispatch_list_receive(
        actor=world.commander,
        community=world.community,
        content=xlsx([["周大海", "", "", "", ""]]),
        filename="x.xlsx",
    ).batch
    record = records(batch)[0]
    assert record.outcome == Outcome.AMBIGUOUS and record.assignee_id is None
    client = login(world.commander)
    page = client.get(reverse("epidemic:batch", args=[batch.pk])).content.decode()
    assert "Who is it?" in page
    client.post(reverse("epidemic:resolve", args=[record.pk]), {"resident": one.pk})
    record.refresh_from_db()
    assert record.outcome == Outcome.RESIDENT and record.resident == one and record.assignee == world.alice
    task = Task.objects.get(source=Task.Source.VERIFICATION, source_id=record.pk)
    assert task.assignee == world.alice and task.team == ""
    assert record in list(DispatchRecord.objects.filter(assignee=world.alice))


def test_upload_in_the_browser_and_the_same_file_again(world) -> None:
    client = login(world.commander)
    content = xlsx([["李秀英", world.resident1.id_number, "", "", ""]])
    response = client.post(
        reverse("epidemic:upload"),
        {
            "file": SimpleUploadedFile("名单.xlsx", content),
            "sender": "区疾控",
            "control_type": _type_id(world),
        },
    )
    assert response.status_code == 302
    batch = DispatchBatch.objects.get()
    again = client.post(
        reverse("epidemic:upload"),
        {
            "file": SimpleUploadedFile("again.xlsx", content),
            "sender": "区疾控",
            "control_type": _type_id(world),
        },
    )
    assert again.status_code == 409
    assert f"list #{batch.pk}" in again.content.decode()
    bad = client.post(
        reverse("epidemic:upload"),
        {"file": SimpleUploadedFile("photo.xlsx", b"\x89PNG not a sheet"), "control_type": _type_id(world)},
    )
    assert bad.status_code == 400 and DispatchBatch.objects.count() == 1
    assert (
        login(world.alice)
        .post(reverse("epidemic:upload"), {"file": SimpleUploadedFile("x.xlsx", content)})
        .status_code
        == 403
    )


def _type_id(world) -> int:  # type: ignore[no-untyped-def]
    from linli.epidemic.selectors import control_types_for

    return control_types_for(world.community.pk)[0].pk


def test_the_api_takes_a_list_with_a_department_token_and_reports_progress(world) -> None:
    _token, raw = api_token_create(
        actor=None, role="department", scope_code=world.community.street.code, name="区疾控"
    )
    client = Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})
    content = xlsx([["李秀英", world.resident1.id_number, "", "", "密接"], ["查无此人", "", "", "", ""]])
    url = reverse("api:dispatch_list_create") + f"?community={world.community.code}&control_type=companion"
    response = client.post(url, {"file": SimpleUploadedFile("list.xlsx", content)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rows"] == 2 and body["counts"]["resident"] == 1 and body["counts"]["not_found"] == 1
    assert body["tasks_created"] == 2
    again = client.post(url, {"file": SimpleUploadedFile("list.xlsx", content)})
    assert again.status_code == 409 and again.json()["batch"] == body["batch"]
    detail = client.get(reverse("api:dispatch_list_detail", args=[body["batch"]])).json()
    progress = detail["progress"]
    assert progress.pop("next_due") is not None
    assert progress == {
        "total": 2,
        "verified": 0,
        "open": 2,
        "late": 0,
        "complete": False,
        "completed_at": None,
    }
    first = detail["records"][0]
    assert first["outcome"] == "resident" and first["evidence"] == "id" and "*" in first["id_number"]
    report = client.get(reverse("api:dispatch_list_report", args=[body["batch"]]))
    assert report.status_code == 200 and report["Content-Type"].startswith("application/vnd.openxmlformats")
    # A department cannot work on the tasks it caused.
    assert login(DispatchBatch.objects.get().received_by).post(
        reverse("epidemic:verify", args=[DispatchRecord.objects.first().pk]),
        {"result": "phone"},  # type: ignore[union-attr]
    ).status_code in (403, 404, 302)


def test_the_api_refuses_other_communities_bad_files_and_unknown_types(world) -> None:
    _token, raw = api_token_create(actor=None, role="community_admin", scope_code="other", name="x")
    client = Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})
    base = reverse("api:dispatch_list_create")
    ok = SimpleUploadedFile("list.xlsx", xlsx([["李秀英", world.resident1.id_number, "", "", ""]]))
    assert client.post(base + f"?community={world.community.code}", {"file": ok}).status_code == 404
    bad = client.post(base + "?community=other", {"file": SimpleUploadedFile("a.csv", b"")})
    assert bad.status_code == 400 and "empty" in bad.json()["detail"]
    unknown = client.post(base + "?community=other&control_type=zombie", {"file": ok})
    assert unknown.status_code == 400 and "close_contact" in unknown.json()["detail"]


def test_late_records_lead_the_workers_list_and_the_board_counts_them(world, batch) -> None:
    later = timezone.now() + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        page = login(world.alice).get(reverse("epidemic:mine")).content.decode()
        # The close contact (1.5 h) is late, the secondary contact (4 h) is not.
        assert page.index("李秀英") < page.index("李二")
        assert "1 past the deadline" in page
        board = login(world.commander).get(reverse("epidemic:batch", args=[batch.pk])).content.decode()
        # With the unmatched one: a list without a type is treated as the strictest (close contact, 1.5 h).
        assert "2 past the deadline" in board


def test_list_pages_keep_their_query_count(world, batch, django_assert_max_num_queries) -> None:
    client = login(world.commander)
    for _ in range(3):
        dispatch_list_receive(
            actor=world.commander,
            community=world.community,
            content=xlsx([["李秀英", world.resident1.id_number, "", "", str(_)]]),
            filename=f"{_}.xlsx",
        )
    with django_assert_max_num_queries(20):
        assert client.get(reverse("epidemic:board")).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(reverse("epidemic:batch", args=[batch.pk])).status_code == 200
    alice = login(world.alice)
    with django_assert_max_num_queries(14):
        assert alice.get(reverse("epidemic:mine")).status_code == 200


def test_the_resident_page_says_an_unverified_list_names_them(world, batch) -> None:
    page = login(world.alice).get(reverse("registry:resident", args=[world.resident1.pk])).content.decode()
    assert "not verified yet" in page
    record_verify(actor=world.alice, record=records(batch)[0], result="phone")
    page = login(world.alice).get(reverse("registry:resident", args=[world.resident1.pk])).content.decode()
    assert "not verified yet" not in page
