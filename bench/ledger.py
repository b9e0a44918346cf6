"""A resident ledger (.xlsx) as communities keep them, for the import benchmark.

A merged title row above a Chinese header, one row per person, households of realistic size with
valid ID numbers and phones from linli.registry.demo. The file is deterministic and cached in
bench/out by the hash of its generators; `python -m bench.ledger ROWS` writes it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from bench.common import OUT_DIR, ROOT, fingerprint, log

HEADER = ["姓名", "身份证号", "手机", "楼号", "单元", "室", "与户主关系", "人户状态", "特殊人群"]
TITLE = "潘家园南里社区居民信息台账（2026年11月）"
HOUSEHOLDS_PER_BUILDING = 100

# Relation → what a ledger writes, for a man and for a woman.
RELATION_TEXT = {
    "self": ("户主", "户主"),
    "spouse": ("配偶", "配偶"),
    "parent": ("父亲", "母亲"),
    "child": ("儿子", "女儿"),
}
RESIDENCY_TEXT = {"both": "人户一致", "living": "人在户不在", "registered": "户在人不在"}
SPECIAL_TEXT = {
    "elderly_alone": "独居老人",
    "disabled": "残疾人",
    "chronic": "慢性病",
    "pregnant": "孕产妇",
    "needs_help": "需帮扶",
}


def ledger_path(rows: int) -> Path:
    key = fingerprint(Path(__file__), ROOT / "linli" / "registry" / "demo.py", extra=str(rows))
    return OUT_DIR / f"ledger-{rows}-{key}.xlsx"


def ensure_ledger(rows: int) -> Path:
    """The cached ledger, written first in a separate process so its memory is not the caller's."""
    path = ledger_path(rows)
    if not path.exists():
        log(f"writing a {rows:,}-row ledger to {path.relative_to(ROOT)} …")
        subprocess.run([sys.executable, "-m", "bench.ledger", str(rows)], cwd=ROOT, check=True)
    return path


def _relation(relation: str, sex: str) -> str:
    male, female = RELATION_TEXT.get(relation, ("其他", "其他"))
    return male if sex == "M" else female


def write_ledger(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    from linli.registry.demo import PersonFactory, household_members, rooms_for

    people = PersonFactory(random.Random(20260101))
    rng = people.rng
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民台账")
    sheet.append([TITLE])
    sheet.merged_cells.add(f"A1:{chr(ord('A') + len(HEADER) - 1)}1")
    sheet.append(HEADER)
    written = 0
    building = 0
    while written < rows:
        building += 1
        # Ledgers merged from several grids' sheets spell the building both ways.
        label = f"{building}号楼" if building % 3 else str(building)
        for entrance, room in rooms_for(rng, HOUSEHOLDS_PER_BUILDING, rng.choice((2, 3, 4))):
            for m in household_members(people):
                if written >= rows:
                    break
                # Some phone cells were typed as numbers, as happens in Excel.
                phone: str | int = int(m.phone) if m.phone and written % 4 == 0 else m.phone
                sheet.append(
                    [
                        m.name,
                        m.id_number,
                        phone,
                        label,
                        f"{entrance}单元",
                        room,
                        _relation(m.relation, m.sex),
                        RESIDENCY_TEXT[m.residency],
                        "、".join(SPECIAL_TEXT[k] for k in m.special),
                    ]
                )
                written += 1
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    os.replace(partial, path)


def main() -> None:
    rows = int(sys.argv[1])
    # demo.py imports the models, so Django is set up; no database is ever opened here.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ["DATABASE_URL"] = f"sqlite:///{OUT_DIR / 'unused.sqlite3'}"
    import django

    django.setup()
    OUT_DIR.mkdir(exist_ok=True)
    path = ledger_path(rows)
    for stale in OUT_DIR.glob(f"ledger-{rows}-*.xlsx"):
        stale.unlink()
    write_ledger(path, rows)


if __name__ == "__main__":
    main()
