"""Demo plans for the demo community: two templates copied and staffed with the demo accounts."""

from __future__ import annotations

from django.db import transaction

from linli.core.models import User
from linli.plans.builtin import load_builtin_templates
from linli.plans.models import Plan, PositionHolder
from linli.plans.services import plan_copy
from linli.registry.models import Community

# Position key → demo username; "-" entries are people without an account (property staff, volunteers).
DEMO_STAFFING = {
    "commander": ["commander"],
    "site-commander": ["deputy", "-物业 陈经理 13901010001 物业公司"],
    "engineering-leader": ["-工程部 刘师傅 13901010002 物业公司"],
    "engineering-member": ["-电工 周建 13901010003 专业志愿者"],
    "liaison-leader": ["leader1", "leader2 standin"],
    "liaison-member": ["worker1", "worker2"],
    "medical-leader": ["-社区医生 何敏 13901010004 社区卫生服务站"],
    "security-leader": ["leader3"],
    "security-member": ["worker3", "-保安队长 孙强 13901010005 物业公司"],
    "logistics-leader": ["leader4"],
    "logistics-member": ["team", "worker4"],
    # medical-member is left empty on purpose: the demo shows a staffing gap.
}
DEMO_TEMPLATES = ["closed-area-screening", "building-fire", "rainstorm-flood", "utility-outage"]


def seed_demo_plans(community_code: str = "nanli") -> list[Plan]:
    load_builtin_templates()
    community = Community.objects.filter(code=community_code).first()
    commander = User.objects.filter(username="commander").first()
    if community is None or commander is None or Plan.objects.filter(community=community).exists():
        return []
    users = {
        u.username: u
        for u in User.objects.filter(community=community) | User.objects.filter(grid__community=community)
    }
    made = []
    with transaction.atomic():
        for key in DEMO_TEMPLATES:
            template = Plan.objects.filter(is_template=True, template_key=key).first()
            if template is None:
                continue
            plan = plan_copy(actor=commander, source=template, community=community)
            Plan.objects.filter(pk=plan.pk).update(approver="潘家园南里社区居委会")
            positions = {p.key: p for p in plan.positions.all()}
            holders = []
            for pos_key, entries in DEMO_STAFFING.items():
                position = positions.get(pos_key)
                if position is None:
                    continue
                for order, entry in enumerate(entries, start=1):
                    if entry.startswith("-"):
                        _role, name, phone, org = entry[1:].split(" ")
                        holders.append(
                            PositionHolder(
                                position=position, name=name, phone=phone, organisation=org, order=order
                            )
                        )
                    else:
                        username, *flags = entry.split(" ")
                        user = users.get(username)
                        if user is not None:
                            holders.append(
                                PositionHolder(
                                    position=position, user=user, is_standin="standin" in flags, order=order
                                )
                            )
            PositionHolder.objects.bulk_create(holders)
            made.append(plan)
    return made
