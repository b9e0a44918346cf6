import io

import openpyxl
import pytest

from linli.core.spreadsheet import Column, SpreadsheetError, read_table

COLUMNS = [
    Column("name", "姓名", ("姓名",), required=True),
    Column("id_number", "身份证号", ("身份证号", "证件号码"), required=True),
    Column("phone", "手机", ("手机", "联系电话")),
    Column("contact_phone", "紧急联系人电话", ("紧急联系人电话",)),
]


def xlsx(rows, merge=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_text_file_renamed_xlsx_is_refused_with_a_clear_message():
    with pytest.raises(SpreadsheetError, match="not one"):
        read_table(b"name,id\nzhang,1\n", "ledger.xlsx", COLUMNS)


def test_a_binary_file_that_is_no_spreadsheet_is_refused():
    with pytest.raises(SpreadsheetError, match="not a spreadsheet"):
        read_table(b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", COLUMNS)


def test_an_empty_sheet_is_refused():
    with pytest.raises(SpreadsheetError, match="no data"):
        read_table(xlsx([]), "empty.xlsx", COLUMNS)


def test_an_empty_file_is_refused():
    with pytest.raises(SpreadsheetError, match="empty"):
        read_table(b"", "empty.csv", COLUMNS)


def test_the_header_is_found_under_a_merged_title_and_excel_row_numbers_are_kept():
    content = xlsx(
        [
            ["南里社区居民花名册"],
            [],
            ["姓名", "证件号码", "联系电话"],
            ["张三", "11010519491231002X", "13812345678"],
        ],
        merge="A1:C1",
    )
    table = read_table(content, "ledger.xlsx", COLUMNS)
    assert table.header_row == 3
    assert table.rows == [(4, {"name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"})]


def test_the_longest_matching_alias_wins():
    table = read_table(xlsx([["姓名", "身份证号", "紧急联系人电话"], ["a", "b", "c"]]), "x.xlsx", COLUMNS)
    assert table.columns == {"name": 0, "id_number": 1, "contact_phone": 2}


def test_thousands_of_blank_rows_at_the_end_are_ignored():
    rows = [["姓名", "身份证号"], ["张三", "11010519491231002X"]] + [[None, None]] * 5000 + [["", " "]]
    table = read_table(xlsx(rows), "x.xlsx", COLUMNS)
    assert len(table.rows) == 1


def test_a_missing_required_column_is_named():
    with pytest.raises(SpreadsheetError, match="身份证号"):
        read_table(xlsx([["姓名", "手机"], ["张三", "13812345678"]]), "x.xlsx", COLUMNS)


def test_a_file_without_any_known_header_says_what_is_expected():
    with pytest.raises(SpreadsheetError, match="No header row"):
        read_table(xlsx([["a", "b"], ["1", "2"]]), "x.xlsx", COLUMNS)


def test_csv_saved_by_chinese_excel_in_gb18030_is_read():
    content = "姓名,身份证号\n张三,11010519491231002X\n".encode("gb18030")
    table = read_table(content, "x.csv", COLUMNS)
    assert table.rows[0][1]["name"] == "张三"


def test_numbers_that_excel_stored_as_floats_become_text():
    table = read_table(xlsx([["姓名", "身份证号", "手机"], ["张三", "x", 13812345678]]), "x.xlsx", COLUMNS)
    assert table.rows[0][1]["phone"] == "13812345678"
