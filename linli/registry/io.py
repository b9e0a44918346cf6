"""Importing the resident ledger from spreadsheets, and exporting filtered lists."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection, models
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from linli.core.bulk import insert_rows
from linli.core.excel import write_xlsx
from linli.core.identity import (
    InvalidIdentity,
    mask_id_number,
    mask_phone,
    normalize_optional_phone,
    parse_id_number,
)
from linli.core.imports import (
    CheckResult,
    CommitResult,
    ImportPage,
    RowError,
    register_import_page,
    register_importer,
    row_checker,
)
from linli.core.models import ImportJob, User
from linli.core.spreadsheet import Column, Table, iter_chunks
from linli.registry.address import clean_building, clean_entrance, clean_room, fold, parse_address
from linli.registry.models import (
    DERIVED_KINDS,
    RECORDED_KINDS,
    Building,
    Entrance,
    Household,
    Relation,
    Residency,
    Resident,
    SpecialCare,
    SpecialKind,
    household_label,
)

RESIDENT_KIND = "registry.residents"

# Values people write in the "relation to householder" column, most specific first.
_RELATIONS: list[tuple[tuple[str, ...], str]] = [
    (("户主", "本人", "本身"), Relation.SELF),
    (("儿媳", "女婿"), Relation.CHILD_IN_LAW),
    (("配偶", "妻", "夫", "丈夫", "老伴", "爱人"), Relation.SPOUSE),
    (("孙", "外孙"), Relation.GRANDCHILD),
    (("祖父", "祖母", "外公", "外婆", "爷爷", "奶奶", "姥姥", "姥爷"), Relation.GRANDPARENT),
    (("子", "女", "儿"), Relation.CHILD),
    (("父", "母", "岳", "公公", "婆婆"), Relation.PARENT),
    (("兄", "弟", "姐", "妹"), Relation.SIBLING),
    (("租",), Relation.TENANT),
]
_RESIDENCY: list[tuple[tuple[str, ...], str]] = [
    (("人户一致", "户籍且实住"), Residency.BOTH),
    (("人在户不在", "流动", "租住", "外来", "暂住", "非户籍"), Residency.LIVING),
    (("户在人不在", "空挂", "不在本地", "外出", "否", "未居住"), Residency.REGISTERED),
    (("是", "实住", "常住", "户籍", "在住"), Residency.BOTH),
]
_SPECIAL: list[tuple[tuple[str, ...], str | None]] = [
    (("独居", "空巢"), SpecialKind.ELDERLY_ALONE),
    (("残",), SpecialKind.DISABLED),
    (("慢性", "慢病", "高血压", "糖尿病", "透析", "心脏病"), SpecialKind.CHRONIC),
    (("孕", "产妇"), SpecialKind.PREGNANT),
    (("需帮扶", "帮扶", "困难", "行动不便", "卧床", "失能", "需要帮助", "需帮助"), SpecialKind.NEEDS_HELP),
    # These follow from the birth date; the column may still mention them.
    (("80", "八十", "高龄"), None),
    (("婴", "幼"), None),
]
_SPLIT = re.compile(r"[、,，;；/|]+")


def _lookup(text: str, table: list[tuple[tuple[str, ...], Any]], default: Any) -> Any:
    for words, value in table:
        if any(w in text for w in words):
            return value
    return default


@functools.cache
def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    """Every way a choice is written in an export: its code and its label in each interface language."""
    names: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for choice in choices:
                names[str(choice.label).lower().replace(" ", "")] = choice.value
    names.update({choice.value: choice.value for choice in choices})
    return names


def _by_label(value: str, choices: type[models.TextChoices]) -> str | None:
    """A choice named by its code or by its label in any of the interface's languages (exports use labels)."""
    return _labels(choices).get(value.lower().replace(" ", ""))


# Cached: a column of a few distinct words, 100,000 rows long.
@functools.lru_cache(maxsize=1024, typed=True)
def parse_relation(text: object) -> str:
    value = fold(text)
    if not value:
        return Relation.OTHER
    return _by_label(value, Relation) or _lookup(value, _RELATIONS, Relation.OTHER)


@functools.lru_cache(maxsize=1024, typed=True)
def parse_residency(text: object) -> str:
    value = fold(text)
    if not value:
        return Residency.BOTH
    return _by_label(value, Residency) or _lookup(value, _RESIDENCY, Residency.BOTH)


def parse_special(text: object) -> tuple[list[str], list[str]]:
    """The recorded special-population kinds named in a cell, and the words that were not recognised."""
    kinds, unknown = _parse_special(str(text or ""))
    return list(kinds), list(unknown)


@functools.lru_cache(maxsize=1024)
def _parse_special(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    kinds: list[str] = []
    unknown: list[str] = []
    words: list[str] = []
    for piece in _SPLIT.split(unicodedata.normalize("NFKC", text)):
        # Labels may contain spaces ("elderly living alone"); otherwise spaces separate words too.
        words.extend([piece] if _by_label(fold(piece), SpecialKind) else piece.split())
    for word in (fold(w) for w in words):
        if not word or word in {"无", "否", "-", "—"}:
            continue
        kind: str | None = _by_label(word, SpecialKind)
        if kind in DERIVED_KINDS:
            kind = None
        elif kind is None:
            kind = _lookup(word, _SPECIAL, "?")
        if kind == "?":
            unknown.append(word)
        elif kind and kind not in kinds:
            kinds.append(kind)
    return tuple(kinds), tuple(unknown)


COLUMNS = [
    Column("name", gettext_lazy("name"), ("姓名", "名字", "居民姓名", "人员姓名", "name"), required=True),
    Column(
        "id_number",
        gettext_lazy("ID number"),
        ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证", "证件号", "id number", "id_number"),
        required=True,
    ),
    Column("sex", gettext_lazy("sex"), ("性别", "sex")),
    Column(
        "phone",
        gettext_lazy("phone"),
        ("手机", "手机号", "手机号码", "联系电话", "电话", "联系方式", "phone"),
    ),
    Column(
        "address",
        gettext_lazy("address"),
        ("住址", "现住址", "居住地址", "家庭住址", "详细地址", "地址", "address"),
    ),
    Column(
        "building",
        gettext_lazy("building"),
        ("楼号", "楼栋", "栋", "幢", "楼宇", "楼栋号", "号楼", "building"),
    ),
    Column("entrance", gettext_lazy("entrance"), ("单元", "单元号", "entrance")),
    Column("room", gettext_lazy("room"), ("室", "门牌", "门牌号", "房号", "户号", "房间号", "室号", "room")),
    Column("relation", gettext_lazy("relation"), ("与户主关系", "户主关系", "关系", "relation")),
    Column(
        "residency",
        gettext_lazy("residency"),
        ("人户状态", "人户情况", "居住状态", "是否实住", "居住情况", "residency"),
    ),
    Column(
        "special",
        gettext_lazy("special population"),
        ("特殊人群", "人群类别", "重点人群", "特殊群体", "人员类别", "special"),
    ),
    Column(
        "contact_name",
        gettext_lazy("family contact"),
        ("紧急联系人", "家属联系人", "联系人", "监护人", "contact"),
    ),
    Column(
        "contact_phone",
        gettext_lazy("family contact phone"),
        ("紧急联系人电话", "联系人电话", "家属电话", "监护人电话", "contact phone"),
    ),
    Column("notes", gettext_lazy("notes"), ("备注", "说明", "notes")),
]
_LABEL = {c.field: c.aliases[0] for c in COLUMNS}
_NAME_RE = re.compile(r"^[\u3400-\u9fff\u00b7·A-Za-z .\-]{1,50}$")


register_import_page(
    ImportPage(
        kind=RESIDENT_KIND,
        back_url="registry:imports",
        back_label=gettext_lazy("Imports"),
        preview=(
            ("name", gettext_lazy("Name")),
            ("id_number", gettext_lazy("ID number")),
            ("phone", gettext_lazy("Phone")),
            ("address", gettext_lazy("Address")),
            ("relation", gettext_lazy("Relation")),
            ("special", gettext_lazy("Tags")),
        ),
        created_label=gettext_lazy("new residents"),
        done_url="registry:residents",
        done_label=gettext_lazy("Open the residents list"),
    )
)


@register_importer
class ResidentImporter:
    kind: ClassVar[str] = RESIDENT_KIND
    columns: ClassVar[list[Column]] = COLUMNS

    def check(self, job: ImportJob, table: Table) -> CheckResult:
        result = CheckResult()
        assert job.community_id is not None, "resident imports always target a community"
        known = set(Building.objects.filter(community_id=job.community_id).values_list("number", flat=True))
        create_buildings = bool(job.options.get("create_buildings"))
        has_address = any(f in table.columns for f in ("address", "building", "room"))
        if not has_address:
            for row, _values in table.rows:
                result.errors.append(
                    RowError(
                        row, _LABEL["address"], _("no address columns (住址, or 楼号/单元/室) in the file")
                    )
                )
            return result
        first_seen: dict[str, int] = {}
        for row, values in table.rows:
            errors, fail = row_checker(row, _LABEL)

            name = fold(values.get("name", "")).replace("•", "·")
            if not name:
                fail("name", _("the name is missing"))
            elif not _NAME_RE.match(name):
                fail("name", _("“%(name)s” does not look like a name") % {"name": name})

            raw_id = values.get("id_number", "")
            identity = None
            try:
                identity = parse_id_number(raw_id)
            except InvalidIdentity as exc:
                fail("id_number", f"{raw_id}: {exc}")
            if identity is not None:
                seen = first_seen.get(identity.number)
                if seen is not None:
                    fail("id_number", _("the same ID number as row %(row)d") % {"row": seen})
                else:
                    first_seen[identity.number] = row
                sex = fold(values.get("sex", ""))
                if sex and sex[0] in "男女" and {"男": "M", "女": "F"}[sex[0]] != identity.sex:
                    fail("sex", _("the sex “%(sex)s” does not match the ID number") % {"sex": sex})

            phones = {"phone": "", "contact_phone": ""}
            for column in phones:
                try:
                    phones[column] = normalize_optional_phone(values.get(column))
                except InvalidIdentity as exc:
                    fail(column, str(exc))
            phone, contact_phone = phones["phone"], phones["contact_phone"]

            parsed = parse_address(values.get("address", ""))
            building = clean_building(values["building"]) if values.get("building") else parsed.building
            entrance = clean_entrance(values["entrance"]) if values.get("entrance") else parsed.entrance
            room = clean_room(values["room"]) if values.get("room") else parsed.room
            if not building or not room:
                fail(
                    "address",
                    _("the address needs a building and a room (e.g. 3号楼2单元501); got “%(text)s”")
                    % {
                        "text": values.get("address")
                        or "/".join(str(values.get(k, "")) for k in ("building", "room"))
                    },
                )
            elif building not in known and not create_buildings:
                fail(
                    "building",
                    _(
                        "building %(building)s is not registered in this community (add it first, or tick “Create buildings that are not registered yet”)"
                    )
                    % {"building": building},
                )

            kinds, unknown = parse_special(values.get("special", ""))
            notes = fold(values.get("notes", ""))[:400]
            if unknown:
                notes = (notes + " " + _("special: %(words)s") % {"words": "、".join(unknown)}).strip()[:500]
            if errors or identity is None:
                result.errors.extend(errors)
                continue
            result.records.append(
                (
                    row,
                    {
                        "name": name,
                        "id_number": identity.number,
                        "legacy_id": identity.legacy,
                        "birth_date": identity.birth_date,
                        "sex": identity.sex,
                        "phone": phone,
                        "building": building,
                        "entrance": entrance,
                        "room": room,
                        "relation": parse_relation(values.get("relation", "")),
                        "residency": parse_residency(values.get("residency", "")),
                        "special": kinds if "special" in table.columns else None,
                        "contact_name": fold(values.get("contact_name", ""))[:50],
                        "contact_phone": contact_phone,
                        "notes": notes,
                    },
                )
            )
        return result

    def fingerprint(self, job: ImportJob) -> str:
        # The check reads only which buildings the community has.
        numbers = Building.objects.filter(community_id=job.community_id or 0).order_by("number")
        return ",".join(numbers.values_list("number", flat=True))

    def preview_row(self, record: dict[str, Any]) -> dict[str, str]:
        return {
            "name": record["name"],
            "id_number": mask_id_number(record["id_number"]),
            "phone": mask_phone(record["phone"]),
            "address": household_label(record["building"], record["entrance"], record["room"]),
            "relation": str(Relation(record["relation"]).label),
            "residency": str(Residency(record["residency"]).label),
            "special": "、".join(str(SpecialKind(k).label) for k in record["special"] or []),
        }

    def commit(self, job: ImportJob, result: CheckResult, actor: User) -> CommitResult:
        community_id = job.community_id
        assert community_id is not None
        records = [r for _row, r in result.records]
        outcome = CommitResult()

        buildings = {b.number: b for b in Building.objects.filter(community_id=community_id)}
        for number in sorted({r["building"] for r in records} - set(buildings)):
            buildings[number] = Building.objects.create(community_id=community_id, number=number)

        entrances = {
            (e.building_id, e.number): e for e in Entrance.objects.filter(building__community_id=community_id)
        }
        wanted = {(buildings[r["building"]].pk, r["entrance"]) for r in records}
        new_entrances = [Entrance(building_id=b, number=n) for b, n in wanted - set(entrances)]
        Entrance.objects.bulk_create(new_entrances, batch_size=1000)
        if new_entrances:
            entrances = {
                (e.building_id, e.number): e
                for e in Entrance.objects.filter(building__community_id=community_id)
            }

        def household_ids() -> dict[tuple[int, str], int]:
            return {
                (entrance_id, room): pk
                for pk, entrance_id, room in Household.objects.filter(community_id=community_id).values_list(
                    "id", "entrance_id", "room"
                )
            }

        homes = household_ids()
        new_homes: dict[tuple[int, str], tuple[Any, ...]] = {}
        for r in records:
            building = buildings[r["building"]]
            home = (entrances[(building.pk, r["entrance"])].pk, r["room"])
            if home not in homes and home not in new_homes:
                new_homes[home] = (community_id, building.grid_id, building.pk, *home, "")
        if new_homes:
            insert_rows(Household, HOUSEHOLD_COLUMNS, list(new_homes.values()))
            homes = household_ids()

        # What is registered now, as plain values: a model instance and a prefetch queryset per
        # resident were most of a re-import's time and memory. One pass over the community rather
        # than IN-lists of 500, since a ledger is most of its community.
        in_file = {r["id_number"] for r in records}
        registered: dict[str, tuple[Any, ...]] = {
            row[0]: row[1:]
            for row in Resident.objects.filter(community_id=community_id)
            .values_list("id_number", "id", *IMPORTED_FIELDS)
            .iterator(chunk_size=5000)
            if row[0] in in_file
        }
        recorded: dict[int, list[str]] = defaultdict(list)
        if registered:
            for resident_id, kind in SpecialCare.objects.filter(
                resident__community_id=community_id
            ).values_list("resident_id", "kind"):
                recorded[resident_id].append(kind)

        new_rows: list[tuple[Any, ...]] = []
        tags_for: dict[str, list[str]] = {}
        replace_tags: list[int] = []
        to_update: list[Resident] = []
        update_audit: list[tuple[Resident, dict[str, Any], list[str], list[str] | None]] = []
        for r in records:
            building = buildings[r["building"]]
            fields = {
                "name": r["name"],
                "household_id": homes[(entrances[(building.pk, r["entrance"])].pk, r["room"])],
                "grid_id": building.grid_id,
                "birth_date": r["birth_date"],
                "sex": r["sex"],
                "legacy_id": r["legacy_id"],
                "phone": r["phone"],
                "relation": r["relation"],
                "residency": r["residency"],
                "contact_name": r["contact_name"],
                "contact_phone": r["contact_phone"],
                "notes": r["notes"],
            }
            found = registered.get(r["id_number"])
            if found is None:
                new_rows.append(
                    (
                        community_id,
                        r["id_number"],
                        r["id_number"][::-1],
                        r["phone"][::-1],
                        *(fields[key] for key in IMPORTED_FIELDS),
                    )
                )
                tags_for[r["id_number"]] = r["special"] or []
                continue
            pk, *values = found
            before = dict(zip(IMPORTED_FIELDS, values, strict=True))
            # An empty cell does not erase what staff recorded by hand.
            changed = {
                key: value
                for key, value in fields.items()
                if value != before[key] and not (value in ("", None) and key in KEEP_WHEN_BLANK)
            }
            old_tags = sorted(recorded.get(pk, []))
            new_tags = r["special"]
            tags_changed = new_tags is not None and sorted(new_tags) != old_tags
            if changed or tags_changed:
                # bulk_update writes only the listed fields, so an instance made from the values in
                # hand does (no query per person).
                resident = Resident(pk=pk, community_id=community_id, id_number=r["id_number"], **before)
                for key, value in changed.items():
                    setattr(resident, key, value)
                resident.fill_search_keys()
                to_update.append(resident)
                update_audit.append((resident, before, old_tags, new_tags if tags_changed else None))
                if tags_changed:
                    tags_for[r["id_number"]] = new_tags
                    replace_tags.append(pk)
                outcome.updated += 1
            else:
                outcome.unchanged += 1

        now = timezone.now()
        insert_rows(Resident, RESIDENT_COLUMNS, [(*row, now, now) for row in new_rows])
        outcome.created = len(new_rows)
        if to_update:
            Resident.objects.bulk_update(
                to_update,
                [*IMPORTED_FIELDS, "id_rev", "phone_rev"],
                batch_size=1000,
            )

        for chunk in iter_chunks(replace_tags, 500):
            SpecialCare.objects.filter(resident_id__in=chunk, kind__in=RECORDED_KINDS).delete()
        if tags_for:
            pks = {
                id_number: pk
                for id_number, pk in Resident.objects.filter(community_id=community_id).values_list(
                    "id_number", "id"
                )
                if id_number in tags_for
            }
            insert_rows(
                SpecialCare,
                ["resident", "kind", "note"],
                [(pks[i], kind, "") for i, kinds in tags_for.items() for kind in kinds],
            )
        if outcome.created >= 1000 and connection.vendor == "sqlite":
            # Fresh planner statistics for the grown tables: without them SQLite looks a phone's last
            # digits up through the community index, reading every resident in scope.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        _audit_updates(actor, job, update_audit)
        return outcome


# The resident fields an import sets, in the order they are read back from the registry.
IMPORTED_FIELDS = [
    "name",
    "household_id",
    "grid_id",
    "birth_date",
    "sex",
    "legacy_id",
    "phone",
    "relation",
    "residency",
    "contact_name",
    "contact_phone",
    "notes",
]
KEEP_WHEN_BLANK = {"phone", "contact_name", "contact_phone", "notes"}
RESIDENT_COLUMNS = [
    "community",
    "id_number",
    "id_rev",
    "phone_rev",
    *IMPORTED_FIELDS,
    "created_at",
    "updated_at",
]
HOUSEHOLD_COLUMNS = ["community", "grid", "building", "entrance", "room", "notes"]


def _audit_updates(
    actor: User, job: ImportJob, updates: list[tuple[Resident, dict[str, Any], list[str], list[str] | None]]
) -> None:
    """One audit row per updated person, built from values in hand (no query per person)."""
    from linli.core.audit import diff
    from linli.core.models import AuditLog
    from linli.core.request_context import current_origin

    household_ids = {v for r, before, _o, _n in updates for v in (before["household_id"], r.household_id)}
    # In chunks: PostgreSQL takes at most 65,535 parameters in one statement.
    labels = {
        h.pk: str(h)
        for chunk in iter_chunks(sorted(household_ids), 1000)
        for h in Household.objects.filter(pk__in=chunk).select_related("building", "entrance")
    }
    masks = {"phone": mask_phone, "contact_phone": mask_phone}
    where = current_origin()
    rows = []
    for resident, before, old_tags, new_tags in updates:
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for key, value in before.items():
            if key in ("grid_id", "legacy_id"):
                continue
            name = "household" if key == "household_id" else key
            show = labels.get if key == "household_id" else masks.get(key, lambda v: v)
            old[name], new[name] = show(value), show(getattr(resident, key))
        if new_tags is not None:
            old["special"], new["special"] = old_tags, sorted(new_tags)
        rows.append(
            AuditLog(
                actor=actor,
                actor_label=actor.name,
                ip=job.origin_ip or where.ip,
                via=where.via,
                action=AuditLog.Action.UPDATE,
                target_type="registry.resident",
                target_id=str(resident.pk),
                target_label=resident.name,
                community_id=resident.community_id,
                detail=_("updated from import “%(file)s”") % {"file": job.filename},
                changes=diff(old, new),
            )
        )
    AuditLog.objects.bulk_create(rows, batch_size=1000)


EXPORT_HEADERS = [
    pgettext_lazy("spreadsheet column", "name"),
    pgettext_lazy("spreadsheet column", "ID number"),
    pgettext_lazy("spreadsheet column", "sex"),
    pgettext_lazy("spreadsheet column", "age"),
    pgettext_lazy("spreadsheet column", "phone"),
    pgettext_lazy("spreadsheet column", "building"),
    pgettext_lazy("spreadsheet column", "entrance"),
    pgettext_lazy("spreadsheet column", "room"),
    pgettext_lazy("spreadsheet column", "relation"),
    pgettext_lazy("spreadsheet column", "residency"),
    pgettext_lazy("spreadsheet column", "special population"),
    pgettext_lazy("spreadsheet column", "family contact"),
    pgettext_lazy("spreadsheet column", "family contact phone"),
    pgettext_lazy("spreadsheet column", "grid"),
    pgettext_lazy("spreadsheet column", "notes"),
]


def residents_xlsx(residents: Iterable[Resident], *, unmasked: bool) -> bytes:
    """The export keeps the import's column names, so an exported file can be edited and re-imported."""
    headers = [str(h) for h in EXPORT_HEADERS]

    def rows() -> Iterable[list[object]]:
        for r in residents:
            h = r.household
            yield [
                r.name,
                r.id_number if unmasked else r.masked_id_number,
                r.get_sex_display(),
                r.age,
                r.phone if unmasked else r.masked_phone,
                h.building.number,
                h.entrance.number,
                h.room,
                r.get_relation_display(),
                r.get_residency_display(),
                "、".join(r.special_labels()),
                r.contact_name,
                r.contact_phone if unmasked else r.masked_contact_phone,
                r.grid.name if r.grid else "",
                r.notes,
            ]

    return write_xlsx(
        headers, rows(), title=_("Residents"), widths=(10, 22, 6, 6, 14, 8, 6, 8, 12, 18, 20, 12, 16, 12, 30)
    )
