"""Demo: the site plan of 潘家园南里 (drawn here with Pillow: walls, gates, roads, green spaces, the office and
every building as a labelled block), each building placed on it, GPS edges, and four incidents in four states
(a lift with people trapped, a leak in the underground garage, a fire risk in a stairwell, a false alarm).

Idempotent: the plan is drawn once, buildings not yet placed are placed, incidents are added only when the
community has none."""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from linli.comms.incidents import reporting, siteplan, triage
from linli.comms.models import BuildingPlacement, Incident, SitePlan
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Building, Community
from linli.tasks.models import Team

W, H = 1600, 1100
WALL = (40, 80, 1560, 1000)
# Inside the walls: a north-south road and an east-west road cut the estate into four quarters.
NS_ROAD = (775, 80, 835, 1000)
EW_ROAD = (40, 505, 1560, 555)
QUARTERS = [(85, 118, 745, 470), (865, 118, 1525, 470), (85, 585, 745, 965), (865, 585, 1525, 965)]
COLS, ROWS = 3, 4
BLOCK_W, BLOCK_H = 176, 46
# Slots (quarter, row, col) kept for other things than housing.
GREEN_SLOTS = {(2, 1, 1), (2, 1, 2), (2, 2, 1), (2, 2, 2)}
OFFICE_SLOTS = {(3, 3, 0): "社区居委会", (3, 3, 1): "物业服务中心", (3, 2, 2): "地下车库入口"}
FACILITIES = [
    "地面停车场",
    "电动自行车充电棚",
    "垃圾分类站",
    "快递柜",
    "社区卫生服务站",
    "老年活动室",
    "非机动车棚",
    "消防器材站",
]
CORNERS = {
    "north": Decimal("39.877000"),
    "south": Decimal("39.871200"),
    "west": Decimal("116.456000"),
    "east": Decimal("116.467000"),
}

COLOURS = {
    "ground": (243, 239, 230),
    "outside": (226, 222, 214),
    "road": (255, 255, 255),
    "road_edge": (201, 194, 179),
    "wall": (150, 131, 108),
    "green": (205, 230, 192),
    "tree": (150, 200, 135),
    "block": (224, 229, 237),
    "block_edge": (110, 122, 145),
    "office": (253, 226, 200),
    "office_edge": (190, 120, 60),
    "ink": (40, 44, 52),
    "muted": (110, 110, 110),
}


def _font(size: int) -> Any:
    from PIL import ImageFont

    for path, index in (
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
        ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ):
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, size, index=index)
            except OSError:
                continue
    return ImageFont.load_default(size=size)


def _centre_text(
    draw: Any, box: tuple[int, int, int, int], text: str, font: Any, fill: tuple[int, ...]
) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (box[0] + box[2]) / 2 - (right - left) / 2 - left
    y = (box[1] + box[3]) / 2 - (bottom - top) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


def _slot_box(quarter: int, row: int, col: int) -> tuple[int, int, int, int]:
    qx0, qy0, qx1, qy1 = QUARTERS[quarter]
    gap_x = ((qx1 - qx0) - COLS * BLOCK_W) / (COLS - 1)
    gap_y = ((qy1 - qy0) - ROWS * BLOCK_H) / (ROWS - 1)
    x0 = qx0 + col * (BLOCK_W + gap_x)
    y0 = qy0 + row * (BLOCK_H + gap_y)
    return int(x0), int(y0), int(x0 + BLOCK_W), int(y0 + BLOCK_H)


def housing_slots() -> list[tuple[int, int, int, int]]:
    """Where buildings go, numbered the way estates are: quarter by quarter, row by row from the north."""
    slots = []
    for quarter in range(4):
        for row in range(ROWS):
            for col in range(COLS):
                key = (quarter, row, col)
                if key in GREEN_SLOTS or key in OFFICE_SLOTS:
                    continue
                slots.append(_slot_box(quarter, row, col))
    return slots


@dataclass
class Drawn:
    png: bytes
    spots: dict[str, tuple[float, float]]  # building number → (x, y) fractions


def draw_site_plan(name: str, numbers: list[str]) -> Drawn:
    """The estate's plan as a PNG, and where each building's centre is on it."""
    from PIL import Image, ImageDraw

    rng = random.Random(7)
    image = Image.new("RGB", (W, H), COLOURS["outside"])
    draw = ImageDraw.Draw(image)
    small, label, big, title = _font(15), _font(19), _font(24), _font(30)

    # Outside roads, the walls, the ground inside.
    draw.rectangle((0, 1010, W, H), fill=COLOURS["road"], outline=COLOURS["road_edge"])
    _centre_text(draw, (0, 1010, W, H), "潘 家 园 路", big, COLOURS["muted"])
    draw.rectangle(WALL, fill=COLOURS["ground"], outline=COLOURS["wall"], width=6)

    # Roads inside, with the trees along them.
    for road in (NS_ROAD, EW_ROAD):
        draw.rectangle(road, fill=COLOURS["road"], outline=COLOURS["road_edge"], width=2)
    for x in range(70, 1540, 46):
        if abs(x - 805) > 50 and x < 1420:
            for y in (492, 568):
                draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=COLOURS["tree"])
    for y in range(110, 990, 46):
        if abs(y - 530) > 40:
            for x in (762, 848):
                draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=COLOURS["tree"])

    # Gates: the main gate on the south wall, a second on the east wall.
    draw.rectangle((765, 990, 845, 1012), fill=COLOURS["road"])
    _centre_text(draw, (700, 1016, 910, 1046), "南门（正门）", label, COLOURS["ink"])
    draw.rectangle((1548, 505, 1572, 555), fill=COLOURS["road"])
    _centre_text(draw, (1430, 478, 1550, 503), "东门", label, COLOURS["ink"])

    # The central green space in the south-west quarter.
    g0, g1 = _slot_box(2, 1, 1), _slot_box(2, 2, 2)
    green = (g0[0] - 10, g0[1] - 10, g1[2] + 10, g1[3] + 10)
    draw.rounded_rectangle(green, radius=28, fill=COLOURS["green"], outline=COLOURS["tree"], width=3)
    for _ in range(26):
        x = rng.randint(green[0] + 20, green[2] - 20)
        y = rng.randint(green[1] + 20, green[3] - 20)
        r = rng.randint(9, 15)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=COLOURS["tree"])
    _centre_text(draw, green, "中心绿地 · 健身区", big, (50, 100, 45))

    # The office, the property company, the garage ramp.
    for (quarter, row, col), text in OFFICE_SLOTS.items():
        box = _slot_box(quarter, row, col)
        draw.rectangle(box, fill=COLOURS["office"], outline=COLOURS["office_edge"], width=3)
        _centre_text(draw, box, text, label, (120, 60, 10))

    # The buildings, as long slabs facing south.
    slots = housing_slots()
    spots: dict[str, tuple[float, float]] = {}
    for number, box in zip(numbers, slots, strict=False):
        draw.rectangle(box, fill=COLOURS["block"], outline=COLOURS["block_edge"], width=3)
        _centre_text(draw, box, f"{number}号楼", label, COLOURS["ink"])
        spots[number] = (round((box[0] + box[2]) / 2 / W, 4), round((box[1] + box[3]) / 2 / H, 4))

    # Slots the registry has no building for: what estates have there.
    for box, text in zip(slots[len(numbers) :], FACILITIES, strict=False):
        draw.rectangle(box, fill=(236, 236, 228), outline=(160, 160, 150), width=2)
        _centre_text(draw, box, text, small, COLOURS["muted"])

    # Title, north arrow and scale.
    draw.text((44, 22), f"{name} 平面示意图", font=title, fill=COLOURS["ink"])
    cx, cy = 1400, 50
    draw.polygon([(cx, cy - 30), (cx - 12, cy + 6), (cx, cy - 2), (cx + 12, cy + 6)], fill=COLOURS["ink"])
    draw.text((cx + 18, cy - 22), "北 N", font=label, fill=COLOURS["ink"])
    draw.line((1380, 1070, 1500, 1070), fill=COLOURS["ink"], width=3)
    for x in (1380, 1500):
        draw.line((x, 1063, x, 1077), fill=COLOURS["ink"], width=3)
    draw.text((1410, 1040), "约 70 米", font=small, fill=COLOURS["ink"])

    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return Drawn(out.getvalue(), spots)


def _scene_photo(text: str, tone: tuple[int, int, int], seed: int) -> SimpleUploadedFile:
    """A stand-in for a resident's photo (the demo has no real ones): a dim scene with a caption."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    image = Image.new("RGB", (1200, 900), tone)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randint(0, 1200), rng.randint(0, 900)
        r = rng.randint(40, 180)
        shade = tuple(max(0, min(255, c + rng.randint(-40, 40))) for c in tone)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=shade)
    image = image.filter(ImageFilter.GaussianBlur(18))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 790, 1200, 900), fill=(0, 0, 0))
    _centre_text(draw, (0, 790, 1200, 900), text, _font(40), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return SimpleUploadedFile(f"IMG_{seed:04d}.jpg", out.getvalue(), content_type="image/jpeg")


def _ensure_plan(community: Community, commander: User) -> None:
    buildings = list(Building.objects.filter(community=community).order_by("sort_key", "number"))
    drawn = draw_site_plan(community.name, [b.number for b in buildings])
    plan = SitePlan.objects.filter(community=community).first()
    if plan is None:
        upload = SimpleUploadedFile(f"{community.code}-siteplan.png", drawn.png, content_type="image/png")
        plan = siteplan.siteplan_upload(actor=commander, community=community, image=upload)
        siteplan.siteplan_set_corners(actor=commander, plan=plan, **CORNERS)
    placed = set(
        BuildingPlacement.objects.filter(building__community=community).values_list("building_id", flat=True)
    )
    for building in buildings:
        spot = drawn.spots.get(building.number)
        if spot is not None and building.pk not in placed:
            siteplan.building_place(actor=commander, building=building, x=spot[0], y=spot[1])


def _backdate(
    incident: Incident,
    *,
    created: dt.datetime,
    triaged: dt.datetime | None = None,
    closed: dt.datetime | None = None,
) -> None:
    fields: dict[str, Any] = {"created_at": created}
    if triaged is not None:
        fields["triaged_at"] = triaged
    if closed is not None:
        fields["closed_at"] = closed
    Incident.objects.filter(pk=incident.pk).update(**fields)


def _gps_for(x: float, y: float) -> tuple[Decimal, Decimal]:
    lat = CORNERS["north"] - (CORNERS["north"] - CORNERS["south"]) * Decimal(str(y))
    lon = CORNERS["west"] + (CORNERS["east"] - CORNERS["west"]) * Decimal(str(x))
    return lat.quantize(Decimal("0.000001")), lon.quantize(Decimal("0.000001"))


def _ensure_incidents(community: Community, commander: User) -> None:
    if Incident.objects.filter(community=community).exists():
        return
    by_number = {b.number: b for b in Building.objects.filter(community=community)}
    worker = User.objects.filter(username="worker1", is_active=True).first()
    volunteer = User.objects.filter(username="volunteer", role=Role.VOLUNTEER).first()
    from linli.volunteers.models import Volunteer

    record = Volunteer.objects.filter(user=volunteer).first() if volunteer is not None else None
    now = timezone.now()

    # A false alarm last night, already dismissed.
    bang = reporting.incident_report(
        community=community,
        kind=Incident.Kind.OTHER,
        description="小区里连续有很大的爆炸声，不知道是不是出事了。",
        building=by_number.get("21"),
        place="21号楼南侧空地",
        reporter_name="赵先生",
        reporter_phone="13701234567",
    )
    triage.incident_reject(
        actor=commander,
        incident=bang,
        now=now - dt.timedelta(hours=14, minutes=40),
        note="已到现场核实：为住户婚礼燃放礼花，已劝导停止燃放，并提醒小区内禁止燃放烟花爆竹。",
    )
    _backdate(
        bang,
        created=now - dt.timedelta(hours=15),
        triaged=now - dt.timedelta(hours=14, minutes=40),
        closed=now - dt.timedelta(hours=14, minutes=40),
    )

    # Yesterday: clutter and e-bike batteries in a stairwell, cleared and closed.
    clutter = reporting.incident_report(
        community=community,
        kind=Incident.Kind.FIRE,
        description="3单元1至3层楼道堆满纸箱和旧家具，还有人把电动车电池拿到楼道里充电，存在起火隐患，消防通道被堵。",
        building=by_number.get("5"),
        place="3单元1-3层楼道",
        files=[_scene_photo("5号楼3单元楼道堆物（演示照片）", (120, 100, 80), 501)],
        via=reporting.Via.STAFF if worker else reporting.Via.RESIDENT,
        actor=worker,
        reporter_name=worker.name if worker else "",
        reporter_phone=worker.phone if worker else "",
    )
    triage.incident_reply(
        actor=commander,
        incident=clutter,
        note="已通知楼组长和物业，今天下午清理楼道。",
        now=now - dt.timedelta(days=1, hours=2, minutes=30),
    )
    triage.incident_close(
        actor=commander,
        incident=clutter,
        now=now - dt.timedelta(hours=20),
        note="楼道杂物已清理，电动车电池已劝离楼道，消防通道畅通。感谢您的反映！",
    )
    _backdate(
        clutter,
        created=now - dt.timedelta(days=1, hours=3),
        triaged=now - dt.timedelta(days=1, hours=2, minutes=30),
        closed=now - dt.timedelta(hours=20),
    )

    # An hour ago: a leak in the underground garage, with tasks for the repair team.
    ramp = next((spot for spot in _office_spots() if spot[0] == "地下车库入口"), None)
    lat, lon = _gps_for(*(ramp[1] if ramp else (0.8, 0.75)))
    leak = reporting.incident_report(
        community=community,
        kind=Incident.Kind.WATER,
        description="地下车库B区顶板往下漏水，地面积水已经有好几厘米，靠近配电箱，请尽快处理。",
        place="地下车库B区，靠近东侧坡道",
        latitude=lat,
        longitude=lon,
        accuracy_m=25,
        files=[
            _scene_photo("地下车库B区积水（演示照片）", (60, 70, 85), 502),
            _scene_photo("顶板渗漏处（演示照片）", (80, 85, 90), 503),
        ],
        via=reporting.Via.VOLUNTEER if volunteer else reporting.Via.RESIDENT,
        actor=volunteer,
        reporter_name=record.name if record is not None else "刘洋",
        reporter_phone=record.phone if record is not None else "13812345678",
    )
    triage.incident_tasks_create(
        actor=commander,
        incident=leak,
        targets=[Team.ENGINEERING, Team.SECURITY],
        due_at=now + dt.timedelta(minutes=90),
        instructions="关闭漏点上游阀门，断开B区配电箱电源，设置警戒，组织抽水；通知车主挪车。",
        reply="物业工程部已到场关阀，正在抽水，请暂时不要进入B区。",
        now=now - dt.timedelta(minutes=55),
    )
    _backdate(leak, created=now - dt.timedelta(minutes=65), triaged=now - dt.timedelta(minutes=55))

    # Twelve minutes ago: people trapped in a lift. Urgent, not handled yet.
    reporting.incident_report(
        community=community,
        kind=Incident.Kind.LIFT,
        description="2单元电梯停在7楼和8楼之间，里面有一位老人和一个孩子，按警铃没人应答，已经打了电梯公司电话。",
        building=by_number.get("12"),
        place="2单元电梯，7-8层之间",
        files=[_scene_photo("12号楼2单元电梯（演示照片）", (90, 90, 100), 504)],
        reporter_name="王女士",
        reporter_phone="13911112222",
        urgent=True,
    )
    lift = Incident.objects.filter(community=community, kind=Incident.Kind.LIFT).latest("pk")
    _backdate(lift, created=now - dt.timedelta(minutes=12))


def _office_spots() -> list[tuple[str, tuple[float, float]]]:
    out = []
    for (quarter, row, col), text in OFFICE_SLOTS.items():
        box = _slot_box(quarter, row, col)
        out.append((text, ((box[0] + box[2]) / 2 / W, (box[1] + box[3]) / 2 / H)))
    return out


def seed_incidents(community: Community) -> None:
    commander = (
        User.objects.filter(community=community, role=Role.COMMUNITY_ADMIN, is_active=True, grid__isnull=True)
        .order_by("id")
        .first()
    )
    if commander is None:
        return
    with transaction.atomic():
        _ensure_plan(community, commander)
        _ensure_incidents(community, commander)
