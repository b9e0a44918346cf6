"""A community administrator at a desk imports a messy ledger, downloads the problems, and confirms."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from linli.conftest import World
from linli.factories import TEST_PASSWORD, make_id_number
from linli.registry.models import Resident
from linli.tests_browser.conftest import Screens, login

pytestmark = pytest.mark.browser

GOOD_A = make_id_number(date(1991, 3, 2), "F", seq=12)
GOOD_B = make_id_number(date(1955, 11, 30), "M", seq=13)
GOOD_C = make_id_number(date(2015, 7, 9), "M", seq=15)
BAD_PHONE_ID = make_id_number(date(1978, 1, 21), "F", seq=16)
# A valid number with its check character changed.
BAD_CHECKSUM = GOOD_B[:17] + ("0" if GOOD_B[17] != "0" else "1")
FIRST_DATA_ROW = 4  # title merged across row 1, a note in row 2, the header in row 3


def ledger_xlsx() -> tuple[bytes, set[int]]:
    """The sheet as a community office keeps it, and the Excel rows that must be rejected."""
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "南里社区居民台账（2026年）"
    sheet.merge_cells("A1:G1")
    sheet["A2"] = "填表人：社区办公室"
    sheet.append(["姓名", "身份证号", "手机", "楼号", "单元", "室", "与户主关系"])
    rows = [
        ["陈静", GOOD_A, "13700001111", "1", "1", "301", "户主"],
        ["周国强", BAD_CHECKSUM, "13700002222", "1", "1", "302", "户主"],
        ["陈小静", GOOD_A, "13700003333", "1", "1", "301", "女儿"],  # same ID as the first row
        ["吴敏", BAD_PHONE_ID, "1370000", "1", "2", "101", "户主"],  # phone too short
        ["孙立", GOOD_B, "13700005555", "1", "2", "102", "户主"],
        ["孙小宝", GOOD_C, "", "1", "2", "102", "儿子"],
    ]
    for row in rows:
        sheet.append(row)
    for cell in sheet["B"]:
        cell.number_format = "@"  # ID numbers as text, as a careful office keeps them
    buffer = io.BytesIO()
    book.save(buffer)
    rejected = {FIRST_DATA_ROW + 1, FIRST_DATA_ROW + 2, FIRST_DATA_ROW + 3}
    return buffer.getvalue(), rejected


def test_import_with_errors_and_download_error_report(
    world: World, desk_page: Any, shot: Screens, tmp_path: Path
) -> None:
    page = desk_page
    content, rejected_rows = ledger_xlsx()
    upload = tmp_path / "南里社区台账.xlsx"
    upload.write_bytes(content)

    login(page, "commander", TEST_PASSWORD)
    page.goto("/imports/")
    shot(page, "1-form")
    page.set_input_files("#id_file", str(upload))
    # The administrator's only community is chosen already.
    expect(page.locator("#id_community")).to_have_value(str(world.community.pk))
    page.locator("form.stack button[type=submit]").click()

    page.wait_for_url("**/imports/*/")
    # The preview is polled through htmx; with inline jobs it is usually ready at once.
    expect(page.locator("#import-state")).to_have_attribute("data-status", "previewed")
    expect(page.locator("#stat-accepted b")).to_have_text("3")
    expect(page.locator("#stat-rejected b")).to_have_text("3")
    shown = {
        int(r) for r in page.locator("tr.row-error").evaluate_all("rows => rows.map(r => r.dataset.row)")
    }
    assert shown == rejected_rows
    for row in sorted(rejected_rows):
        expect(page.locator(f"tr.row-error[data-row='{row}']")).to_contain_text(str(row))
    shot(page, "2-preview")

    with page.expect_download() as download_info:
        page.click("#error-report")
    download = download_info.value
    assert download.suggested_filename.endswith("-errors.xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    report = load_workbook(saved, read_only=True).active
    lines = list(report.iter_rows(min_row=2, values_only=True))
    assert {int(line[0]) for line in lines} == rejected_rows
    problems = {int(line[0]): f"{line[1]} {line[2]}" for line in lines}
    assert BAD_CHECKSUM in problems[FIRST_DATA_ROW + 1]
    assert str(FIRST_DATA_ROW) in problems[FIRST_DATA_ROW + 2]  # "the same ID number as row 4"
    assert "1370000" in problems[FIRST_DATA_ROW + 3]

    assert not Resident.objects.filter(id_number__in=[GOOD_A, GOOD_B, GOOD_C, BAD_PHONE_ID]).exists()
    page.click("#confirm-import")
    expect(page.locator("#import-state")).to_have_attribute("data-status", "committed")
    expect(page.locator("#stat-created b")).to_have_text("3")
    shot(page, "3-committed")

    created = Resident.objects.filter(community=world.community, id_number__in=[GOOD_A, GOOD_B, GOOD_C])
    assert sorted(created.values_list("name", flat=True)) == ["孙小宝", "孙立", "陈静"]
    assert created.get(id_number=GOOD_C).household.room == "102"
    assert not Resident.objects.filter(id_number=BAD_PHONE_ID).exists()
