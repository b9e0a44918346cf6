"""Residents' questions (问题反映渠道, seed 002) and the community's FAQ.

A resident scans the building's QR poster (the self-report poster's link), types a question and sees the
FAQ entries most like it while typing; if none answers it they send it anyway. Each question becomes a
task for the team it concerns (chosen by the resident, else guessed from its words) with a deadline: 4
hours, 2 for medicine and illness. Staff answer it on the desk, several alike at once; the answer shows on
the resident's ticket page and reaches their phone by SMS, and may become an FAQ entry, so the next
resident with the same question finds it before asking.

Similarity is plain and fast: character bigrams for Chinese (plus single characters, lightly, so that
买药 meets 买到药), words for Latin text, with punctuation and filler words (的, 了, 吗, 怎么, 请问 …) left
out. A community's FAQ is tens or hundreds of entries, read in one query and ranked in Python.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.comms.models import Channel, FaqEntry, Notification, Question
from linli.comms.outbox import Outgoing, outbox_enqueue, robots_post
from linli.comms.services import Message, notify_many
from linli.core.access import acts, community_ids_in_scope, scope_q
from linli.core.audit import audit_record, reveal_logged
from linli.core.http import public_url
from linli.core.identity import mobile_number
from linli.core.models import AuditLog, User
from linli.core.uploads import photo_extension
from linli.registry.models import Building, Community
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskConflict, TaskSpec, task_set_status, tasks_create

Status = Question.Status

TEXT_MIN, TEXT_MAX = 5, 1000
ANSWER_MIN, ANSWER_MAX = 2, 2000
FAQ_QUESTION_MIN, FAQ_QUESTION_MAX = 4, 300
PHOTO_MAX_BYTES = 10 * 1024 * 1024
ANSWER_HOURS = 4
MEDICAL_HOURS = 2  # seed 001: fever and medicine are seen to within 2 hours
SUGGESTIONS = 3
# Below these a match is noise: two texts sharing one common bigram.
SUGGEST_MIN_SCORE = 0.25
SIMILAR_MIN_SCORE = 0.25
SIMILAR_LIMIT = 20
SMS_ANSWER_CHARS = 60

# Tasks made for questions. Task.Source has no value for them yet; until it has, they are manual tasks and
# the question points at its task (Question.task).
TASK_SOURCE: str = getattr(Task.Source, "QUESTION", Task.Source.MANUAL)


class Category(models.TextChoices):
    """What the resident says the question is about; each is one team's work."""

    SUPPLIES = "supplies", gettext_lazy("Supplies & deliveries")
    MEDICINE = "medicine", gettext_lazy("Medicine & illness")
    TESTING = "testing", gettext_lazy("Testing & health code")
    REPAIRS = "repairs", gettext_lazy("Repairs, water & power")
    GATES = "gates", gettext_lazy("Gates & security")
    OTHER = "other", gettext_lazy("Something else")


CATEGORY_TEAM: dict[str, str] = {
    Category.SUPPLIES: Team.LOGISTICS,
    Category.MEDICINE: Team.MEDICAL,
    Category.TESTING: Team.LIAISON,
    Category.REPAIRS: Team.ENGINEERING,
    Category.GATES: Team.SECURITY,
    Category.OTHER: Team.LIAISON,
}

# The teams a question can go to (the command post and the data group take none from residents).
QUESTION_TEAMS = (Team.LIAISON, Team.LOGISTICS, Team.MEDICAL, Team.ENGINEERING, Team.SECURITY)


class CloseReason(models.TextChoices):
    DUPLICATE = "duplicate", gettext_lazy("Duplicate: the same question is answered elsewhere")
    SPAM = "spam", gettext_lazy("Not a question for the community (spam, a test)")
    OTHER = "other", gettext_lazy("Other reason")


# --- routing by words -----------------------------------------------------------------------------------

# Checked in this order: 送药 is medicine, 送菜 logistics. Chinese keywords match anywhere in the text,
# Latin ones as whole words ("ill" is not in "will").
_ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        Team.MEDICAL,
        ("药", "医", "发烧", "病", "诊", "咳", "急救", "透析", "孕", "胰岛素", "120",
         "medicine", "medicines", "doctor", "fever", "sick", "ill", "hospital", "pharmacy", "illness"),
    ),
    (
        Team.LOGISTICS,
        ("菜", "物资", "快递", "外卖", "送", "团购", "垃圾", "粮", "米面", "矿泉水", "桶装水", "饮用水", "奶粉",
         "food", "groceries", "grocery", "delivery", "deliveries", "parcel", "supplies", "vegetables"),
    ),
    (
        Team.ENGINEERING,
        ("水", "电", "燃气", "煤气", "维修", "修", "电梯", "暖气", "漏", "堵", "灯", "坏", "马桶", "断网",
         "water", "power", "electricity", "gas", "repair", "lift", "elevator", "leak", "heating"),
    ),
    (Team.SECURITY, ("门", "出入", "保安", "通行", "gate", "gates", "security", "guard", "exit")),
)  # fmt: skip
# Words that carry a keyword's character without its meaning (电话 is no power cut; 部门 no gate).
_NOT_KEYWORDS = ("电话", "电子", "手机", "部门", "专门", "门牌", "热门", "毛病", "水平", "药店电话")


def route(text: str) -> str:
    """The team a question goes to when the resident chose no category: by its words, liaison otherwise."""
    folded = unicodedata.normalize("NFKC", text).lower()
    for word in _NOT_KEYWORDS:
        folded = folded.replace(word, " ")
    words = set(re.findall(r"[a-z0-9]+", folded))
    for team, keywords in _ROUTES:
        for keyword in keywords:
            if (keyword in words) if keyword.isascii() and keyword.isalpha() else (keyword in folded):
                return team
    return Team.LIAISON


def team_for(category: str, text: str) -> str:
    return CATEGORY_TEAM.get(category) or route(text)


# --- similarity -----------------------------------------------------------------------------------------

# Filler that every question has: replaced by a break before bigrams are taken.
_STOP_PHRASES = (
    "请问", "什么时候", "啥时候", "时候", "怎么办", "怎么样", "怎么", "怎样", "如何", "为什么", "什么", "是不是",
    "能不能", "可不可以", "可以吗", "有没有", "一下", "我们", "你们", "咱们", "我家", "您好", "你好", "谢谢", "麻烦",
    "哪里", "哪儿", "现在", "还是", "就是", "已经", "好几天", "一直", "到底", "家里",
)  # fmt: skip
# Words that say what a question is about count double: two questions sharing 快递 are alike, two sharing
# 显示 are not.
_TOPIC_WORDS = frozenset(
    {k for _team, keywords in _ROUTES for k in keywords if len(k) == 2 and not k.isascii()}
    | {
        "核酸", "抗原", "采样", "检测", "健康", "弹窗", "解封", "封控", "隔离", "包裹", "快件", "取件", "买菜", "买药",
        "垃圾", "遛狗", "宠物", "大门", "停水", "停电", "楼道", "口罩", "奶粉", "老人", "疫苗", "证明", "上班",
    }
)  # fmt: skip
_STOP_CHARS = frozenset("的了吗呢吧啊呀嘛么哦哈呗我你您是在这那个")
_LATIN_STOP = frozenset({
    "a", "an", "the", "is", "are", "am", "was", "were", "be", "do", "does", "did", "i", "we", "you", "my", "our",
    "your", "to", "of", "in", "on", "at", "for", "and", "or", "can", "could", "how", "what", "when", "where",
    "why", "who", "which", "will", "would", "should", "there", "it", "this", "that", "please", "any", "with",
    "from",
})  # fmt: skip
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Tokens:
    """A text's bigrams (with lone characters and Latin words) and its Chinese characters."""

    grams: frozenset[str]
    chars: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.grams)


@lru_cache(maxsize=8192)
def tokens(text: str) -> Tokens:
    folded = unicodedata.normalize("NFKC", text).lower()
    for phrase in _STOP_PHRASES:
        folded = folded.replace(phrase, " ")
    grams: set[str] = set()
    chars: set[str] = set()
    for run in _CJK.findall(folded):
        # Filler characters break a run: 快递在哪 → 快递 | 哪.
        for part in re.split("[" + "".join(_STOP_CHARS) + "]+", run):
            if not part:
                continue
            chars.update(part)
            if len(part) == 1:
                grams.add(part)
            else:
                grams.update(part[i : i + 2] for i in range(len(part) - 1))
    grams.update(w for w in _LATIN.findall(folded) if w not in _LATIN_STOP and (len(w) > 1 or w.isdigit()))
    return Tokens(frozenset(grams), frozenset(chars))


def _weight(token: str) -> int:
    return 4 if token in _TOPIC_WORDS else 1  # squared: a topic word counts double


def _norm(grams: frozenset[str]) -> float:
    return math.sqrt(sum(map(_weight, grams)))


def _cosine(a: frozenset[str], b: frozenset[str], *, weighted: bool = False) -> float:
    if not a or not b:
        return 0.0
    if not weighted:
        return len(a & b) / math.sqrt(len(a) * len(b))
    return sum(map(_weight, a & b)) / (_norm(a) * _norm(b))


def similarity(a: str | Tokens, b: str | Tokens) -> float:
    """0..1: how alike two questions are. Bigrams and words count most; shared single Chinese characters a
    little (they catch the same words split differently)."""
    ta = a if isinstance(a, Tokens) else tokens(a)
    tb = b if isinstance(b, Tokens) else tokens(b)
    main = _cosine(ta.grams, tb.grams, weighted=True)
    if ta.chars and tb.chars:
        return 0.75 * main + 0.25 * _cosine(ta.chars, tb.chars)
    return main


def _containment(query: Tokens, text: Tokens) -> float:
    """How much of the query the text contains (an FAQ answer that mentions what was asked)."""
    if not query.grams:
        return 0.0
    return len(query.grams & text.grams) / len(query.grams)


# --- the resident's question ------------------------------------------------------------------------------


def check_photo(upload: UploadedFile) -> str:
    """The photo's file extension if it is an image (by its content) of at most 10 MB; else ValidationError."""
    if upload.size is not None and upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(
            {"photo": _("The photo is larger than 10 MB; take it again or send a smaller one.")}
        )
    ext = photo_extension(upload, PHOTO_MAX_BYTES)
    if ext is None:
        raise ValidationError({"photo": _("That file is not a photo. Choose a picture (JPEG, PNG, WebP).")})
    return ext


def clean_text(text: str) -> str:
    """The question as typed, without invisible characters and runs of blank lines."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clean_mobile(raw: str) -> str:
    """An optional mobile number for the SMS: "" when empty; ValidationError when it is not a mobile."""
    if not (raw or "").strip():
        return ""
    phone = mobile_number(raw)
    if phone is None:
        raise ValidationError(
            {"phone": _("Enter a mobile number (11 digits, starting 13–19), or leave it empty.")}
        )
    return phone


def new_token() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 random bits: never guessed


def site_link(path: str, site_url: str = "") -> str:
    """An address for a message read outside the app: PUBLIC_URL (how phones reach the site) when set, else
    the address the request came in at."""
    if site_url and not getattr(settings, "PUBLIC_URL", ""):
        return site_url.rstrip("/") + path
    return public_url(path)


def ticket_path(question: Question) -> str:
    return reverse("comms:ticket", args=[question.token])


def due_for(team: str, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=MEDICAL_HOURS if team == Team.MEDICAL else ANSWER_HOURS)


def _staff_language() -> translation.override:
    """Task titles and group posts are read by staff: in the site's language, whatever the resident's phone
    speaks."""
    return translation.override(settings.LANGUAGE_CODE)


def _task_title(question: Question, building: Building | None) -> str:
    start = " ".join(question.text.split())
    start = start if len(start) <= 30 else start[:30] + "…"
    where = str(building) if building is not None else _("no building")
    return _("Resident question (%(building)s): %(start)s") % {"building": where, "start": start}


def _task_spec(question: Question, building: Building | None, due_at: dt.datetime) -> TaskSpec:
    from linli.epidemic.selectors import routing_for

    building_id = building.pk if building is not None else None
    owners = routing_for(question.community_id).task_owners(building_id, question.team)
    with _staff_language():
        title = _task_title(question, building)
        detail = _("Answer on the questions desk: %(url)s") % {
            "url": reverse("comms:question", args=[question.pk])
        }
    return TaskSpec(
        title=title,
        detail=f"{question.text}\n\n{detail}",
        due_at=due_at,
        community_id=question.community_id,
        grid_id=building.grid_id if building is not None else None,
        priority=Task.Priority.HIGH if question.team == Team.MEDICAL else Task.Priority.NORMAL,
        source=TASK_SOURCE,
        source_id=question.pk,
        stage="question",
        escalation_minutes=30,
        **owners,
    )


def team_member_ids(community_id: int, team: str) -> list[int]:
    """Staff holding a post of the team in the community's plans (the people who answer its questions)."""
    from linli.plans.models import PositionHolder

    return list(
        PositionHolder.objects.filter(
            position__plan__community_id=community_id,
            position__plan__is_archived=False,
            position__team=team,
            user__is_active=True,
        )
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    )


def _tell_team(question: Question, task: Task, *, site_url: str, moved: bool = False) -> None:
    """The team's members (else the task's leader) in the app, and the team's group robots."""
    recipients = team_member_ids(question.community_id, question.team) or [
        pk for pk in (task.assignee_id, task.leader_id) if pk
    ]
    urgent = question.team == Team.MEDICAL
    url = reverse("comms:question", args=[question.pk])
    with _staff_language():
        title = task.title if not moved else _("Moved to your team: %(title)s") % {"title": task.title}
        notify_many(
            Message(
                user_id=pk,
                title=title,
                body=question.text[:300],
                url=url,
                kind=Notification.Kind.ASSIGNED,
                urgent=urgent,
            )
            for pk in dict.fromkeys(recipients)
        )
        robots_post(
            community_id=question.community_id,
            key=f"q{question.pk}:t{task.pk}",  # a question moved back to a team is posted again
            title=title,
            body=_("%(text)s\nAnswer by %(time)s.")
            % {"text": question.text[:300], "time": timezone.localtime(task.due_at).strftime("%H:%M")},
            url=site_link(url, site_url),
            team=question.team,
            urgent=urgent,
        )


def question_ask(
    *,
    building: Building,
    text: str,
    category: str = "",
    name: str = "",
    phone: str = "",
    photo: UploadedFile | None = None,
    ip: str | None = None,
    site_url: str = "",
    now: dt.datetime | None = None,
) -> Question:
    """A resident's question from the building's page: a ticket for the right team with a deadline. Raises
    ValidationError by field (text, category, phone, photo)."""
    text = clean_text(text)
    errors: dict[str, list[str]] = {}
    if len(text) < TEXT_MIN:
        errors["text"] = [_("Write your question in at least %(n)d characters.") % {"n": TEXT_MIN}]
    elif len(text) > TEXT_MAX:
        errors["text"] = [_("Keep the question under %(n)d characters.") % {"n": TEXT_MAX}]
    if category and category not in Category.values:
        errors["category"] = [_("Choose one of the topics, or none.")]
    ext = ""
    try:
        phone = clean_mobile(phone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        ext = check_photo(photo) if photo else ""
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    repeat = (
        Question.objects.filter(
            building=building,
            text=text,
            status=Question.Status.OPEN,
            created_at__gte=now - dt.timedelta(hours=1),
        )
        .filter(Q(phone=phone) if phone else Q(ip=ip))
        .order_by("-created_at")
        .first()
    )
    if repeat is not None:
        return repeat  # the same question sent again (a second tap, no answer yet): its ticket, not a new one
    team = team_for(category, text)
    with transaction.atomic():
        question = Question(
            community_id=building.community_id,
            building=building,
            name=" ".join(name.split())[:50],
            phone=phone,
            text=text,
            team=team,
            token=new_token(),
            ip=ip,
        )
        if photo is not None:
            question.photo.save(f"{secrets.token_hex(8)}.{ext}", photo, save=False)
        question.save()
        task = tasks_create([_task_spec(question, building, due_for(team, now))])[0]
        Question.objects.filter(pk=question.pk).update(task=task)
        question.task = task
        audit_record(
            actor=None,
            action=AuditLog.Action.CREATE,
            target=question,
            detail=_("asked from the page of %(building)s; for %(team)s")
            % {"building": building, "team": Team(team).label},
            community_id=building.community_id,
        )
        _tell_team(question, task, site_url=site_url)
    return question


# --- the resident's phone remembers their tickets ----------------------------------------------------------

MINE_COOKIE = "linli_asked"
MINE_DAYS = 90
MINE_KEEP = 20
_MINE_SALT = "linli.comms.questions.mine"


def mine_from_cookie(value: str | None) -> list[int]:
    if not value:
        return []
    try:
        ids = signing.loads(value, salt=_MINE_SALT, max_age=MINE_DAYS * 86400)
    except (signing.BadSignature, ValueError, TypeError):
        return []
    return [int(i) for i in ids if isinstance(i, int)][:MINE_KEEP] if isinstance(ids, list) else []


def mine_cookie(ids: Iterable[int], add: int) -> str:
    kept = [add, *(i for i in ids if i != add)][:MINE_KEEP]
    return signing.dumps(kept, salt=_MINE_SALT, compress=True)


def my_questions(ids: Sequence[int]) -> list[Question]:
    """The questions this phone asked (their ids come from its signed cookie), newest first."""
    if not ids:
        return []
    return list(
        Question.objects.filter(pk__in=list(ids))
        .only("pk", "text", "status", "created_at", "answered_at", "token")
        .order_by("-created_at")
    )


def ticket_get(token: str) -> Question | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,32}", token or ""):
        return None
    return Question.objects.select_related("building", "community").filter(token=token).first()


# --- the FAQ for residents --------------------------------------------------------------------------------


@dataclass
class Suggestion:
    pk: int
    question: str
    answer: str
    score: float


def faq_suggest(community_id: int, text: str, *, limit: int = SUGGESTIONS) -> list[Suggestion]:
    """The published FAQ entries most like `text` (nothing under two characters of substance)."""
    query = tokens(text)
    if len(clean_text(text)) < 2 or not query:
        return []
    ranked = []
    for pk, question, answer in (
        FaqEntry.objects.filter(community_id=community_id, published=True)
        .order_by()
        .values_list("pk", "question", "answer")
    ):
        score = max(similarity(query, question), 0.6 * _containment(query, tokens(answer)))
        if score >= SUGGEST_MIN_SCORE:
            ranked.append(Suggestion(pk, question, answer, score))
    ranked.sort(key=lambda s: (-s.score, s.pk))
    return ranked[:limit]


def faq_shown(ids: Iterable[int]) -> int:
    """Count entries suggested to someone: one UPDATE, no audit (a counter, not a change)."""
    ids = list(ids)
    return FaqEntry.objects.filter(pk__in=ids).update(shown=F("shown") + 1) if ids else 0


def faq_helped(*, community_id: int, pk: int) -> bool:
    """A resident says the entry answered them (and so did not ask)."""
    return bool(
        FaqEntry.objects.filter(pk=pk, community_id=community_id, published=True).update(
            helped=F("helped") + 1
        )
    )


def faq_published(community_id: int) -> list[FaqEntry]:
    return list(
        FaqEntry.objects.filter(community_id=community_id, published=True)
        .only("pk", "question", "answer", "team", "helped", "updated_at")
        .order_by("-helped", "-updated_at", "pk")
    )


# --- staff: reading ---------------------------------------------------------------------------------------


def questions_for(actor: User) -> QuerySet[Question]:
    """The questions of the communities the actor works in: a community's desk, not a grid's (residents ask
    the community; the phone and name are masked on every list)."""
    return Question.objects.filter(scope_q(actor, grid=None))


def question_get(actor: User, pk: int) -> Question:
    question = (
        questions_for(actor)
        .select_related("building", "community", "task", "task__assignee", "answered_by", "faq")
        .filter(pk=pk)
        .first()
    )
    if question is None:
        raise Http404
    return question


STATUS_FILTERS = ("open", "overdue", "answered", "closed", "all")


def question_list(
    actor: User,
    *,
    status: str = "all",
    team: str = "",
    community_id: int | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Question]:
    """The desk's list: open ones first, the overdue among them at the very top, soonest due next; then
    the answered and closed, latest first."""
    now = now or timezone.now()
    qs = questions_for(actor)
    if community_id:
        qs = qs.filter(community_id=community_id)
    if team:
        qs = qs.filter(team=team)
    if status == "overdue":
        qs = qs.filter(status=Status.OPEN, task__due_at__lt=now)
    elif status in (Status.OPEN, Status.ANSWERED, Status.CLOSED):
        qs = qs.filter(status=status)
    return (
        qs.select_related("building", "community", "task", "answered_by")
        .annotate(
            _bucket=Case(
                When(status=Status.OPEN, task__due_at__lt=now, then=Value(0)),
                When(status=Status.OPEN, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            _due=Case(When(status=Status.OPEN, then=F("task__due_at")), default=Value(None)),
        )
        .order_by("_bucket", F("_due").asc(nulls_last=True), "-created_at", "-pk")
    )


@dataclass
class DeskCounts:
    open: int = 0
    overdue: int = 0
    answered: int = 0
    closed: int = 0
    by_team: dict[str, int] = field(default_factory=dict)  # open questions per team


def desk_counts(
    actor: User, *, community_id: int | None = None, now: dt.datetime | None = None
) -> DeskCounts:
    """The chips above the list: one grouped query."""
    now = now or timezone.now()
    qs = questions_for(actor)
    if community_id:
        qs = qs.filter(community_id=community_id)
    counts = DeskCounts()
    for team, status, n, late in (
        qs.order_by()
        .values_list("team", "status")
        .annotate(n=Count("id"), late=Count("id", filter=Q(status=Status.OPEN, task__due_at__lt=now)))
    ):
        if status == Status.OPEN:
            counts.open += n
            counts.overdue += late
            counts.by_team[team] = counts.by_team.get(team, 0) + n
        elif status == Status.ANSWERED:
            counts.answered += n
        elif status == Status.CLOSED:
            counts.closed += n
    return counts


def similar_open(question: Question, *, limit: int = SIMILAR_LIMIT) -> list[tuple[Question, float]]:
    """Other open questions of the community asking much the same (to answer them all at once)."""
    mine = tokens(question.text)
    candidates = (
        Question.objects.filter(community_id=question.community_id, status=Status.OPEN)
        .exclude(pk=question.pk)
        .select_related("building")
        .only("pk", "text", "created_at", "team", "building__number", "phone", "name")
        .order_by("-created_at")[:500]
    )
    ranked = [(q, similarity(mine, q.text)) for q in candidates]
    chosen = [(q, s) for q, s in ranked if s >= SIMILAR_MIN_SCORE]
    chosen.sort(key=lambda pair: (-pair[1], -pair[0].pk))
    return chosen[:limit]


def can_answer(actor: User, question: Question) -> bool:
    """The community's staff who do the work (admins, grid leaders and workers, team members); the caller
    loaded the question in the actor's scope. Observers and departments only read."""
    return acts(actor) and _in_scope(actor, question.community_id)


def _in_scope(actor: User, community_id: int) -> bool:
    ids = community_ids_in_scope(actor)
    return ids is None or community_id in ids


def _require_answerer(actor: User, question: Question) -> None:
    if not can_answer(actor, question):
        raise PermissionDenied(_("You may read the questions but not answer them."))


# --- staff: writing ---------------------------------------------------------------------------------------


@dataclass
class Answered:
    answered: list[Question] = field(default_factory=list)
    skipped: list[Question] = field(default_factory=list)  # someone answered or closed them first
    faq: FaqEntry | None = None
    sms: int = 0


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _sms_body(question: Question, answer: str, community_name: str, site_url: str) -> str:
    """Short enough for one or two SMS: the start of the answer and the ticket's link for the rest."""
    return _("%(community)s: your question has been answered. %(answer)s Details: %(url)s") % {
        "community": community_name,
        "answer": _short(answer, SMS_ANSWER_CHARS),
        "url": site_link(ticket_path(question), site_url),
    }


def _finish_task(actor: User, question: Question, status: str, result: str) -> None:
    task = question.task
    if task is None or not task.is_open:
        return
    # Someone may have closed the task from the task list a moment ago: the question is what counts.
    with contextlib.suppress(TaskConflict):
        task_set_status(actor=actor, task=task, status=status, result=result, authorised=True)


def questions_answer(
    *,
    actor: User,
    question: Question,
    answer: str,
    also: Sequence[Question] = (),
    add_to_faq: bool = False,
    faq_question: str = "",
    site_url: str = "",
) -> Answered:
    """Answer a question, and with the same words the similar ones in `also` (same community, loaded in the
    actor's scope). Each question's task is done, its resident texted when they left a phone, and the
    answer may become an FAQ entry. A question someone else answered or closed first is left as it is."""
    _require_answerer(actor, question)
    answer = clean_text(answer)
    errors: dict[str, list[str]] = {}
    if not ANSWER_MIN <= len(answer) <= ANSWER_MAX:
        errors["answer"] = [
            _("Write an answer of %(low)d to %(high)d characters.") % {"low": ANSWER_MIN, "high": ANSWER_MAX}
        ]
    faq_question = " ".join(faq_question.split())
    if add_to_faq and not FAQ_QUESTION_MIN <= len(faq_question) <= FAQ_QUESTION_MAX:
        errors["faq_question"] = [
            _("Write the FAQ question in %(low)d to %(high)d characters.")
            % {"low": FAQ_QUESTION_MIN, "high": FAQ_QUESTION_MAX}
        ]
    if any(q.community_id != question.community_id for q in also):
        errors.setdefault("also", []).append(_("Only questions of the same community can share an answer."))
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    result = Answered()
    chosen = list({q.pk: q for q in [question, *also]}.values())
    community_name = question.community.name
    with transaction.atomic():
        if add_to_faq:
            result.faq = _faq_create(
                actor=actor,
                community_id=question.community_id,
                question=faq_question,
                answer=answer,
                team=question.team,
                published=True,
            )
        sms = []
        for q in chosen:
            won = Question.objects.filter(pk=q.pk, status=Status.OPEN).update(
                status=Status.ANSWERED, answer=answer, answered_by=actor, answered_at=now, faq=result.faq
            )
            if not won:
                result.skipped.append(q)
                continue
            q.status, q.answer, q.answered_by, q.answered_at, q.faq = (
                Status.ANSWERED,
                answer,
                actor,
                now,
                result.faq,
            )
            _finish_task(actor, q, Task.Status.DONE, _short(answer, 500))
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                target=q,
                detail=_("answered")
                + (_(" (with question %(pk)s)") % {"pk": question.pk} if q is not question else ""),
                changes={"status": [Status.OPEN, Status.ANSWERED]},
                community_id=q.community_id,
            )
            result.answered.append(q)
            if q.phone:
                with translation.override(settings.LANGUAGE_CODE):
                    text = _sms_body(q, answer, community_name, site_url)
                    sms.append(
                        Outgoing(
                            key=f"q{q.pk}:answer",
                            channel=Channel.SMS,
                            address=q.phone,
                            title=_("Your question has been answered"),
                            body=text,
                            url=site_link(ticket_path(q), site_url),
                            community_id=q.community_id,
                            payload={"sms": text},  # the text as it is, not title + body + link
                        )
                    )
        if result.faq is not None and result.answered:
            Question.objects.filter(pk__in=[q.pk for q in result.answered]).update(faq=result.faq)
        result.sms = outbox_enqueue(sms)
    return result


def question_close(*, actor: User, question: Question, reason: str, note: str = "") -> Question:
    """Close a question without an answer (a duplicate, spam) with the reason; its task is cancelled."""
    _require_answerer(actor, question)
    note = " ".join(note.split())[:300]
    if reason not in CloseReason.values:
        raise ValidationError({"reason": _("Choose why the question is closed.")})
    if reason == CloseReason.OTHER and not note:
        raise ValidationError({"note": _("Say why the question is closed.")})
    text = str(CloseReason(reason).label) + (f": {note}" if note else "")
    now = timezone.now()
    with transaction.atomic():
        won = Question.objects.filter(pk=question.pk, status=Status.OPEN).update(
            status=Status.CLOSED, answer=text, answered_by=actor, answered_at=now
        )
        if not won:
            raise ValidationError(_("Someone has already answered or closed this question."))
        question.status, question.answer, question.answered_by, question.answered_at = (
            Status.CLOSED, text, actor, now,
        )  # fmt: skip
        _finish_task(actor, question, Task.Status.CANCELLED, text)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=question,
            detail=_("closed: %(reason)s") % {"reason": text},
            changes={"status": [Status.OPEN, Status.CLOSED]},
            community_id=question.community_id,
        )
    return question


def question_reroute(*, actor: User, question: Question, team: str, site_url: str = "") -> Question:
    """Give an open question to another team (the words sent it to the wrong one): its task goes with it,
    keeping the deadline unless the new team's is sooner."""
    _require_answerer(actor, question)
    if team not in QUESTION_TEAMS:
        raise ValidationError({"team": _("Choose a team.")})
    if question.status != Status.OPEN:
        raise ValidationError(_("Only an open question can go to another team."))
    if team == question.team:
        return question
    before = question.team
    now = timezone.now()
    due_at = min(question.task.due_at, due_for(team, now)) if question.task else due_for(team, now)
    with transaction.atomic():
        moved = Question.objects.filter(pk=question.pk, status=Status.OPEN).update(team=team)
        if not moved:
            raise ValidationError(_("Someone has already answered or closed this question."))
        question.team = team
        with _staff_language():
            reason = _("Moved to %(team)s.") % {"team": Team(team).label}
        _finish_task(actor, question, Task.Status.CANCELLED, reason)
        task = tasks_create([_task_spec(question, question.building, due_at)])[0]
        Question.objects.filter(pk=question.pk).update(task=task)
        question.task = task
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=question,
            changes={"team": [before, team]},
            community_id=question.community_id,
        )
        _tell_team(question, task, site_url=site_url, moved=True)
    return question


def question_phone_reveal(*, actor: User, question: Question) -> str:
    """The resident's full phone number, to call them back; logged."""
    return reveal_logged(
        actor=actor,
        target=question,
        value=question.phone,
        detail=_("phone"),
        community_id=question.community_id,
    )


# --- staff: the FAQ ---------------------------------------------------------------------------------------


def faq_for(actor: User) -> QuerySet[FaqEntry]:
    return FaqEntry.objects.filter(scope_q(actor, grid=None))


def faq_get(actor: User, pk: int) -> FaqEntry:
    entry = faq_for(actor).select_related("community", "created_by").filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


def can_edit_faq(actor: User, community_id: int) -> bool:
    return acts(actor) and _in_scope(actor, community_id)


def _check_faq(question: str, answer: str, team: str) -> tuple[str, str]:
    question = " ".join(question.split())
    answer = clean_text(answer)
    errors: dict[str, list[str]] = {}
    if not FAQ_QUESTION_MIN <= len(question) <= FAQ_QUESTION_MAX:
        errors["question"] = [
            _("Write the question in %(low)d to %(high)d characters.")
            % {"low": FAQ_QUESTION_MIN, "high": FAQ_QUESTION_MAX}
        ]
    if not ANSWER_MIN <= len(answer) <= ANSWER_MAX:
        errors["answer"] = [
            _("Write an answer of %(low)d to %(high)d characters.") % {"low": ANSWER_MIN, "high": ANSWER_MAX}
        ]
    if team and team not in Team.values:
        errors["team"] = [_("Choose a team.")]
    if errors:
        raise ValidationError(errors)
    return question, answer


def _faq_create(
    *, actor: User, community_id: int, question: str, answer: str, team: str, published: bool
) -> FaqEntry:
    question, answer = _check_faq(question, answer, team)
    entry = FaqEntry.objects.create(
        community_id=community_id,
        question=question,
        answer=answer,
        team=team,
        published=published,
        created_by=actor if actor.pk else None,
    )
    audit_record(actor=actor, action=AuditLog.Action.CREATE, target=entry, community_id=community_id)
    return entry


def faq_create(
    *, actor: User, community: Community, question: str, answer: str, team: str = "", published: bool = True
) -> FaqEntry:
    if not can_edit_faq(actor, community.pk):
        raise PermissionDenied(_("You may read the FAQ but not change it."))
    with transaction.atomic():
        return _faq_create(
            actor=actor,
            community_id=community.pk,
            question=question,
            answer=answer,
            team=team,
            published=published,
        )


def faq_update(
    *, actor: User, entry: FaqEntry, question: str, answer: str, team: str = "", published: bool = True
) -> FaqEntry:
    if not can_edit_faq(actor, entry.community_id):
        raise PermissionDenied(_("You may read the FAQ but not change it."))
    question, answer = _check_faq(question, answer, team)
    before = {
        "question": entry.question,
        "answer": entry.answer,
        "team": entry.team,
        "published": entry.published,
    }
    after = {"question": question, "answer": answer, "team": team, "published": published}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changes:
        return entry
    with transaction.atomic():
        for key, value in after.items():
            setattr(entry, key, value)
        entry.save(update_fields=[*after, "updated_at"])
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=entry, changes=changes)
    return entry


def faq_set_published(*, actor: User, entry: FaqEntry, published: bool) -> FaqEntry:
    return faq_update(
        actor=actor,
        entry=entry,
        question=entry.question,
        answer=entry.answer,
        team=entry.team,
        published=published,
    )


def faq_delete(*, actor: User, entry: FaqEntry) -> None:
    if not can_edit_faq(actor, entry.community_id):
        raise PermissionDenied(_("You may read the FAQ but not change it."))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditLog.Action.DELETE,
            target=entry,
            detail=_short(entry.answer, 200),
            community_id=entry.community_id,
        )
        entry.delete()


def faq_rows(actor: User, *, community_id: int | None = None, show: str = "all") -> QuerySet[FaqEntry]:
    qs = faq_for(actor).select_related("community", "created_by").annotate(asked=Count("questions"))
    if community_id:
        qs = qs.filter(community_id=community_id)
    if show == "published":
        qs = qs.filter(published=True)
    elif show == "hidden":
        qs = qs.filter(published=False)
    return qs.order_by("-published", "-helped", "-shown", "-updated_at", "pk")
