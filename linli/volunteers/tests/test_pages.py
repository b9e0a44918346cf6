"""Volunteer pages and API from the three seats; sign-up, approval, call-out, check-in on a phone;
enterprise registration and enrolment; volunteers kept to their own pages."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook

from linli.core.models import AuditLog, ImportJob, User
from linli.factories import TEST_PASSWORD, make_id_number
from linli.volunteers.models import Certificate, Enterprise, Need, PointEntry, Shift, Volunteer
from linli.volunteers.services import call_out, need_create
from linli.volunteers.tests.conftest import Force, make_volunteer, tonight

pytestmark = pytest.mark.django_db


def login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_the_pool_and_a_record_are_seen_in_the_community_only(client: Client, force: Force) -> None:
    w = force.world
    v = make_volunteer(force, "李护士", "first-aid", building=w.building1)
    for seat, status in (
        (w.alice, 200),
        (w.bob, 200),
        (w.commander, 200),
        (w.street_admin, 200),
        (w.charlie, 404),
    ):
        client.logout()
        login(client, seat)
        assert client.get(f"/volunteers/{v.pk}/").status_code == status, seat
        assert ("李护士" in client.get("/volunteers/").content.decode()) is (status == 200)
    client.logout()
    login(client, w.charlie)
    assert client.get("/api/v1/volunteers?skill=first-aid").json() == []


def test_phones_and_ids_are_masked_on_the_record(client: Client, force: Force) -> None:
    v = make_volunteer(force, "李护士", "first-aid", phone="13812345678")
    v.id_number = make_id_number()
    v.save()
    login(client, force.world.commander)
    page = client.get(f"/volunteers/{v.pk}/").content.decode()
    assert "13812345678" not in page and v.id_number not in page and "5678" in page


def test_grid_workers_see_but_do_not_coordinate(client: Client, force: Force) -> None:
    v = make_volunteer(force, "甲", "first-aid")
    login(client, force.world.alice)
    assert client.post(f"/volunteers/{v.pk}/", {"action": "suspended", "note": "x"}).status_code == 403
    start, end = tonight()
    answer = client.post(
        "/volunteers/needs/",
        {
            "title": "值守",
            "skills": [force.skills["first-aid"].pk],
            "count": 1,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert answer.status_code == 403 and not Need.objects.exists()


def test_public_sign_up_approval_and_the_volunteer_s_own_page(client: Client, force: Force) -> None:
    w = force.world
    form = {
        "name": "赵志愿",
        "phone": "139 1234 0000",
        "password": "secret-pass-1",
        "building": w.building1.pk,
        "skills": [force.skills["liaison"].pk],
        "availability": ["0", "1", "2"],
    }
    answer = client.post(f"/v/signup/{w.community.code}/", form)
    assert "agreement" in answer.content.decode()  # consent is required
    form["consent"] = "on"
    answer = client.post(f"/v/signup/{w.community.code}/", form)
    assert answer.status_code == 302 and answer["Location"] == "/v/"
    volunteer = Volunteer.objects.get(phone="13912340000")
    assert volunteer.status == "applied" and volunteer.availability == 0b111 and volunteer.agreement_signed_at
    assert "your application" in client.get("/v/").content.decode().lower()
    # A volunteer's account opens no staff page.
    assert client.get("/residents/")["Location"] == "/v/"
    assert client.get(f"/volunteers/{volunteer.pk}/")["Location"] == "/v/"
    client.logout()
    login(client, force.liaison_lead)
    client.post(f"/volunteers/{volunteer.pk}/", {"action": "active"})
    volunteer.refresh_from_db()
    assert volunteer.status == "active" and volunteer.approved_by == force.liaison_lead
    assert AuditLog.objects.filter(target_id=str(volunteer.pk), action="update").exists()
    again = client.post(f"/v/signup/{w.community.code}/", form)
    assert "already registered" in again.content.decode()


def test_call_out_accept_check_in_and_hours_through_the_pages(client: Client, force: Force) -> None:
    import time_machine

    a = make_volunteer(force, "甲", "first-aid", building=force.world.building1)
    start, end = tonight()
    login(client, force.liaison_lead)
    answer = client.post(
        "/volunteers/needs/",
        {
            "title": "12号楼值守",
            "skills": [force.skills["first-aid"].pk],
            "count": 1,
            "building": force.world.building1.pk,
            "starts_at": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": timezone.localtime(end).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    need = Need.objects.get()
    assert answer["Location"] == f"/volunteers/needs/{need.pk}/"
    page = client.get(answer["Location"]).content.decode()
    assert f'data-candidate="{a.pk}"' in page and "<svg" in page
    client.post(answer["Location"], {"action": "chosen", "volunteer": [a.pk]})
    shift = Shift.objects.get()
    client.logout()
    assert client.login(username=a.user.username, password=TEST_PASSWORD)  # type: ignore[union-attr]
    client.post("/v/", {"shift": shift.pk, "answer": "accept"})
    shift.refresh_from_db()
    assert shift.status == "accepted"
    with time_machine.travel(start - dt.timedelta(minutes=10)):
        client.force_login(a.user)  # type: ignore[arg-type]  # a day later: the session has expired
        page = client.post(
            f"/v/checkin/{need.checkin_token}/", {"action": "in"}, follow=True
        ).content.decode()
        assert "Checked in at" in page
    with time_machine.travel(start + dt.timedelta(hours=3)):
        client.post(f"/v/checkin/{need.checkin_token}/", {"action": "out"})
    shift.refresh_from_db()
    assert shift.hours == 3
    assert "3" in client.get("/v/").content.decode()
    assert PointEntry.objects.filter(volunteer=a, reason="hours").get().points == 3


def test_a_need_nobody_can_fill_says_so_and_lists_the_nearest_alternatives(
    client: Client, force: Force
) -> None:
    make_volunteer(force, "护士乙", "nursing")
    make_volunteer(
        force, "证书过期", "first-aid", certified_until=timezone.localdate() - dt.timedelta(days=3)
    )
    start, end = tonight()
    need = need_create(
        actor=force.liaison_lead,
        community=force.world.community,
        title="急救",
        skills=[force.skills["first-aid"]],
        count=2,
        starts_at=start,
        ends_at=end,
    )
    login(client, force.liaison_lead)
    page = client.get(f"/volunteers/needs/{need.pk}/").content.decode()
    assert 'id="nobody"' in page and "护士乙" in page


def test_batch_dispatch_page_and_api(client: Client, force: Force) -> None:
    w = force.world
    both = make_volunteer(force, "两样都会", "first-aid", "liaison", building=w.building1)
    only = make_volunteer(force, "只会联络", "liaison", building=w.building2)
    start, end = tonight()
    login(client, force.liaison_lead)
    body = {
        "needs": [
            {
                "skills": ["liaison"],
                "count": 1,
                "community": "nanli",
                "building": w.building1.pk,
                "start": (start - dt.timedelta(hours=1)).isoformat(),
                "end": end.isoformat(),
            },
            {
                "skills": ["first-aid"],
                "count": 1,
                "community": "nanli",
                "building": w.building1.pk,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
            {
                "skills": ["sign-language"],
                "count": 2,
                "community": "nanli",
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        ]
    }
    answer = client.post("/api/v1/volunteers/dispatch", json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert [n["assigned"][0]["volunteer"] for n in data["needs"][:2]] == [only.pk, both.pk]
    assert data["needs"][2]["unmet"] == 2 and data["needs"][2]["reason"]
    assert data["filled"] == 2 and data["greedy_filled"] == 1
    body["needs"][0]["skills"] = ["juggling"]
    assert (
        client.post(
            "/api/v1/volunteers/dispatch", json.dumps(body), content_type="application/json"
        ).status_code
        == 400
    )
    client.logout()
    login(client, w.charlie)
    body["needs"][0]["skills"] = ["liaison"]
    assert (
        client.post(
            "/api/v1/volunteers/dispatch", json.dumps(body), content_type="application/json"
        ).status_code
        == 404
    )
    client.logout()
    login(client, force.liaison_lead)
    for title, skill, shift in (("联络", "liaison", -1), ("急救", "first-aid", 0)):
        need_create(
            actor=force.liaison_lead,
            community=w.community,
            title=title,
            skills=[force.skills[skill]],
            count=1,
            starts_at=start + dt.timedelta(hours=shift),
            ends_at=end,
            building=w.building1,
        )
    page = client.get("/volunteers/dispatch/").content.decode()
    assert "两样都会" in page and "只会联络" in page
    needs = {n.title: n.pk for n in Need.objects.all()}
    client.post(
        "/volunteers/dispatch/",
        {
            "community_code": "nanli",
            "need": list(needs.values()),
            f"need-{needs['联络']}": [only.pk],
            f"need-{needs['急救']}": [both.pk],
        },
    )
    assert set(Shift.objects.values_list("volunteer_id", "need__title")) == {
        (only.pk, "联络"),
        (both.pk, "急救"),
    }


def _roster(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["京南物业 应急志愿者名册"])
    sheet.merge_cells("A1:H1")
    sheet.append(["姓名", "手机号码", "身份证号", "技能", "层级", "证书编号", "发证日期", "有效期至"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_enterprise_registers_is_approved_and_enrols_employees_from_a_spreadsheet(
    client: Client, force: Force
) -> None:
    w = force.world
    answer = client.post(
        "/v/enterprise/register/",
        {
            "street": w.community.street_id,
            "name": "京南物业",
            "credit_code": "91110105MA01ABCD26",
            "contact": "陈经理",
            "phone": "13901010001",
            "password": "secret-pass-1",
        },
    )
    assert answer.status_code == 302
    enterprise = Enterprise.objects.get()
    assert enterprise.status == "applied"
    assert "not approved" in client.get("/v/").content.decode()
    client.logout()
    login(client, w.street_admin)
    client.post("/volunteers/enterprises/", {"enterprise": enterprise.pk, "status": "approved"})
    enterprise.refresh_from_db()
    assert enterprise.status == "approved"
    client.logout()
    assert client.login(username="13901010001", password="secret-pass-1")
    content = _roster(
        [
            [
                "刘师傅",
                "13901010002",
                make_id_number(),
                "电工、水暖工",
                "专业组",
                "DG-001",
                "2024-01-01",
                "2030-01-01",
            ],
            [None, None, None, None, None, None, None, None],
            ["张三", "12345", "", "电工", "专业组", "", "", ""],
            ["李四", "13901010003", "110101199001011235", "杂耍", "", "", "", ""],
            ["王五", "13901010002", "", "驾驶", "", "", "", ""],
            ["赵六", "13901010004", "", "医疗急救", "专家组", "JJ-9", "2024-01-01", "2023-01-01"],
        ]
    )
    for attempt in (1, 2):
        client.post(
            "/v/enrol/",
            {
                "file": SimpleUploadedFile("名册.xlsx", content),
                "enterprise": enterprise.pk,
                "community": w.community.pk,
            },
        )
        job = ImportJob.objects.latest("pk")
        job.refresh_from_db()
        assert job.status == "previewed", job.message
        assert {e["row"] for e in job.errors} == {5, 6, 7, 8}
        assert client.get(f"/imports/{job.pk}/").status_code == 200
        client.post(f"/imports/{job.pk}/commit/")
        job.refresh_from_db()
        assert (job.created, job.unchanged) == ((1, 0) if attempt == 1 else (0, 1))
    enrolled = Volunteer.objects.get(phone="13901010002")
    assert enrolled.enterprise == enterprise and enrolled.status == "applied"
    assert set(enrolled.skills.values_list("code", flat=True)) == {"electrician", "plumber"}
    assert Certificate.objects.get(volunteer=enrolled).number == "DG-001"
    page = client.get("/v/").content.decode()
    assert "刘师傅" in page
    export = client.get("/v/?format=xlsx")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    # The enterprise contact sees no staff page and no other enterprise's import.
    assert client.get("/volunteers/")["Location"] == "/v/"
    other = ImportJob.objects.create(
        kind="registry.residents", community=w.community, filename="x.xlsx", content=b""
    )
    assert client.get(f"/imports/{other.pk}/").status_code == 404


def test_the_honour_roll_ranks_by_points(client: Client, force: Force) -> None:
    a = make_volunteer(force, "多", "liaison")
    b = make_volunteer(force, "少", "liaison")
    PointEntry.objects.create(volunteer=a, reason="hours", hours=10, points=10)
    PointEntry.objects.create(volunteer=b, reason="hours", hours=2, points=2)
    login(client, force.world.commander)
    page = client.get("/volunteers/honour/").content.decode()
    assert page.index("多") < page.index("少")


def test_suspending_withdraws_open_call_outs(client: Client, force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    start, end = tonight()
    need = need_create(
        actor=force.liaison_lead,
        community=force.world.community,
        title="x",
        skills=[force.skills["first-aid"]],
        count=1,
        starts_at=start,
        ends_at=end,
    )
    call_out(actor=force.liaison_lead, need=need, volunteers=[a])
    login(client, force.world.commander)
    assert "Say why" in str(
        client.post(f"/volunteers/{a.pk}/", {"action": "suspended"}, follow=True).content.decode()
    )
    client.post(f"/volunteers/{a.pk}/", {"action": "suspended", "note": "违反纪律"})
    assert Shift.objects.get().status == "withdrawn"
    assert User.objects.filter(pk=a.user_id).exists()


def test_coordinators_reveal_a_volunteer_s_phone_and_it_is_logged(client: Client, force: Force) -> None:
    v = make_volunteer(force, "甲", "liaison", phone="13812345678")
    login(client, force.world.alice)
    assert client.post(f"/volunteers/{v.pk}/reveal/").status_code == 403
    client.logout()
    login(client, force.liaison_lead)
    assert "13812345678" in client.post(f"/volunteers/{v.pk}/reveal/").content.decode()
    assert AuditLog.objects.filter(action="reveal", actor=force.liaison_lead, target_id=str(v.pk)).exists()
