"""The built-in control types, after the Beijing practice of 2022 (seed 002) and the ninth edition of the
national prevention protocol. Communities adjust them on the control types page; these are the defaults.

Each step: title, owner (grid worker or a team), kind (step / test / daily / release) and when it is due:
"hours" after the start, or "day" N of the control period (day 1 is the first day).
"""

from __future__ import annotations

from typing import Any

from linli.epidemic.models import Colour, ControlType, Measure

BUILTIN_TYPES: list[dict[str, Any]] = [
    {
        "key": "close_contact",
        "name": "密接",
        "aliases": "密接,密切接触者,密切接触,close contact",
        "verify_minutes": 90,
        "measure": Measure.CENTRAL,
        "days": 7,
        "colour": Colour.RED,
        "steps": [
            {"title": "通知本人，告知集中隔离要求", "owner": "worker", "kind": "step", "hours": 1},
            {"title": "上报街道，申请转运车辆和隔离点", "owner": "liaison", "kind": "step", "hours": 2},
            {"title": "上门转运至集中隔离点", "owner": "worker", "kind": "step", "hours": 6},
            {"title": "居所终末消杀", "owner": "logistics", "kind": "step", "hours": 12},
            {"title": "核酸检测（第1天）", "owner": "medical", "kind": "test", "day": 1},
            {"title": "核酸检测（第2天）", "owner": "medical", "kind": "test", "day": 2},
            {"title": "核酸检测（第3天）", "owner": "medical", "kind": "test", "day": 3},
            {"title": "核酸检测（第5天）", "owner": "medical", "kind": "test", "day": 5},
            {"title": "核酸检测（第7天）", "owner": "medical", "kind": "test", "day": 7},
            {"title": "解除集中隔离，接回社区", "owner": "worker", "kind": "release"},
        ],
    },
    {
        "key": "secondary_contact",
        "name": "次密接",
        "aliases": "次密接,次密切接触者,密接的密接,次密,secondary contact",
        "verify_minutes": 240,
        "measure": Measure.HOME,
        "days": 7,
        "colour": Colour.RED,
        "steps": [
            {"title": "通知本人，告知居家隔离要求", "owner": "worker", "kind": "step", "hours": 1},
            {"title": "拉入健康监测群", "owner": "worker", "kind": "step", "hours": 2},
            {"title": "安装门磁", "owner": "security", "kind": "step", "hours": 4},
            {"title": "联系物业安排一日三餐和生活垃圾清运", "owner": "logistics", "kind": "step", "hours": 4},
            {"title": "了解就医、用药需求", "owner": "medical", "kind": "step", "hours": 6},
            {"title": "早晚两次体温", "owner": "worker", "kind": "daily"},
            {"title": "核酸检测（第1天）", "owner": "medical", "kind": "test", "day": 1},
            {"title": "核酸检测（第4天）", "owner": "medical", "kind": "test", "day": 4},
            {"title": "核酸检测（第7天）", "owner": "medical", "kind": "test", "day": 7},
            {"title": "解除居家隔离，拆除门磁", "owner": "worker", "kind": "release"},
        ],
    },
    {
        "key": "high_risk_return",
        "name": "高风险地区返回",
        "aliases": "高风险,中高风险,风险地区,返京,来返,high-risk",
        "verify_minutes": 240,
        "measure": Measure.MONITOR,
        "days": 7,
        "colour": Colour.YELLOW,
        "steps": [
            {"title": "通知本人，告知健康监测要求", "owner": "worker", "kind": "step", "hours": 2},
            {"title": "拉入健康监测群", "owner": "worker", "kind": "step", "hours": 4},
            {"title": "每日体温和症状", "owner": "worker", "kind": "daily"},
            {"title": "核酸检测（第1天）", "owner": "medical", "kind": "test", "day": 1},
            {"title": "核酸检测（第3天）", "owner": "medical", "kind": "test", "day": 3},
            {"title": "核酸检测（第7天）", "owner": "medical", "kind": "test", "day": 7},
            {"title": "解除健康监测", "owner": "worker", "kind": "release"},
        ],
    },
    {
        "key": "companion",
        "name": "时空伴随",
        "aliases": "时空伴随,时空交集,伴随,companion",
        "verify_minutes": 240,
        "measure": Measure.MONITOR,
        "days": 3,
        "colour": Colour.YELLOW,
        "steps": [
            {"title": "通知本人，告知健康监测要求", "owner": "worker", "kind": "step", "hours": 2},
            {"title": "核酸检测（第1天）", "owner": "medical", "kind": "test", "day": 1},
            {"title": "核酸检测（第2天）", "owner": "medical", "kind": "test", "day": 2},
            {"title": "解除健康监测", "owner": "worker", "kind": "release"},
        ],
    },
    {
        # Mass testing: everyone in a positive pooled tube stays at home until a single-tube retest
        # clears them (混管阳性: 居家等待单管复核).
        "key": "pooled_positive",
        "name": "混管阳性",
        "aliases": "混管阳性,混阳,混检阳性,pooled positive",
        "verify_minutes": 90,
        "measure": Measure.HOME,
        "days": 2,
        "colour": Colour.YELLOW,
        "steps": [
            {"title": "通知本人原地居家，等待单管复核", "owner": "worker", "kind": "step", "hours": 1},
            {"title": "上门单管复核采样", "owner": "medical", "kind": "test", "hours": 4},
            {"title": "复核阴性，解除居家", "owner": "worker", "kind": "release"},
        ],
    },
]


def load_control_types() -> int:
    """Add the built-in types that are missing; never overwrite what an administrator changed."""
    existing = set(ControlType.objects.filter(community__isnull=True).values_list("key", flat=True))
    made = 0
    for order, spec in enumerate(BUILTIN_TYPES):
        if spec["key"] in existing:
            continue
        ControlType.objects.create(community=None, order=order, **spec)
        made += 1
    return made
