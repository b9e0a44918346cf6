"""The preloaded catalogue: seed 000's closed-area list, the all-hazard items seed 003 finds missing,
and what the built-in plans ask for. Loaded after every migrate; an existing item keeps local edits
to its use rate and shelf life, so a community's tuning survives upgrades.

Use per resident per day at full load comes from seed 001's 30-day street stockpile (500,000 masks,
20,000 protective suits, 10 t disinfectant, 30,000 antigen kits) for a street of about 100,000
residents; items used per household or per incident have no per-person rate.
"""

from __future__ import annotations

from decimal import Decimal

# code, name, English name, aliases, GB/T class, group, unit, whole units, shelf life (days), use/person/day
CATALOGUE: list[tuple[str, str, str, str, str, str, str, bool, int | None, str | None]] = [
    (
        "surgical-mask",
        "医用外科口罩",
        "Surgical masks",
        "医用外壳口罩,口罩",
        "2",
        "protection",
        "只",
        True,
        730,
        "0.16667",
    ),
    ("n95-mask", "N95口罩", "N95 masks", "N95", "2", "protection", "只", True, 1095, None),
    (
        "protective-suit",
        "防护服",
        "Protective suits",
        "隔离服",
        "2",
        "protection",
        "套",
        True,
        1095,
        "0.00667",
    ),
    ("goggles", "护目镜", "Goggles", "", "2", "protection", "副", True, None, None),
    (
        "disinfectant-84",
        "84 消毒液",
        "84 disinfectant",
        "84消毒液,消毒液",
        "2",
        "disinfection",
        "瓶",
        True,
        365,
        "0.00667",
    ),
    (
        "medical-alcohol",
        "医用酒精",
        "Medical alcohol",
        "75%酒精,酒精",
        "2",
        "disinfection",
        "瓶",
        True,
        730,
        None,
    ),
    ("hand-sanitiser", "免洗洗手液", "Hand sanitiser", "洗手液", "2", "disinfection", "瓶", True, 730, None),
    (
        "antigen-kit",
        "抗原检测试剂",
        "Antigen test kits",
        "抗原试剂,抗原检测盒",
        "2",
        "medical",
        "人份",
        True,
        540,
        "0.01",
    ),
    (
        "ir-thermometer",
        "红外线测温仪",
        "Infrared thermometers",
        "红外线测温仪器,测温枪,额温枪",
        "2",
        "medical",
        "把",
        True,
        None,
        None,
    ),
    (
        "first-aid-kit",
        "医药箱",
        "First-aid kits",
        "急救箱,医药箱（含烧烫伤敷料）",
        "2",
        "medical",
        "个",
        True,
        1095,
        None,
    ),
    (
        "bottled-water",
        "矿泉水",
        "Bottled water",
        "瓶装水,瓶装水（550 毫升，24 瓶/箱）",
        "1",
        "food",
        "箱",
        True,
        365,
        None,
    ),
    (
        "instant-food",
        "方便面/压缩饼干",
        "Instant noodles / biscuits",
        "方便面,压缩饼干,方便食品",
        "1",
        "food",
        "箱",
        True,
        180,
        None,
    ),
    ("quilt", "棉被", "Quilts", "棉胎", "1", "shelter", "条", True, None, None),
    ("cotton-coat", "棉衣", "Cotton coats", "", "1", "shelter", "件", True, None, None),
    ("tent", "帐篷", "Tents", "", "1", "shelter", "顶", True, None, None),
    ("folding-bed", "折叠床", "Folding beds", "", "1", "shelter", "张", True, None, None),
    ("sandbag", "沙袋", "Sandbags", "", "3", "rescue", "条", True, None, None),
    ("pump", "抽水泵", "Water pumps", "抽水泵（潜水泵）,潜水泵,水泵", "2", "rescue", "台", True, None, None),
    ("generator", "应急发电机", "Generators", "发电机", "2", "power", "台", True, None, None),
    ("generator-fuel", "发电机燃油", "Generator fuel", "燃油,柴油", "2", "power", "升", False, 365, None),
    ("torch", "手电筒", "Torches", "强光手电筒,手电", "2", "power", "个", True, None, None),
    ("emergency-light", "应急照明灯", "Emergency lights", "", "2", "power", "个", True, None, None),
]


def load_catalogue() -> None:
    from linli.supplies.models import Item

    existing = set(Item.objects.values_list("code", flat=True))
    for order, (code, name, name_en, aliases, category, group, unit, whole, shelf, rate) in enumerate(
        CATALOGUE
    ):
        if code in existing:
            Item.objects.filter(code=code).update(
                name_en=name_en, aliases=aliases, category=category, group=group
            )
            continue
        Item.objects.create(
            code=code,
            name=name,
            name_en=name_en,
            aliases=aliases,
            category=category,
            group=group,
            unit=unit,
            indivisible=whole,
            shelf_life_days=shelf,
            per_person_day=Decimal(rate) if rate else None,
            builtin=True,
            order=order,
        )
