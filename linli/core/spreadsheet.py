"""Reading the spreadsheets people actually have: .xlsx, .xls and .csv, with titles above the header,
merged cells, Chinese header variants, numbers where text was meant, and blank rows.

The result is a Table of text cells keyed by field name, with the spreadsheet's own row numbers,
so every problem can be reported against the row a person sees in Excel.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

import python_calamine
from django.utils.translation import gettext as _

HEADER_SCAN_ROWS = 20


class SpreadsheetError(ValueError):
    """The file as a whole cannot be used; the message says why, for a person."""


@dataclass
class Column:
    field: str
    label: object  # a readable name (lazy translation) for error messages
    aliases: tuple[str, ...]
    required: bool = False
    # Headers containing one of these are not this column even if they contain an alias
    # (户籍地址 is not where someone lives; 紧急联系人电话 is not their phone).
    exclude: tuple[str, ...] = ()


@dataclass
class Table:
    header_row: int  # 1-based, as Excel shows it
    columns: dict[str, int]  # field -> 0-based column index
    headers: list[str]
    ignored_headers: list[str]
    rows: list[tuple[int, dict[str, object]]] = field(
        default_factory=list
    )  # (excel row number, field -> raw)
    blank_rows: int = 0


_HEADER_NOISE = re.compile(r"[\s*＊:：()（）\[\]【】<>《》、/\\\-_]|必填|选填|请填写")


def normalize_header(text: object) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(text or ""))).lower()


def _match_header(text: str, columns: list[Column]) -> tuple[str, bool] | None:
    """(field, exact): an exact alias first; otherwise the column whose longest alias the header contains."""
    if not text:
        return None
    best: tuple[int, str] | None = None
    for column in columns:
        excluded = any(normalize_header(word) in text for word in column.exclude)
        for alias in column.aliases:
            key = normalize_header(alias)
            if text == key:
                return column.field, True
            if not excluded and key and key in text and (best is None or len(key) > best[0]):
                best = (len(key), column.field)
    return (best[1], False) if best else None


def detect_kind(content: bytes, filename: str) -> str:
    name = filename.lower()
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise SpreadsheetError(
            _(
                "“%(name)s” is called a spreadsheet but its content is not one. Open it in Excel and save it as .xlsx."
            )
            % {"name": filename}
        )
    if name.endswith((".csv", ".txt")) and b"\x00" not in content[:4096]:
        return "csv"
    raise SpreadsheetError(
        _("“%(name)s” is not a spreadsheet: upload .xlsx, .xls or .csv.") % {"name": filename}
    )


def _decode_csv(content: bytes) -> str:
    # Excel on Chinese Windows saves CSV as GB18030/GBK; everything else is UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError(
        _("The CSV file's text encoding is not recognised: save it as UTF-8 or from Excel.")
    )


def _cell_text(value: object) -> object:
    """Cells become text; floats that are whole numbers lose their ".0" (phones, room numbers)."""
    if isinstance(value, str):  # most cells, so first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return value  # kept as a float so the importer can tell a number mangled by Excel
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _grid(content: bytes, kind: str) -> list[list[object]]:
    if kind == "csv":
        text = _decode_csv(content)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel  # type: ignore[assignment]
        return [list(row) for row in csv.reader(io.StringIO(text), dialect)]
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as exc:  # calamine raises several unrelated types for broken files
        raise SpreadsheetError(
            _("The file cannot be opened as a spreadsheet (%(reason)s).") % {"reason": exc}
        ) from exc
    best: list[list[object]] = []
    for index in range(len(workbook.sheet_names)):
        try:
            sheet = workbook.get_sheet_by_index(index)
            raw: list[list[object]] = [list(r) for r in sheet.to_python(skip_empty_area=False)]
        except Exception:
            continue
        rows = _fill_merged(raw, sheet.merged_cell_ranges or [])
        if any(any(str(c).strip() for c in row) for row in rows):
            return rows
        best = best or rows
    return best


def _fill_merged(
    rows: list[list[object]], ranges: list[tuple[tuple[int, int], tuple[int, int]]]
) -> list[list[object]]:
    """A merged cell's value belongs to every row it spans (e.g. a building number merged down)."""
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                rows[r][c] = value
    return rows


def _is_blank(row: list[object]) -> bool:
    return all(str(c).strip() == "" for c in row)


def read_table(content: bytes, filename: str, columns: list[Column], *, min_columns: int = 2) -> Table:
    if not content:
        raise SpreadsheetError(_("The file is empty."))
    kind = detect_kind(content, filename)
    grid = _grid(content, kind)
    if not grid or all(_is_blank(row) for row in grid):
        raise SpreadsheetError(_("The spreadsheet has no data: the first sheet is empty."))

    # The header is the row among the first few that names the most known columns; a title merged
    # across the top, or notes above the header, are skipped.
    # Within a row an exact header wins over one that merely contains an alias (现住址 over 户籍地址),
    # and otherwise the leftmost one.
    best_row, best_map = -1, dict[str, int]()
    for index, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        mapping: dict[str, int] = {}
        exact: set[str] = set()
        for col, cell in enumerate(row):
            found = _match_header(normalize_header(cell), columns)
            if found is None:
                continue
            field_name, is_exact = found
            if field_name not in mapping or (is_exact and field_name not in exact):
                mapping[field_name] = col
                if is_exact:
                    exact.add(field_name)
        if len(mapping) > len(best_map):
            best_row, best_map = index, mapping
    required = [c for c in columns if c.required]
    if len(best_map) < min_columns:
        expected = "、".join(c.aliases[0] for c in required or columns[:4])
        raise SpreadsheetError(
            _(
                "No header row was found in the first %(n)d rows. The header should name columns such as %(cols)s."
            )
            % {"n": HEADER_SCAN_ROWS, "cols": expected}
        )
    missing = [c for c in required if c.field not in best_map]
    if missing:
        raise SpreadsheetError(
            _("Required columns are missing from the header (row %(row)d): %(cols)s.")
            % {"row": best_row + 1, "cols": "、".join(c.aliases[0] for c in missing)}
        )
    headers = [str(c).strip() for c in grid[best_row]]
    used = set(best_map.values())
    ignored = [h for i, h in enumerate(headers) if h and i not in used]
    table = Table(header_row=best_row + 1, columns=best_map, headers=headers, ignored_headers=ignored)
    for index in range(best_row + 1, len(grid)):
        row = grid[index]
        if _is_blank(row):
            table.blank_rows += 1
            continue
        values = {f: _cell_text(row[col]) if col < len(row) else "" for f, col in best_map.items()}
        if all(v == "" for v in values.values()):
            table.blank_rows += 1
            continue
        table.rows.append((index + 1, values))
    return table


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def fold_text(value: object) -> str:
    """For comparing what people typed: full-width folded, spaces removed, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or ""))).lower()


def parse_day(value: object) -> date | None:
    """A date cell as people write it: 2027-06-30, 2027/6/30, 2027.6.30, 2027年6月30日, 20270630.
    Empty is None; anything else raises ValueError."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return None
    text = text.split(" ")[0]
    match = _DAY.match(text) or _COMPACT_DAY.match(text)
    if not match:
        raise ValueError(text)
    return date(int(match[1]), int(match[2]), int(match[3]))
