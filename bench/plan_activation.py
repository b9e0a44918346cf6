"""Activating a 200-step community plan as its commander, through the service path.

A community with 20 staff accounts and a plan of 12 positions (commander, site commander, a leader and
a member for each of the five teams), each held by one to three accounts, 200 steps over the six teams
and three phases, supplies and contacts, built with plan_build as a copied template would be. Eight
identical plans are built first, so that every activation is a first one (a plan already active is
refused); the first activation warms up and is reported on its own, the other seven are timed with
SQL logging off, and one more is run under CaptureQueriesContext to count its queries.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.common import Figures, Target, Timer, child_main, log, open_database, query_logging_off

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.plans.models import Plan
    from linli.registry.models import Community

DESCRIPTION = "activate a 200-step plan (12 positions, ~20 staff) for a community, as a drill"
NAME = "plan_activation"
STEPS = 200
TIMED = 7
TARGETS = {"seconds": Target("<=", 1), "seconds_max": Target("<=", 1)}

TEAMS = ("command", "engineering", "liaison", "medical", "security", "logistics")
TEAM_NAMES = {
    "command": "指挥",
    "engineering": "抢险抢修",
    "liaison": "联络通讯",
    "medical": "医疗救护",
    "security": "交通治安",
    "logistics": "后勤保障",
}
# Of every ten steps three are activation steps, five response steps and two termination & recovery.
PHASES = ("activation",) * 3 + ("response",) * 5 + ("termination",) * 2
VERBS = ("通知", "检查", "疏散", "核实", "上报", "组织", "清点", "巡查", "联络", "登记")
OBJECTS = (
    "独居老人",
    "3号楼住户",
    "地下车库",
    "燃气管线",
    "物资仓库",
    "临时安置点",
    "网格员",
    "物业",
    "医务室",
)


def plan_document(steps: int = STEPS) -> dict[str, Any]:
    """A community plan as plan_build takes it (see linli.conftest.SMALL_PLAN)."""
    positions: list[dict[str, Any]] = [
        {
            "key": "commander",
            "team": "command",
            "role": "commander",
            "title": "总指挥",
            "filled_by": "社区党委书记",
            "duties": ["决定启动和终止应急响应", "统一指挥各工作组"],
        },
        {
            "key": "site-commander",
            "team": "command",
            "role": "site_commander",
            "title": "现场指挥",
            "filled_by": "社区居委会主任",
            "duties": ["现场处置", "向总指挥报告"],
        },
    ]
    for team in TEAMS[1:]:
        label = TEAM_NAMES[team]
        positions.append(
            {
                "key": f"{team}-leader",
                "team": team,
                "role": "leader",
                "title": f"{label}组长",
                "duties": [f"组织{label}组开展工作", "向现场指挥报告"],
            }
        )
        positions.append(
            {
                "key": f"{team}-member",
                "team": team,
                "role": "member",
                "title": f"{label}组员",
                "duties": [f"完成{label}任务"],
            }
        )
    step_rows = []
    for n in range(steps):
        team = TEAMS[n % len(TEAMS)]
        phase = PHASES[n % len(PHASES)]
        # Most steps name their position; some are left to the team's lead.
        role = ("leader" if n % 2 else "member") if team != "command" else "commander"
        key = "commander" if role == "commander" else f"{team}-{role}"
        step_rows.append(
            {
                "team": team,
                "phase": phase,
                "position": "" if n % 7 == 0 else key,
                "text": f"{VERBS[n % len(VERBS)]}{OBJECTS[n % len(OBJECTS)]}（第{n + 1}步）",
                "within_minutes": 5 + (n % 12) * 10,
            }
        )
    return {
        "key": "",
        "title": "燃气泄漏应急预案",
        "category": "accident",
        "summary": "小区燃气管线泄漏时的疏散、抢修与安置。",
        "risk": {
            "event_type": "燃气泄漏",
            "location": "老旧小区燃气管线、地下车库",
            "severity_scope": "可能波及整栋楼",
            "warning_signs": "异味、燃气报警器报警",
            "secondary_effects": "火灾、爆炸",
        },
        "levels": [{"level": n, "criteria": f"{n}级响应条件"} for n in (1, 2, 3, 4)],
        "positions": positions,
        "steps": step_rows,
        "supplies": [
            {"item": item, "quantity": qty, "unit": unit, "storage": "居委会仓库"}
            for item, qty, unit in (
                ("口罩", 500, "个"),
                ("灭火器", 20, "具"),
                ("手电筒", 40, "个"),
                ("警戒带", 10, "卷"),
                ("担架", 4, "副"),
                ("急救箱", 6, "个"),
                ("对讲机", 12, "部"),
                ("饮用水", 200, "箱"),
            )
        ],
        "contacts": [
            {"kind": "police", "name": "报警", "phone": "110"},
            {"kind": "fire", "name": "火警", "phone": "119"},
            {"kind": "ambulance", "name": "急救", "phone": "120"},
            {"kind": "police_station", "name": "潘家园派出所", "phone": "010-67712345"},
            {"kind": "hospital", "name": "社区卫生服务中心", "phone": "010-67754321"},
            {"kind": "other", "name": "燃气公司抢修", "phone": "96777"},
        ],
        "termination_criteria": ["泄漏点已处置", "居民已返回", "燃气公司确认安全"],
        "notes": ["严禁明火", "疏散时不乘电梯"],
    }


@dataclass
class Place:
    community: Community
    commander: User
    staff: list[User]


def build_community(code: str = "bench") -> Place:
    """A community with two grids and 20 staff accounts: two administrators, grid staff, team members."""
    from linli.core.models import User
    from linli.core.roles import Role
    from linli.registry.models import Community, Grid, Street

    street, _created = Street.objects.get_or_create(code="bench-street", defaults={"name": "基准街道"})
    community = Community.objects.create(street=street, code=code, name="基准社区", phone="010-67000000")
    grids = [
        Grid.objects.create(community=community, code=f"{code}-g{n}", number=n, name=f"第{n}网格")
        for n in (1, 2)
    ]
    accounts: list[tuple[str, str, int | None]] = [
        ("commander", Role.COMMUNITY_ADMIN, None),
        ("deputy", Role.COMMUNITY_ADMIN, None),
        ("leader1", Role.GRID_LEADER, 1),
        ("leader2", Role.GRID_LEADER, 2),
        *[(f"worker{n}", Role.GRID_WORKER, 1 + n % 2) for n in range(1, 5)],
        *[(f"team{n}", Role.TEAM_MEMBER, None) for n in range(1, 13)],
    ]
    staff = []
    for n, (username, role, grid) in enumerate(accounts):
        user = User(
            username=f"{code}_{username}",
            display_name=f"工作人员{n + 1:02d}",
            phone=f"139{n:08d}",
            role=role,
            community=None if grid else community,
            grid=grids[grid - 1] if grid else None,
            is_staff=role == Role.COMMUNITY_ADMIN,
        )
        user.set_unusable_password()
        user.save()
        staff.append(user)
    return Place(community, staff[0], staff)


def build_plan(place: Place, doc: dict[str, Any]) -> Plan:
    """plan_build, then one to three staff accounts on each position (and a stand-in on some)."""
    from django.db import transaction

    from linli.plans.document import plan_build
    from linli.plans.models import PositionHolder

    with transaction.atomic():
        plan = plan_build(doc, community=place.community)
        holders = []
        others = place.staff[1:]
        for index, position in enumerate(plan.positions.order_by("order")):
            people = [place.commander] if position.role == "commander" else []
            while len(people) < 1 + index % 3:
                people.append(others[(index * 3 + len(people)) % len(others)])
            for order, user in enumerate(people, start=1):
                holders.append(PositionHolder(position=position, user=user, order=order))
            if index % 4 == 1:
                holders.append(
                    PositionHolder(
                        position=position,
                        name=f"楼长{index}",
                        phone=f"138{index:08d}",
                        is_standin=True,
                        order=len(people) + 1,
                    )
                )
        PositionHolder.objects.bulk_create(holders)
    return plan


def activate(commander: User, plan: Plan) -> tuple[float, int]:
    from linli.response.services import response_activate

    with Timer() as timer:
        response = response_activate(
            actor=commander, plan=plan, level=2, reason="3号楼燃气泄漏，物业报告", drill=True
        )
    return timer.seconds, response.tasks().count()


def run() -> Figures:
    open_database(NAME)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    place = build_community()
    doc = plan_document()
    plans = [build_plan(place, doc) for _ in range(TIMED + 2)]
    log(f"built {len(plans)} plans of {STEPS} steps and 12 positions")

    with query_logging_off():
        first, tasks_created = activate(place.commander, plans[0])
        log(f"first activation (warm-up): {first * 1000:.0f} ms, {tasks_created} tasks")
        times = []
        for plan in plans[1:-1]:
            seconds, tasks = activate(place.commander, plan)
            if tasks != tasks_created:
                raise RuntimeError(f"an activation created {tasks} tasks, the first {tasks_created}")
            times.append(seconds)
            log(f"activation: {seconds * 1000:.0f} ms")
    with CaptureQueriesContext(connection) as captured:
        activate(place.commander, plans[-1])
    return {
        "seconds": round(statistics.median(times), 3),
        "seconds_max": round(max(times), 3),
        "seconds_first": round(first, 3),
        "activations": len(times),
        "tasks_created": tasks_created,
        "queries": len(captured) - 1,  # less the count of tasks in activate()
    }


if __name__ == "__main__":
    child_main(run)
