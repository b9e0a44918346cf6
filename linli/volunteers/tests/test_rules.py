"""The rules a review found missing: no takeovers, no over-filling, scope, suspensions, bad input."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from linli.core.models import AuditLog, ImportJob
from linli.core.roles import Role
from linli.factories import TEST_PASSWORD, BuildingFactory, UserFactory
from linli.volunteers.models import Certificate, Enterprise, Injury, Need, Shift, Volunteer
from linli.volunteers.services import (
    backfill,
    call_out,
    check_in,
    need_close,
    need_create,
    rank_candidates,
    shift_answer,
    volunteer_set_status,
    volunteer_sign_up,
)
from linli.volunteers.tests.conftest import Force, make_volunteer, tonight
from linli.volunteers.tests.test_pages import _roster, login

pytestmark = pytest.mark.django_db


def need_for(force: Force, count: int = 1, skill: str = "first-aid", **kwargs) -> Need:  # type: ignore[no-untyped-def]
    start, end = kwargs.pop("window", tonight())
    return need_create(
        actor=force.liaison_lead,
        community=force.world.community,
        title="值守",
        skills=[force.skills[skill]],
        count=count,
        starts_at=start,
        ends_at=end,
        **kwargs,
    )


def test_sign_up_cannot_claim_an_active_or_staff_registered_record(force: Force) -> None:
    v = make_volunteer(force, "李医生", "first-aid", phone="13812340001", user=False)
    with pytest.raises(ValidationError, match="already registered"):
        volunteer_sign_up(
            community=force.world.community,
            name="李医生",
            phone="13812340001",
            password="x-secret-1",
            consent=True,
        )
    enterprise = Enterprise.objects.create(
        street=force.world.community.street,
        name="京南",
        credit_code="91110105MA01ABCD26",
        contact="陈",
        phone="13900000000",
        status="approved",
    )
    enrolled = Volunteer.objects.create(
        community=force.world.community,
        name="刘师傅",
        phone="13812340002",
        enterprise=enterprise,
        status="applied",
    )
    claimed = volunteer_sign_up(
        community=force.world.community,
        name="刘师傅",
        phone="13812340002",
        password="x-secret-1",
        consent=True,
    )
    assert claimed.pk == enrolled.pk and claimed.user is not None and claimed.status == "applied"
    assert v.user is None


def test_an_enterprise_upload_never_takes_over_someone_else_s_record(client: Client, force: Force) -> None:
    w = force.world
    resident = make_volunteer(force, "王阿姨", "liaison", phone="13812340003")
    enterprise = Enterprise.objects.create(
        street=w.community.street,
        name="京南",
        credit_code="91110105MA01ABCD26",
        contact="陈",
        phone="13900000000",
        status="approved",
    )
    contact = UserFactory(username="ent", role=Role.ENTERPRISE)
    enterprise.accounts.add(contact)
    login(client, contact)
    content = _roster(
        [["冒名", "13812340003", "", "医疗急救", "专家组", "FAKE-1", "2024-01-01", "2030-01-01"]]
    )
    client.post(
        "/v/enrol/",
        {
            "file": SimpleUploadedFile("x.xlsx", content),
            "enterprise": enterprise.pk,
            "community": w.community.pk,
        },
    )
    job = ImportJob.objects.latest("pk")
    job.refresh_from_db()
    assert job.accepted == 0 and "registered elsewhere" in job.errors[0]["message"]
    resident.refresh_from_db()
    assert (
        resident.name == "王阿姨"
        and resident.enterprise is None
        and not Certificate.objects.filter(number="FAKE-1").exists()
    )


def test_a_coordinator_upload_cannot_reach_another_community_s_volunteer(
    client: Client, force: Force
) -> None:
    w = force.world
    enterprise = Enterprise.objects.create(
        street=w.community.street,
        name="京南",
        credit_code="91110105MA01ABCD26",
        contact="陈",
        phone="13900000000",
        status="approved",
    )
    Volunteer.objects.create(
        community=w.charlie.community,
        name="外社区",
        phone="13812340004",
        enterprise=enterprise,
        status="active",
    )
    login(client, w.commander)
    content = _roster([["外社区", "13812340004", "", "电工", "专家组", "", "", ""]])
    client.post(
        "/v/enrol/",
        {
            "file": SimpleUploadedFile("x.xlsx", content),
            "enterprise": enterprise.pk,
            "community": w.community.pk,
        },
    )
    job = ImportJob.objects.latest("pk")
    job.refresh_from_db()
    assert job.accepted == 0 and job.rejected == 1


def test_team_members_do_not_upload_enrolments(client: Client, force: Force) -> None:
    login(client, force.liaison_lead)
    assert client.get("/v/enrol/").status_code == 403


def test_suspension_withdraws_accepted_shifts_and_stops_check_in(force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    need = need_for(force)
    call_out(actor=force.liaison_lead, need=need, volunteers=[a])
    shift = Shift.objects.get()
    shift_answer(actor=a.user, shift=shift, accept=True)  # type: ignore[arg-type]
    volunteer_set_status(actor=force.liaison_lead, volunteer=a, status="suspended", note="违反纪律")
    shift.refresh_from_db()
    assert shift.status == "withdrawn"
    with pytest.raises(ValidationError):
        check_in(actor=a.user, need=need, at=need.starts_at)  # type: ignore[arg-type]


def test_a_need_is_never_over_filled(force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    b = make_volunteer(force, "乙", "first-aid")
    c = make_volunteer(force, "丙", "first-aid")
    need = need_for(force, count=1)
    call_out(actor=force.liaison_lead, need=need, volunteers=[a, b])
    shift_answer(actor=a.user, shift=Shift.objects.get(volunteer=a), accept=True)  # type: ignore[arg-type]
    assert Shift.objects.get(volunteer=b).status == "withdrawn"  # the last place taken withdraws the rest
    need2 = need_for(
        force, count=1, window=(need.starts_at + dt.timedelta(days=1), need.ends_at + dt.timedelta(days=1))
    )
    call_out(actor=force.liaison_lead, need=need2, volunteers=[b, c])
    need_close(actor=force.liaison_lead, need=need2)
    with pytest.raises(ValidationError):
        shift_answer(actor=b.user, shift=Shift.objects.get(need=need2, volunteer=b), accept=True)  # type: ignore[arg-type]
    assert backfill(need=need2) == []


def test_manual_call_outs_skip_people_the_ranking_would_not_accept(force: Force) -> None:
    lapsed = make_volunteer(
        force, "证书过期", "first-aid", certified_until=timezone.localdate() - dt.timedelta(days=1)
    )
    day_only = make_volunteer(force, "只白天", "first-aid", on_call=False, availability=0b011)
    fine = make_volunteer(force, "合格", "first-aid")
    need = need_for(force, count=3)
    made = call_out(actor=force.liaison_lead, need=need, volunteers=[lapsed, day_only, fine])
    assert [s.volunteer for s in made] == [fine]


def test_candidates_stay_within_the_coordinator_s_communities(force: Force) -> None:
    w = force.world
    outsider = make_volunteer(force, "别社区", "first-aid")
    outsider.community = w.charlie.community
    outsider.save()
    mine = make_volunteer(force, "本社区", "first-aid")
    need = need_for(force, count=2)
    assert [c.volunteer for c in rank_candidates(need, actor=force.liaison_lead)] == [mine]
    assert {c.volunteer for c in rank_candidates(need, actor=w.street_admin)} == {mine, outsider}
    assert call_out(actor=force.liaison_lead, need=need, volunteers=[outsider]) == []


def test_the_distance_label_is_the_distance_not_the_cost(force: Force) -> None:
    from decimal import Decimal

    from linli.volunteers.models import PointEntry

    near = make_volunteer(force, "近但常值班", "first-aid", building=force.world.building1)
    PointEntry.objects.create(volunteer=near, reason="hours", hours=Decimal(60), points=Decimal(60))
    need = need_for(force, building=force.world.building1)
    [candidate] = rank_candidates(need, actor=force.liaison_lead)
    assert candidate.distance == 0 and candidate.recent_hours == 60


def test_non_overlapping_needs_may_share_a_volunteer_in_one_batch(force: Force) -> None:
    from linli.volunteers import dispatch

    a = make_volunteer(force, "甲", "first-aid")
    start, end = tonight()
    w = force.world
    specs = [
        dispatch.NeedSpec(
            0,
            w.community.pk,
            None,
            None,
            (force.skills["first-aid"].pk,),
            1,
            start,
            end,
            street_id=w.community.street_id,
        ),
        dispatch.NeedSpec(
            1,
            w.community.pk,
            None,
            None,
            (force.skills["first-aid"].pk,),
            1,
            end,
            end + dt.timedelta(hours=3),
            street_id=w.community.street_id,
        ),
    ]
    pool = dispatch.load_pool(street_ids=[w.community.street_id])
    solution = dispatch.solve(pool, specs)
    assert solution.assigned == {0: [(a.pk, 2000)], 1: [(a.pk, 2000)]}


def test_the_dispatch_api_takes_local_times_refuses_long_shifts_and_fills_skill_less_needs(
    client: Client, force: Force
) -> None:
    make_volunteer(force, "后勤", "logistics")
    make_volunteer(force, "急救", "first-aid")
    start, end = tonight()
    login(client, force.liaison_lead)
    body = {
        "needs": [
            {
                "skills": [],
                "count": 1,
                "community": "nanli",
                "start": start.replace(tzinfo=None).isoformat(),
                "end": end.replace(tzinfo=None).isoformat(),
            },
            {
                "skills": ["first-aid"],
                "count": 1,
                "community": "nanli",
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        ]
    }
    answer = client.post("/api/v1/volunteers/dispatch", json.dumps(body), content_type="application/json")
    assert answer.status_code == 200 and answer.json()["filled"] == 2
    body["needs"][0]["end"] = (start + dt.timedelta(days=3)).isoformat()
    assert (
        client.post(
            "/api/v1/volunteers/dispatch", json.dumps(body), content_type="application/json"
        ).status_code
        == 400
    )


def test_bad_input_is_refused_without_a_server_error(client: Client, force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    need = need_for(force)
    login(client, force.world.commander)
    assert client.get("/volunteers/honour/?year=abc").status_code == 200
    assert client.get("/volunteers/honour/?year=99999").status_code == 200
    assert (
        client.post(f"/volunteers/needs/{need.pk}/", {"action": "chosen", "volunteer": ["abc"]}).status_code
        == 302
    )
    assert (
        client.post("/volunteers/enterprises/", {"enterprise": "x", "status": "approved"}).status_code == 404
    )
    client.logout()
    assert client.login(username=a.user.username, password=TEST_PASSWORD)  # type: ignore[union-attr]
    assert client.post("/v/", {"shift": "abc", "answer": "accept"}).status_code == 404
    client.post(
        "/v/injury/",
        {"injury-occurred_at": "2026-11-01T10:00", "injury-description": "扭伤", "injury-claim": "settled"},
    )
    assert Injury.objects.get().claim == "none"


def test_filled_needs_do_not_claim_nobody_can_come(client: Client, force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    need = need_for(force)
    call_out(actor=force.liaison_lead, need=need, volunteers=[a])
    shift_answer(actor=a.user, shift=Shift.objects.get(), accept=True)  # type: ignore[arg-type]
    login(client, force.liaison_lead)
    assert 'id="nobody"' not in client.get(f"/volunteers/needs/{need.pk}/").content.decode()


def test_back_fill_and_check_in_are_audited(force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid")
    b = make_volunteer(force, "乙", "first-aid")
    need = need_for(force)
    call_out(actor=force.liaison_lead, need=need, volunteers=[a])
    shift_answer(actor=a.user, shift=Shift.objects.get(volunteer=a), accept=False)  # type: ignore[arg-type]
    assert Shift.objects.get(volunteer=b).status == "offered"
    assert AuditLog.objects.filter(target_id=str(need.pk), detail__contains="back-filled").exists()
    shift_answer(actor=b.user, shift=Shift.objects.get(volunteer=b), accept=True)  # type: ignore[arg-type]
    check_in(actor=b.user, need=need, at=need.starts_at)  # type: ignore[arg-type]
    assert AuditLog.objects.filter(target_id=str(need.pk), detail="checked in").exists()


def test_grid_follows_the_building(force: Force) -> None:
    a = make_volunteer(force, "甲", "liaison", building=force.world.building1)
    assert a.grid == force.world.grid1
    a.building = force.world.building2
    a.save()
    assert a.grid == force.world.grid2


def test_a_renewed_certificate_is_no_longer_listed_as_lapsing(client: Client, force: Force) -> None:
    a = make_volunteer(force, "甲", "first-aid", certified_until=timezone.localdate() - dt.timedelta(days=5))
    login(client, force.world.commander)
    assert "甲" in client.get("/volunteers/").content.decode().split('id="expiring"')[1]
    Certificate.objects.create(
        volunteer=a,
        skill=force.skills["first-aid"],
        number="NEW",
        issuer="红会",
        issued_on=timezone.localdate(),
        expires_on=timezone.localdate() + dt.timedelta(days=700),
    )
    assert "甲" not in client.get("/volunteers/").content.decode().split('id="expiring"')[1]


def test_certificate_scans_are_served_in_scope_and_logged(
    client: Client, force: Force, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    a = make_volunteer(force, "甲", "first-aid")
    cert = Certificate.objects.get(volunteer=a)
    cert.scan.save("scan.png", io.BytesIO(b"\x89PNG fake"))
    login(client, force.world.charlie)
    assert client.get(f"/volunteers/certificates/{cert.pk}/scan/").status_code == 404
    client.logout()
    login(client, force.world.commander)
    assert client.get(f"/volunteers/certificates/{cert.pk}/scan/").status_code == 200
    assert AuditLog.objects.filter(action="reveal", detail__contains="scan").exists()


def test_list_pages_read_a_constant_number_of_queries(
    client: Client, force: Force, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from linli.volunteers.models import PointEntry

    for n in range(15):
        v = make_volunteer(
            force,
            f"志愿者{n}",
            "liaison",
            "first-aid",
            building=BuildingFactory(community=force.world.community, grid=force.world.grid1),
        )
        PointEntry.objects.create(volunteer=v, reason="hours", hours=Decimal(2), points=Decimal(2))
        need_for(force, skill="liaison")
    login(client, force.world.commander)
    for url, limit in (
        ("/volunteers/", 30),
        ("/volunteers/needs/", 20),
        ("/volunteers/honour/", 14),
        ("/volunteers/dispatch/", 60),
    ):
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200, url


def test_credit_codes_are_checked_like_the_business_licence() -> None:
    from linli.volunteers.services import clean_credit_code

    assert clean_credit_code(" 91110105ma01abcd26 ") == "91110105MA01ABCD26"
    for bad in ("91110105MA01ABCD27", "91110105MA02XYZQ01", "123"):
        with pytest.raises(ValidationError):
            clean_credit_code(bad)


def test_sign_up_shows_every_problem_at_once(client: Client, force: Force) -> None:
    page = client.post(
        f"/v/signup/{force.world.community.code}/",
        {
            "name": "赵",
            "phone": "1234567",
            "password": "abc",
            "id_number": "110101199001011230",
            "consent": "on",
        },
    ).content.decode()
    assert page.count('class="errorlist"') >= 3 and "at least 8 characters" in page


def test_a_volunteer_who_cannot_come_after_all_is_back_filled(force: Force) -> None:
    from linli.volunteers.services import shift_cancel_by_volunteer

    a = make_volunteer(force, "甲", "first-aid")
    b = make_volunteer(force, "乙", "first-aid")
    need = need_for(force)
    call_out(actor=force.liaison_lead, need=need, volunteers=[a])
    shift = Shift.objects.get(volunteer=a)
    shift_answer(actor=a.user, shift=shift, accept=True)  # type: ignore[arg-type]
    shift_cancel_by_volunteer(actor=a.user, shift=Shift.objects.get(pk=shift.pk))  # type: ignore[arg-type]
    assert Shift.objects.get(pk=shift.pk).status == "declined"
    assert Shift.objects.get(volunteer=b).status == "offered"


def test_refusals_are_pages_in_the_layout(client: Client, force: Force) -> None:
    login(client, force.world.alice)
    page = client.get("/supplies/import/")
    assert page.status_code == 403 and 'class="nav"' in page.content.decode()
