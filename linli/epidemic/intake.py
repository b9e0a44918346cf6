"""A dispatched list from the big-data centre or the CDC: read it, normalise each record, match it to the
registry (best evidence first), and route every record to the worker who answers for its building.

"If 100 residents need isolation, that is 100 pipelines" (seed 002) — and the list comes at 2 a.m.
with IDs that Excel turned into numbers, 号楼 or 栋 or 幢, full-width digits and the same person twice.
A batch is created whole or not at all, and the same file is never taken twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rapidfuzz import fuzz, process

from linli.comms.services import Message, notify_many
from linli.core.audit import audit_record
from linli.core.bulk import insert_rows
from linli.core.identity import InvalidIdentity, normalize_optional_phone, parse_id_number
from linli.core.models import User
from linli.core.roles import DISPATCH_ROLES
from linli.core.spreadsheet import Column, SpreadsheetError, Table, fold_text, iter_chunks, read_table
from linli.epidemic.models import ControlType, DispatchBatch, DispatchRecord, Evidence, Outcome
from linli.epidemic.selectors import Routing, control_types_for, routing_for
from linli.registry.address import (
    building_match,
    clean_building,
    clean_entrance,
    clean_room,
    fold,
    parse_address,
)
from linli.registry.models import Building, Community, Entrance, Household, Resident, household_label
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskSpec, tasks_insert

COLUMNS = [
    Column("name", gettext_lazy("name"), ("姓名", "名字", "人员姓名", "居民姓名", "name")),
    Column(
        "id_number",
        gettext_lazy("ID number"),
        ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证", "证件号", "id number", "id_number"),
    ),
    Column(
        "phone",
        gettext_lazy("phone"),
        ("手机", "手机号", "手机号码", "联系电话", "电话", "联系方式", "phone"),
        exclude=("紧急", "联系人", "监护人", "家属", "单位"),
    ),
    Column(
        "address",
        gettext_lazy("address"),
        ("住址", "现住址", "居住地址", "家庭住址", "详细地址", "地址", "现居住地址", "落位地址", "address"),
        exclude=("户籍", "籍贯", "单位", "工作", "出生"),
    ),
    Column("building", gettext_lazy("building"), ("楼号", "楼栋", "楼栋号", "楼宇", "building")),
    Column("entrance", gettext_lazy("entrance"), ("单元", "单元号", "entrance")),
    Column("room", gettext_lazy("room"), ("室", "门牌号", "房号", "户号", "房间号", "室号", "room")),
    Column(
        "type",
        gettext_lazy("control type"),
        ("人员类别", "人员类型", "管控类型", "风险类别", "类别", "类型", "协查类型", "type"),
    ),
    Column("note", gettext_lazy("notes"), ("备注", "说明", "流调信息", "轨迹", "notes")),
]

FUZZY_ACCEPT = 85  # a fuzzy candidate this good, and clearly ahead of the next one, is taken
FUZZY_MARGIN = 10
FUZZY_CANDIDATE = 60  # below this a resident is not even listed as a candidate
HOUSEHOLD_FUZZY = 60  # within one household, two of three characters agreeing
MAX_CANDIDATES = 5


class DuplicateList(ValueError):
    """The same file was sent before; `batch` is the first one."""

    def __init__(self, batch: DispatchBatch) -> None:
        super().__init__(
            _("This file was already received as list #%(id)d (%(when)s); nothing was added.")
            % {"id": batch.pk, "when": timezone.localtime(batch.received_at).strftime("%Y-%m-%d %H:%M")}
        )
        self.batch = batch


@dataclass
class Record:
    """One person of the list, normalised; later rows for the same person are merged into it."""

    row: int
    name: str = ""
    id_number: str = ""
    id_valid: bool = False
    phone: str = ""
    address: str = ""
    building: str = ""
    entrance: str = ""
    room: str = ""
    type: ControlType | None = None
    notes: list[str] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    # matching
    outcome: str = Outcome.NOT_FOUND
    evidence: str = Evidence.NONE
    score: int | None = None
    candidates: list[int] = field(default_factory=list)
    resident_id: int | None = None
    household_id: int | None = None
    building_id: int | None = None

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def key(self) -> tuple[str, ...]:
        """Who this is, for merging repeats within one file."""
        if self.id_valid:
            return ("id", self.id_number)
        if self.phone and self.name:
            return ("phone", self.phone, self.name)
        if self.name and (self.room or self.id_number):
            return ("address", self.name, self.building, self.entrance, self.room, self.id_number)
        # A name alone, or a phone alone, is not enough to say two rows are one person.
        return ("row", str(self.row))


# --- reading and normalising -------------------------------------------------------------------------


def read_list(content: bytes, filename: str) -> Table:
    table = read_table(content, filename, COLUMNS, min_columns=1)
    if not ({"name", "id_number", "phone"} & set(table.columns)):
        raise SpreadsheetError(
            _("The list names no one: it needs a name, ID number or phone column (姓名、身份证号、手机号).")
        )
    if not table.rows:
        raise SpreadsheetError(_("The list has a header but no records under it."))
    return table


def _type_lookup(types: list[ControlType]) -> list[tuple[str, ControlType]]:
    words: list[tuple[str, ControlType]] = []
    for t in types:
        for word in [t.name, t.key, *t.aliases.replace("，", ",").split(",")]:
            if word.strip():
                words.append((fold_text(word), t))
    # Longest first, so 次密接 is not read as 密接.
    return sorted(words, key=lambda w: -len(w[0]))


def normalise(table: Table, types: list[ControlType], default: ControlType) -> tuple[list[Record], int]:
    """The list's rows as Records, repeats of one person merged (merge_matched notes the merged rows)."""
    lookup = _type_lookup(types)
    type_of: dict[object, ControlType | None] = {}
    by_key: dict[tuple[str, ...], Record] = {}
    records: list[Record] = []
    merged = 0
    for row, values in table.rows:
        rec = Record(row=row, name=fold(values.get("name", "")).replace("•", "·")[:50])
        raw_id = values.get("id_number", "")
        if raw_id not in ("", None):
            try:
                identity = parse_id_number(raw_id)
                rec.id_number, rec.id_valid = identity.number, True
            except InvalidIdentity as exc:
                rec.id_number = fold(raw_id)[:30]
                rec.note(_("ID number invalid: %(reason)s") % {"reason": exc})
        try:
            rec.phone = normalize_optional_phone(values.get("phone"))
        except InvalidIdentity as exc:
            rec.phone = ""
            rec.note(_("phone invalid: %(reason)s") % {"reason": exc})
        rec.address = fold(values.get("address", ""))[:200]
        parsed = parse_address(rec.address)
        rec.building = clean_building(values["building"]) if values.get("building") else parsed.building
        rec.entrance = clean_entrance(values["entrance"]) if values.get("entrance") else parsed.entrance
        rec.room = clean_room(values["room"]) if values.get("room") else parsed.room
        if not rec.address and (rec.building or rec.room):
            rec.address = household_label(rec.building, rec.entrance, rec.room)
        raw_type = values.get("type", "")
        rec.type = default
        if raw_type not in ("", None):
            # A list repeats a few type words on every row: each is looked up once.
            if raw_type in type_of:
                found = type_of[raw_type]
            else:
                type_text = fold_text(raw_type)
                found = type_of[raw_type] = next(
                    (t for word, t in lookup if word and word in type_text), None
                )
            if found is None:
                rec.note(
                    _("type “%(text)s” not recognised: treated as %(type)s")
                    % {"text": values.get("type"), "type": default.name}
                )
            else:
                rec.type = found
        extra = fold(values.get("note", ""))
        if extra:
            rec.note(extra[:120])
        if not (rec.name or rec.id_number or rec.phone):
            rec.note(_("no name, ID number or phone"))
        first = by_key.get(rec.key())
        if first is not None:
            merged += 1
            _merge(first, rec)
            continue
        by_key[rec.key()] = rec
        records.append(rec)
    return records, merged


def _merge(first: Record, rec: Record) -> None:
    """`rec` is the same person as `first`: keep one record, fill what the first lacked, note the rows."""
    first.merged.append(rec.row)
    first.merged.extend(rec.merged)
    if first.name and rec.name and first.name != rec.name:
        first.note(_("row %(row)d gives the name %(name)s") % {"row": rec.row, "name": rec.name})
    for attr in ("name", "phone", "address", "building", "entrance", "room"):
        if not getattr(first, attr) and getattr(rec, attr):
            setattr(first, attr, getattr(rec, attr))
    # The stricter type wins: a close contact listed again as a companion stays a close contact.
    assert first.type is not None and rec.type is not None
    if rec.type.verify_minutes < first.type.verify_minutes:
        first.type = rec.type
    for text in rec.notes:
        first.note(text)


def _note_merged(records: list[Record]) -> None:
    for rec in records:
        if rec.merged:
            rec.merged.sort()
            rec.note(_("same person as row(s) %(rows)s, merged") % {"rows": ", ".join(map(str, rec.merged))})


def merge_matched(records: list[Record]) -> tuple[list[Record], int]:
    """Rows that name one resident by different evidence (an ID here, a phone there) are one person too."""
    kept: list[Record] = []
    by_resident: dict[int, Record] = {}
    merged = 0
    for rec in records:
        first = (
            by_resident.get(rec.resident_id) if rec.outcome == Outcome.RESIDENT and rec.resident_id else None
        )
        if first is None:
            if rec.outcome == Outcome.RESIDENT and rec.resident_id:
                by_resident[rec.resident_id] = rec
            kept.append(rec)
            continue
        merged += 1
        _merge(first, rec)
    _note_merged(kept)
    return kept, merged


# --- matching ----------------------------------------------------------------------------------------


@dataclass
class _Person:
    id: int
    name: str
    household_id: int
    building_id: int
    entrance: str
    room: str


def _similar(a: str, b: str) -> int:
    return round(fuzz.ratio(a, b))


def _bigrams(text: str) -> set[str]:
    chars = [c for c in fold(text) if "\u3400" <= c <= "\u9fff"]
    return {a + b for a, b in itertools.pairwise(chars)}


# The divisions above a community (北京市朝阳区劲松街道) say nothing about which compound it is.
_DIVISIONS = re.compile(r"^(.{1,6}?[省市])?(.{1,6}?[区县])?(.{1,8}?(街道|镇|乡))?")
# Words every address has; what is left names the place (光华路12号院 → 光华).
_PLACE_NOISE = re.compile(r"[号院路街道巷弄胡同楼栋幢单元室社区小村苑庄园里市省县镇乡0-9A-Za-z\-\s]")


def place_words(*texts: str) -> set[str]:
    """The two-character pieces of the place names in `texts`, each word on its own."""
    words: set[str] = set()
    for text in texts:
        for token in _PLACE_NOISE.sub(" ", fold(text)).split():
            words |= _bigrams(token)
    return words


def foreign_place(address: str, ours: set[str]) -> bool:
    """Whether the words before the building name a place that is not this community (朝阳区光华路12号院
    for a list sent to 南里社区): the building and room then say nothing about our households. Districts
    and streets are not compared, and an address with no place words before the building is ours."""
    text = fold(address)
    match = building_match(text)
    prefix = text[: match.start()] if match else ""
    prefix = _DIVISIONS.sub("", prefix, count=1)
    words = place_words(prefix)
    return bool(words) and not (words & ours)


class Matcher:
    """Matches records of one community, loading only the registry rows the list can touch."""

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id
        community = Community.objects.select_related("street").get(pk=community_id)
        addresses = set(
            Building.objects.filter(community_id=community_id)
            .exclude(address="")
            .values_list("address", flat=True)[:200]
        )
        self.place_words = place_words(community.name, community.address, community.street.name, *addresses)
        self.buildings = dict(Building.objects.filter(community_id=community_id).values_list("number", "id"))

    def _people(self, order: tuple[str, ...] | None = None, **filters: object) -> list[_Person]:
        rows = Resident.objects.filter(community_id=self.community_id, **filters)
        if order is not None:
            rows = rows.order_by(*order)
        return [
            _Person(*r)
            for r in rows.values_list(
                "id",
                "name",
                "household_id",
                "household__building_id",
                "household__entrance__number",
                "household__room",
            )
        ]

    def _people_where(self, column: str, values: list[str]) -> Iterator[tuple[Any, ...]]:
        """(value, id, name, household, building, entrance, room) of the community's residents whose
        `column` is one of `values`. Plain SQL: for one lookup per record of a 10,000-row list, building
        the ORM's IN lists costs more than the query."""
        quote = connection.ops.quote_name
        resident, household, entrance = (m._meta.db_table for m in (Resident, Household, Entrance))
        for chunk in iter_chunks(sorted(set(values)), 900):
            sql = (
                f"SELECT r.{quote(column)}, r.id, r.name, r.household_id, h.building_id, e.number, h.room "
                f"FROM {quote(resident)} r JOIN {quote(household)} h ON h.id = r.household_id "
                f"JOIN {quote(entrance)} e ON e.id = h.entrance_id "
                f"WHERE r.community_id = %s AND r.{quote(column)} IN ({', '.join(['%s'] * len(chunk))})"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [self.community_id, *chunk])
                yield from cursor.fetchall()

    def match(self, records: list[Record]) -> None:
        by_id: dict[str, _Person] = {}
        for row in self._people_where("id_number", [r.id_number for r in records if r.id_valid]):
            by_id[row[0]] = _Person(*row[1:])
        rest = []
        for rec in records:
            person = by_id.get(rec.id_number) if rec.id_valid else None
            if person is None:
                rest.append(rec)
                continue
            self._take(rec, person, Evidence.ID, 100)
            if rec.name and rec.name != person.name and _similar(rec.name, person.name) < 50:
                rec.note(_("the name differs from the registry (%(name)s)") % {"name": person.name})
        if rest:
            self._match_rest(rest)

    def _take(self, rec: Record, person: _Person, evidence: str, score: int) -> None:
        if rec.id_valid and evidence != Evidence.ID:
            # The list's ID number is valid but is not this resident's: the phone, address or name
            # agree with someone who is provably another person (or the registry is wrong).
            rec.outcome, rec.evidence, rec.score = Outcome.AMBIGUOUS, evidence, score
            rec.household_id, rec.building_id = person.household_id, person.building_id
            rec.candidates = [person.id]
            rec.note(
                _("the ID number is not the one the registry holds for %(name)s") % {"name": person.name}
            )
            return
        rec.outcome, rec.evidence, rec.score = Outcome.RESIDENT, evidence, score
        rec.resident_id, rec.household_id, rec.building_id = (
            person.id,
            person.household_id,
            person.building_id,
        )
        rec.candidates = []

    def _match_rest(self, records: list[Record]) -> None:
        phones = sorted({r.phone for r in records if r.phone})
        by_phone: dict[str, list[_Person]] = defaultdict(list)
        # phone_rev (the phone reversed, see Resident.fill_search_keys) is indexed; phone is not.
        wanted = set(phones)
        for row in self._people_where("phone_rev", [phone[::-1] for phone in phones]):
            phone = row[0][::-1]
            if phone in wanted:
                by_phone[phone].append(_Person(*row[1:]))
        # Each record goes through the evidence in order (phone, address, name), but the registry rows
        # each step needs are loaded only for the records that reach it: the households of the rooms
        # named, their members, the whole building only for a fuzzy name where the room did not decide,
        # and same-named people only for the records still unmatched.
        at_address: list[tuple[Record, list[_Person], int]] = []
        unmatched: list[tuple[Record, list[_Person]]] = []
        for rec in records:
            phone_people = by_phone.get(rec.phone, []) if rec.phone else []
            if self._by_phone(rec, phone_people):
                continue
            building_id = self.buildings.get(rec.building)
            if building_id is not None and rec.address and foreign_place(rec.address, self.place_words):
                rec.note(_("the address names another place: not matched by building and room"))
                building_id = None
            rec.building_id = building_id
            if building_id is not None:
                at_address.append((rec, phone_people, building_id))
            else:
                unmatched.append((rec, phone_people))

        households: dict[tuple[int, str, str], int] = {}
        rooms: dict[tuple[int, str], set[int]] = defaultdict(set)
        wanted_rooms = [(building_id, rec.room) for rec, _p, building_id in at_address if rec.room]
        building_ids = sorted({b for b, _r in wanted_rooms})
        room_names = sorted({r for _b, r in wanted_rooms})
        for chunk in iter_chunks(building_ids, 400):
            for rooms_chunk in iter_chunks(room_names, 500):
                for hid, bid, entrance, room in (
                    Household.objects.filter(building_id__in=chunk, room__in=rooms_chunk)
                    .order_by()
                    .values_list("id", "building_id", "entrance__number", "room")
                ):
                    households[(bid, entrance, room)] = hid
                    rooms[(bid, room)].add(hid)
        homes: list[int | None] = []
        # The entrance left out and several entrances have that room (3栋501): the person is one of
        # those households' members.
        room_choices: dict[int, set[int]] = {}
        for index, (rec, _p, building_id) in enumerate(at_address):
            household = households.get((building_id, rec.entrance, rec.room)) if rec.room else None
            if household is None and rec.room:
                same_room = rooms.get((building_id, rec.room), set())
                if len(same_room) == 1:  # the entrance was left out, and only one entrance has that room
                    household = next(iter(same_room))
                elif same_room and not rec.entrance and rec.name:
                    room_choices[index] = same_room
            homes.append(household)
        members: dict[int, list[_Person]] = defaultdict(list)
        wanted_homes = {h for h in homes if h is not None} | {h for hs in room_choices.values() for h in hs}
        for chunk in iter_chunks(sorted(wanted_homes), 900):
            for p in self._people(household_id__in=chunk, order=("household_id", "id")):
                members[p.household_id].append(p)
        # A similar name is looked for in the entrance the address names (a wrong room seldom means a
        # wrong entrance), or in the whole building when it names none or one that does not exist.
        fuzzy = [
            (rec, b)
            for index, ((rec, _p, b), h) in enumerate(zip(at_address, homes, strict=True))
            if h is None and rec.name and index not in room_choices
        ]
        pairs = {(b, rec.entrance) for rec, b in fuzzy if rec.entrance}
        entrance_ids: dict[tuple[int, str], int] = {}
        for chunk in iter_chunks(sorted({b for b, _e in pairs}), 500):
            for eid, bid, number in Entrance.objects.filter(building_id__in=chunk).values_list(
                "id", "building_id", "number"
            ):
                if (bid, number) in pairs:
                    entrance_ids[(bid, number)] = eid
        whole = sorted({b for rec, b in fuzzy if (b, rec.entrance) not in entrance_ids})
        nearby: dict[tuple[int, str], list[_Person]] = defaultdict(list)
        for chunk in iter_chunks(sorted(entrance_ids.values()), 500):
            for p in self._people(household__entrance_id__in=chunk):
                nearby[(p.building_id, p.entrance)].append(p)
        for chunk in iter_chunks(whole, 500):
            for p in self._people(household__building_id__in=chunk):
                nearby[(p.building_id, "")].append(p)
        for index, ((rec, phone_people, building_id), household) in enumerate(
            zip(at_address, homes, strict=True)
        ):
            if household is not None:
                people = members.get(household, [])
            elif index in room_choices:
                people = [p for h in sorted(room_choices[index]) for p in members.get(h, [])]
            elif (building_id, rec.entrance) in entrance_ids:
                people = nearby.get((building_id, rec.entrance), [])
            else:
                people = nearby.get((building_id, ""), [])
            if not self._by_address(rec, building_id, household, people):
                unmatched.append((rec, phone_people))

        names = sorted({rec.name for rec, _p in unmatched if rec.name})
        by_name: dict[str, list[_Person]] = defaultdict(list)
        for chunk in iter_chunks(names, 900):
            for p in self._people(name__in=chunk):
                by_name[p.name].append(p)
        for rec, phone_people in unmatched:
            if self._by_name(rec, by_name.get(rec.name, []) if rec.name else []):
                continue
            if phone_people:
                rec.outcome, rec.evidence = Outcome.AMBIGUOUS, Evidence.PHONE
                rec.candidates = [p.id for p in phone_people][:MAX_CANDIDATES]
                continue
            if (rec.id_number and not rec.id_valid) or not (rec.name or rec.phone or rec.id_number):
                rec.outcome, rec.evidence = Outcome.INVALID, Evidence.NONE
            else:
                rec.outcome, rec.evidence = Outcome.NOT_FOUND, Evidence.NONE

    def _by_phone(self, rec: Record, people: list[_Person]) -> bool:
        if not people:
            return False
        same_name = [p for p in people if p.name == rec.name]
        if len(same_name) == 1:
            self._take(rec, same_name[0], Evidence.PHONE_NAME, 100)
            return True
        if len(people) == 1 and (not rec.name or _similar(rec.name, people[0].name) >= 70):
            self._take(rec, people[0], Evidence.PHONE, _similar(rec.name, people[0].name) if rec.name else 80)
            return True
        homes = {p.household_id for p in people}
        if len(homes) == 1 and not rec.name:
            rec.outcome, rec.evidence, rec.score = Outcome.HOUSEHOLD, Evidence.PHONE, None
            rec.household_id, rec.building_id = people[0].household_id, people[0].building_id
            rec.candidates = [p.id for p in people][:MAX_CANDIDATES]
            return True
        return False

    def _by_address(
        self, rec: Record, building_id: int, household: int | None, people: list[_Person]
    ) -> bool:
        """`household` is the one the room names, if any; `people` are its members, or without a
        household everyone in the building (in the registry's order)."""
        if household is not None:
            members = people
            exact = [p for p in members if p.name == rec.name] if rec.name else []
            if len(exact) == 1:
                self._take(rec, exact[0], Evidence.NAME_ADDRESS, 100)
                return True
            if rec.name and members:
                # Within one household two of three characters agreeing is a typo, not another person,
                # as long as no other member is as close.
                scored = process.extract(rec.name, [p.name for p in members], scorer=fuzz.ratio, limit=2)
                if (
                    scored
                    and scored[0][1] >= HOUSEHOLD_FUZZY
                    and (len(scored) == 1 or scored[1][1] < scored[0][1])
                ):
                    self._take(rec, members[scored[0][2]], Evidence.FUZZY, round(scored[0][1]))
                    return True
            rec.outcome, rec.evidence, rec.score = Outcome.HOUSEHOLD, Evidence.ADDRESS, None
            rec.household_id, rec.building_id = household, building_id
            rec.candidates = [p.id for p in members][:MAX_CANDIDATES]
            return True
        if not rec.name or not people:
            return False
        exact = [p for p in people if p.name == rec.name and (not rec.room or p.room == rec.room)]
        if len(exact) == 1:
            self._take(rec, exact[0], Evidence.NAME_ADDRESS, 100)
            return True
        # The room is wrong or missing: a similar name in the same building, the room as a tie-breaker.
        scored = process.extract(
            rec.name,
            [p.name for p in people],
            scorer=fuzz.ratio,
            limit=MAX_CANDIDATES * 2,
            score_cutoff=FUZZY_CANDIDATE,
        )
        ranked = sorted(
            (
                (0.8 * s + 0.2 * (fuzz.ratio(rec.room, people[i].room) if rec.room else 50), i)
                for _n, s, i in scored
            ),
            reverse=True,
        )
        if not ranked:
            return False
        top, index = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0
        if top >= FUZZY_ACCEPT and top - runner_up >= FUZZY_MARGIN:
            self._take(rec, people[index], Evidence.FUZZY, round(top))
            return True
        rec.outcome, rec.evidence, rec.score = Outcome.AMBIGUOUS, Evidence.FUZZY, round(top)
        rec.candidates = [people[i].id for _s, i in ranked][:MAX_CANDIDATES]
        return True

    def _by_name(self, rec: Record, people: list[_Person]) -> bool:
        if not people:
            return False
        if rec.id_valid:
            # Namesakes whose ID numbers differ from the list's valid one are other people.
            rec.note(_("%(n)d resident(s) here share the name, with other ID numbers") % {"n": len(people)})
            return False
        # A name alone never decides: the data group says which one it is (or that it is nobody here).
        rec.outcome, rec.evidence = Outcome.AMBIGUOUS, Evidence.NAME
        rec.candidates = [p.id for p in people][:MAX_CANDIDATES]
        return True


# --- creating the batch ------------------------------------------------------------------------------


@dataclass
class IntakeResult:
    batch: DispatchBatch
    counts: dict[str, int]
    duplicates_merged: int
    tasks_created: int
    to_data_group: int = 0


def can_send_lists(actor: User) -> bool:
    return actor.is_active and (actor.is_superuser or actor.role in DISPATCH_ROLES)


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def dispatch_list_receive(
    *,
    actor: User,
    community: Community,
    content: bytes,
    filename: str,
    sender: str = "",
    control_type: ControlType | None = None,
    now: dt.datetime | None = None,
) -> IntakeResult:
    """Read, match and route a dispatched list. The caller has checked that `community` is in scope.

    Raises SpreadsheetError for a file that cannot be used and DuplicateList for a file received before.
    """
    if not can_send_lists(actor):
        raise PermissionDenied(
            _("Only the community's administrators and departments may send dispatched lists.")
        )
    digest = file_digest(content)
    earlier = DispatchBatch.objects.filter(community=community, digest=digest).first()
    if earlier is not None:
        raise DuplicateList(earlier)
    types = control_types_for(community.pk)
    if not types:
        raise SpreadsheetError(_("No control types are set up for this community."))
    default = control_type or types[0]
    table = read_list(content, filename)
    records, merged = normalise(table, types, default)
    Matcher(community.pk).match(records)
    records, merged_after = merge_matched(records)
    merged += merged_after
    routing = routing_for(community.pk)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            batch, tasks = _create(
                actor, community, records, merged, routing, digest, filename, sender, default, now
            )
    except IntegrityError:
        # Two uploads of one file at once: the other one won.
        earlier = DispatchBatch.objects.filter(community=community, digest=digest).first()
        if earlier is None:
            raise
        raise DuplicateList(earlier) from None
    transaction.on_commit(lambda: _notify_routed(batch, tasks))
    unassigned = sum(1 for spec in tasks if spec.assignee_id is None)
    return IntakeResult(batch, dict(batch.counts), merged, len(tasks), unassigned)


RECORD_COLUMNS = [
    "batch_id",
    "community_id",
    "grid_id",
    "row",
    "merged_rows",
    "name",
    "id_number",
    "id_valid",
    "phone",
    "address",
    "building",
    "entrance",
    "room",
    "control_type_id",
    "outcome",
    "evidence",
    "score",
    "note",
    "candidates",
    "resident_id",
    "household_id",
    "due_at",
    "assignee_id",
    "result",
    "result_note",
    "verified_at",
    "verified_by_id",
]


def _create(
    actor: User,
    community: Community,
    records: list[Record],
    merged: int,
    routing: Routing,
    digest: str,
    filename: str,
    sender: str,
    default: ControlType,
    now: dt.datetime,
) -> tuple[DispatchBatch, list[TaskSpec]]:
    counts = {o.value: 0 for o in Outcome}
    for rec in records:
        counts[rec.outcome] += 1
    deadline = max(now + dt.timedelta(minutes=r.type.verify_minutes) for r in records if r.type)
    batch = DispatchBatch.objects.create(
        community=community,
        sender=(sender or actor.name)[:100],
        control_type=default,
        filename=filename[:200],
        digest=digest,
        received_at=now,
        received_by=actor if actor.pk else None,
        deadline=deadline,
        rows=len(records),
        counts=counts,
        duplicates_merged=merged,
    )
    # One due time per control type (a handful), put in the database's form once; candidates as JSON text.
    due_of: dict[int, dt.datetime] = {}
    due_db: dict[int, object] = {}
    no_candidates = json.dumps([])
    routes: list[tuple[int | None, int | None, int | None]] = []
    rows = []
    for rec in records:
        assert rec.type is not None
        due = due_of.get(rec.type.pk)
        if due is None:
            due = due_of[rec.type.pk] = now + dt.timedelta(minutes=rec.type.verify_minutes)
            due_db[rec.type.pk] = connection.ops.adapt_datetimefield_value(due)
        matched = rec.outcome in (Outcome.RESIDENT, Outcome.HOUSEHOLD)
        grid_id, worker_id, leader_id = routing.for_building(rec.building_id if matched else None)
        routes.append((grid_id, worker_id, leader_id))
        rows.append(
            (
                batch.pk,
                community.pk,
                grid_id,
                rec.row,
                ", ".join(map(str, rec.merged))[:200],
                rec.name,
                rec.id_number,
                rec.id_valid,
                rec.phone,
                rec.address,
                rec.building[:20],
                rec.entrance[:10],
                rec.room[:20],
                rec.type.pk,
                rec.outcome,
                rec.evidence,
                rec.score,
                "; ".join(rec.notes)[:300],
                json.dumps(rec.candidates) if rec.candidates else no_candidates,
                rec.resident_id,
                rec.household_id,
                due_db[rec.type.pk],
                worker_id,
                "",
                "",
                None,
                None,
            )
        )
    insert_rows(DispatchRecord, RECORD_COLUMNS, rows)
    del rows
    pk_by_row = dict(DispatchRecord.objects.filter(batch=batch).order_by().values_list("row", "id"))
    specs = []
    with translation.override(settings.LANGUAGE_CODE):  # tasks are shared: in the site's language
        labels = {o.value: str(o.label) for o in Outcome}
        title_text = _("Verify %(name)s (%(type)s) %(address)s")
        detail_text = _("Dispatched list #%(batch)d from %(sender)s, row %(row)d: %(outcome)s")
        for rec, (grid_id, worker_id, leader_id) in zip(records, routes, strict=True):
            assert rec.type is not None
            title = title_text % {
                "name": rec.name or rec.phone or rec.id_number[:6] + "…",
                "type": rec.type.name,
                "address": rec.address,
            }
            detail = detail_text % {
                "batch": batch.pk,
                "sender": batch.sender,
                "row": rec.row,
                "outcome": labels[rec.outcome],
            }
            if rec.notes:
                detail += "\n" + "\n".join(rec.notes)
            specs.append(
                TaskSpec(
                    title=title.strip(),
                    detail=detail,
                    due_at=due_of[rec.type.pk],
                    community_id=community.pk,
                    grid_id=grid_id,
                    assignee_id=worker_id,
                    team="" if worker_id else Team.DATA,
                    leader_id=leader_id or routing.commander_id,
                    commander_id=routing.commander_id,
                    priority=Task.Priority.URGENT if rec.type.verify_minutes <= 120 else Task.Priority.HIGH,
                    source=Task.Source.VERIFICATION,
                    source_id=pk_by_row[rec.row],
                    stage="verify",
                    escalation_minutes=15 if rec.type.verify_minutes <= 120 else 30,
                )
            )
    tasks_insert(specs)
    DispatchBatch.objects.filter(pk=batch.pk).update(tasks_created=len(specs))
    batch.tasks_created = len(specs)
    audit_record(
        actor=actor if actor.pk else None,
        action="import",
        target=batch,
        detail=f"{filename}: {len(records)} records, {merged} merged; "
        + ", ".join(f"{k} {v}" for k, v in counts.items()),
    )
    return batch, specs


def _notify_routed(batch: DispatchBatch, specs: Iterable[TaskSpec]) -> None:
    """One message per worker however many records they got, and one to the commander for the data group."""
    per_user: dict[int, list[TaskSpec]] = defaultdict(list)
    unassigned = 0
    for spec in specs:
        if spec.assignee_id:
            per_user[spec.assignee_id].append(spec)
        else:
            unassigned += 1
    with translation.override(settings.LANGUAGE_CODE):
        messages = [
            Message(
                user_id=user_id,
                title=_("%(n)d records to verify by %(time)s (%(sender)s)")
                % {
                    "n": len(items),
                    "time": timezone.localtime(min(s.due_at for s in items)).strftime("%H:%M"),
                    "sender": batch.sender,
                },
                url="/epidemic/mine/",
                kind="assigned",
                urgent=True,
            )
            for user_id, items in per_user.items()
        ]
        commander = next((s.commander_id for s in specs if s.commander_id), None) if unassigned else None
        if commander:
            messages.append(
                Message(
                    user_id=commander,
                    title=_(
                        "%(n)d records of list #%(batch)d could not be matched: the data group checks them"
                    )
                    % {"n": unassigned, "batch": batch.pk},
                    url=batch.get_absolute_url(),
                    kind="assigned",
                    urgent=True,
                )
            )
    notify_many(messages)
