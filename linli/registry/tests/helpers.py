import io

import openpyxl

HEADER = ["姓名", "身份证号", "手机", "楼号", "单元", "室", "与户主关系", "特殊人群"]


def ledger_xlsx(rows, *, header=HEADER, title="南里社区居民花名册", blank_tail=0):
    """A ledger as community offices keep them: a merged title, a blank row, the header in row 3."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    for _ in range(blank_tail):
        ws.append([None] * len(header))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
