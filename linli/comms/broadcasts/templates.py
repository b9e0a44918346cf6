"""Notice templates: the built-in ones every community is offered, and filling in their placeholders.

A template's `{community}` and `{phone}` are the community's name and office phone; `{date}` is today. `{time}`
and `{place}` stay as they are for the worker to write, and a notice that still has one is refused, so no
resident ever gets "at {place}"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from linli.comms.models import NoticeTemplate
from linli.comms.models.broadcasts import Audience
from linli.registry.models import Community

PLACEHOLDERS = ("community", "date", "time", "place", "phone")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True)
class Builtin:
    key: str
    name: str
    title: str
    body: str
    audience: str = Audience.RESIDENTS


# Content, not interface: what a Chinese community sends its residents, written as such notices are.
BUILTIN = (
    Builtin(
        "testing-round",
        "核酸检测通知",
        "核酸检测通知",
        "{community}定于{date}{time}在{place}开展全员核酸检测，请按楼栋分时段前往，全程佩戴口罩、保持一米距离，"
        "携带身份证或健康码。行动不便者请联系楼组长上门采样。咨询电话{phone}",
    ),
    Builtin(
        "water-cut",
        "停水通知",
        "停水通知",
        "因管道维修，{community}将于{date}{time}停水，预计恢复时间另行通知。请提前储水，关好水龙头。"
        "咨询电话{phone}",
    ),
    Builtin(
        "power-cut",
        "停电通知",
        "停电通知",
        "因线路检修，{community}将于{date}{time}停电，范围：{place}。请提前做好准备，电梯暂停使用，"
        "使用医疗设备的家庭请及时联系社区。咨询电话{phone}",
    ),
    Builtin(
        "lockdown",
        "封控管理通知",
        "封控管理通知",
        "根据疫情防控要求，{place}自{date}{time}起实行封控管理，居民足不出户，生活物资由社区统一配送，"
        "就医等紧急需求请拨打{phone}。感谢您的理解与配合。",
    ),
    Builtin(
        "vaccination",
        "疫苗接种通知",
        "疫苗接种通知",
        "{community}将于{date}{time}在{place}组织新冠疫苗接种，请携带身份证前往。60岁以上老人优先，"
        "行动不便者可预约上门。咨询电话{phone}",
    ),
    Builtin(
        "flood-warning",
        "防汛预警",
        "防汛预警",
        "气象台发布暴雨预警，{date}{time}起有强降雨。请关好门窗，勿在地下室、低洼处停留，地下车库车辆请及时挪移。"
        "如遇险情请拨打{phone}或119。",
    ),
)


def ensure_builtin_templates() -> int:
    """Create the built-in templates that are missing (by key); returns how many were made. Idempotent:
    an administrator's later change to a built-in one is kept."""
    have = set(NoticeTemplate.objects.filter(community__isnull=True).values_list("key", flat=True))
    missing = [b for b in BUILTIN if b.key not in have]
    if not missing:
        return 0
    with transaction.atomic():
        NoticeTemplate.objects.bulk_create(
            NoticeTemplate(
                community=None, key=b.key, name=b.name, audience=b.audience, title=b.title, body=b.body
            )
            for b in missing
        )
    return len(missing)


def template_fill(text: str, community: Community) -> str:
    """Fill the placeholders the system knows: the community's name and phone, today's date."""
    today = timezone.localdate()
    values = {
        "community": community.name,
        "phone": community.phone or "{phone}",
        "date": f"{today.month}月{today.day}日",
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)


def placeholders_left(text: str) -> list[str]:
    """The placeholders still in a notice ({time}, {place} …), in order, once each."""
    return list(dict.fromkeys(m[0] for m in _PLACEHOLDER.finditer(text)))
