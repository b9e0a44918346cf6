"""Writing .xlsx files (exports, error reports) in constant memory."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str = "Sheet1",
    widths: Sequence[int] = (),
) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E8EEF7")
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cell.fill = fill
        header_cells.append(cell)
    sheet.append(header_cells)
    sheet.freeze_panes = "A2"
    for row in rows:
        # Long digit strings (ID numbers, phones) stay text so that Excel does not round them.
        sheet.append([str(v) if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
