"""The skills catalogue (issue: liaison, logistics, security, medical first aid, nursing, psychology,
media, electrician, plumber, driver, IT, translation, sign language), which of them a certificate must
confirm, and which skills are close enough to suggest when nobody has the one asked for."""

from __future__ import annotations

# code, name, English name, needs a certificate
SKILLS: list[tuple[str, str, str, bool]] = [
    ("liaison", "联络沟通", "Liaison", False),
    ("logistics", "后勤保障", "Logistics", False),
    ("security", "秩序维护", "Security & order", False),
    ("first-aid", "医疗急救", "Medical first aid", True),
    ("nursing", "护理", "Nursing", True),
    ("psychology", "心理疏导", "Psychological support", True),
    ("media", "宣传媒体", "Media", False),
    ("electrician", "电工", "Electrician", True),
    ("plumber", "水暖工", "Plumber", False),
    ("driver", "驾驶", "Driver", True),
    ("it", "信息技术", "IT", False),
    ("translation", "外语翻译", "Translation", False),
    ("sign-language", "手语", "Sign language", False),
]

# When nobody has a skill, these are the nearest alternatives to offer.
RELATED: dict[str, list[str]] = {
    "first-aid": ["nursing"],
    "nursing": ["first-aid"],
    "psychology": ["nursing", "liaison"],
    "electrician": ["plumber"],
    "plumber": ["electrician"],
    "liaison": ["media", "translation"],
    "media": ["liaison", "it"],
    "translation": ["liaison", "sign-language"],
    "sign-language": ["translation", "liaison"],
    "security": ["logistics"],
    "logistics": ["driver", "security"],
    "driver": ["logistics"],
    "it": ["media"],
}


def load_skills() -> None:
    from linli.volunteers.models import Skill

    for order, (code, name, name_en, certified) in enumerate(SKILLS):
        Skill.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "needs_certificate": certified, "order": order},
        )
