"""Dispatched lists: reading messy files, matching by the best evidence, routing, and refusing bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from linli.core.spreadsheet import SpreadsheetError
from linli.epidemic.intake import DuplicateList, dispatch_list_receive
from linli.epidemic.io import titled_sheet_xlsx
from linli.epidemic.models import DispatchRecord, Outcome
from linli.epidemic.selectors import control_types_for
from linli.factories import HouseholdFactory, ResidentFactory, make_id_number
from linli.registry.address import parse_address
from linli.tasks.models import Task, Team

HEADER = ["姓名", "身份证号", "手机号", "现住址", "人员类别"]


def xlsx(
    rows: list[list[object]], header: list[str] = HEADER, title: str | None = "区大数据中心推送名单"
) -> bytes:
    return titled_sheet_xlsx(title, header, rows)


def receive(world, content: bytes, name: str = "list.xlsx", actor=None, **kwargs):  # type: ignore[no-untyped-def]
    return dispatch_list_receive(
        actor=actor or world.commander, community=world.community, content=content, filename=name, **kwargs
    )


def test_records_are_matched_by_the_best_evidence_and_routed_to_the_building_worker(world) -> None:
    r1, r2 = world.resident1, world.resident2
    neighbour = ResidentFactory(household=r1.household, name="李建华", phone="")
    content = xlsx(
        [
            ["李秀英", r1.id_number, "", "", "密接"],  # ID
            ["王建国", "", "139 0000 5678", "", "次密接"],  # phone + name
            ["李建华", "", "", "1号楼1单元101室", "时空伴随"],  # name + address
            ["李剑华", "", "", "１栋101", "时空伴随"],  # fuzzy name in the household (全角, no 单元)
            ["陈不在", "", "", "9号楼9单元909", ""],  # nobody
            ["", "11010519491231002X1", "", "", ""],  # nothing usable
        ]
    )
    result = receive(world, content)
    # Rows 5 and 6 are one person (name + address, and a similar name at the same address): merged.
    assert result.counts == {"resident": 3, "household": 0, "ambiguous": 0, "not_found": 1, "invalid": 1}
    assert result.duplicates_merged == 1
    records = {r.row: r for r in DispatchRecord.objects.filter(batch=result.batch)}
    assert records[3].resident_id == r1.pk and records[3].evidence == "id"
    assert records[4].resident_id == r2.pk and records[4].evidence == "phone_name"
    assert records[5].resident_id == neighbour.pk and records[5].evidence == "name_address"
    assert 6 not in records and records[5].merged_rows == "6"
    assert records[7].outcome == Outcome.NOT_FOUND
    assert records[8].outcome == Outcome.INVALID and "ID number invalid" in records[8].note
    # Routed: building 1's worker is alice; building 2 has no worker, so its grid leader (none) → data group.
    tasks = {t.source_id: t for t in Task.objects.filter(source=Task.Source.VERIFICATION)}
    assert len(tasks) == 5 == result.tasks_created
    assert tasks[records[3].pk].assignee == world.alice
    assert tasks[records[7].pk].assignee is None and tasks[records[7].pk].team == Team.DATA
    # Close contacts within 1.5 h, the others within 4 h.
    received = result.batch.received_at
    assert tasks[records[3].pk].due_at == received + dt.timedelta(minutes=90)
    assert tasks[records[4].pk].due_at == received + dt.timedelta(minutes=240)
    assert result.batch.deadline == received + dt.timedelta(minutes=240)


def test_an_invalid_id_is_flagged_but_the_record_is_still_routed_by_its_phone(world) -> None:
    r1 = world.resident1
    bad = r1.id_number[:-1] + ("0" if r1.id_number[-1] != "0" else "1")
    result = receive(world, xlsx([["李秀英", bad, "13812341234", "", ""]]))
    record = DispatchRecord.objects.get(batch=result.batch)
    assert record.outcome == Outcome.RESIDENT and record.resident_id == r1.pk
    assert "ID number invalid" in record.note and not record.id_valid


def test_the_same_person_twice_in_one_file_is_merged_and_noted(world) -> None:
    r1 = world.resident1
    result = receive(
        world,
        xlsx(
            [
                ["李秀英", r1.id_number, "", "", "时空伴随"],
                [None, None, None, None, None],
                ["李秀英", r1.id_number.lower(), "13812341234", "1号楼101", "密接"],
            ]
        ),
    )
    assert result.duplicates_merged == 1 and result.batch.rows == 1
    record = DispatchRecord.objects.get(batch=result.batch)
    assert record.merged_rows == "5" and "merged" in record.note
    assert record.control_type.key == "close_contact"  # the stricter type wins


def test_a_household_only_match_and_an_ambiguous_name(world) -> None:
    household = HouseholdFactory(building=world.building1, room="303")
    ResidentFactory(household=household, name="周大海")
    ResidentFactory(household=HouseholdFactory(building=world.building2, room="202"), name="周大海")
    result = receive(
        world,
        xlsx([["吴完全不同", "", "", "1号楼303", ""], ["周大海", "", "", "", ""]]),
    )
    records = {r.row: r for r in DispatchRecord.objects.filter(batch=result.batch)}
    assert records[3].outcome == Outcome.HOUSEHOLD and records[3].household_id == household.pk
    assert records[4].outcome == Outcome.AMBIGUOUS and len(records[4].candidates) == 2


def test_the_same_file_again_is_refused_naming_the_first_batch(world) -> None:
    content = xlsx([["李秀英", world.resident1.id_number, "", "", ""]])
    first = receive(world, content)
    with pytest.raises(DuplicateList) as caught:
        receive(world, content, name="again.xlsx")
    assert caught.value.batch == first.batch
    assert DispatchRecord.objects.count() == 1 and Task.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.4 not a sheet", "list.pdf", "not"),
        (b"", "list.xlsx", "empty"),
        (xlsx([["x", "y"]], header=["序号", "备注说明"]), "list.xlsx", "names no one"),
        (xlsx([["x", "y"]], header=["序号", "日期"]), "list.xlsx", "header"),
        (xlsx([], header=HEADER), "list.xlsx", "no records"),
    ],
)
def test_unusable_files_get_a_clear_message_and_create_nothing(world, content, name, message) -> None:
    with pytest.raises(SpreadsheetError) as caught:
        receive(world, content, name=name)
    assert message in str(caught.value).lower()
    assert not DispatchRecord.objects.exists() and not Task.objects.exists()


def test_a_failure_half_way_leaves_nothing_behind(world, monkeypatch) -> None:
    import linli.epidemic.intake as intake

    def broken(specs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(intake, "tasks_insert", broken)
    with pytest.raises(RuntimeError):
        receive(world, xlsx([["李秀英", world.resident1.id_number, "", "", ""]]))
    assert not DispatchRecord.objects.exists()
    from linli.epidemic.models import DispatchBatch

    assert not DispatchBatch.objects.exists()


def test_grid_workers_and_observers_may_not_send_lists(world) -> None:
    for seat in (world.alice, world.observer):
        with pytest.raises(PermissionDenied):
            receive(world, xlsx([["李秀英", world.resident1.id_number, "", "", ""]]), actor=seat)


def test_csv_with_numbers_for_ids_and_spaces(world) -> None:
    r1 = world.resident1
    content = f"姓名,身份证号,联系电话,住址\n 李 秀英 ,{r1.id_number},,\n".encode("gbk")
    result = receive(world, content, name="list.csv")
    assert result.counts["resident"] == 1


def test_the_workers_get_one_message_each(world, django_capture_on_commit_callbacks) -> None:
    from linli.comms.models import Notification

    ResidentFactory(household=world.resident1.household, name="李二")
    with (
        time_machine.travel(timezone.make_aware(dt.datetime(2026, 11, 30, 2, 0)), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        receive(
            world, xlsx([["李秀英", world.resident1.id_number, "", "", ""], ["李二", "", "", "1号楼101", ""]])
        )
    note = Notification.objects.get(user=world.alice)
    # Shared messages are in the site's language (zh-Hans): "2 条记录需在 03:30 前核查".
    assert note.title.startswith("2 ") and "03:30" in note.title


def test_every_built_in_type_is_offered_and_a_community_copy_replaces_its_original(world) -> None:
    from linli.epidemic.models import ControlType

    keys = [t.key for t in control_types_for(world.community.pk)]
    assert keys == ["close_contact", "secondary_contact", "high_risk_return", "companion", "pooled_positive"]
    builtin = ControlType.objects.get(key="companion", community=None)
    ControlType.objects.create(
        community=world.community,
        key="companion",
        name="时空伴随（本社区）",
        measure=builtin.measure,
        colour=builtin.colour,
    )
    names = [t.name for t in control_types_for(world.community.pk)]
    assert "时空伴随（本社区）" in names and "时空伴随" not in names


@given(
    building=st.integers(1, 99),
    entrance=st.integers(1, 9),
    room=st.integers(101, 2999),
    word=st.sampled_from(["号楼", "栋", "幢", "号"]),
    unit=st.sampled_from(["单元", "单元 "]),
    suffix=st.sampled_from(["", "室", "号"]),
    wide=st.booleans(),
    prefix=st.sampled_from(["", "南里社区", "朝阳区光华路12号院", " "]),
)
def test_address_variants_normalise_to_one_household(
    building, entrance, room, word, unit, suffix, wide, prefix
) -> None:
    text = f"{prefix}{building}{word}{entrance}{unit}{room}{suffix}"
    if wide:
        text = text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    parsed = parse_address(text)
    assert (parsed.building, parsed.entrance, parsed.room) == (str(building), str(entrance), str(room))


def test_an_address_in_another_place_is_not_matched_by_its_building_and_room(world) -> None:
    result = receive(
        world,
        xlsx(
            [
                ["赵外地", "", "", "朝阳区光华路12号院1号楼1单元101", ""],
                ["钱本地", "", "", "南里社区1号楼1单元101", ""],
            ]
        ),
    )
    records = {r.row: r for r in DispatchRecord.objects.filter(batch=result.batch)}
    assert records[3].outcome == Outcome.NOT_FOUND and "another place" in records[3].note
    assert records[4].outcome == Outcome.HOUSEHOLD and records[4].household_id == world.resident1.household_id


def test_a_similar_name_alone_in_the_household_is_taken_as_a_typo(world) -> None:
    result = receive(world, xlsx([["李秀鹰", "", "", "1号楼101", ""]]))
    record = DispatchRecord.objects.get(batch=result.batch)
    assert (
        record.outcome == Outcome.RESIDENT
        and record.evidence == "fuzzy"
        and record.resident == world.resident1
    )


def test_a_name_alone_never_decides_and_a_valid_foreign_id_is_someone_else(world) -> None:
    other_id = make_id_number(born=dt.date(1990, 1, 1), area="410102")
    result = receive(
        world,
        xlsx(
            [
                ["王建国", other_id, "", "", ""],
                ["李秀英", "", "", "", ""],
                ["李秀英", other_id[:-1] + "0", "13812341234", "", ""],
            ]
        ),
    )
    records = {r.row: r for r in DispatchRecord.objects.filter(batch=result.batch)}
    # A valid ID the registry does not hold: our 王建国 is provably another person.
    assert records[3].outcome == Outcome.NOT_FOUND and records[3].resident_id is None
    # The only 李秀英, by name alone: the data group confirms.
    assert records[4].outcome == Outcome.AMBIGUOUS and records[4].candidates == [world.resident1.pk]


def test_one_resident_named_by_different_evidence_is_one_record(world) -> None:
    r1 = world.resident1
    result = receive(
        world,
        xlsx(
            [
                ["李秀英", r1.id_number, "", "", ""],
                ["李秀英", "", "13812341234", "", ""],
                ["李秀英", "", "", "1号楼101", ""],
            ]
        ),
    )
    assert result.batch.rows == 1 and result.duplicates_merged == 2 and result.tasks_created == 1
    assert DispatchRecord.objects.get(batch=result.batch).merged_rows == "4, 5"


def test_rows_with_only_a_phone_are_not_merged_with_each_other(world) -> None:
    result = receive(world, xlsx([["", "", "13900000001", "", ""], ["", "", "13900000002", "", ""]]))
    assert result.batch.rows == 2 and result.duplicates_merged == 0


def test_the_exact_header_wins_and_household_register_addresses_are_not_where_people_live(world) -> None:
    header = ["姓名", "紧急联系人电话", "本人手机号", "户籍地址", "现住址"]
    result = receive(
        world,
        xlsx(
            [["李秀英", "13900009999", "13812341234", "河南省郑州市1号楼1单元101", "1号楼101"]], header=header
        ),
    )
    record = DispatchRecord.objects.get(batch=result.batch)
    assert record.phone == "13812341234" and record.address == "1号楼101"
    assert record.resident == world.resident1 and record.evidence == "phone_name"


def test_a_list_with_only_id_numbers_is_read(world) -> None:
    result = receive(world, xlsx([[world.resident1.id_number]], header=["身份证号"], title=None))
    assert result.counts["resident"] == 1
