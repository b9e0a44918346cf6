"""Residents' questions through the services: routing to a team with a deadline, the FAQ suggested by
similarity, answers that finish the task and text the resident, closing, moving to another team."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from linli.comms import questions as svc
from linli.comms.models import FaqEntry, Notification, OutboxMessage, Question
from linli.conftest import World
from linli.core.models import AuditLog
from linli.factories import BuildingFactory, UserFactory
from linli.registry.models import Community
from linli.tasks.models import Task, Team

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2030, 5, 6, 9, 30, tzinfo=CST)

FAQ = [
    (Team.LOGISTICS, "快递和外卖放在哪里？怎么取？", "放在东门外的无接触取件架，按楼号分区摆放。"),
    (Team.MEDICAL, "发烧了去哪里买药？", "在本页提问，医疗组登记后统一代购配送。"),
    (Team.LIAISON, "今天核酸几点开始？在哪里做？", "每天上午8:00–11:30，在17号院南侧广场。"),
    (Team.LOGISTICS, "垃圾怎么扔？几点收？", "每天早7点、晚6点放到单元门口。"),
    (Team.LIAISON, "什么时候解封？", "以区指挥部通知为准。"),
    (Team.SECURITY, "小区大门什么时候开？能出去吗？", "只开东门，就医凭证明登记放行。"),
]


@pytest.fixture(autouse=True)
def _morning() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def faq(world: World) -> list[FaqEntry]:
    return [
        FaqEntry.objects.create(community=world.community, team=team, question=q, answer=a)
        for team, q, a in FAQ
    ]


def _photo(kind: str = "PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, kind)
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def _ask(world: World, text: str = "快递到了好几天了，在哪里取？", **kwargs: object) -> Question:
    kwargs.setdefault("building", world.building1)
    return svc.question_ask(text=text, **kwargs)  # type: ignore[arg-type]


def _loaded(question: Question) -> Question:
    return Question.objects.select_related("community", "task", "building").get(pk=question.pk)


# --- similarity ----------------------------------------------------------------------------------------------


def test_punctuation_and_filler_words_do_not_count() -> None:
    assert svc.tokens("快递放在哪里？") == svc.tokens("快递放在哪里吗！！")
    assert svc.tokens("快递：在哪里？") == svc.tokens("快递在哪里")
    assert svc.tokens("请问怎么了吗？") == svc.tokens("")
    assert svc.similarity("请问，什么时候解封啊？", "什么时候解封") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("快递在哪取", "快递和外卖放在哪里？怎么取？"),
        ("我的快递到了吗", "快递和外卖放在哪里？怎么取？"),
        ("孩子发烧了怎么买药", "发烧了去哪里买药？"),
        ("今天几点做核酸", "今天核酸几点开始？在哪里做？"),
        ("垃圾放哪", "垃圾怎么扔？几点收？"),
        ("大门开吗", "小区大门什么时候开？能出去吗？"),
        ("啥时候能解封啊", "什么时候解封？"),
        ("买药", "发烧了去哪里买药？"),
    ],
)
def test_the_closest_faq_entry_comes_first(
    world: World, faq: list[FaqEntry], typed: str, expected: str
) -> None:
    suggestions = svc.faq_suggest(world.community.pk, typed)
    assert suggestions and suggestions[0].question == expected
    assert len(suggestions) <= svc.SUGGESTIONS
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)


def test_latin_text_is_matched_by_words(world: World) -> None:
    FaqEntry.objects.create(
        community=world.community, question="Where is the parcel pickup point?", answer="East gate"
    )
    FaqEntry.objects.create(community=world.community, question="When is testing today?", answer="8 to 11:30")
    suggestions = svc.faq_suggest(world.community.pk, "parcel pickup")
    assert [s.question for s in suggestions] == ["Where is the parcel pickup point?"]


def test_nothing_is_suggested_for_one_character_unrelated_text_or_hidden_or_other_communities_entries(
    world: World, faq: list[FaqEntry]
) -> None:
    assert svc.faq_suggest(world.community.pk, "快") == []
    assert svc.faq_suggest(world.community.pk, "天气预报说明天下雨") == []
    FaqEntry.objects.filter(question__startswith="快递").update(published=False)
    assert all(not s.question.startswith("快递") for s in svc.faq_suggest(world.community.pk, "快递在哪取"))
    other = Community.objects.get(code="other")
    FaqEntry.objects.create(community=other, question="快递在哪取？", answer="别的社区")
    assert all(s.answer != "别的社区" for s in svc.faq_suggest(world.community.pk, "快递在哪取"))


def test_an_faq_answer_that_mentions_the_question_is_suggested_too(world: World) -> None:
    FaqEntry.objects.create(
        community=world.community, question="封控期间怎么生活？", answer="抗原试剂由网格员每周发放两次。"
    )
    assert [s.question for s in svc.faq_suggest(world.community.pk, "抗原试剂")] == ["封控期间怎么生活？"]


def test_shown_and_helped_are_counted_in_the_database(world: World, faq: list[FaqEntry]) -> None:
    assert svc.faq_shown([faq[0].pk, faq[1].pk]) == 2
    svc.faq_shown([faq[0].pk])
    assert svc.faq_helped(community_id=world.community.pk, pk=faq[0].pk)
    faq[0].refresh_from_db()
    assert (faq[0].shown, faq[0].helped) == (2, 1)
    other = Community.objects.get(code="other")
    assert not svc.faq_helped(community_id=other.pk, pk=faq[0].pk)


# --- routing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("我家老人的降压药快吃完了", Team.MEDICAL),
        ("孩子发烧38度5", Team.MEDICAL),
        ("送药的什么时候到", Team.MEDICAL),
        ("家里没菜了，物资什么时候发", Team.LOGISTICS),
        ("外卖能送到楼下吗", Team.LOGISTICS),
        ("楼里停水了", Team.ENGINEERING),
        ("电梯坏了", Team.ENGINEERING),
        ("燃气灶打不着火", Team.ENGINEERING),
        ("东门几点开？可以出入吗", Team.SECURITY),
        ("保安不让我进", Team.SECURITY),
        ("居委会电话是多少", Team.LIAISON),  # 电话 is no power cut
        ("健康宝弹窗了", Team.LIAISON),
        ("My father needs his medicine", Team.MEDICAL),
        ("Will the lift be repaired?", Team.ENGINEERING),
        ("Will it be over soon?", Team.LIAISON),  # "ill" is not in "will"
    ],
)
def test_a_question_without_a_topic_goes_to_the_team_its_words_name(text: str, team: str) -> None:
    assert svc.route(text) == team


def test_the_topic_the_resident_chose_decides_the_team() -> None:
    assert svc.team_for("gates", "药") == Team.SECURITY
    assert svc.team_for("testing", "核酸几点") == Team.LIAISON
    assert svc.team_for("", "药") == Team.MEDICAL


# --- asking ----------------------------------------------------------------------------------------------------


def test_a_question_becomes_a_task_for_its_team_due_in_4_hours(world: World, small_plan: object) -> None:
    question = _ask(world, "请问明天还做核酸吗？", name=" 王  女士 ", phone="138-1234-5678", ip="10.0.0.7")
    assert question.team == Team.LIAISON and question.status == Question.Status.OPEN
    assert (question.name, question.phone, question.ip) == ("王 女士", "13812345678", "10.0.0.7")
    assert len(question.token) == 24
    task = Task.objects.get(pk=question.task_id)
    assert task.team == Team.LIAISON and task.assignee_id is None
    assert task.due_at == NOW + dt.timedelta(hours=4)
    assert task.community_id == world.community.pk and task.grid_id == world.grid1.pk
    assert task.source_id == question.pk
    assert "请问明天还做核酸吗" in task.title and "1" in task.title
    assert task.commander_id == world.commander.pk
    # The liaison team's people (alice leads it, bob is a member) hear of it.
    told = set(Notification.objects.filter(title=task.title).values_list("user_id", flat=True))
    assert told == {world.alice.pk, world.bob.pk}
    audit = AuditLog.objects.get(target_type="comms.question", target_id=str(question.pk))
    assert audit.action == AuditLog.Action.CREATE and audit.community_id == world.community.pk


def test_medicine_is_answered_within_2_hours(world: World) -> None:
    question = _ask(world, "老人的药吃完了，能帮忙买吗", category="")
    task = Task.objects.get(pk=question.task_id)
    assert question.team == Team.MEDICAL and task.team == Team.MEDICAL
    assert task.due_at == NOW + dt.timedelta(hours=2)
    assert task.priority == Task.Priority.HIGH
    # Nobody holds a medical post: the grid leader's chain (here the commander) hears of it.
    assert Notification.objects.filter(user=world.commander, title=task.title).exists()


def test_bad_input_is_refused_by_field(world: World) -> None:
    with pytest.raises(ValidationError) as short:
        _ask(world, "药？")
    assert "text" in short.value.message_dict
    with pytest.raises(ValidationError) as long:
        _ask(world, "药" * (svc.TEXT_MAX + 1))
    assert "text" in long.value.message_dict
    with pytest.raises(ValidationError) as phone:
        _ask(world, phone="010-62743836")  # a landline gets no SMS
    assert "phone" in phone.value.message_dict
    with pytest.raises(ValidationError) as topic:
        _ask(world, category="weather")
    assert "category" in topic.value.message_dict
    fake = SimpleUploadedFile("photo.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")
    with pytest.raises(ValidationError) as photo:
        _ask(world, photo=fake)
    assert "photo" in photo.value.message_dict
    assert not Question.objects.exists() and not Task.objects.exists()


def test_a_photo_is_checked_by_its_content_and_size(world: World, settings: object) -> None:
    settings.MEDIA_ROOT = str(settings.MEDIA_ROOT) + "-questions"  # type: ignore[attr-defined]
    question = _ask(world, "楼道灯坏了，看照片", photo=_photo())
    assert question.photo.name.startswith("questions/") and question.photo.name.endswith(".png")
    assert question.token not in question.photo.name
    big = _photo()
    big.size = svc.PHOTO_MAX_BYTES + 1
    with pytest.raises(ValidationError, match="10 MB"):
        svc.check_photo(big)


def test_a_building_without_a_worker_or_grid_still_gets_its_question_answered(world: World) -> None:
    building = BuildingFactory(community=world.community, grid=None, number="33")
    question = _ask(world, "33号楼的快递在哪取", building=building)
    task = Task.objects.get(pk=question.task_id)
    assert task.team == Team.LOGISTICS and task.grid_id is None
    assert task.leader_id == world.commander.pk


# --- answering -------------------------------------------------------------------------------------------------


def test_answering_finishes_the_task_audits_and_texts_the_resident(world: World, settings: object) -> None:
    settings.PUBLIC_URL = "https://linli.example.cn"  # type: ignore[attr-defined]
    question = _ask(world, phone="13812345678")
    result = svc.questions_answer(
        actor=world.alice, question=_loaded(question), answer="放在东门外的取件架，按楼号分区。"
    )
    assert result.answered and result.sms == 1 and result.faq is None
    question.refresh_from_db()
    assert question.status == Question.Status.ANSWERED
    assert question.answered_by == world.alice and question.answered_at == NOW
    task = Task.objects.get(pk=question.task_id)
    assert task.status == Task.Status.DONE and task.done_by == world.alice
    sms = OutboxMessage.objects.get(key=f"q{question.pk}:answer")
    assert (sms.channel, sms.address, sms.community_id) == ("sms", "13812345678", world.community.pk)
    assert f"https://linli.example.cn/ask/t/{question.token}/" in sms.body
    assert "东门外" in sms.body and len(sms.body) < 200
    assert AuditLog.objects.filter(
        target_type="comms.question",
        target_id=str(question.pk),
        action=AuditLog.Action.UPDATE,
        actor=world.alice,
    ).exists()


def test_similar_questions_are_answered_with_the_same_words_and_the_answer_joins_the_faq(
    world: World,
) -> None:
    first = _ask(world, "快递到了好几天了一直没找到，到底在哪里取啊？", phone="13812345678")
    second = _ask(world, "请问快递放哪里了？我的包裹显示已签收但门口没有", building=world.building2)
    third = _ask(world, "我家的快递在哪拿", phone="13900001111")
    unrelated = _ask(world, "楼道灯坏了好几天了")
    similar = [q for q, _score in svc.similar_open(_loaded(first))]
    assert {q.pk for q in similar} == {second.pk, third.pk}
    result = svc.questions_answer(
        actor=world.bob,
        question=_loaded(first),
        answer="快递统一放在东门外的取件架。",
        also=[_loaded(second), _loaded(third)],
        add_to_faq=True,
        faq_question="快递放在哪里取？",
    )
    assert {q.pk for q in result.answered} == {first.pk, second.pk, third.pk}
    assert result.sms == 2
    entry = result.faq
    assert entry is not None and entry.published and entry.team == Team.LOGISTICS
    assert (entry.question, entry.answer, entry.created_by) == (
        "快递放在哪里取？",
        "快递统一放在东门外的取件架。",
        world.bob,
    )
    assert set(entry.questions.values_list("pk", flat=True)) == {first.pk, second.pk, third.pk}
    assert Task.objects.filter(status=Task.Status.DONE).count() == 3
    unrelated.refresh_from_db()
    assert unrelated.status == Question.Status.OPEN
    # The next resident asking the same finds it while typing.
    assert svc.faq_suggest(world.community.pk, "快递在哪里取")[0].pk == entry.pk


def test_a_question_answered_by_someone_else_first_is_left_alone(world: World) -> None:
    question = _ask(world, phone="13812345678")
    svc.questions_answer(actor=world.alice, question=_loaded(question), answer="在东门。")
    again = svc.questions_answer(actor=world.bob, question=_loaded(question), answer="在西门。")
    assert again.answered == [] and [q.pk for q in again.skipped] == [question.pk] and again.sms == 0
    question.refresh_from_db()
    assert question.answer == "在东门。" and question.answered_by == world.alice
    assert OutboxMessage.objects.filter(channel="sms").count() == 1


def test_an_answer_needs_words_and_an_faq_entry_a_question(world: World) -> None:
    question = _ask(world)
    with pytest.raises(ValidationError) as empty:
        svc.questions_answer(actor=world.alice, question=_loaded(question), answer=" ")
    assert "answer" in empty.value.message_dict
    with pytest.raises(ValidationError) as faq:
        svc.questions_answer(
            actor=world.alice, question=_loaded(question), answer="在东门。", add_to_faq=True, faq_question=""
        )
    assert "faq_question" in faq.value.message_dict
    assert not FaqEntry.objects.exists()


def test_observers_and_other_communities_staff_cannot_answer(world: World) -> None:
    question = _loaded(_ask(world))
    for outsider in (world.observer, world.charlie, UserFactory(role="volunteer")):
        with pytest.raises(PermissionDenied):
            svc.questions_answer(actor=outsider, question=question, answer="在东门。")
    other_building = BuildingFactory(community=Community.objects.get(code="other"), number="5")
    elsewhere = _loaded(_ask(world, building=other_building))
    with pytest.raises(ValidationError):
        svc.questions_answer(actor=world.commander, question=question, answer="在东门。", also=[elsewhere])
    # The street office may answer for any of its communities.
    assert svc.questions_answer(actor=world.street_admin, question=question, answer="在东门。").answered


def test_closing_without_an_answer_cancels_the_task_with_the_reason(world: World) -> None:
    question = _ask(world, "什么时候解封啊")
    with pytest.raises(ValidationError):
        svc.question_close(actor=world.alice, question=_loaded(question), reason="other")
    svc.question_close(actor=world.alice, question=_loaded(question), reason="duplicate")
    question.refresh_from_db()
    assert question.status == Question.Status.CLOSED and question.answer.startswith("Duplicate")
    task = Task.objects.get(pk=question.task_id)
    assert task.status == Task.Status.CANCELLED and task.result.startswith("Duplicate")
    with pytest.raises(ValidationError):
        svc.question_close(actor=world.alice, question=_loaded(question), reason="spam")
    with pytest.raises(PermissionDenied):
        svc.question_close(actor=world.observer, question=_loaded(question), reason="spam")


def test_a_question_moves_to_another_team_with_its_task(world: World) -> None:
    question = _ask(world, "楼下有人聚集不戴口罩")  # no keyword: liaison
    old_task = question.task_id
    svc.question_reroute(actor=world.alice, question=_loaded(question), team=Team.SECURITY)
    question.refresh_from_db()
    assert question.team == Team.SECURITY and question.task_id != old_task
    assert Task.objects.get(pk=old_task).status == Task.Status.CANCELLED
    new = Task.objects.get(pk=question.task_id)
    assert new.team == Team.SECURITY and new.due_at == NOW + dt.timedelta(hours=4) and new.is_open
    with pytest.raises(ValidationError):
        svc.question_reroute(actor=world.alice, question=_loaded(question), team=Team.COMMAND)


def test_revealing_the_phone_is_logged_and_limited_by_role(world: World) -> None:
    question = _loaded(_ask(world, phone="13812345678"))
    assert svc.question_phone_reveal(actor=world.alice, question=question) == "13812345678"
    assert AuditLog.objects.filter(action=AuditLog.Action.REVEAL, actor=world.alice).exists()
    team_member = UserFactory(role="team_member", community=world.community)
    with pytest.raises(PermissionDenied):
        svc.question_phone_reveal(actor=team_member, question=question)


# --- the desk --------------------------------------------------------------------------------------------------


def test_the_desk_lists_overdue_first_then_soonest_due_then_the_answered(world: World) -> None:
    with time_machine.travel(NOW - dt.timedelta(hours=5), tick=False):
        late = _ask(world, "楼道灯坏了好几天了")  # due 4 h after: an hour ago
    with time_machine.travel(NOW - dt.timedelta(minutes=30), tick=False):
        medicine = _ask(world, "降压药只剩两天了")  # due in 1.5 h
    soon = _ask(world, "明天还做核酸吗")  # due in 4 h
    done = _ask(world, "垃圾几点收")
    svc.questions_answer(actor=world.alice, question=_loaded(done), answer="早7点。")
    rows = list(svc.question_list(world.alice))
    assert [q.pk for q in rows] == [late.pk, medicine.pk, soon.pk, done.pk]
    assert [q.pk for q in svc.question_list(world.alice, status="overdue")] == [late.pk]
    assert [q.pk for q in svc.question_list(world.alice, team=Team.MEDICAL)] == [medicine.pk]
    counts = svc.desk_counts(world.alice)
    assert (counts.open, counts.overdue, counts.answered, counts.closed) == (3, 1, 1, 0)
    assert counts.by_team == {Team.ENGINEERING: 1, Team.MEDICAL: 1, Team.LIAISON: 1}


def test_the_desk_is_the_communitys_and_the_street_sees_all_of_its_communities(world: World) -> None:
    here = _ask(world)
    there = _ask(world, building=BuildingFactory(community=Community.objects.get(code="other"), number="7"))
    assert [q.pk for q in svc.question_list(world.alice)] == [here.pk]
    assert [q.pk for q in svc.question_list(world.bob)] == [here.pk]  # another grid, the same community desk
    assert [q.pk for q in svc.question_list(world.charlie)] == [there.pk]
    assert {q.pk for q in svc.question_list(world.street_admin)} == {here.pk, there.pk}
    assert list(svc.question_list(UserFactory(role="volunteer"))) == []


# --- the FAQ ---------------------------------------------------------------------------------------------------


def test_faq_entries_are_written_by_the_communitys_staff_and_audited(world: World) -> None:
    entry = svc.faq_create(
        actor=world.alice, community=world.community, question="垃圾几点收？", answer="早7点、晚6点。"
    )
    svc.faq_update(
        actor=world.bob, entry=entry, question="垃圾几点收？", answer="早7点、晚6点。", published=False
    )
    entry.refresh_from_db()
    assert not entry.published
    assert AuditLog.objects.filter(target_type="comms.faqentry", target_id=str(entry.pk)).count() == 2
    with pytest.raises(PermissionDenied):
        svc.faq_update(actor=world.observer, entry=entry, question="x x x x", answer="yy")
    with pytest.raises(PermissionDenied):
        svc.faq_delete(actor=world.charlie, entry=entry)
    with pytest.raises(ValidationError):
        svc.faq_create(actor=world.alice, community=world.community, question="?", answer="")
    svc.faq_delete(actor=world.commander, entry=entry)
    assert not FaqEntry.objects.exists()
    assert AuditLog.objects.filter(action=AuditLog.Action.DELETE, target_type="comms.faqentry").exists()


def test_the_phone_remembers_its_own_tickets_only(world: World) -> None:
    one, two = _ask(world), _ask(world, "垃圾几点收")
    cookie = svc.mine_cookie(svc.mine_from_cookie(svc.mine_cookie([], one.pk)), two.pk)
    assert svc.mine_from_cookie(cookie) == [two.pk, one.pk]
    assert svc.mine_from_cookie(cookie[:-2] + "xx") == []
    assert svc.mine_from_cookie("[1,2,3]") == []
    assert svc.ticket_get(one.token) == one
    assert svc.ticket_get("not-a-token") is None


def test_the_same_question_sent_twice_is_one_ticket(world: World) -> None:
    first = svc.question_ask(building=world.building1, text="垃圾什么时候清运？", phone="13911112222")
    again = svc.question_ask(building=world.building1, text="垃圾什么时候清运？", phone="13911112222")
    assert again == first and Question.objects.count() == 1
    assert Task.objects.filter(source=Task.Source.QUESTION).count() == 1
