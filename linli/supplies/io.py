"""Opening stock from a spreadsheet (the same tracked import as the resident ledger), and .xlsx exports."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.excel import write_xlsx
from linli.core.imports import (
    CheckResult,
    CommitResult,
    ImportPage,
    register_import_page,
    register_importer,
    row_checker,
)
from linli.core.models import ImportJob, User
from linli.core.spreadsheet import Column, Table, fold_text, parse_day
from linli.supplies.models import Item, Lot, Movement, StoragePoint
from linli.supplies.selectors import ItemStock, match_item
from linli.supplies.services import can_move_stock, count_of, fmt, opening_state, supplies_open_lot

OPENING_KIND = "supplies.opening"

COLUMNS = [
    Column(
        "point",
        gettext_lazy("storage point"),
        ("贮存点", "存放点", "储备点", "仓库", "存放地点", "storage point"),
        True,
    ),
    Column("item", gettext_lazy("item"), ("物资名称", "物资", "品名", "名称", "item"), True),
    Column("quantity", gettext_lazy("quantity"), ("数量", "库存数量", "库存", "quantity"), True),
    Column("unit", gettext_lazy("unit"), ("单位", "计量单位", "unit")),
    Column("batch", gettext_lazy("batch"), ("批号", "批次", "生产批号", "batch")),
    Column("expiry", gettext_lazy("expiry"), ("有效期至", "有效期", "失效日期", "过期日期", "expiry")),
    Column("source", gettext_lazy("source"), ("来源", "source")),
    Column("supplier", gettext_lazy("supplier or donor"), ("供应商", "捐赠方", "供货单位", "supplier")),
]
_LABEL = {c.field: str(c.label) for c in COLUMNS}
_SOURCES = {
    "采购": Lot.Source.PURCHASE,
    "购买": Lot.Source.PURCHASE,
    "purchase": Lot.Source.PURCHASE,
    "捐赠": Lot.Source.DONATION,
    "捐助": Lot.Source.DONATION,
    "donation": Lot.Source.DONATION,
    "协议": Lot.Source.AGREEMENT,
    "供货协议": Lot.Source.AGREEMENT,
    "agreement": Lot.Source.AGREEMENT,
}


def allowed_points(job: ImportJob) -> list[StoragePoint]:
    """The points this job may fill: those of its community (or, for a street job, the street's
    warehouses) where the uploader may move stock."""
    actor = job.created_by
    qs = StoragePoint.objects.filter(active=True)
    if job.community_id:
        qs = qs.filter(community_id=job.community_id)
    else:
        qs = qs.filter(community__isnull=True, street_id=job.options.get("street_id") or 0)
    return [p for p in qs.order_by("pk") if actor is not None and can_move_stock(actor, p)]


register_import_page(
    ImportPage(
        kind=OPENING_KIND,
        back_url="supplies:import",
        back_label=gettext_lazy("Import opening stock"),
        preview=(
            ("item", gettext_lazy("Item")),
            ("point", gettext_lazy("Storage point")),
            ("quantity", gettext_lazy("Quantity")),
            ("batch", gettext_lazy("Batch")),
            ("expiry", gettext_lazy("Expiry")),
            ("source", gettext_lazy("Source")),
        ),
        created_label=gettext_lazy("new lots"),
        done_url="supplies:board",
        done_label=gettext_lazy("Open the supplies board"),
    )
)


@register_importer
class OpeningStockImporter:
    kind: ClassVar[str] = OPENING_KIND
    columns: ClassVar[list[Column]] = COLUMNS

    def check(self, job: ImportJob, table: Table) -> CheckResult:
        result = CheckResult()
        points = {fold_text(p.name): p for p in allowed_points(job)}
        catalogue = list(Item.objects.all())
        today = timezone.localdate()
        seen: dict[tuple[int, int, str, dt.date | None], int] = {}
        for row, values in table.rows:
            errors, fail = row_checker(row, _LABEL)

            point = points.get(fold_text(values.get("point")))
            if point is None:
                fail(
                    "point",
                    _("“%(name)s” is not a storage point here; known points: %(known)s")
                    % {
                        "name": values.get("point") or "—",
                        "known": "、".join(p.name for p in points.values()) or "—",
                    },
                )
            item = match_item(str(values.get("item") or ""), catalogue)
            if item is None:
                fail("item", _("“%(name)s” is not in the catalogue") % {"name": values.get("item") or "—"})
            quantity: Decimal | None = None
            raw = values.get("quantity", "")
            if item is not None:
                try:
                    quantity = count_of(item, raw)
                except ValidationError as exc:
                    fail("quantity", f"{raw}: {' '.join(exc.messages)}")
                unit = fold_text(values.get("unit"))
                if unit and unit != fold_text(item.unit):
                    fail(
                        "unit",
                        _("the catalogue counts %(item)s in %(unit)s, not “%(given)s”")
                        % {"item": item.label, "unit": item.unit, "given": values.get("unit")},
                    )
            expiry = None
            try:
                expiry = parse_day(values.get("expiry"))
            except ValueError:
                fail(
                    "expiry",
                    _("“%(value)s” is not a date (write 2027-06-30)") % {"value": values.get("expiry")},
                )
            else:
                if expiry is None and item is not None and item.shelf_life_days:
                    fail(
                        "expiry",
                        _("%(item)s has a shelf life: the expiry date is needed") % {"item": item.label},
                    )
                elif expiry is not None and expiry < today:
                    fail(
                        "expiry",
                        _("already expired on %(day)s: record it as disposed, not as stock")
                        % {"day": expiry},
                    )
            source_text = fold_text(values.get("source"))
            source = _SOURCES.get(source_text, Lot.Source.OPENING if not source_text else "")
            if not source:
                fail(
                    "source",
                    _("“%(value)s” is not a source (采购, 捐赠 or 协议)") % {"value": values.get("source")},
                )
            batch = unicodedata.normalize("NFKC", str(values.get("batch") or "")).strip()[:60]
            if point is not None and item is not None:
                key = (point.pk, item.pk, batch, expiry)
                if key in seen:
                    fail("item", _("the same lot as row %(row)d") % {"row": seen[key]})
                else:
                    seen[key] = row
                if quantity is not None and opening_state(point, item, batch, expiry, quantity) == "moved":
                    fail(
                        "quantity",
                        _(
                            "this lot is already in stock and has moved since; correct it with a count, not an import"
                        ),
                    )
            if errors:
                result.errors.extend(errors)
                continue
            assert point is not None and item is not None and quantity is not None
            result.records.append(
                (
                    row,
                    {
                        "point": point,
                        "item": item,
                        "quantity": quantity,
                        "batch": batch,
                        "expiry": expiry,
                        "source": source,
                        "supplier": str(values.get("supplier") or "").strip()[:100],
                    },
                )
            )
        return result

    def commit(self, job: ImportJob, result: CheckResult, actor: User) -> CommitResult:
        outcome = CommitResult()
        reason = _("Opening stock from %(file)s") % {"file": job.filename}
        for _row, record in result.records:
            state = supplies_open_lot(actor=actor, reason=reason, **record)
            setattr(outcome, state, getattr(outcome, state) + 1)
        return outcome

    def preview_row(self, record: dict[str, Any]) -> dict[str, str]:
        item: Item = record["item"]
        return {
            "point": record["point"].name,
            "item": item.label,
            "quantity": f"{fmt(record['quantity'])} {item.unit}",
            "batch": record["batch"],
            "expiry": record["expiry"].isoformat() if record["expiry"] else "",
            "source": str(Lot.Source(record["source"]).label),
        }

    def fingerprint(self, job: ImportJob) -> str:
        return ",".join(f"{p.pk}:{p.name}" for p in allowed_points(job))


def stock_xlsx(rows: Iterable[tuple[StoragePoint, ItemStock]]) -> bytes:
    headers = [
        _("Storage point"),
        _("Item"),
        _("Unit"),
        _("Batch"),
        _("Expiry"),
        _("Source"),
        _("On hand"),
        _("Expired"),
    ]
    today = timezone.localdate()

    def lines() -> Iterable[list[object]]:
        for point, stock in rows:
            for lot in stock.lots:
                expired = lot.is_expired(today)
                yield [
                    point.name,
                    stock.item.label,
                    stock.item.unit,
                    lot.batch,
                    lot.expiry.isoformat() if lot.expiry else "",
                    str(lot.get_source_display()),
                    float(lot.on_hand),
                    _("yes") if expired else "",
                ]

    return write_xlsx(headers, lines(), title=_("Stock"), widths=(24, 22, 8, 16, 12, 14, 12, 8))


def recipient_text(m: Movement) -> str:
    """Who received or sent the stock, as the ledger page shows it (households only where visible)."""
    parts = []
    if m.counterpart_id:
        parts.append(("→ " if m.quantity < 0 else "← ") + m.counterpart.name)  # type: ignore[union-attr]
    if m.team:
        parts.append(str(m.get_team_display()))
    if m.response_id:
        parts.append(m.response.title)  # type: ignore[union-attr]
    shown = getattr(m, "household_shown", None)
    if shown is not None:
        parts.append(str(shown))
    elif m.household_id:
        parts.append(_("a household"))
    if m.note:
        parts.append(m.note)
    return " · ".join(parts)


def movements_xlsx(movements: Iterable[Movement]) -> bytes:
    headers = [
        _("Time"),
        _("Kind"),
        _("Storage point"),
        _("Item"),
        _("Batch"),
        _("Quantity"),
        _("Balance after"),
        _("Recipient / note"),
        _("By"),
    ]
    rows = (
        [
            timezone.localtime(m.at).strftime("%Y-%m-%d %H:%M"),
            str(m.get_kind_display()),
            m.point.name,
            m.item.label,
            m.lot.batch,
            float(m.quantity),
            float(m.balance_after),
            recipient_text(m),
            m.actor.name if m.actor else "",
        ]
        for m in movements
    )
    return write_xlsx(headers, rows, title=_("Movements"), widths=(17, 10, 22, 20, 14, 10, 12, 40, 12))
