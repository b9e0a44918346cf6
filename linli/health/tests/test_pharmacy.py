"""Pharmacy reports: a fever-medicine buyer is found in the ledger and checked at the door within 2 hours;
pharmacies report on their own form (rate-limited) or through the API; staff see masked phones and IDs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from linli.api.services import api_token_create
from linli.comms.models import Notification
from linli.conftest import World
from linli.core.models import AuditLog
from linli.factories import EntranceFactory, HouseholdFactory, ResidentFactory, make_id_number
from linli.health import keysites
from linli.health import pharmacy as svc
from linli.health.models import KeySite, PharmacyReport, SiteKind
from linli.health.views.pharmacy import FORM_LIMIT_PER_ADDRESS
from linli.tasks.models import Task, Team

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2030, 6, 3, 21, 30, tzinfo=CST)
# Valid, and nobody's in the ledger.
STRANGER_ID = make_id_number(dt.date(1990, 1, 2), "F", area="310101", seq=2)


@pytest.fixture(autouse=True)
def _evening() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop(world: World) -> KeySite:
    return keysites.key_site_save(
        actor=world.commander,
        community=world.community,
        values=keysites.SiteValues(name="康宁大药房", kind=SiteKind.PHARMACY, building=world.building1),
    )


def report(world: World, shop: KeySite | None = None, **fields: object) -> tuple[PharmacyReport, Task]:
    values: dict[str, object] = {
        "actor": world.commander,
        "community": world.community,
        "pharmacy": shop,
        "pharmacy_name": "" if shop else "路边药店",
        "buyer_name": "李秀英",
        "medicine": "布洛芬",
        "bought_at": NOW - dt.timedelta(minutes=20),
    } | fields
    return svc.pharmacy_report_record(**values)  # type: ignore[arg-type]


def login(user: object) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)  # type: ignore[arg-type]
    return client


# --- matching and the home check ------------------------------------------------------------------------


def test_a_buyer_found_by_id_number_gets_a_home_check_from_their_grid_worker_within_2_hours(
    world: World, shop: KeySite
) -> None:
    r, task = report(world, shop, buyer_id_number=world.resident1.id_number.lower(), buyer_name="李秀英")
    assert r.resident == world.resident1 and r.building_id == world.building1.pk
    assert task.source == Task.Source.PHARMACY and task.source_id == r.pk
    assert task.assignee_id == world.alice.pk and task.commander_id == world.commander.pk
    assert task.due_at == NOW + dt.timedelta(hours=2) and task.priority == Task.Priority.HIGH
    assert task.grid_id == world.grid1.pk
    assert "李秀英" in task.title and "138****1234" not in task.title
    assert Notification.objects.filter(
        user=world.alice, urgent=True, url=reverse("tasks:detail", args=[task.pk])
    ).exists()
    assert AuditLog.objects.filter(
        action="create", target_type="health.pharmacyreport", target_id=str(r.pk)
    ).exists()


def test_a_buyer_is_found_by_phone_else_by_name_and_address(world: World, shop: KeySite) -> None:
    by_phone, _t = report(world, shop, buyer_name="王建国", buyer_phone="+86 139-0000-5678")
    assert by_phone.resident == world.resident2 and by_phone.buyer_phone == "13900005678"
    by_address, task = report(world, shop, buyer_name="李秀英", address="南里社区1号楼1单元101室")
    assert by_address.resident == world.resident1 and task.assignee_id == world.alice.pk


def test_a_shared_phone_is_decided_by_the_name(world: World, shop: KeySite) -> None:
    ResidentFactory(household=world.resident1.household, name="李建华", phone=world.resident1.phone)
    r, _t = report(world, shop, buyer_name="李秀英", buyer_phone=world.resident1.phone)
    assert r.resident == world.resident1
    r, _t = report(world, shop, buyer_name="李小明", buyer_phone=world.resident1.phone)
    assert r.resident is None


def test_only_a_single_match_counts_and_a_different_id_number_is_never_taken(
    world: World, shop: KeySite
) -> None:
    entrance2 = EntranceFactory(building=world.building1, number="2")
    ResidentFactory(
        household=HouseholdFactory(building=world.building1, entrance=entrance2, room="101"), name="李秀英"
    )
    r, _t = report(world, shop, buyer_name="李秀英", address="1号楼101")
    assert r.resident is None  # two 李秀英 in a room 101 of building 1 (two entrances)
    r, _t = report(
        world, shop, buyer_name="王建国", buyer_phone=world.resident2.phone, buyer_id_number=STRANGER_ID
    )
    assert r.resident is None


def test_an_unknown_buyer_goes_to_the_data_group_and_the_commander_hears_of_it(
    world: World, shop: KeySite
) -> None:
    r, task = report(world, shop, buyer_name="周立新", buyer_phone="13700001111", address="附近")
    assert r.resident is None and r.building_id is None
    assert task.team == Team.DATA and task.assignee_id is None and task.priority == Task.Priority.URGENT
    assert task.leader_id == world.commander.pk and task.due_at == NOW + dt.timedelta(hours=2)
    assert Notification.objects.filter(user=world.commander, title=task.title).exists()


def test_bad_input_is_refused_by_field(world: World, shop: KeySite) -> None:
    with pytest.raises(ValidationError) as caught:
        report(
            world,
            shop,
            buyer_name=" ",
            buyer_phone="12345",
            buyer_id_number="110105198005170001",
            medicine="",
            quantity=0,
            bought_at=NOW + dt.timedelta(hours=1),
        )
    assert set(caught.value.message_dict) == {
        "buyer_name",
        "buyer_phone",
        "buyer_id_number",
        "medicine",
        "quantity",
        "bought_at",
    }
    with pytest.raises(ValidationError, match="more than 7 days ago"):
        report(world, shop, bought_at=NOW - dt.timedelta(days=8))
    with pytest.raises(ValidationError, match="which pharmacy"):
        report(world, None, pharmacy_name=" ")
    assert PharmacyReport.objects.count() == 0


def test_observers_and_outsiders_cannot_report(world: World, shop: KeySite) -> None:
    for who in (world.observer, world.charlie):
        with pytest.raises(PermissionDenied):
            report(world, shop, actor=who)


# --- the pharmacy's own form ----------------------------------------------------------------------------


def test_the_pharmacys_form_takes_a_report_without_login(world: World, shop: KeySite) -> None:
    url = reverse("health:pharmacy_public", args=[svc.form_key(shop)])
    browser = Client(headers={"Accept-Language": "en"}, enforce_csrf_checks=True)
    page = browser.get(url)
    assert page.status_code == 200
    # "no-referrer" would make browsers post with "Origin: null", which the CSRF check refuses.
    assert page["Referrer-Policy"] == "same-origin"
    token = page.cookies["csrftoken"].value
    response = browser.post(
        url,
        {
            "buyer_name": "王建国",
            "buyer_phone": "13900005678",
            "medicine": "对乙酰氨基酚",
            "quantity": "2",
            "bought_at": "2030-06-03T21:10",
            "csrfmiddlewaretoken": token,
        },
        headers={"Origin": "http://testserver"},
        follow=True,
    )
    assert "The community will check on the buyer within 2 hours" in response.content.decode()
    r = PharmacyReport.objects.get()
    assert (r.via, r.pharmacy, r.reported_by, r.resident) == ("link", shop, None, world.resident2)
    assert r.bought_at == dt.datetime(2030, 6, 3, 21, 10, tzinfo=CST)


def test_the_form_shows_errors_by_field(world: World, shop: KeySite) -> None:
    url = reverse("health:pharmacy_public", args=[svc.form_key(shop)])
    response = Client(headers={"Accept-Language": "en"}).post(
        url,
        {"buyer_name": "王建国", "buyer_id_number": "11010519800517000X", "medicine": "布洛芬", "quantity": "1",
         "bought_at": "2030-06-04T09:00"},
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400
    assert 'data-field="buyer_id_number"' in page and "check character is wrong" in page
    assert "The time of purchase is in the future" in page
    assert PharmacyReport.objects.count() == 0


def test_the_form_link_is_not_the_public_token_and_only_for_pharmacies(world: World, shop: KeySite) -> None:
    browser = Client()
    assert browser.get(reverse("health:pharmacy_public", args=[shop.token])).status_code == 404
    forged = f"{shop.pk}-{'0' * 16}"
    assert browser.get(reverse("health:pharmacy_public", args=[forged])).status_code == 404
    market = keysites.key_site_save(
        actor=world.commander,
        community=world.community,
        values=keysites.SiteValues(name="超市", kind=SiteKind.SUPERMARKET),
    )
    assert browser.get(reverse("health:pharmacy_public", args=[svc.form_key(market)])).status_code == 404
    old = svc.form_key(shop)
    keysites.key_site_new_token(actor=world.commander, site=shop)
    assert browser.get(reverse("health:pharmacy_public", args=[old])).status_code == 404


def test_a_flood_of_posts_is_refused_with_429(world: World, shop: KeySite) -> None:
    url = reverse("health:pharmacy_public", args=[svc.form_key(shop)])
    browser = Client(headers={"Accept-Language": "en"})
    for _ in range(FORM_LIMIT_PER_ADDRESS):
        assert browser.post(url, {"buyer_name": ""}).status_code == 400
    flooded = browser.post(
        url, {"buyer_name": "王建国", "medicine": "布洛芬", "quantity": "1", "bought_at": "2030-06-03T21:00"}
    )
    assert flooded.status_code == 429 and "Too many reports" in flooded.content.decode()
    assert PharmacyReport.objects.count() == 0
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get(url).status_code == 200


# --- staff pages ----------------------------------------------------------------------------------------


def test_the_list_shows_masked_numbers_to_the_seats_that_may_see_each_report(
    world: World, shop: KeySite
) -> None:
    mine, _t = report(world, shop, buyer_id_number=world.resident1.id_number, buyer_phone="13812341234")
    unknown, _t = report(world, shop, buyer_name="周立新", buyer_phone="13700001111")
    url = reverse("health:pharmacy_reports")
    alice = login(world.alice).get(url).content.decode()
    assert "李秀英" in alice and "周立新" not in alice
    assert "138****1234" in alice and "13812341234" not in alice and world.resident1.id_number not in alice
    assert "李秀英" not in login(world.bob).get(url).content.decode()
    assert "李秀英" not in login(world.charlie).get(url).content.decode()
    commander = login(world.commander).get(url + "?show=unmatched").content.decode()
    assert "周立新" in commander and "李秀英" not in commander
    assert login(world.bob).get(reverse("health:pharmacy_report", args=[mine.pk])).status_code == 404
    assert login(world.charlie).get(reverse("health:pharmacy_report", args=[unknown.pk])).status_code == 404
    assert login(world.alice).get(reverse("health:pharmacy_report", args=[mine.pk])).status_code == 200


def test_the_list_keeps_its_query_count(world: World, shop: KeySite, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(10):
        report(world, shop, buyer_name=f"买家{n}", buyer_phone=f"1370000{n:04d}")
    client = login(world.commander)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("health:pharmacy_reports"))
    assert response.content.decode().count("买家") == 10


def test_revealing_a_buyers_phone_is_logged_and_limited_by_role(world: World, shop: KeySite) -> None:
    r, _t = report(world, shop, buyer_name="周立新", buyer_phone="13700001111")
    url = reverse("health:pharmacy_report_reveal", args=[r.pk, "buyer_phone"])
    response = login(world.commander).post(url)
    assert "13700001111" in response.content.decode()
    assert AuditLog.objects.filter(
        action="reveal", target_type="health.pharmacyreport", target_id=str(r.pk)
    ).exists()
    assert login(world.observer).post(url).status_code == 403
    assert (
        login(world.commander)
        .post(reverse("health:pharmacy_report_reveal", args=[r.pk, "address"]))
        .status_code
        == 404
    )


def test_staff_type_in_a_report_phoned_in(world: World, shop: KeySite) -> None:
    client = login(world.alice)
    url = reverse("health:pharmacy_report_new")
    assert client.get(url).status_code == 200
    bad = client.post(
        url, {"buyer_name": "李秀英", "medicine": "布洛芬", "quantity": "1", "bought_at": "2030-06-03T21:00"}
    )
    assert bad.status_code == 400 and "Choose the pharmacy" in bad.content.decode()
    good = client.post(
        url,
        {"pharmacy": shop.pk, "buyer_name": "李秀英", "address": "1号楼1单元101", "medicine": "布洛芬", "quantity": "1",
         "bought_at": "2030-06-03T21:00"},
        follow=True,
    )  # fmt: skip
    r = PharmacyReport.objects.get()
    assert (r.via, r.reported_by, r.resident) == ("form", world.alice, world.resident1)
    assert "is in the ledger" in good.content.decode()
    assert login(world.observer).get(url).status_code == 403


# --- the API ----------------------------------------------------------------------------------------------


def _bearer(role: str, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_create(actor=None, role=role, scope_code=scope)[1]}"}


def test_the_api_takes_a_report_by_pharmacy_token_or_name(world: World, shop: KeySite) -> None:
    client = Client()
    body = {"pharmacy": shop.token, "buyer_name": "李秀英", "buyer_id_number": world.resident1.id_number,
            "medicine": "布洛芬", "quantity": 1, "bought_at": "2030-06-03T21:00:00+08:00"}  # fmt: skip
    headers = _bearer("community_admin", "nanli")
    response = client.post(
        "/api/v1/health/pharmacy-reports", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["matched"] is True and Task.objects.get(pk=out["task_id"]).assignee_id == world.alice.pk
    assert PharmacyReport.objects.get(pk=out["id"]).via == "api"
    by_name = client.post(
        "/api/v1/health/pharmacy-reports",
        body | {"pharmacy": "康宁大药房", "buyer_id_number": "", "buyer_name": "周立新"},
        content_type="application/json",
        headers=headers,
    )
    assert by_name.status_code == 201 and by_name.json()["matched"] is False
    assert PharmacyReport.objects.get(pk=by_name.json()["id"]).pharmacy == shop


def test_the_api_refuses_bad_input_outsiders_and_strangers(world: World, shop: KeySite) -> None:
    client = Client()
    body = {"pharmacy": shop.token, "buyer_name": "李秀英", "buyer_phone": "12345", "medicine": "布洛芬"}
    url = "/api/v1/health/pharmacy-reports"
    bad = client.post(url, body, content_type="application/json", headers=_bearer("community_admin", "nanli"))
    assert bad.status_code == 400 and bad.json()["detail"].startswith("buyer_phone:")
    assert client.post(url, body, content_type="application/json").status_code == 401
    # Another community's account does not see nanli's pharmacy: the name is an unregistered pharmacy of its own.
    other = client.post(url, body | {"pharmacy": "康宁大药房", "buyer_phone": ""}, content_type="application/json",
                        headers=_bearer("community_admin", "other"))  # fmt: skip
    assert other.status_code == 201
    created = PharmacyReport.objects.get(pk=other.json()["id"])
    assert (created.community, created.pharmacy, created.resident) == (world.charlie.community, None, None)
    street = client.post(url, body | {"pharmacy": "某药店", "buyer_phone": ""}, content_type="application/json",
                         headers=_bearer("street_admin", world.community.street.code))  # fmt: skip
    assert street.status_code == 400 and "community" in street.json()["detail"]
    observer = client.post(
        url, body | {"buyer_phone": ""}, content_type="application/json", headers=_bearer("observer", "nanli")
    )
    assert observer.status_code == 403


def test_an_observer_sees_the_list_with_buyers_masked_and_no_ones_report(world: World, shop: KeySite) -> None:
    r, _t = report(world, shop, buyer_name="周立新", buyer_phone="13700001111")
    observer = login(world.observer)
    page = observer.get(reverse("health:pharmacy_reports")).content.decode()
    assert "周立新" not in page and "周*" in page
    assert reverse("health:pharmacy_report", args=[r.pk]) not in page
    assert observer.get(reverse("health:pharmacy_report", args=[r.pk])).status_code == 403
    staff = login(world.commander).get(reverse("health:pharmacy_reports")).content.decode()
    assert "周立新" in staff and reverse("health:pharmacy_report", args=[r.pk]) in staff
