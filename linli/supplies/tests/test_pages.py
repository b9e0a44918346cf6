"""Supplies pages and API from the three seats, requests on the response page, the board, import."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from linli.core.models import AuditLog, ImportJob
from linli.factories import TEST_PASSWORD
from linli.plans.models import Plan, SupplyNeed
from linli.response.models import Response
from linli.response.services import response_activate
from linli.supplies.models import Lot, Movement, SupplyRequest, Target
from linli.supplies.selectors import board, ledger_mismatches
from linli.supplies.services import stocktake_start
from linli.supplies.tests.conftest import Stock, receive

pytestmark = pytest.mark.django_db


def login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_the_board_is_red_below_target_and_turns_when_stock_arrives(client: Client, stock: Stock) -> None:
    # 2 residents × 0.00667 suits a day × 30 days → a target of 1 suit (rounded up); none on hand.
    row = next(r for r in board(stock.world.community) if r.item.code == "protective-suit")
    assert row.is_short and row.on_hand == 0 and row.to_order == row.target_quantity
    login(client, stock.world.alice)
    page = client.get("/supplies/").content.decode()
    assert 'class="row-short" data-item="protective-suit"' in page
    receive(stock, 5)
    page = client.get("/supplies/").content.decode()
    assert 'class="row-short" data-item="protective-suit"' not in page
    assert 'data-item="protective-suit"' in page


def test_targets_from_a_plan_and_fixed_quantities(stock: Stock, small_plan: Plan) -> None:
    SupplyNeed.objects.create(plan=small_plan, item="防护服", quantity=Decimal(120), unit="套")
    Target.objects.create(
        community=stock.world.community, item=stock.suits, basis="plan", plan=small_plan, days=30
    )
    receive(stock, 60)
    row = next(r for r in board(stock.world.community) if r.item.code == "protective-suit")
    assert row.target_quantity == 120 and row.shortfall == 60
    assert row.daily_use == 4 and row.days_of_supply == 15


def test_contracted_stock_reduces_what_to_order(stock: Stock) -> None:
    from linli.supplies.models import SupplierAgreement

    Target.objects.create(community=stock.world.community, item=stock.suits, basis="fixed", quantity=100)
    receive(stock, 30)
    today = timezone.localdate()
    SupplierAgreement.objects.create(
        street=stock.world.community.street,
        supplier="京南医疗",
        phone="13800009999",
        item=stock.suits,
        quantity=50,
        lead_time_hours=12,
        valid_from=today,
        valid_until=today + dt.timedelta(days=30),
    )
    row = next(r for r in board(stock.world.community) if r.item.code == "protective-suit")
    assert (row.shortfall, row.contracted, row.to_order, row.lead_time_hours) == (70, 50, 20, 12)


def test_storage_points_are_seen_by_their_community_and_street_only(client: Client, stock: Stock) -> None:
    w = stock.world
    for seat, status in (
        (w.alice, 200),
        (w.bob, 200),
        (w.observer, 200),
        (w.street_admin, 200),
        (w.charlie, 404),
    ):
        client.logout()
        login(client, seat)
        assert client.get(f"/supplies/points/{stock.point.pk}/").status_code == status, seat
    login(client, w.charlie)
    assert "南里应急点" not in client.get("/supplies/points/").content.decode()
    assert client.get(f"/supplies/points/{stock.other_point.pk}/").status_code == 200


def test_grid_workers_and_observers_cannot_move_stock(client: Client, stock: Stock) -> None:
    receive(stock, 5)
    for seat in (stock.world.alice, stock.world.observer):
        client.logout()
        login(client, seat)
        assert client.get(f"/supplies/points/{stock.point.pk}/issue/").status_code == 403
        answer = client.post(
            f"/supplies/points/{stock.point.pk}/issue/",
            {"item": stock.suits.pk, "quantity": "1", "recipient": "team", "team": "medical"},
        )
        assert answer.status_code == 403
    assert Movement.objects.filter(kind="issue").count() == 0


def test_logistics_issues_from_the_page_and_sees_the_shortage_when_asking_too_much(
    client: Client, stock: Stock
) -> None:
    receive(stock, 10)
    receive(stock, 25, point=stock.point2)
    login(client, stock.logistics)
    url = f"/supplies/points/{stock.point.pk}/issue/"
    answer = client.post(
        url, {"item": stock.suits.pk, "quantity": "12", "recipient": "team", "team": "medical"}
    )
    page = answer.content.decode()
    assert answer.status_code == 200 and "Only 10" in page and "南里二号点" in page
    answer = client.post(
        url, {"item": stock.suits.pk, "quantity": "1.5", "recipient": "team", "team": "medical"}
    )
    assert "whole" in answer.content.decode()
    answer = client.post(
        url, {"item": stock.suits.pk, "quantity": "4", "recipient": "team", "team": "medical"}
    )
    assert answer.status_code == 302
    assert Lot.objects.get(point=stock.point).on_hand == 6
    assert AuditLog.objects.filter(action="stock", actor=stock.logistics).count() == 1


def test_issue_to_a_household_by_address(client: Client, stock: Stock) -> None:
    receive(stock, 10)
    login(client, stock.logistics)
    household = stock.world.resident1.household
    text = f"{household.building.number}-{household.entrance.number}-{household.room}"
    answer = client.post(
        f"/supplies/points/{stock.point.pk}/issue/",
        {"item": stock.suits.pk, "quantity": "2", "recipient": "household", "household": text},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Movement.objects.get(kind="issue").household == household


def test_stocktake_posts_variances_with_reasons(client: Client, stock: Stock) -> None:
    receive(stock, 10)
    login(client, stock.logistics)
    answer = client.post(f"/supplies/points/{stock.point.pk}/stocktake/")
    sheet = stock.point.stocktakes.get()
    assert answer["Location"] == f"/supplies/stocktakes/{sheet.pk}/"
    line = sheet.lines.get()
    answer = client.post(answer["Location"], {f"count-{line.pk}": "8", f"reason-{line.pk}": ""})
    assert "Say why" in answer.content.decode()
    assert Lot.objects.get().on_hand == 10
    answer = client.post(
        f"/supplies/stocktakes/{sheet.pk}/", {f"count-{line.pk}": "8", f"reason-{line.pk}": "两套破损"}
    )
    assert answer.status_code == 302
    adjust = Movement.objects.get(kind="adjust")
    assert adjust.quantity == -2 and "两套破损" in adjust.note
    assert stocktake_start(actor=stock.logistics, point=stock.point).pk != sheet.pk
    assert ledger_mismatches() == []


def test_rotation_lists_what_expires_within_90_days(client: Client, stock: Stock) -> None:
    receive(stock, 3, days=30, batch="SOON")
    receive(stock, 3, days=200, batch="LATER")
    login(client, stock.world.bob)
    page = client.get("/supplies/rotation/").content.decode()
    assert "SOON" in page and "LATER" not in page


@pytest.fixture
def asked(client: Client, stock: Stock, small_plan: Plan) -> tuple[Response, SupplyRequest]:
    """Alice, a grid worker on an active response, asks for 12 suits from its page."""
    response = response_activate(actor=stock.world.commander, plan=small_plan, level=3, reason="疫情")
    receive(stock, 30)
    login(client, stock.world.alice)
    client.post(
        f"/supplies/responses/{response.pk}/request/",
        {"team": "liaison", "item": stock.suits.pk, "quantity": "12", "note": "入户"},
    )
    return response, SupplyRequest.objects.get()


def test_requests_on_the_response_page_go_request_issue_receive(
    client: Client, stock: Stock, asked: tuple[Response, SupplyRequest]
) -> None:
    w = stock.world
    response, request = asked
    assert request.status == "requested"
    page = client.get(f"/responses/{response.pk}/").content.decode()
    assert 'id="supplies"' in page and "× 12" in page
    assert (
        client.post(f"/supplies/requests/{request.pk}/issue/", {"point": stock.point.pk}).status_code == 403
    )
    request.refresh_from_db()
    assert request.status == "requested"  # alice may not issue
    client.logout()
    login(client, stock.logistics)
    client.post(f"/supplies/requests/{request.pk}/issue/", {"point": stock.point.pk})
    request.refresh_from_db()
    assert request.status == "issued" and request.issued_from == stock.point
    assert Movement.objects.get(kind="issue").response == response
    client.logout()
    login(client, w.alice)
    client.post(f"/supplies/requests/{request.pk}/receive/")
    request.refresh_from_db()
    assert request.status == "received" and request.received_by == w.alice
    client.logout()
    login(client, w.charlie)
    assert client.post(f"/supplies/requests/{request.pk}/receive/").status_code == 404


def test_plan_page_shows_live_stock_for_its_supply_list(
    client: Client, stock: Stock, small_plan: Plan
) -> None:
    SupplyNeed.objects.create(plan=small_plan, item="防护服", quantity=Decimal(50), unit="套")
    SupplyNeed.objects.create(plan=small_plan, item="挡水板", quantity=Decimal(5), unit="块")
    receive(stock, 20)
    login(client, stock.world.commander)
    page = client.get(f"/plans/{small_plan.pk}/").content.decode()
    assert "南里应急点 20" in page and "not a catalogue item" in page


def test_exports_and_the_stock_card_are_audited(client: Client, stock: Stock) -> None:
    receive(stock, 7, batch="CARD1")
    login(client, stock.world.commander)
    answer = client.get(f"/supplies/points/{stock.point.pk}/stock.xlsx")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert [c.value for c in sheet[2]][:4] == ["南里应急点", "Protective suits", "套", "CARD1"]
    answer = client.get(f"/supplies/points/{stock.point.pk}/card/?format=html")
    assert "CARD1" in answer.content.decode()
    assert client.get("/supplies/ledger/?format=xlsx").status_code == 200
    assert AuditLog.objects.filter(action="export", actor=stock.world.commander).count() == 2


def test_api_balances_and_movements(client: Client, stock: Stock) -> None:
    receive(stock, 10)
    receive(stock, 4, point=stock.warehouse)
    login(client, stock.logistics)
    rows = client.get("/api/v1/supplies/balances?community=nanli").json()
    mine = {(r["item"], r["storage_point_name"]): r for r in rows}
    assert Decimal(mine[("protective-suit", "南里应急点")]["on_hand"]) == 10
    assert mine[("protective-suit", "街道仓库")]["warehouse"] is True
    body = {
        "kind": "issue",
        "item": "protective-suit",
        "quantity": 15,
        "from": stock.point.pk,
        "recipient": {"kind": "team", "team": "medical"},
    }
    answer = client.post("/api/v1/supplies/movements", json.dumps(body), content_type="application/json")
    assert answer.status_code == 409
    detail = answer.json()
    assert {a["name"]: a["on_hand"] for a in detail["available"]} == {
        "南里应急点": "10.000",
        "街道仓库": "4.000",
    }
    body["quantity"] = 6
    answer = client.post("/api/v1/supplies/movements", json.dumps(body), content_type="application/json")
    assert answer.status_code == 201 and answer.json()[0]["balance_after"] == "4.000"
    body["quantity"] = -2
    assert (
        client.post(
            "/api/v1/supplies/movements", json.dumps(body), content_type="application/json"
        ).status_code
        == 400
    )
    client.logout()
    login(client, stock.world.charlie)
    assert client.get("/api/v1/supplies/balances?community=nanli").status_code == 404
    body["quantity"] = 1
    assert (
        client.post(
            "/api/v1/supplies/movements", json.dumps(body), content_type="application/json"
        ).status_code
        == 404
    )


def _sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["南里社区应急物资期初库存"])
    sheet.merge_cells("A1:F1")
    sheet.append(["存放点", "物资名称", "数量", "单位", "批号", "有效期至"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_opening_stock_import_reports_rows_and_never_duplicates(client: Client, stock: Stock) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    expiry = (timezone.localdate() + dt.timedelta(days=300)).isoformat()
    content = _sheet(
        [
            ["南里应急点", "防护服", "１２", "套", "FH1", expiry],
            [None, None, None, None, None, None],
            ["南里应急点", "医用外科口罩", "-5", "只", "KZ", expiry],
            ["南里应急点", "防护服", "1.5", "套", "FH2", expiry],
            ["不存在的点", "防护服", "3", "套", "FH3", expiry],
            ["南里应急点", "神秘物资", "3", "个", "", ""],
            ["南里应急点", "防护服", "3", "套", "FH4", "明年"],
            ["南里应急点", "防护服", "3", "套", "FH1", expiry],
            ["南里二号点", "应急发电机", "2", "台", "", ""],
        ]
    )
    login(client, stock.world.commander)
    for attempt in (1, 2):
        upload = SimpleUploadedFile("期初库存.xlsx", content)
        answer = client.post("/supplies/import/", {"file": upload, "area": "nanli"})
        job = ImportJob.objects.latest("pk")
        assert answer["Location"] == f"/imports/{job.pk}/"
        job.refresh_from_db()
        assert job.status == "previewed", job.message
        assert {e["row"] for e in job.errors} == {5, 6, 7, 8, 9, 10}
        assert (job.accepted, job.rejected) == (2, 6)
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "Protective suits" in page and "Row 9" in page
        client.post(f"/imports/{job.pk}/commit/")
        job.refresh_from_db()
        assert job.status == "committed"
        assert (job.created, job.unchanged) == ((2, 0) if attempt == 1 else (0, 2))
    assert Lot.objects.get(batch="FH1").on_hand == 12
    assert Movement.objects.count() == 2
    answer = client.post(
        "/supplies/import/", {"file": SimpleUploadedFile("x.xlsx", b"not a sheet"), "area": "nanli"}
    )
    job = ImportJob.objects.latest("pk")
    job.refresh_from_db()
    assert job.status == "failed" and "not" in job.message
    client.logout()
    login(client, stock.world.alice)
    assert client.get("/supplies/import/").status_code == 403
    assert client.get(f"/imports/{job.pk}/").status_code == 403


def test_a_count_is_taken_against_the_balance_now_so_issues_while_counting_are_not_losses(
    client: Client, stock: Stock
) -> None:
    from linli.supplies.services import Recipient, supplies_issue

    receive(stock, 10)
    login(client, stock.logistics)
    client.post(f"/supplies/points/{stock.point.pk}/stocktake/")
    sheet = stock.point.stocktakes.get()
    line = sheet.lines.get()
    supplies_issue(
        actor=stock.logistics,
        point=stock.point,
        item=stock.suits,
        quantity=3,
        recipient=Recipient("team", "medical"),
    )
    page = client.get(f"/supplies/stocktakes/{sheet.pk}/").content.decode()
    assert "moved since" in page
    answer = client.post(
        f"/supplies/stocktakes/{sheet.pk}/", {f"count-{line.pk}": "7", f"reason-{line.pk}": ""}
    )
    assert answer.status_code == 302
    assert Lot.objects.get().on_hand == 7
    assert not Movement.objects.filter(kind="adjust").exists()


def test_an_old_open_count_sheet_is_set_aside_and_one_can_be_discarded(client: Client, stock: Stock) -> None:
    import time_machine

    receive(stock, 10)
    first = stocktake_start(actor=stock.logistics, point=stock.point)
    assert stocktake_start(actor=stock.logistics, point=stock.point).pk == first.pk
    with time_machine.travel(timezone.now() + dt.timedelta(hours=13)):
        second = stocktake_start(actor=stock.logistics, point=stock.point)
    first.refresh_from_db()
    assert second.pk != first.pk and first.status == "discarded"
    login(client, stock.logistics)
    client.post(f"/supplies/stocktakes/{second.pk}/", {"discard": "1"})
    second.refresh_from_db()
    assert second.status == "discarded"


def test_households_that_received_supplies_are_shown_only_within_scope(client: Client, stock: Stock) -> None:
    from linli.supplies.services import Recipient, supplies_issue

    receive(stock, 10)
    household = stock.world.resident2.household  # grid 2
    supplies_issue(
        actor=stock.logistics,
        point=stock.point,
        item=stock.suits,
        quantity=1,
        recipient=Recipient(kind="household", household=household),
    )
    label = str(household)
    for seat, sees in ((stock.world.bob, True), (stock.world.alice, False), (stock.world.commander, True)):
        client.logout()
        login(client, seat)
        page = client.get("/supplies/ledger/").content.decode()
        assert (label in page) is sees, seat
        assert sees or "a household" in page


def test_the_street_warehouse_issues_to_any_household_of_its_street(client: Client, stock: Stock) -> None:
    receive(stock, 10, point=stock.warehouse)
    other = stock.world.other_resident.household
    text = f"{other.building.number}-{other.entrance.number}-{other.room}"
    login(client, stock.world.street_admin)
    answer = client.post(
        f"/supplies/points/{stock.warehouse.pk}/issue/",
        {"item": stock.suits.pk, "quantity": "1", "recipient": "household", "household": text},
    )
    assert answer.status_code == 302  # the street admin sees the whole street, other community included
    assert Movement.objects.get(kind="issue").household == other


def test_the_ledger_page_reads_a_constant_number_of_queries(
    client: Client, stock: Stock, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from linli.factories import HouseholdFactory
    from linli.supplies.services import Recipient, supplies_issue

    receive(stock, 50)
    for _ in range(12):
        supplies_issue(
            actor=stock.logistics,
            point=stock.point,
            item=stock.suits,
            quantity=1,
            recipient=Recipient(kind="household", household=HouseholdFactory(building=stock.world.building1)),
        )
    login(client, stock.world.commander)
    with django_assert_max_num_queries(14):
        assert client.get("/supplies/ledger/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(f"/supplies/points/{stock.point.pk}/").status_code == 200


def test_delivered_agreement_stock_is_no_longer_counted_as_contracted(stock: Stock) -> None:
    from linli.supplies.models import SupplierAgreement
    from linli.supplies.services import supplies_receive

    today = timezone.localdate()
    Target.objects.create(community=stock.world.community, item=stock.suits, basis="fixed", quantity=150)
    agreement = SupplierAgreement.objects.create(
        street=stock.world.community.street,
        supplier="京南医疗",
        phone="13800009999",
        item=stock.suits,
        quantity=100,
        valid_from=today,
        valid_until=today + dt.timedelta(days=30),
    )
    supplies_receive(
        actor=stock.logistics,
        point=stock.point,
        item=stock.suits,
        quantity=100,
        expiry=today + dt.timedelta(days=400),
        agreement=agreement,
    )
    row = next(r for r in board(stock.world.community) if r.item.code == "protective-suit")
    assert (row.on_hand, row.contracted, row.to_order) == (100, 0, 50)


def test_importing_opening_stock_again_never_undoes_issues(client: Client, stock: Stock) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from linli.supplies.services import Recipient, supplies_issue

    expiry = (timezone.localdate() + dt.timedelta(days=300)).isoformat()
    content = _sheet([["南里应急点", "防护服", "50", "套", "OPEN1", expiry]])
    login(client, stock.world.commander)
    client.post("/supplies/import/", {"file": SimpleUploadedFile("a.xlsx", content), "area": "nanli"})
    client.post(f"/imports/{ImportJob.objects.latest('pk').pk}/commit/")
    supplies_issue(
        actor=stock.logistics,
        point=stock.point,
        item=stock.suits,
        quantity=20,
        recipient=Recipient("team", "medical"),
    )
    client.post("/supplies/import/", {"file": SimpleUploadedFile("a.xlsx", content), "area": "nanli"})
    job = ImportJob.objects.latest("pk")
    assert job.rejected == 1 and "count" in job.errors[0]["message"]
    assert Lot.objects.get(batch="OPEN1").on_hand == 30


def test_requests_are_approved_then_issued_and_only_the_requester_confirms(
    client: Client, stock: Stock, asked: tuple[Response, SupplyRequest]
) -> None:
    w = stock.world
    response, request = asked
    page = client.get(f"/responses/{response.pk}/").content.decode()
    assert "approve-request" not in page  # alice asks; she does not decide
    client.logout()
    login(client, w.commander)
    page = client.get(f"/responses/{response.pk}/").content.decode()
    assert "approve-request" in page and "issue-request" in page
    client.post(f"/supplies/requests/{request.pk}/approve/", {"next": "//evil.example/"})
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == w.commander
    client.logout()
    login(client, stock.logistics)
    answer = client.post(
        f"/supplies/requests/{request.pk}/issue/", {"point": "abc", "next": "/\\\\evil.example"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/supplies/requests/"
    client.post(f"/supplies/requests/{request.pk}/issue/", {"point": stock.point.pk})
    request.refresh_from_db()
    assert request.status == "issued"
    for seat in (w.observer, w.bob, stock.logistics):
        client.logout()
        login(client, seat)
        client.post(f"/supplies/requests/{request.pk}/receive/")
        request.refresh_from_db()
        assert request.status == "issued", seat
    client.logout()
    login(client, w.observer)
    assert (
        client.post(
            f"/supplies/responses/{response.pk}/request/",
            {"team": "liaison", "item": stock.suits.pk, "quantity": "1"},
        ).status_code
        == 403
    )


def test_the_ledger_export_names_the_recipient(client: Client, stock: Stock) -> None:
    from linli.supplies.services import Recipient, supplies_issue

    receive(stock, 10)
    supplies_issue(
        actor=stock.logistics,
        point=stock.point,
        item=stock.suits,
        quantity=2,
        recipient=Recipient("team", "medical"),
    )
    login(client, stock.world.commander)
    sheet = load_workbook(io.BytesIO(client.get("/supplies/ledger/?format=xlsx").content)).active
    assert "Medical first aid" in [c.value for c in sheet[2]]
    assert AuditLog.objects.filter(action="export", community=stock.world.community).exists()


def test_a_community_point_does_not_match_a_household_of_another_community(
    client: Client, stock: Stock
) -> None:
    receive(stock, 10)
    other = stock.world.other_resident.household
    login(client, stock.world.street_admin)
    answer = client.post(
        f"/supplies/points/{stock.point.pk}/issue/",
        {
            "item": stock.suits.pk,
            "quantity": "1",
            "recipient": "household",
            "household": f"{other.building.number}-{other.entrance.number}-{other.room}",
        },
    )
    assert answer.status_code == 200 and "No single household" in answer.content.decode()


def test_the_commander_edits_a_storage_point_and_others_cannot(client: Client, stock: Stock) -> None:
    url = f"/supplies/points/{stock.point.pk}/edit/"
    login(client, stock.logistics)
    assert client.get(url).status_code == 403
    client.logout()
    login(client, stock.world.commander)
    data = {
        "community": stock.world.community.pk,
        "name": "南里应急点",
        "address": "新地址",
        "keeper": "刘芳",
        "phone": "13900001111",
        "active": "on",
    }
    assert client.post(url, data).status_code == 302
    stock.point.refresh_from_db()
    assert stock.point.keeper == "刘芳" and stock.point.address == "新地址"
    assert AuditLog.objects.filter(action="update", target_id=str(stock.point.pk)).exists()


def test_a_count_can_be_saved_half_way_and_posted_later(client: Client, stock: Stock) -> None:
    receive(stock, 10, batch="A")
    receive(stock, 5, batch="B")
    login(client, stock.logistics)
    client.post(f"/supplies/points/{stock.point.pk}/stocktake/")
    sheet = stock.point.stocktakes.get()
    a, b = sheet.lines.order_by("lot__batch")
    client.post(
        f"/supplies/stocktakes/{sheet.pk}/", {"save": "1", f"count-{a.pk}": "10", f"count-{b.pk}": ""}
    )
    a.refresh_from_db()
    sheet.refresh_from_db()
    assert a.counted == 10 and sheet.status == "open" and not Movement.objects.filter(kind="adjust").exists()
    page = client.get(f"/supplies/stocktakes/{sheet.pk}/").content.decode()
    assert 'value="10"' in page
    client.post(f"/supplies/stocktakes/{sheet.pk}/", {f"count-{a.pk}": "10", f"count-{b.pk}": "5"})
    sheet.refresh_from_db()
    assert sheet.status == "posted"
