"""A finished drill for the demo community, so the drill history and an after-action review have content."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from linli.core.models import User
from linli.plans.models import Phase, Plan
from linli.response.models import Assignment, Response
from linli.response.services import response_activate, response_review, response_terminate
from linli.tasks.models import Task


def seed_demo_drill(community_code: str = "nanli", days_ago: int = 21) -> Response | None:
    commander = User.objects.filter(username="commander").first()
    plan = Plan.objects.filter(
        community__code=community_code, source__template_key="closed-area-screening"
    ).first()
    if commander is None or plan is None or Response.objects.filter(plan=plan).exists():
        return None
    rng = random.Random(20221127)
    start = timezone.now().replace(hour=19, minute=0, second=0, microsecond=0) - dt.timedelta(days=days_ago)
    with transaction.atomic():
        response = response_activate(
            actor=commander,
            plan=plan,
            level=2,
            reason="月度演练：模拟2号楼出现阳性病例，封闭2号楼并组织全员核酸",
            drill=True,
            now=start,
        )
        for assignment in Assignment.objects.filter(response=response):
            Assignment.objects.filter(pk=assignment.pk).update(
                on_duty_at=start + dt.timedelta(minutes=rng.randint(4, 40))
            )
        Response.objects.filter(pk=response.pk).update(staffed_at=None)
        tasks = list(response.tasks())
        for task in tasks:
            # Most steps on time, some late, a few left undone: a realistic first drill.
            roll = rng.random()
            if roll < 0.08:
                continue
            slack = dt.timedelta(minutes=rng.randint(-20, -2) if roll < 0.78 else rng.randint(3, 45))
            Task.objects.filter(pk=task.pk).update(
                status=Task.Status.DONE,
                done_at=task.due_at + slack,
                done_by_id=task.assignee_id or commander.pk,
                next_escalation_at=None,
            )
        end = start + dt.timedelta(hours=5)
        response.refresh_from_db()
        response_terminate(
            actor=commander, response=response, criteria_met=plan.termination_criteria_list, now=end
        )
        response.tasks().filter(stage=Phase.TERMINATION).update(
            status=Task.Status.DONE, done_at=end + dt.timedelta(minutes=25), next_escalation_at=None
        )
        response.refresh_from_db()
        response_review(
            actor=commander,
            response=response,
            went_well="联络组15分钟内完成全体居民通知；交通治安组30分钟内完成2号楼封闭。",
            to_improve="医疗急救组员空缺，上门确认任务超时；后勤组防护服发放慢，需提前分装。",
        )
    return response
