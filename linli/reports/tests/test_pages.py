from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from linli.core.models import AuditLog
from linli.reports.models import DailyReport
from linli.reports.services import daily_reports_due, daily_reports_generate
from linli.reports.tests.conftest import DAY, YESTERDAY, Scene, at

pytestmark = pytest.mark.django_db

API = "/api/v1/reports/daily"


def _page(client: Client, user: object, code: str = "", day: dt.date | None = DAY) -> object:
    client.force_login(user)  # type: ignore[arg-type]
    params = {}
    if code:
        params["scope"] = code
    if day:
        params["date"] = day.isoformat()
    return client.get(reverse("reports:daily"), params)


def test_alice_reads_her_grid_and_nothing_else(client: Client, scene: Scene) -> None:
    w = scene.world
    daily_reports_due()
    page = _page(client, w.alice)  # her own grid by default
    assert page.status_code == 200
    assert page.context["unit"].code == w.grid1.code
    assert page.context["report"].status == "snapshot"
    assert _page(client, w.alice, w.grid1.code).status_code == 200
    for code in (w.grid2.code, "nanli", "other", w.community.street.code, "no-such-code"):
        assert _page(client, w.alice, code).status_code == 404, code


def test_bob_reads_grid_two_only(client: Client, scene: Scene) -> None:
    w = scene.world
    assert _page(client, w.bob).context["unit"].code == w.grid2.code
    assert _page(client, w.bob, w.grid1.code).status_code == 404


def test_charlie_from_another_community_sees_nothing_of_nanli(client: Client, scene: Scene) -> None:
    w = scene.world
    assert _page(client, w.charlie).context["unit"].code == "other"
    for code in ("nanli", w.grid1.code, w.grid2.code, w.community.street.code):
        assert _page(client, w.charlie, code).status_code == 404, code


def test_the_commander_reads_the_community_and_its_grids(client: Client, scene: Scene) -> None:
    w = scene.world
    page = _page(client, w.commander)
    assert page.context["unit"].code == "nanli"
    rows = page.context["rows"]
    assert [r.label for r in rows] == [w.grid1.name, w.grid2.name, "No grid", "Total"]
    assert _page(client, w.commander, w.grid2.code).status_code == 200
    assert _page(client, w.commander, w.community.street.code).status_code == 404
    assert _page(client, w.commander, "other").status_code == 404
    choices = [c.code for c in page.context["choices"]]
    assert choices == ["nanli", w.grid1.code, w.grid2.code]


def test_the_street_office_reads_the_street(client: Client, scene: Scene) -> None:
    w = scene.world
    daily_reports_due()
    page = _page(client, w.street_admin)
    assert page.status_code == 200
    assert page.context["unit"].scope == "street"
    assert [r.label for r in page.context["rows"]] == [w.community.name, w.charlie.community.name, "Total"]
    content = page.content.decode()
    assert 'id="chart-trend"' in content and "vendor/chartjs/chart.umd.min.js" in content
    assert "Sent to the street office" in content
    for code in ("nanli", "other", w.grid1.code):
        assert _page(client, w.street_admin, code).status_code == 200


def test_the_headline_cards_take_status_colours(client: Client, scene: Scene) -> None:
    cards = {c.key: c for c in _page(client, scene.world.commander).context["cards"]}
    assert cards["rate"].value == "66.7%" and cards["rate"].tone == "red"
    assert cards["abnormal"].tone == "red" and cards["tasks"].tone == "red"
    assert cards["control"].value == "3"


def test_before_half_past_eight_the_page_shows_a_preview(client: Client, scene: Scene) -> None:
    with time_machine.travel(at(DAY, 7), tick=False):
        page = _page(client, scene.world.commander)
    assert page.context["report"].status == "pending"
    assert "To be generated at 08:30" in page.content.decode()
    assert not DailyReport.objects.exists()


def test_a_past_date_without_a_snapshot_is_computed_live(client: Client, scene: Scene) -> None:
    page = _page(client, scene.world.commander, "nanli", DAY)  # nothing generated yet at 08:30
    assert page.context["report"].status == "live"
    daily_reports_due()
    stored = _page(client, scene.world.commander, "nanli", DAY)
    assert stored.context["report"].status == "snapshot"
    assert stored.context["figures"] == page.context["figures"]


def test_a_bad_or_future_date_is_refused(client: Client, scene: Scene) -> None:
    client.force_login(scene.world.commander)
    assert client.get(reverse("reports:daily"), {"date": "2030-13-01"}).status_code == 400
    assert client.get(reverse("reports:daily"), {"date": "2030-06-05"}).status_code == 400
    assert client.get(API, {"scope": "nanli", "date": "yesterday"}).status_code == 400
    assert client.get(API, {"scope": "nanli", "date": "2030-06-05"}).status_code == 400
    # Year 1 is a date too, and date arithmetic on it overflows: refused, not a 500.
    assert client.get(reverse("reports:daily"), {"date": "0001-01-01"}).status_code == 400
    assert client.get(API, {"scope": "nanli", "date": "0001-01-01"}).status_code == 400


def test_the_api_gives_the_same_figures_as_the_page(client: Client, scene: Scene) -> None:
    daily_reports_due()
    page = _page(client, scene.world.commander, "nanli")
    answer = client.get(API, {"scope": "nanli", "date": DAY.isoformat()})
    assert answer.status_code == 200
    data = answer.json()
    assert (data["scope"], data["code"], data["status"], data["flow_date"]) == (
        "community",
        "nanli",
        "snapshot",
        YESTERDAY.isoformat(),
    )
    assert data["figures"] == page.context["figures"]
    assert [u["figures"] for u in data["units"]] == [u["figures"] for u in page.context["report"].units]
    assert data["sent_at"] is not None


def test_the_api_is_scoped(client: Client, scene: Scene) -> None:
    w = scene.world
    client.force_login(w.alice)
    assert client.get(API, {"scope": w.grid1.code, "date": DAY.isoformat()}).status_code == 200
    assert client.get(API, {"scope": w.grid2.code, "date": DAY.isoformat()}).status_code == 404
    client.force_login(w.charlie)
    assert client.get(API, {"scope": "nanli", "date": DAY.isoformat()}).status_code == 404
    assert client.get(API, {"scope": "unknown", "date": DAY.isoformat()}).status_code == 404
    client.force_login(w.street_admin)
    street = client.get(API, {"scope": w.community.street.code, "date": DAY.isoformat()}).json()
    assert street["figures"]["reporting"]["expected"] == 7
    assert street["status"] == "live"


def test_the_xlsx_has_the_figures_by_grid_and_the_trend(client: Client, scene: Scene) -> None:
    daily_reports_due()
    client.force_login(scene.world.commander)
    response = client.get(reverse("reports:daily_xlsx"), {"scope": "nanli", "date": DAY.isoformat()})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    figures, trend = book.worksheets
    header = [c.value for c in figures[1]]
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in figures.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {scene.world.grid1.name, scene.world.grid2.name, "No grid", "Total"}
    assert rows["Total"]["Reported"] == 4 and rows["Total"]["Residents expected to report"] == 6
    assert rows["Total"]["Volunteer hours"] == 3.5
    assert rows[scene.world.grid1.name]["Under control"] == 1
    assert trend.max_row == 15  # header and 14 days
    assert trend.cell(15, 1).value.date() == DAY
    assert AuditLog.objects.filter(action="export", actor=scene.world.commander).exists()


def test_the_pdf_is_a_pdf_and_is_audited(client: Client, scene: Scene) -> None:
    daily_reports_due()
    client.force_login(scene.world.street_admin)
    response = client.get(reverse("reports:daily_pdf"), {"date": DAY.isoformat()})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditLog.objects.filter(
        action="export", actor=scene.world.street_admin, detail__contains="PDF"
    ).exists()
    html = client.get(reverse("reports:daily_pdf"), {"date": DAY.isoformat(), "format": "html"})
    assert html.content.decode().count("<svg") == 4


def test_downloads_are_scoped_too(client: Client, scene: Scene) -> None:
    client.force_login(scene.world.alice)
    for name in ("reports:daily_xlsx", "reports:daily_pdf"):
        assert client.get(reverse(name), {"scope": "nanli", "date": DAY.isoformat()}).status_code == 404


def test_the_trend_reads_fourteen_snapshots(client: Client, scene: Scene) -> None:
    for n in range(3):
        daily_reports_generate(day=DAY - dt.timedelta(days=n), now=at(DAY - dt.timedelta(days=n), 8, 30))
    page = _page(client, scene.world.commander, "nanli")
    points = page.context["points"]
    assert len(points) == 14 and points[-1].day == DAY
    assert [p.under_control is not None for p in points[-4:]] == [False, True, True, True]
    assert page.context["chart_data"]["trend"]["rate"][-1] == 66.7


def test_the_page_takes_a_bounded_number_of_queries(
    client: Client, scene: Scene, django_assert_max_num_queries
) -> None:
    client.force_login(scene.world.street_admin)
    url = reverse("reports:daily")
    with django_assert_max_num_queries(45):  # computed live: the counts, the names, the picker, the session
        assert client.get(url, {"date": DAY.isoformat()}).status_code == 200
    daily_reports_due()
    with django_assert_max_num_queries(15):
        assert client.get(url, {"date": DAY.isoformat()}).status_code == 200
