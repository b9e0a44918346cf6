"""A 10,000-row dispatched list against a 100,000-resident registry, from upload to every task routed.

The data set (seed 002: the list comes at 2 a.m. from the big-data centre): one community of 400
buildings (two to four entrances, 100 households each) with 40,000 households and about 100,000
residents, made by registry.demo.build_community (realistic names, so the same name occurs many times;
valid unique ID numbers), in 20 grids, each with a grid worker (every building's `worker`) and a grid
leader, and a commander. Phones are then reworked so that about 85% have one and family members
sometimes share one. It is cached in bench/out by the hash of this file, demo.py and the migrations
on SQLite and rebuilt on PostgreSQL.

The list (.xlsx written with openpyxl, a merged title row above the header 姓名/身份证号/手机号/现住址/
人员类别) is generated from the registry with its own seed and is as messy as real ones: about 70% of
the rows with a correct ID number, 5% with a wrong check character, 3% with the ID stored as an Excel
number or with a lowercase x, some without an ID (identified by phone, name and address), phones with
spaces, dashes and +86, addresses as 3号楼2单元501室, 3栋2单元501, 3-2-501, full-width digits, 幢, a room
without 单元 or a compound prefix (光华路12号院), names with one character changed, 5% people who do not
live in the community, 2% blank rows (a few with only the type filled) and 1% exact repeats; types
密接/次密接/时空伴随 mixed.

Measured in one run: `parse_seconds`, the median of RUNS reads of the file by python-calamine alone;
`seconds`, the median of RUNS calls of epidemic.intake.dispatch_list_receive from the bytes to every
verification task routed (and the workers notified), each on a fresh state (the previous batch, its
records, tasks and notices deleted, untimed); `ratio` = seconds / parse_seconds; `peak_mb`, the
process's peak resident memory (VmHWM reset first) during those runs. `counts` are the outcomes of the
records; the generated rows are checked against them (`id_mismatches`: rows with a correct ID of a
resident that did not end up matched to exactly that resident).
"""

from __future__ import annotations

import gc
import io
import os
import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    OUT_DIR,
    ROOT,
    Figures,
    Target,
    Timer,
    analyze,
    child_main,
    fingerprint,
    log,
    open_cached_dataset,
    peak_mb,
    process_peak_mb,
    query_logging_off,
    schema_fingerprint,
)
from bench.volunteer_assignment import reset_peak, resident_mb

DESCRIPTION = "a 10,000-row dispatched list against 100,000 residents: read, match, route (vs calamine)"
NAME = "dispatch_intake"
CACHE_PREFIX = "dispatch-registry"  # the registry's cache, shared with worker_board
CODE = "dispatch"
BUILDINGS = 400
HOUSEHOLDS = 40_000  # about 2.5 people each: 100,000 residents
GRIDS = 20
LIST_ROWS = 10_000
LIST_SEED = 2022
RUNS = 3
TARGETS = {
    "seconds": Target("<=", 2),
    "ratio": Target("<=", 15),
    "peak_mb": Target("<=", 500),
    "id_mismatches": Target("==", 0),
}
HEADER = ["姓名", "身份证号", "手机号", "现住址", "人员类别"]
TITLE = "区大数据中心推送 密接/次密接/时空伴随人员协查名单"
SENDER = "区大数据中心"
FILENAME = "协查名单.xlsx"

# Kinds of rows, by share of the list (per cent).
KINDS = {
    "id": 70,  # a resident with a correct ID number
    "bad_check": 5,  # a resident whose ID has a wrong check character
    "mangled": 3,  # a resident whose ID Excel turned into a number, or with a lowercase x
    "no_id": 13,  # a resident without an ID number
    "outsider": 5,  # someone who does not live in the community
    "blank": 2,  # a blank row (a few with only the type)
    "repeat": 1,  # an exact repeat of an earlier person
    "phone_only": 1,  # a resident given by phone alone
}
TYPES = (("密接", 30), ("次密接", 30), ("时空伴随", 37), ("", 3))
TYPO_SHARE = 0.03
ELSEWHERE = ("丰台区方庄芳古园", "海淀区学院路甲5号院", "通州区梨园镇云景里")
COMPOUNDS = ("光华路12号院", "北京市朝阳区潘家园街道华威里", "华威路8号院", "朝阳区劲松街道")


def dataset_cache() -> Path:
    key = fingerprint(
        Path(__file__),
        ROOT / "linli" / "registry" / "demo.py",
        extra=f"{schema_fingerprint()}-{BUILDINGS}-{HOUSEHOLDS}-{GRIDS}",
    )
    return OUT_DIR / f"{CACHE_PREFIX}-{key}.sqlite3"


def staff_plan() -> list[tuple[str, str, int | None]]:
    from linli.core.roles import Role

    return [
        ("commander", Role.COMMUNITY_ADMIN, None),
        *[(f"leader{n}", Role.GRID_LEADER, n) for n in range(1, GRIDS + 1)],
        *[(f"worker{n}", Role.GRID_WORKER, n) for n in range(1, GRIDS + 1)],
    ]


def build() -> None:
    """The community of 100,000 residents with its grids, workers, leaders and commander."""
    from django.db import connection, transaction

    from linli.epidemic.catalogue import load_control_types
    from linli.registry.demo import CommunityPlan, PersonFactory, build_community
    from linli.registry.models import Community, Resident, Street

    rng = random.Random(100_000)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -524288")
    with transaction.atomic():
        load_control_types()
        street = Street.objects.create(code="panjiayuan", name="潘家园街道")
        plan = CommunityPlan(CODE, "华威里社区", BUILDINGS, HOUSEHOLDS, GRIDS, staff_plan())
        community = build_community(street, plan, PersonFactory(rng))
        # The compound the addresses may name before the building (光华路12号院3号楼…).
        Community.objects.filter(pk=community.pk).update(address="北京市朝阳区光华路12号院")
        # Phones as a registry has them: about 85% of the people, and a child or an old parent often
        # recorded with a family member's phone.
        changed: list[tuple[str, str, int]] = []
        by_household: dict[int, list[tuple[int, str]]] = {}
        for pk, household, phone in (
            Resident.objects.filter(community=community)
            .order_by("pk")
            .values_list("pk", "household_id", "phone")
        ):
            by_household.setdefault(household, []).append((pk, phone))
        for members in by_household.values():
            shared = next((phone for _pk, phone in members if phone), "")
            for pk, phone in members:
                if phone and rng.random() < 0.08:
                    changed.append(("", "", pk))
                elif not phone and shared and rng.random() < 0.45:
                    changed.append((shared, shared[::-1], pk))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Resident._meta.db_table} SET phone = %s, phone_rev = %s WHERE id = %s", changed
            )
        residents = Resident.objects.filter(community=community)
        log(
            f"{residents.count():,} residents in {HOUSEHOLDS:,} households, "
            f"{residents.exclude(phone='').count():,} with a phone ({len(changed):,} changed)"
        )
    analyze()


def open_dataset(name: str) -> float:
    """This benchmark's database with the registry; the seconds spent building it (0 if cached)."""
    return open_cached_dataset(name, dataset_cache(), build, stale=CACHE_PREFIX)


# --- the list ---------------------------------------------------------------------------------------


@dataclass
class Person:
    id: int
    name: str
    id_number: str
    phone: str
    building: str
    entrance: str
    room: str


@dataclass
class Row:
    """One generated row: its cells, what it is, and whom it means (None for an outsider)."""

    excel_row: int
    kind: str
    cells: list[Any]
    person: Person | None = None
    typo: bool = False


def registry_people(community_id: int) -> list[Person]:
    from linli.registry.models import Resident

    rows = (
        Resident.objects.filter(community_id=community_id)
        .order_by("pk")
        .values_list(
            "pk",
            "name",
            "id_number",
            "phone",
            "household__building__number",
            "household__entrance__number",
            "household__room",
        )
    )
    return [Person(*row) for row in rows]


FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def address_of(rng: random.Random, p: Person) -> str:
    b, e, r = p.building, p.entrance, p.room
    variant = rng.choices(range(8), weights=(30, 18, 14, 8, 8, 8, 8, 6))[0]
    if variant == 0:
        return f"{b}号楼{e}单元{r}室"
    if variant == 1:
        return f"{b}栋{e}单元{r}"
    if variant == 2:
        return f"{b}-{e}-{r}"
    if variant == 3:
        return f"{b}号楼{e}单元{r}室".translate(FULL_WIDTH)
    if variant == 4:
        return f"{b}幢{e}单元{r}室"
    if variant == 5:
        return f"{b}号楼{r}室"  # the entrance left out
    if variant == 6:
        return f"{rng.choice(COMPOUNDS[:1] + COMPOUNDS[2:3])}{b}号楼{e}单元{r}室"
    return f"{rng.choice(COMPOUNDS[1::2])}{b}栋{e}单元{r}号"


def phone_of(rng: random.Random, phone: str) -> object:
    variant = rng.choices(range(6), weights=(55, 12, 10, 10, 8, 5))[0]
    if variant == 0:
        return phone
    if variant == 1:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    if variant == 2:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if variant == 3:
        return f"+86 {phone}"
    if variant == 4:
        return int(phone)  # a number cell
    return f"+86-{phone[:3]}-{phone[3:7]}-{phone[7:]}"


def typo_of(rng: random.Random, name: str) -> str:
    from linli.registry.demo import FEMALE_CHARS, MALE_CHARS

    index = rng.randrange(1, len(name)) if len(name) > 1 else 0
    while True:
        char = rng.choice(MALE_CHARS + FEMALE_CHARS)
        if char != name[index]:
            return name[:index] + char + name[index + 1 :]


def wrong_check(number: str) -> str:
    digits = "0123456789X"
    return number[:17] + digits[(digits.index(number[17]) + 1 + random.Random(number).randrange(9)) % 11]


def list_rows(rng: random.Random, people: Sequence[Person], count: int, first_row: int = 3) -> list[Row]:
    """`count` rows of a messy list, the Excel row numbers counted from `first_row`."""
    from linli.registry.demo import PersonFactory

    known_ids = {p.id_number for p in people}
    known_phones = {p.phone for p in people if p.phone}
    outsiders = PersonFactory(
        random.Random(rng.random()), used_ids=set(known_ids), used_phones=set(known_phones)
    )
    chosen = rng.sample(range(len(people)), count)  # no one twice, except the repeats
    kinds = rng.choices(list(KINDS), weights=list(KINDS.values()), k=count)
    type_words = [t for t, _w in TYPES]
    type_weights = [w for _t, w in TYPES]
    rows: list[Row] = []
    for n, (kind, index) in enumerate(zip(kinds, chosen, strict=True)):
        excel_row = first_row + n
        kind_type = rng.choices(type_words, weights=type_weights)[0]
        if kind == "blank" or (kind == "repeat" and not rows):
            cells: list[Any] = [None] * 5
            if rng.random() < 0.2:
                cells[4] = kind_type or "密接"
            rows.append(Row(excel_row, "blank", cells))
            continue
        if kind == "repeat":
            earlier = rng.choice([r for r in rows[-500:] if r.kind not in ("blank", "repeat")])
            cells = list(earlier.cells)
            rows.append(Row(excel_row, "repeat", cells, earlier.person, earlier.typo))
            continue
        if kind == "outsider":
            sex = rng.choice("MF")
            born = outsiders.birth_date(rng.randint(5, 85))
            draw = rng.random()
            where = f"{rng.randint(1, 4)}单元{rng.randint(1, 24)}0{rng.randint(1, 2)}"
            if draw < 0.5:  # a building number this community does not have
                address = f"{rng.randint(BUILDINGS + 1, BUILDINGS + 80)}号楼{where}"
            elif draw < 0.75:  # another place's building, with a number this community also has
                address = f"{rng.choice(ELSEWHERE)}{rng.randint(1, BUILDINGS)}号楼{where}"
            else:
                address = ""
            phone = outsiders.phone() if rng.random() < 0.8 else ""
            cells = [
                outsiders.name(sex),
                outsiders.id_number(born, sex, local=rng.random() < 0.5) if rng.random() < 0.85 else None,
                phone_of(rng, phone) if phone else None,
                address or None,
                kind_type or None,
            ]
            rows.append(Row(excel_row, kind, cells))
            continue
        person = people[index]
        typo = rng.random() < TYPO_SHARE
        name = typo_of(rng, person.name) if typo else person.name
        id_cell: object = None
        if kind == "id":
            id_cell = person.id_number
        elif kind == "bad_check":
            id_cell = wrong_check(person.id_number)
        elif kind == "mangled":
            # Excel keeps an ID ending in X as text, so that one is typed with a lowercase x instead.
            mangled = person.id_number.lower() if person.id_number.endswith("X") else float(person.id_number)
            id_cell = mangled
        with_phone = bool(person.phone) and rng.random() < (0.65 if kind == "id" else 0.8)
        with_address = rng.random() < (0.85 if kind == "id" else 0.93)
        if kind == "phone_only":
            if not person.phone:
                kind = "no_id"
            else:
                with_phone, with_address, name = True, False, ""
        cells = [
            name or None,
            id_cell,
            phone_of(rng, person.phone) if with_phone else None,
            address_of(rng, person) if with_address else None,
            kind_type or None,
        ]
        rows.append(Row(excel_row, kind, cells, person, typo))
    return rows


def list_xlsx(rows: Sequence[Row], title: str = TITLE) -> bytes:
    from linli.epidemic.io import titled_sheet_xlsx

    return titled_sheet_xlsx(title, HEADER, (row.cells for row in rows))


def make_list(community_id: int, *, seed: int = LIST_SEED, count: int = LIST_ROWS) -> tuple[bytes, list[Row]]:
    people = registry_people(community_id)
    rows = list_rows(random.Random(seed), people, count)
    return list_xlsx(rows), rows


# --- checking the outcome ---------------------------------------------------------------------------


def check(batch_id: int, rows: Sequence[Row]) -> Figures:
    """What the records say about the generated rows."""
    from linli.epidemic.models import DispatchRecord

    records = {
        row: (outcome, resident_id, merged)
        for row, outcome, resident_id, merged in DispatchRecord.objects.filter(batch_id=batch_id).values_list(
            "row", "outcome", "resident_id", "merged_rows"
        )
    }
    merged_rows = {int(n) for _o, _r, merged in records.values() if merged for n in merged.split(", ")}
    by_kind: dict[str, Counter[str]] = {}
    id_mismatches = 0
    repeats_not_merged = 0
    for row in rows:
        tally = by_kind.setdefault(row.kind, Counter())
        if row.kind == "blank":
            tally["record" if row.excel_row in records else "skipped"] += 1
            continue
        if row.kind == "repeat":
            merged = row.excel_row in merged_rows
            repeats_not_merged += not merged
            tally["merged" if merged else "not merged"] += 1
            continue
        if row.excel_row not in records:  # merged into an earlier row taken for the same person
            tally["merged into another"] += 1
            continue
        outcome, resident_id, _merged = records[row.excel_row]
        if row.person is None:
            tally[outcome] += 1
            continue
        if outcome == "resident":
            tally["right resident" if resident_id == row.person.id else "WRONG resident"] += 1
        else:
            tally[outcome] += 1
        if row.kind == "id" and resident_id != row.person.id:
            id_mismatches += 1
    return {
        "id_mismatches": id_mismatches,
        "repeats_not_merged": repeats_not_merged,
        "by_kind": {kind: dict(sorted(tally.items())) for kind, tally in sorted(by_kind.items())},
    }


def clear_batch(batch_id: int) -> None:
    """Everything one intake wrote: its tasks, records, notices and the batch (untimed)."""
    from linli.comms.models import Notification
    from linli.epidemic.models import DispatchBatch, DispatchRecord
    from linli.tasks.models import Task

    record_ids = list(DispatchRecord.objects.filter(batch_id=batch_id).values_list("pk", flat=True))
    tasks = Task.objects.filter(source=Task.Source.VERIFICATION, source_id__in=record_ids)
    tasks.delete()
    DispatchRecord.objects.filter(batch_id=batch_id)._raw_delete(DispatchRecord.objects.db)  # type: ignore[attr-defined]
    DispatchBatch.objects.filter(pk=batch_id).delete()
    Notification.objects.all().delete()


def run() -> Figures:
    build_seconds = open_dataset(NAME)

    import python_calamine

    from linli.core.models import User
    from linli.epidemic.intake import dispatch_list_receive
    from linli.registry.models import Community

    community = Community.objects.get(code=CODE)
    commander = User.objects.get(username="commander")
    with Timer() as list_timer:
        content, rows = make_list(community.pk)
    kinds = Counter(r.kind for r in rows)
    log(
        f"list of {len(rows):,} rows ({len(content) / 1e6:.2f} MB) in {list_timer.seconds:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )
    gc.collect()

    with query_logging_off():
        parses = []
        for _n in range(RUNS):
            with Timer() as parse:
                python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(
                    0
                ).to_python()
            parses.append(parse.seconds)
        log("calamine alone: " + ", ".join(f"{s:.3f} s" for s in parses))

        baseline_mb = resident_mb()
        reset = reset_peak()
        seconds = []
        results = []
        for n in range(RUNS):
            with Timer() as timer:
                result = dispatch_list_receive(
                    actor=commander,
                    community=community,
                    content=content,
                    filename=FILENAME,
                    sender=SENDER,
                )
            seconds.append(timer.seconds)
            results.append((result.counts, result.duplicates_merged, result.tasks_created, result.batch.rows))
            log(
                f"  run {n + 1}: {timer.seconds:.3f} s, {result.batch.rows:,} records, "
                f"{result.tasks_created:,} tasks; {result.counts}, {result.duplicates_merged} merged"
            )
            if n < RUNS - 1:
                clear_batch(result.batch.pk)
        peak = process_peak_mb(os.getpid()) if reset else None
        peak_source = "VmHWM since reset" if peak is not None else "ru_maxrss (lifetime)"
        if peak is None:
            peak = peak_mb()

    if any(r != results[0] for r in results):
        raise AssertionError(f"the runs disagree: {results}")
    checked = check(result.batch.pk, rows)
    log("outcomes by the kind of row generated:")
    for kind, tally in checked["by_kind"].items():
        log(f"  {kind:<10} {kinds[kind]:>5}: {tally}")
    parse_seconds = statistics.median(parses)
    median = statistics.median(seconds)
    figures: Figures = {
        "seconds": round(median, 3),
        "parse_seconds": round(parse_seconds, 3),
        "ratio": round(median / parse_seconds, 1),
        "peak_mb": peak,
        "peak_source": peak_source,
        "baseline_mb": baseline_mb,
        "counts": result.counts,
        "duplicates_merged": result.duplicates_merged,
        "records": result.batch.rows,
        "tasks": result.tasks_created,
        "list_rows": len(rows),
        "id_mismatches": checked["id_mismatches"],
        "repeats_not_merged": checked["repeats_not_merged"],
        "runs": " ".join(f"{s:.3f}" for s in seconds),
    }
    if build_seconds:
        figures["build_seconds"] = round(build_seconds, 1)
    return figures


if __name__ == "__main__":
    child_main(run)
