"""Content checks for the built-in plan templates in linli/plans/builtin/*.json (see SCHEMA.md there).

Plain pytest: no database, no Django. Every template must follow the schema; the seed plan
(seed 000, 小区封闭管理进行核酸筛查) must carry every duty and every procedure item of the seed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

BUILTIN = Path(__file__).resolve().parent.parent / "builtin"
FILES = sorted(BUILTIN.glob("*.json"))

CATEGORIES = {"natural_disaster", "accident", "public_health", "social_security"}
TEAMS = {"command", "engineering", "liaison", "medical", "security", "logistics"}
FIELD_TEAMS = TEAMS - {"command"}
ROLES = {"commander", "site_commander", "leader", "member"}
PHASES = {"activation", "response", "termination"}
CONTACT_KINDS = {"police", "fire", "ambulance", "police_station", "hospital", "other"}
RISK_FIELDS = {"event_type", "location", "severity_scope", "warning_signs", "secondary_effects"}
TOP_KEYS = {
    "key",
    "title",
    "category",
    "summary",
    "risk",
    "levels",
    "positions",
    "steps",
    "supplies",
    "contacts",
    "termination_criteria",
    "notes",
}
EXPECTED_TEMPLATES = {
    "closed_area_screening.json": "closed-area-screening",
    "building_fire.json": "building-fire",
    "rainstorm_flood.json": "rainstorm-flood",
    "utility_outage.json": "utility-outage",
}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def norm(text: str) -> str:
    """Whitespace normalisation for Chinese text: drop every whitespace character."""
    return re.sub(r"\s+", "", text)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def is_line(value: Any) -> bool:
    """A non-empty single-line string (duties, criteria and notes are stored one per line)."""
    return isinstance(value, str) and bool(value.strip()) and "\n" not in value and "\r" not in value


# --------------------------------------------------------------------------- every template


def test_expected_templates_present() -> None:
    names = {p.name for p in FILES}
    assert set(EXPECTED_TEMPLATES) <= names
    for name, key in EXPECTED_TEMPLATES.items():
        assert load(BUILTIN / name)["key"] == key


def test_template_keys_unique() -> None:
    keys = [load(p)["key"] for p in FILES]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_schema(path: Path) -> None:
    raw = path.read_bytes()
    raw.decode("utf-8")  # must be UTF-8
    doc = load(path)

    assert set(doc) >= TOP_KEYS, f"missing keys: {TOP_KEYS - set(doc)}"
    assert isinstance(doc["key"], str) and SLUG.match(doc["key"]) and len(doc["key"]) <= 60
    assert is_line(doc["title"]) and len(doc["title"]) <= 200
    assert doc["category"] in CATEGORIES
    assert isinstance(doc["summary"], str) and doc["summary"].strip()

    risk = doc["risk"]
    assert set(risk) == RISK_FIELDS
    for field in RISK_FIELDS:
        assert isinstance(risk[field], str) and risk[field].strip(), field

    levels = doc["levels"]
    assert [lv["level"] for lv in levels] == [1, 2, 3, 4]
    for lv in levels:
        assert isinstance(lv["level"], int) and not isinstance(lv["level"], bool)
        assert isinstance(lv["criteria"], str) and lv["criteria"].strip()

    positions = doc["positions"]
    keys = [p["key"] for p in positions]
    assert len(keys) == len(set(keys)), "position keys must be unique"
    by_key = {p["key"]: p for p in positions}
    for p in positions:
        assert set(p) >= {"key", "team", "role", "title", "filled_by", "duties"}
        assert SLUG.match(p["key"]) and len(p["key"]) <= 60
        assert p["team"] in TEAMS
        assert p["role"] in ROLES
        assert is_line(p["title"]) and len(p["title"]) <= 100
        assert is_line(p["filled_by"]) and len(p["filled_by"]) <= 200
        assert p["duties"] and all(is_line(d) for d in p["duties"]), p["key"]
        if p["role"] in ("commander", "site_commander"):
            assert p["team"] == "command"
        else:
            assert p["team"] != "command"
    # the position set of seed 000: commander, site commander, leader + member of each team
    assert by_key["commander"]["role"] == "commander" and by_key["commander"]["team"] == "command"
    assert by_key["site-commander"]["role"] == "site_commander"
    assert by_key["site-commander"]["team"] == "command"
    for team in FIELD_TEAMS:
        assert by_key[f"{team}-leader"]["team"] == team and by_key[f"{team}-leader"]["role"] == "leader"
        assert by_key[f"{team}-member"]["team"] == team and by_key[f"{team}-member"]["role"] == "member"

    steps = doc["steps"]
    assert steps
    coverage = set()
    for s in steps:
        assert set(s) >= {"team", "phase", "position", "text", "within_minutes"}
        assert s["team"] in TEAMS
        assert s["phase"] in PHASES
        assert s["position"] in by_key, f"unknown position {s['position']!r}"
        assert by_key[s["position"]]["team"] == s["team"], s["text"]
        assert isinstance(s["text"], str) and s["text"].strip()
        minutes = s["within_minutes"]
        assert isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0, s["text"]
        coverage.add((s["team"], s["phase"]))
    missing = {(t, ph) for t in TEAMS for ph in PHASES} - coverage
    assert not missing, f"teams without steps in a phase: {sorted(missing)}"

    assert doc["supplies"]
    for item in doc["supplies"]:
        assert is_line(item["item"]) and len(item["item"]) <= 100
        assert is_positive_number(item["quantity"]), item["item"]
        assert is_line(item["unit"]) and len(item["unit"]) <= 20
        assert is_line(item["storage"]) and len(item["storage"]) <= 200

    kinds = set()
    for c in doc["contacts"]:
        assert c["kind"] in CONTACT_KINDS
        assert is_line(c["name"])
        assert isinstance(c["phone"], str) and len(c["phone"]) <= 40
        kinds.add(c["kind"])
    assert {"police", "fire", "ambulance", "police_station", "hospital"} <= kinds

    assert doc["termination_criteria"] and all(is_line(x) for x in doc["termination_criteria"])
    assert doc["notes"] and all(is_line(x) for x in doc["notes"])


@pytest.mark.parametrize("name", [n for n in EXPECTED_TEMPLATES if n != "closed_area_screening.json"])
def test_other_templates_depth(name: str) -> None:
    """The hazard templates are written to the seed plan's standard."""
    doc = load(BUILTIN / name)
    assert 25 <= len(doc["steps"]) <= 45
    for p in doc["positions"]:
        assert 3 <= len(p["duties"]) <= 6, p["key"]
    phones = {c["phone"] for c in doc["contacts"]}
    assert {"110", "119", "120"} <= phones


# --------------------------------------------------------------------------- the seed plan

SEED = BUILTIN / "closed_area_screening.json"

# Every duty bullet of seed 000 ("应急组织及职责"), leading "·" and surrounding whitespace stripped.
SEED_DUTIES: dict[str, list[str]] = {
    "commander": [
        "启动应急响应；听取现场指挥的情况汇报，评估紧急状态，判定应急响应等级，决定执行应急行动方案。",
        "预案启动后的统一领导指挥。",
        "应急响应期间，负责与地方政府和上级主管部门的应急指挥机构联系，协调应急救援工作。",
        "根据预案启动后的处理情况决定结束应急处置。",
    ],
    "site-commander": [
        "协助总指挥工作；担任应急救援现场指挥部指挥或负责具体指挥、调度各小组参加社区的应急救援行动；总指挥不在抢险救援现场或受总指挥委托时担任总指挥，履行总指挥职责。",
        "发生应急响应时，负责发布和解除应急救援命令、信号。",
        "负责应急现场内部人员、资源配置、应急队伍的调动和指挥。",
        "负责整合调配应急资源，协调与地方政府应急救援力量工作；及时向应急指挥中心和地方政府汇报应急处置工作，协调地方政府应急救援工作。",
        "按照应急指挥中心指令，负责现场应急指挥工作；收集现场信息，核实现场情况，进行应急事件现场评估，针对事态发展和专家组的意见，制订或调整现场应急抢险方案",
        "组织本方案的演练和完善工作。",
    ],
    "engineering-leader": [
        "负责组织紧急抢险救援和设备抢修",
        "负责进行应急终止恢复前设备和场所确认",
    ],
    "engineering-member": [
        "发现火情涝情，引起触电风险的，迅速切断电源；就近选取消防器材灭火；撤离周围易燃可燃爆炸物；若形成有毒或窒息性气体，佩戴空气呼吸器；将受伤人员转移至安全地带；",
        "暴雨台风情况下负责检查户外设施，按规定安排防汛准备",
        "对事故受损的设备设施进行修理，恢复。",
        "现场设备维修",
    ],
    "liaison-leader": [
        "统筹沟通、汇报和发布工作",
    ],
    "liaison-member": [
        "负责对内对外联络和接待工作",
        "协调与政府部门的关系，接待上级和政府部门参与应急处置人员",
        "负责对口有关新闻媒体的采访，发布事件的有关信息，以保证事件报道的可信性和真实性，对事件单位、政府部门及社会公众负责。",
    ],
    "medical-leader": [
        "组织医疗救援力量，统筹医疗救援工作",
    ],
    "medical-member": [
        "对伤员病人展开急救工作",
        "通知联络组负责联络外部医疗资源",
    ],
    "security-leader": [
        "负责统筹安排警戒工作，保证无关人员远离事故现场；",
        "保持抢险救援车辆通道畅通",
    ],
    "security-member": [
        "负责事件现场必要的人员和物资的疏散工作，开辟应急抢险人员和车辆出入的专用通道和安全通道，对封闭区域的进行封闭、检查，控制进出人员和车辆，（如需要，配合协助公安部门对犯罪嫌疑人搜查、抓捕和案件侦查工作。）",
        "负责现场警戒保卫和维护治安与交通秩序。",
    ],
    "logistics-leader": [
        "统筹安排包括物资、设备、车辆等后勤保障工作",
    ],
    "logistics-member": [
        "准备相关应急救援物资;",
        "根据应急指挥部命令或现场需求，及时将主要应急物资及联系方式送至事故救援现场；",
        "准备应急车辆，以便随时将伤员送医；",
        "做好外来支援人员，伤员家属等相关人员的食宿安排；",
        "执行应急指挥部安排其他任务。",
    ],
}
SEED_DUTY_LINES = [duty for duties in SEED_DUTIES.values() for duty in duties]

# Who fills each post in the seed table; the seed leaves the medical member blank.
SEED_FILLED_BY = {
    "commander": "居委会",
    "site-commander": "物业",
    "engineering-leader": "物业",
    "engineering-member": "专业志愿者",
    "liaison-leader": "居委会",
    "liaison-member": "物业、业委会、志愿者",
    "medical-leader": "专业志愿者",
    "security-leader": "物业",
    "security-member": "物业、志愿者",
    "logistics-leader": "物业",
    "logistics-member": "志愿者",
}

# Every numbered procedure item of the seed, as (phase, team, key phrase). Together the phrases
# cover the whole wording of each item; each must appear in a step of that team and phase.
SEED_PROCEDURE: list[tuple[str, str, str]] = [
    # 应急启动 1
    ("activation", "command", "得到市区疾控部门通知或者社区内有异常居民上报，出现疫情需要排查"),
    ("activation", "command", "现场应急指挥小组接到消息后要统筹安排"),
    ("activation", "medical", "安排社区医生进行症状的电话咨询、防疫人员穿戴好防护服上门进行异常情况的确认"),
    ("activation", "liaison", "应急联络组协助保持与疾控部门的沟通"),
    ("activation", "command", "异常情况及应急措施确认后，由应急指挥小组宣布启动应急预案"),
    # 应急启动 2
    ("activation", "command", "得到市区政府关于封闭小区进行核酸筛查的通知时，启动应急预案，通知应急小组就位"),
    # 应急预案启动后 1
    ("response", "liaison", "沟通联络小组负责组织以下沟通工作"),
    (
        "response",
        "liaison",
        "通过告示张贴，小区群、小区公众号通知居民发生的状况和安排，要求各位居民原地等待，切勿慌乱，服从安排，禁止随意进出，等待疾控人员入场进行核酸检测",
    ),
    ("response", "liaison", "联络核酸检测人员确认检测安排时间并告知总指挥和现场指挥协调其他小组"),
    (
        "response",
        "liaison",
        "开通小区问题反映渠道，及时收集应急过程中产生的问题，反馈给相应的小组和应急总指挥进行改进和解决",
    ),
    ("response", "liaison", "保持和外部沟通的畅通。在有需要时，请求外部援助（110、120、社区医院等）"),
    # 应急预案启动后 2
    (
        "response",
        "security",
        "交通治安组，进行警戒，按疾控要求，封闭异常人员所在楼栋或者整个小区（执行任务时，需按照防疫要求做好个人防护）",
    ),
    ("response", "security", "安排出入口的封闭管理，疏通小区道路车辆，疏散人群避免聚集"),
    (
        "response",
        "security",
        "同时按照规定制定应特殊需要（如公务，看病或其他必须事项出入小区的要求和执行方法）",
    ),
    ("response", "security", "安排小区巡逻确保消防通道和救援通道畅通"),
    ("response", "security", "安排快递收发货的地点，尽量考虑空旷室外场地，避免聚集"),
    # 应急预案启动后 3
    ("response", "logistics", "后勤保障组立即发放防护服、围栏等应急防疫用品给其他团队"),
    ("response", "logistics", "负责按照封闭期限首先准备工作人员和防疫小组成员所需要的物资"),
    ("response", "logistics", "同时按照总指挥的要求，联络封闭区域居民日常用物资的供应"),
    ("response", "logistics", "了解保障居民民生所需要的买菜、买药的渠道，做好沟通"),
    ("response", "logistics", "对于有能力可以使用智能设备的人群，鼓励志愿者组织他们自助互助"),
    (
        "response",
        "logistics",
        "对于特殊人群，孤寡，残疾以及不会使用职能设备的特殊人群，通过楼组长实行对接，解决他们日常所需",
    ),
    (
        "response",
        "logistics",
        "按照疾控要求，对现场环境按频次做好病毒消杀工作，对防疫相关垃圾分类存放和按要求处理，必要时由疾控来消毒",
    ),
    # 应急预案启动后 4, 5
    ("response", "engineering", "过程中如出现断水、断电、通讯中断等异常情况，由工程抢险组负责处理"),
    ("response", "medical", "如出现非疫情人员的伤害、疾病时，由医疗急救组进行紧急处理，必要时联络120处理"),
    # 待疾控核酸检测结论下达后
    ("response", "command", "待疾控核酸检测结论下达后，按防疫相关要求落实常规管控措施"),
    ("response", "command", "如需进行社区封闭全员核酸检测，则可按下列流程进行"),
    # 社区封闭全员核酸检测 1
    ("response", "liaison", "应急联络组发布社区防疫通知，明确封闭区域、时间、涉及人群及核酸检测安排"),
    ("response", "security", "交通治安组协助安保人员接管社区各大门，许进不许出"),
    # 2
    (
        "response",
        "command",
        "应急总指挥安排防疫志愿者进行封闭区域家庭户数、人员数量排摸，上报疾控部门，安排核酸检测服务",
    ),
    (
        "response",
        "logistics",
        "后勤保障组按要求布置核酸检测场所（事先规划排队路线、一米等待线和引导线。设置80岁以上老人、儿童、特殊人群的特殊通道）",
    ),
    # 3
    (
        "response",
        "liaison",
        "应急联络组按防疫要求组织封闭区域人员分批、分时轮流核酸，避免居民间过多接触，同时安排志愿者上门确认是否全员核酸，避免漏检",
    ),
    ("response", "liaison", "密接、次密接人员可安排在最后检测，单独规划路线，避免交叉感染风险"),
    (
        "response",
        "liaison",
        "联络组可安排一组志愿者负责引导人群和队伍；一组志愿者帮助确认预约码；可以利用微信通知和广播通知、上门通知（特殊人群）相结合的方法，按号按户安排核酸检测",
    ),
    (
        "response",
        "liaison",
        "建议充分利用现有的信息工具，如排队APP等。加强排队秩序和效率的同时也简化的事后统计人数的工作",
    ),
    # 4
    (
        "response",
        "logistics",
        "后勤保障组对封闭区域进行环境消杀，并按总指挥的要求，向封闭区域的家庭提供必要的物资",
    ),
    ("response", "liaison", "应急联络组负责与社区民居进行沟通，解决居民的疑问，确保舆论正常"),
    # 5
    ("response", "liaison", "在等待解封过程中，联络组要和居民保持一定频率的沟通，告知目前的最新进展"),
    (
        "response",
        "liaison",
        "一旦有核酸异常信息和阳性确诊信息，要在第一时间沟通情况和应急小组的应对措施以减少恐慌和不安",
    ),
    # 应急终止和现场恢复
    ("termination", "command", "市区一级的卫生组织通知公共卫生事件应急响应结束"),
]

SEED_RISK = {
    "event_type": "公共卫生事件",
    "location": "居民家、某一楼栋或多个楼栋直至整个小区",
    "severity_scope": "随机发生，个例未有效管控，会影响个例所在楼栋甚至整个社区的正常生活。",
    "warning_signs": "社区内有个例出现症状或被社区外病例感染、影响",
    "secondary_effects": "大量人员被感染，造成医疗资源挤兑，防疫人员紧缺，社区应急物资供应压力增大，正常生活被影响。",
}

# The seed's list in its order ("医用外壳口罩" in the seed is a typo for 医用外科口罩).
SEED_SUPPLIES = [
    "84 消毒液",
    "医用酒精",
    "免洗洗手液",
    "医用外科口罩",
    "防护服",
    "矿泉水",
    "医药箱",
    "棉被",
    "N95口罩",
    "红外线测温仪器",
    "方便面/压缩饼干",
]

SEED_CONTACTS = [
    ("police", "110"),
    ("fire", "119"),
    ("ambulance", "120"),
    ("police_station", ""),
    ("hospital", ""),
]

SEED_NOTES = [
    "公共卫生事件，尤其是涉及到疫情、集体中毒等特殊情况的，现场指挥组应听从相应专业的专家指导，避免盲目施救、错误应急处置。",
    "现场应急人员首先要做好个人防护，避免造成次生或衍生影响。",
]


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return load(SEED)


def test_seed_header(seed: dict[str, Any]) -> None:
    assert seed["key"] == "closed-area-screening"
    assert seed["title"] == "小区封闭管理进行核酸筛查"
    assert seed["category"] == "public_health"
    assert {k: norm(v) for k, v in seed["risk"].items()} == {k: norm(v) for k, v in SEED_RISK.items()}


def test_seed_positions(seed: dict[str, Any]) -> None:
    by_key = {p["key"]: p for p in seed["positions"]}
    assert set(by_key) == set(SEED_DUTIES)
    assert by_key["commander"]["title"] == "总指挥"
    assert by_key["site-commander"]["title"] == "现场指挥"
    for key, filled_by in SEED_FILLED_BY.items():
        assert by_key[key]["filled_by"] == filled_by, key
    assert by_key["medical-member"]["filled_by"].strip()


@pytest.mark.parametrize("key", list(SEED_DUTIES))
def test_seed_duties_complete(seed: dict[str, Any], key: str) -> None:
    """Each post carries exactly the seed's bullets, in order: none dropped, none merged, none added."""
    position = next(p for p in seed["positions"] if p["key"] == key)
    assert [norm(d) for d in position["duties"]] == [norm(d) for d in SEED_DUTIES[key]]


def test_seed_every_duty_line_present(seed: dict[str, Any]) -> None:
    assert len(SEED_DUTY_LINES) == 33
    all_duties = {norm(d) for p in seed["positions"] for d in p["duties"]}
    missing = [d for d in SEED_DUTY_LINES if norm(d) not in all_duties]
    assert not missing


@pytest.mark.parametrize("phase,team,phrase", SEED_PROCEDURE, ids=[p[2][:12] for p in SEED_PROCEDURE])
def test_seed_procedure_phrase(seed: dict[str, Any], phase: str, team: str, phrase: str) -> None:
    everything = norm("".join(s["text"] for s in seed["steps"]))
    assert norm(phrase) in everything, phrase
    same_place = norm("".join(s["text"] for s in seed["steps"] if s["phase"] == phase and s["team"] == team))
    assert norm(phrase) in same_place, f"{phrase} should be a {team} step in phase {phase}"


def test_seed_mass_testing_steps_marked(seed: dict[str, Any]) -> None:
    """The closed-area mass-testing sub-procedure is recognisable in the step texts."""
    marked = [s for s in seed["steps"] if "全员核酸检测" in s["text"]]
    assert len(marked) >= 12


def test_seed_deadlines(seed: dict[str, Any]) -> None:
    def minutes(phrase: str) -> int:
        return next(s["within_minutes"] for s in seed["steps"] if norm(phrase) in norm(s["text"]))

    assert minutes("通过告示张贴，小区群、小区公众号通知居民") <= 30
    assert minutes("交通治安组，进行警戒") <= 30
    assert minutes("交通治安组协助安保人员接管社区各大门") <= 30
    assert minutes("后勤保障组按要求布置核酸检测场所") <= 120


def test_seed_supplies_contacts_notes(seed: dict[str, Any]) -> None:
    assert [s["item"] for s in seed["supplies"]] == SEED_SUPPLIES
    assert [(c["kind"], c["phone"]) for c in seed["contacts"]] == SEED_CONTACTS
    assert [norm(n) for n in seed["notes"]] == [norm(n) for n in SEED_NOTES]
    assert norm(seed["termination_criteria"][0]) == norm("市区一级的卫生组织通知公共卫生事件应急响应结束")
    assert len(seed["termination_criteria"]) > 1
