"""Demo dispatched lists for the demo community: one from yesterday, verified and closed, and one that
arrived an hour ago, half verified, with records for worker1 and worker2, one the data group must pick
among candidates, one not in the community and one with an invalid ID; two people under control."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone, translation

from linli.core.models import User
from linli.epidemic.intake import dispatch_list_receive
from linli.epidemic.io import titled_sheet_xlsx
from linli.epidemic.models import DispatchBatch, DispatchRecord, Outcome
from linli.epidemic.selectors import control_types_for
from linli.epidemic.services import record_verify
from linli.registry.models import Community, Resident

HEADER = ["序号", "姓名", "身份证号", "联系电话", "现住址", "人员类别", "备注"]


def _sheet(title: str, rows: list[list[object]]) -> bytes:
    return titled_sheet_xlsx(title, HEADER, ([n, *row] for n, row in enumerate(rows, start=1)))


def _row(r: Resident, kind: str, *, by_phone: bool = False, note: str = "") -> list[object]:
    h = r.household
    address = f"南里社区{h.building.number}号楼{h.entrance.number}单元{h.room}室"
    if by_phone:
        return [r.name, "", f"{r.phone[:3]} {r.phone[3:7]} {r.phone[7:]}", address, kind, note]
    return [r.name, r.id_number, r.phone, address, kind, note]


def seed_demo_epidemic(community_code: str = "nanli") -> bool:
    # The notes the intake writes are stored: in the site's language, as an upload from the page would.
    with translation.override(settings.LANGUAGE_CODE):
        return _seed(community_code)


def _seed(community_code: str) -> bool:
    community = Community.objects.filter(code=community_code).first()
    commander = User.objects.filter(username="commander").first()
    worker1 = User.objects.filter(username="worker1").first()
    if community is None or commander is None or DispatchBatch.objects.filter(community=community).exists():
        return False
    residents = list(
        Resident.objects.filter(community=community, phone__startswith="1")
        .select_related("household__building", "household__entrance")
        .order_by("household__building__sort_key", "household__room", "id")
    )
    if len(residents) < 60:
        return False
    mine = [r for r in residents if worker1 and r.household.building.worker_id == worker1.pk]
    others = [r for r in residents if r not in mine]
    types = {t.key: t for t in control_types_for(community.pk)}
    now = timezone.now()
    with transaction.atomic():
        # Yesterday: a short list of companions, verified within the deadline.
        old_rows = [_row(r, "时空伴随") for r in others[5:9]]
        old = dispatch_list_receive(
            actor=commander,
            community=community,
            content=_sheet("区大数据中心 时空伴随人员协查名单", old_rows),
            filename="时空伴随协查名单.xlsx",
            sender="区大数据中心",
            control_type=types.get("companion"),
            now=now - dt.timedelta(days=1, hours=3),
        ).batch
        for record in DispatchRecord.objects.filter(batch=old).select_related("batch"):
            record_verify(actor=record.assignee or commander, record=record, result="phone")
        DispatchRecord.objects.filter(batch=old).update(verified_at=now - dt.timedelta(days=1, hours=2))
        DispatchBatch.objects.filter(pk=old.pk).update(
            completed_at=now - dt.timedelta(days=1, hours=1, minutes=50)
        )

        # An hour ago: close and secondary contacts from the CDC.
        # A name two residents share, given without an address: the data group must say who it is.
        twin = (
            Resident.objects.filter(community=community)
            .values("name")
            .annotate(n=Count("id"))
            .filter(n__gte=2)
            .order_by("name")
            .values_list("name", flat=True)
            .first()
        ) or others[12].name
        rows: list[list[object]] = [
            *[_row(r, "密接") for r in mine[:3]],
            *[_row(r, "次密接", by_phone=i == 1) for i, r in enumerate(mine[3:7])],
            *[_row(r, "次密接") for r in others[:4]],
            _row(mine[7], "密接", note="同一人重复推送"),
            _row(mine[7], "密接"),
            [twin, "", "", "", "次密接", "仅有姓名"],
            ["赵外地", "", "13300001111", "朝阳区光华路12号院3号楼1单元101", "次密接", ""],
            ["钱错号", "11010519800101001X", "", "", "密接", ""],
        ]
        batch = dispatch_list_receive(
            actor=commander,
            community=community,
            content=_sheet("区疾控中心 密接次密接人员推送名单", rows),
            filename="密接次密接推送名单.xlsx",
            sender="区疾控中心",
            control_type=types.get("secondary_contact"),
            now=now - dt.timedelta(hours=1),
        ).batch
        records = list(DispatchRecord.objects.filter(batch=batch).order_by("row"))
        for record in records[:2] + records[4:6]:
            if record.outcome == Outcome.RESIDENT and record.assignee is not None:
                record_verify(actor=record.assignee, record=record, result="phone")
    _demo_cases(community, commander, list(DispatchRecord.objects.filter(batch=batch).order_by("row")))
    return True


def _demo_cases(community: Community, commander: User, records: list[DispatchRecord]) -> None:
    """Two people under control from the new list, if the control cases are installed."""
    try:
        from linli.epidemic.cases import case_open
    except ImportError:  # pragma: no cover - the cases module ships with the app
        return
    taken = [r for r in records if r.verified_at and r.resident_id is not None][:2]
    for record in taken:
        resident = Resident.objects.get(pk=record.resident_id or 0)
        case_open(
            actor=commander,
            resident=resident,
            control_type=record.control_type,
            started_at=record.verified_at,
            record=record,
        )
