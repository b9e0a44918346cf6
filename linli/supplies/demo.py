"""Demo stock for the demo community: a street warehouse with seed 003's winter stockpile, two
community points with seed 000's list, one item short of target, one lot due for rotation, one expired
lot, a supplier agreement and a count posted last week."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from linli.core.models import User
from linli.registry.models import Community
from linli.supplies.models import Item, StoragePoint, SupplierAgreement, Target
from linli.supplies.services import (
    Recipient,
    stocktake_post,
    stocktake_start,
    supplies_issue,
    supplies_receive,
)

# point key, item code, quantity, days until expiry (None: no expiry), batch, source
DEMO_LOTS: list[tuple[str, str, int, int | None, str, str]] = [
    ("point", "surgical-mask", 20000, 400, "KZ2601", "purchase"),
    ("point", "n95-mask", 3000, 700, "N95-2509", "purchase"),
    ("point", "protective-suit", 900, 60, "FH2507", "purchase"),
    ("point", "protective-suit", 700, 600, "FH2603", "donation"),
    ("point", "disinfectant-84", 800, 200, "84-2604", "purchase"),
    ("point", "medical-alcohol", 300, 500, "JJ2605", "purchase"),
    ("point", "hand-sanitiser", 20, -10, "XS2411", "donation"),
    ("point", "hand-sanitiser", 240, 420, "XS2606", "purchase"),
    ("point", "antigen-kit", 3000, 45, "KY2602", "purchase"),
    ("point", "ir-thermometer", 40, None, "", "purchase"),
    ("point", "first-aid-kit", 12, 800, "YY2601", "purchase"),
    ("property", "bottled-water", 120, 240, "SW2607", "purchase"),
    ("property", "instant-food", 80, 100, "FB2606", "purchase"),
    ("property", "quilt", 60, None, "", "donation"),
    ("property", "sandbag", 300, None, "", "purchase"),
    ("property", "pump", 2, None, "", "purchase"),
    ("property", "generator", 1, None, "", "purchase"),
    ("warehouse", "surgical-mask", 200000, 500, "KZ2602", "purchase"),
    ("warehouse", "protective-suit", 8000, 700, "FH2604", "purchase"),
    ("warehouse", "antigen-kit", 12000, 300, "KY2606", "purchase"),
    ("warehouse", "cotton-coat", 80, None, "", "purchase"),
    ("warehouse", "quilt", 80, None, "", "purchase"),
    ("warehouse", "tent", 15, None, "", "purchase"),
    ("warehouse", "folding-bed", 10, None, "", "purchase"),
]


def seed_demo_supplies(community_code: str = "nanli") -> bool:
    community = Community.objects.filter(code=community_code).first()
    street = User.objects.filter(username="street").first()
    logistics = User.objects.filter(username="team").first()
    if (
        community is None
        or street is None
        or logistics is None
        or StoragePoint.objects.filter(street_id=community.street_id).exists()
    ):
        return False
    today = timezone.localdate()
    with transaction.atomic():
        points = {
            "warehouse": StoragePoint.objects.create(
                street_id=community.street_id,
                name="潘家园街道应急物资仓库",
                address="潘家园街道办事处后院 2 号库",
                keeper="张华",
                phone="13901020001",
            ),
            "point": StoragePoint.objects.create(
                community=community,
                name="南里社区应急物资储备点",
                address="南里社区居委会地下一层",
                keeper="刘芳",
                phone="13901020002",
            ),
            "property": StoragePoint.objects.create(
                community=community,
                name="南里物业仓库",
                address="南里 5 号楼底商 103",
                keeper="陈经理",
                phone="13901010001",
            ),
        }
        items = {i.code: i for i in Item.objects.all()}
        for key, code, quantity, days, batch, source in DEMO_LOTS:
            supplies_receive(
                actor=street,
                point=points[key],
                item=items[code],
                quantity=quantity,
                batch=batch,
                expiry=today + dt.timedelta(days=days) if days is not None else None,
                source=source,
                supplier="捐赠：南里商会" if source == "donation" else "",
            )
        SupplierAgreement.objects.create(
            street_id=community.street_id,
            community=community,
            supplier="京南医疗用品有限公司",
            contact="吴经理",
            phone="13901020003",
            item=items["surgical-mask"],
            quantity=10000,
            lead_time_hours=24,
            valid_from=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=335),
            created_by=street,
        )
        Target.objects.create(
            community=community, item=items["sandbag"], basis=Target.Basis.FIXED, quantity=500
        )
        sheet = stocktake_start(actor=street, point=points["point"])
        stocktake_post(
            actor=street, sheet=sheet, counts={line.pk: (line.expected, "") for line in sheet.lines.all()}
        )
        supplies_issue(
            actor=logistics,
            point=points["point"],
            item=items["protective-suit"],
            quantity=40,
            recipient=Recipient(kind="team", team="medical", note="入户排查"),
        )
    return True
