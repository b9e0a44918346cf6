"""Demo residents' questions for the demo community: an FAQ written from seed 002's days (parcels, groceries,
fever medicine, testing times, the health-code pop-up, who to call, rubbish, pets, the gate), and a desk with
questions waiting (one overdue, two alike about parcels), answered and closed ones."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from linli.comms.models import FaqEntry, Question
from linli.comms.questions import question_ask, question_close, questions_answer
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Building, Community
from linli.tasks.models import Task, Team

# (team, question, answer, shown, helped): as a liaison group would write them after a week of the same
# questions in the building chat groups.
FAQ: list[tuple[str, str, str, int, int]] = [
    (
        Team.LOGISTICS,
        "快递和外卖放在哪里？怎么取？",
        "封控期间快递、外卖一律放在小区东门外的无接触取件架，按楼号分区摆放。请戴好口罩、错峰下楼取件，每户每次一人。"
        "居家隔离的住户请联系楼栋网格员代取，我们送到家门口。",
        146,
        61,
    ),
    (
        Team.LOGISTICS,
        "家里没菜了，怎么买菜？",
        "社区每天上午10点前在楼栋群里发布保供菜包（蔬菜包68元、肉蛋包98元），在群里接龙登记即可，下午由志愿者送到单元门口。"
        "独居老人、行动不便的住户可以直接在本页留言，写明楼号和房间号。",
        97,
        40,
    ),
    (
        Team.MEDICAL,
        "发烧了去哪里买药？",
        "小区周边药店暂停销售退烧、止咳、抗病毒、抗生素四类药品。需要用药请在本页提问（选“药品、看病”）或联系网格员，"
        "由医疗组登记后统一代购配送。出现发烧请先居家，做一次抗原，并在每日健康申报里如实填写，工作人员会在2小时内联系您。",
        88,
        37,
    ),
    (
        Team.MEDICAL,
        "慢性病的药吃完了怎么办？",
        "高血压、糖尿病等需要长期服药的居民，请把药名、剂量和剩余天数发给楼栋网格员或在本页留言，"
        "社区联系社区卫生服务中心开药，一般1–2天内送到。只剩1–2天的请注明“急”，我们优先处理。",
        54,
        21,
    ),
    (
        Team.MEDICAL,
        "家里有人突发疾病，要去医院怎么办？",
        "危急情况请直接拨打120，同时打社区值班电话，我们安排人员到门口接应、开门放行。"
        "透析、产检、放化疗等必须按时就医的，请提前一天在本页留言登记，社区协调车辆和就医通道。",
        31,
        12,
    ),
    (
        Team.LIAISON,
        "今天核酸几点开始？在哪里做？",
        "核酸采样一般在每天上午8:00–11:30，地点在17号院南侧广场采样点，按楼栋分时段下楼，具体时段以楼栋群通知为准。"
        "请提前打开采样码、全程戴口罩、保持一米间距。行动不便的老人请提前登记，我们安排上门采样。",
        212,
        95,
    ),
    (
        Team.LIAISON,
        "健康宝弹窗了怎么办？",
        "健康宝弹窗需要本人在“北京健康宝”里申请解除，如实填写近14天行程，一般1–3个工作日处理。社区不能直接解除弹窗，"
        "但可以帮您核实居住和核酸情况；需要社区出具居住证明的，请在本页留言，写明姓名和楼号。",
        120,
        44,
    ),
    (
        Team.LIAISON,
        "什么时候解封？",
        "解封时间由区疫情防控指挥部根据筛查结果决定。社区收到通知后会第一时间在楼栋群和小区公告栏发布，"
        "请以官方通知为准，不要相信和转发小道消息。",
        301,
        58,
    ),
    (
        Team.LIAISON,
        "有事找谁？社区电话是多少？",
        "每栋楼都有一名网格员负责，姓名和电话贴在单元门口的公示牌上。社区值班电话24小时有人接听，号码见本页下方；"
        "紧急情况请拨打120或110。",
        76,
        33,
    ),
    (
        Team.LIAISON,
        "上门的工作人员怎么确认身份？",
        "社区工作人员和志愿者上门时都佩戴工作证，证上有二维码，用手机扫码可以看到姓名、照片、岗位和是否正在值班。"
        "仍有疑问请拨打社区值班电话核实；任何人向您索要验证码都不要给。",
        43,
        19,
    ),
    (
        Team.LOGISTICS,
        "垃圾怎么扔？几点收？",
        "生活垃圾请分类装袋、扎紧，每天早7:00–9:00、晚18:00–20:00放到单元门口指定位置，由物业统一收运。"
        "居家隔离户的垃圾请单独装袋并告诉网格员，由专人消杀后收走。",
        65,
        30,
    ),
    (
        Team.LIAISON,
        "封控期间可以遛狗吗？宠物怎么办？",
        "封控期间请不要下楼遛狗，宠物尽量在家中解决。主人被转运隔离、家里宠物没人照看的，请在本页留言，"
        "社区会联系志愿者上门喂养。",
        39,
        17,
    ),
    (
        Team.SECURITY,
        "小区大门什么时候开？能出去吗？",
        "封控期间只保留东门一个出入口，24小时有人值守，居民原则上不出小区。就医、保供上岗等确需外出的，"
        "请凭就医证明或单位证明到东门登记，值守人员核验后放行。",
        84,
        26,
    ),
    (
        Team.ENGINEERING,
        "停水停电了找谁修？",
        "水电报修请拨打物业24小时热线，或在本页留言并选择“维修、水电燃气”，工程组会在4小时内联系您。"
        "闻到燃气味请立即关阀开窗、不要开关电器，拨打燃气抢修电话96777。",
        28,
        11,
    ),
]

# (building index, minutes ago, category, name, phone, text, then): then is "" (waiting), ("answer", text,
# add_to_faq) or ("close", reason).
QUESTIONS: list[tuple[int, int, str, str, str, str, tuple[str, ...]]] = [
    (
        2,
        35,
        "medicine",
        "刘桂兰",
        "13911782046",
        "我家老人的降压药（硝苯地平缓释片）只剩两天了，药店不卖，能帮忙买吗？",
        (),
    ),
    (6, 320, "repairs", "", "", "3单元二楼到五楼的楼道灯坏了好几天了，晚上很黑，老人下楼取菜不方便。", ()),
    (0, 22, "", "王女士", "13520468813", "快递到了好几天了一直没找到，到底在哪里取啊？", ()),
    (4, 12, "", "", "15801239947", "请问快递放哪里了？我的包裹显示已签收但门口没有", ()),
    (9, 8, "", "", "", "下午能下楼倒垃圾吗？几点收？", ()),
    (
        1,
        180,
        "testing",
        "",
        "",
        "明天还做核酸吗？几点开始？",
        (
            "answer",
            "明天上午8:00–11:30照常在17号院南侧广场采样，按楼栋分时段下楼，具体时段请留意楼栋群通知。",
            "0",
        ),
    ),
    (
        3,
        260,
        "gates",
        "",
        "",
        "楼下有几个人不戴口罩聚在一起聊天，没人管吗？",
        ("answer", "谢谢您的反映，已通知东门值守和巡逻队员去劝导，请大家下楼都戴好口罩、不要聚集。", "0"),
    ),
    (
        5,
        400,
        "",
        "",
        "",
        "孩子的奶粉快喝完了，小区能买到吗？",
        (
            "answer",
            "可以。请在楼栋群接龙“母婴用品”，写明奶粉品牌和段数，志愿者每天下午统一采购后送到单元门口；急用请在本页注明。",
            "1",
        ),
    ),
    (0, 90, "", "", "", "什么时候解封啊", ("close", "duplicate")),
]


def seed_questions(community: Community) -> None:
    """The demo FAQ and desk for `community`; run again, it adds nothing."""
    # What is stored (task titles, answers) is in the site's language, as if typed on the pages.
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        _seed_faq(community)
        if not Question.objects.filter(community=community).exists():
            _seed_questions(community)


def _seed_faq(community: Community) -> None:
    author = _staff(community)
    have = set(FaqEntry.objects.filter(community=community).values_list("question", flat=True))
    FaqEntry.objects.bulk_create(
        FaqEntry(
            community=community,
            question=question,
            answer=answer,
            team=team,
            published=True,
            created_by=author,
            shown=shown,
            helped=helped,
        )
        for team, question, answer, shown, helped in FAQ
        if question not in have
    )


def _staff(community: Community, username: str = "") -> User | None:
    users = User.objects.filter(community=community, is_active=True)
    found = users.filter(username=username).first() if username else None
    return (
        found
        or users.filter(role=Role.COMMUNITY_ADMIN, grid__isnull=True).order_by("pk").first()
        or users.order_by("pk").first()
    )


def _seed_questions(community: Community) -> None:
    buildings = list(
        Building.objects.filter(community=community).select_related("community").order_by("sort_key")
    )
    if not buildings:
        return
    answerer = _staff(community, "worker1")
    closer = _staff(community, "commander")
    now = timezone.now()
    for index, minutes, category, name, phone, text, then in QUESTIONS:
        building = buildings[index % len(buildings)]
        asked_at = now - dt.timedelta(minutes=minutes)
        question = question_ask(
            building=building, text=text, category=category, name=name, phone=phone, now=asked_at
        )
        # As if it had come in then: the list's times and the overdue one read true.
        Question.objects.filter(pk=question.pk).update(created_at=asked_at)
        if question.task_id is not None:
            Task.objects.filter(pk=question.task_id).update(created_at=asked_at)
        question.refresh_from_db()
        if not then:
            continue
        if then[0] == "answer" and answerer is not None:
            questions_answer(
                actor=answerer,
                question=_loaded(question),
                answer=then[1],
                add_to_faq=then[2] == "1",
                faq_question="孩子的奶粉快喝完了，小区能买到吗？",
            )
            Question.objects.filter(pk=question.pk).update(answered_at=asked_at + dt.timedelta(minutes=50))
        elif then[0] == "close" and closer is not None:
            question_close(actor=closer, question=_loaded(question), reason=then[1])


def _loaded(question: Question) -> Question:
    return Question.objects.select_related("community", "task", "building").get(pk=question.pk)
