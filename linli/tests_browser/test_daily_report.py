"""The daily report in a browser: the commander opens this morning's report, the charts draw, she goes
to a grid's report and downloads the PDF; the street office reads the street on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from linli.factories import TEST_PASSWORD
from linli.reports.services import daily_reports_due
from linli.reports.tests.conftest import DAY, Scene, at, scene  # noqa: F401 (the scene fixture)
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def report_morning() -> Iterator[None]:
    """As the package's fixture, but the clock runs: a live server and a browser need time to pass."""
    with time_machine.travel(at(DAY, 8, 30), tick=True):
        yield


def _painted(page: Any, selector: str) -> int:
    """How many pixels of a canvas Chart.js has drawn on."""
    return int(
        page.evaluate(
            """(selector) => { const c = document.querySelector(selector);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""",
            selector,
        )
    )


def test_the_commander_reads_the_report_goes_to_a_grid_and_downloads_the_pdf(
    scene: Scene,  # noqa: F811 (the fixture imported above)
    desk_page: Any,
    shot: Screens,
) -> None:
    daily_reports_due()
    page = desk_page
    login(page, "commander", TEST_PASSWORD)
    page.goto(f"/reports/daily/?date={DAY}")
    expect(page.locator("#report-status")).to_have_attribute("data-status", "snapshot")
    expect(page.locator("#card-rate b")).to_have_text("66.7%")
    expect(page.locator("#card-control b")).to_have_text("3")
    assert _painted(page, "#chart-trend") > 500
    assert _painted(page, "#chart-rate-units") > 500
    assert _painted(page, "#chart-control-units") > 100
    shot(page, "1-community")

    page.locator(f"#units tr[data-code='{scene.world.grid1.code}'] a").click()
    expect(page.locator("h1")).to_contain_text(scene.world.grid1.name)
    expect(page.locator("#card-control b")).to_have_text("1")
    shot(page, "2-grid")

    # The PDF opens inline (core.pdf.pdf_response): fetch it with the page's session.
    pdf = page.request.get(page.locator("#download-pdf").get_attribute("href"), timeout=60_000)
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    xlsx = page.request.get(page.locator("#download-xlsx").get_attribute("href"))
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"


def test_the_street_office_reads_the_street_on_a_phone(
    scene: Scene,  # noqa: F811 (the fixture imported above)
    phone_page: Any,
    shot: Screens,
) -> None:
    daily_reports_due()
    page = phone_page
    login(page, "streetadmin", TEST_PASSWORD)
    page.goto(f"/reports/daily/?date={DAY}")
    expect(page.locator("#units tr[data-code='nanli']")).to_be_visible()
    assert _painted(page, "#chart-trend") > 500
    page.locator("#prev-day").click()
    expect(page.locator("#report-status")).to_have_attribute("data-status", "live")
    shot(page, "street-phone")
