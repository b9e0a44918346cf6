import io
from datetime import date

import openpyxl
import pytest

from linli.core.imports import error_report, import_commit, import_create, import_preview
from linli.core.models import AuditLog, ImportJob
from linli.factories import make_id_number
from linli.registry.io import RESIDENT_KIND
from linli.registry.models import Household, Resident, SpecialKind
from linli.registry.tests.helpers import ledger_xlsx

ID_A = make_id_number(date(1950, 3, 1), "M", seq=11)
ID_B = make_id_number(date(1952, 7, 9), "F", seq=12)
ID_C = make_id_number(date(2001, 1, 2), "F", seq=14)


def run(world, content, filename="ledger.xlsx", commit=True, **options):
    job = import_create(
        actor=world.commander,
        kind=RESIDENT_KIND,
        community_id=world.community.pk,
        filename=filename,
        content=content,
        options=options,
    )
    job = import_preview(job=job)
    if commit and job.status == ImportJob.Status.PREVIEWED:
        job = import_commit(actor=world.commander, job=job)
    return job


def good_rows():
    return [
        ["刘德明", ID_A, "+86 138-0000-1111", "1号楼", "2单元", "501室", "户主", "慢性病"],
        ["陈淑珍", ID_B.lower(), "13800002222", "1", "2", "501", "配偶", "独居、残疾"],
        ["刘小雨", ID_C, "", "1栋", "2", "501", "女儿", ""],
    ]


def test_preview_writes_nothing_and_commit_creates_households_and_people(world):
    before = Resident.objects.count()
    job = run(world, ledger_xlsx(good_rows()), commit=False)
    assert job.status == ImportJob.Status.PREVIEWED
    assert (job.rows, job.accepted, job.rejected) == (3, 3, 0)
    assert job.header_row == 3
    assert Resident.objects.count() == before

    job = import_commit(actor=world.commander, job=job)
    assert (job.created, job.updated, job.unchanged) == (3, 0, 0)
    liu = Resident.objects.get(id_number=ID_A)
    assert liu.phone == "13800001111"
    assert liu.household.building == world.building1
    assert liu.grid == world.grid1
    assert str(liu.household.entrance.number) == "2" and liu.household.room == "501"
    assert [s.kind for s in liu.special.all()] == [SpecialKind.CHRONIC]
    chen = Resident.objects.get(id_number=ID_B)
    assert chen.sex == "F"
    assert sorted(s.kind for s in chen.special.all()) == [SpecialKind.DISABLED, SpecialKind.ELDERLY_ALONE]
    assert Household.objects.filter(building=world.building1, room="501").count() == 1
    assert AuditLog.objects.filter(action="import", actor=world.commander).count() == 1


def test_reuploading_the_same_file_never_duplicates(world):
    run(world, ledger_xlsx(good_rows()))
    again = run(world, ledger_xlsx(good_rows()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Resident.objects.filter(id_number__in=[ID_A, ID_B, ID_C]).count() == 3


def test_an_updated_file_updates_people_and_keeps_history(world):
    run(world, ledger_xlsx(good_rows()))
    rows = good_rows()
    rows[0][2] = "13900009999"
    rows[0][5] = "502"  # moved next door
    job = run(world, ledger_xlsx(rows))
    assert (job.created, job.updated, job.unchanged) == (0, 1, 2)
    liu = Resident.objects.get(id_number=ID_A)
    assert liu.phone == "13900009999"
    assert liu.household.room == "502"
    entry = AuditLog.objects.get(action="update", target_id=str(liu.pk))
    # The audit log never keeps a full phone number.
    assert entry.changes["phone"] == ["138****1111", "139****9999"]


def test_bad_rows_are_rejected_by_row_and_the_good_ones_are_kept(world):
    bad_checksum = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
    rows = [
        *good_rows(),
        ["坏号码", bad_checksum, "13800003333", "1", "1", "101", "户主", ""],
        ["重复人", ID_A, "13800004444", "1", "1", "102", "户主", ""],
        ["坏电话", make_id_number(date(1990, 1, 1), "M", seq=21), "12345", "1", "1", "103", "户主", ""],
        ["无楼号", make_id_number(date(1990, 1, 1), "M", seq=23), "", "", "", "", "", ""],
        ["外楼", make_id_number(date(1990, 1, 1), "M", seq=25), "", "88", "1", "101", "", ""],
    ]
    job = run(world, ledger_xlsx(rows, blank_tail=5000), commit=False)
    assert job.rows == 8
    assert job.accepted == 3
    assert job.rejected == 5
    by_row = {e["row"]: e for e in job.errors}
    assert set(by_row) == {7, 8, 9, 10, 11}
    assert "check character" in by_row[7]["message"]
    assert "row 4" in by_row[8]["message"]
    assert by_row[9]["column"] == "手机"
    assert "88" in by_row[11]["message"]

    sheet = openpyxl.load_workbook(io.BytesIO(error_report(job))).active
    rows_in_report = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows_in_report == [7, 8, 9, 10, 11]


def test_missing_buildings_can_be_created_when_asked(world):
    rows = [["新楼住户", ID_A, "", "88号楼", "1", "101", "户主", ""]]
    job = run(world, ledger_xlsx(rows), create_buildings=True)
    assert job.created == 1
    assert Resident.objects.get(id_number=ID_A).household.building.number == "88"


def test_a_file_that_is_not_a_spreadsheet_fails_the_job_without_writing(world):
    before = Resident.objects.count()
    job = run(world, b"this is a text file", filename="ledger.xlsx")
    assert job.status == ImportJob.Status.FAILED
    assert "not one" in job.message
    assert Resident.objects.count() == before


def test_commit_is_all_or_nothing(world, monkeypatch):
    job = run(world, ledger_xlsx(good_rows()), commit=False)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # The last write of a commit fails: everything before it must be rolled back.
    monkeypatch.setattr("linli.core.imports.audit_record", explode)
    with pytest.raises(RuntimeError):
        import_commit(actor=world.commander, job=job)
    assert not Resident.objects.filter(id_number__in=[ID_A, ID_B, ID_C]).exists()
    assert not Household.objects.filter(room="501").exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def test_full_width_digits_and_an_address_column_are_understood(world):
    header = ["姓名", "公民身份号码", "联系电话", "现住址"]
    fw = "".join(chr(ord(c) + 0xFEE0) for c in ID_A)
    job = run(
        world,
        ledger_xlsx([["刘德明", fw, "１３８００００１１１１", "潘家园南里1号楼2单元501室"]], header=header),
    )
    assert job.created == 1
    liu = Resident.objects.get(id_number=ID_A)
    assert liu.phone == "13800001111"
    assert str(liu.household).endswith("501")


def test_an_id_number_that_excel_turned_into_a_number_is_explained(world):
    job = run(
        world, ledger_xlsx([["刘德明", 1.10105195003010e17, "", "1", "2", "501", "", ""]]), commit=False
    )
    assert job.rejected == 1
    assert "format the column as text" in job.errors[0]["message"]


def test_exported_lists_can_be_imported_again_unchanged(world, client):
    run(world, ledger_xlsx(good_rows()))
    client.force_login(world.commander)
    response = client.get("/residents/export.xlsx?unmasked=1")
    assert response.status_code == 200
    job = run(world, response.content, filename="export.xlsx")
    assert job.rejected == 0
    assert job.created == 0
    assert job.unchanged == Resident.objects.filter(community=world.community).count()


def test_the_uploaded_file_is_not_kept_after_the_import(world):
    job = run(world, ledger_xlsx(good_rows()))
    job.refresh_from_db()
    assert bytes(job.content) == b""
    assert job.created == 3


def test_a_changed_special_population_column_replaces_the_tags_of_that_person_only(world):
    run(world, ledger_xlsx(good_rows()))
    rows = good_rows()
    rows[1][7] = "需帮扶"
    job = run(world, ledger_xlsx(rows))
    assert (job.created, job.updated, job.unchanged) == (0, 1, 2)
    chen = Resident.objects.get(id_number=ID_B)
    assert [s.kind for s in chen.special.all()] == [SpecialKind.NEEDS_HELP]
    liu = Resident.objects.get(id_number=ID_A)
    assert [s.kind for s in liu.special.all()] == [SpecialKind.CHRONIC]
    entry = AuditLog.objects.get(action="update", target_id=str(chen.pk))
    assert entry.changes["special"] == [
        sorted([SpecialKind.DISABLED, SpecialKind.ELDERLY_ALONE]),
        [SpecialKind.NEEDS_HELP],
    ]


def test_a_commit_rechecks_when_buildings_changed_since_the_preview(world):
    from linli.registry.models import Building

    rows = [["新楼住户", ID_A, "", "77", "1", "101", "户主", ""]]
    job = run(world, ledger_xlsx(rows), commit=False)
    assert job.rejected == 1
    Building.objects.create(community=world.community, number="77")
    job = import_commit(actor=world.commander, job=job)
    assert (job.created, job.rejected) == (1, 0)
