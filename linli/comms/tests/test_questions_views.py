"""Residents' questions over HTTP: the building's ask page (no login, rate-limited, uploads checked), the
FAQ suggested while typing, the ticket page; the staff desk from three seats, answering, the FAQ pages."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from linli.comms import questions as svc
from linli.comms.models import FaqEntry, OutboxMessage, Question
from linli.comms.views.questions import QUESTIONS_PER_HOUR, TICKET_MISSES, flood_counts_reset
from linli.conftest import World, one_flood_window
from linli.core.models import AuditLog, User
from linli.factories import BuildingFactory
from linli.health.selfreport import building_token
from linli.registry.models import Community
from linli.tasks.models import Task, Team


@pytest.fixture(autouse=True)
def _fresh_counts(settings: object) -> Iterator[None]:
    flood_counts_reset()
    settings.MEDIA_ROOT = str(settings.MEDIA_ROOT) + "-questions"  # type: ignore[attr-defined]
    yield
    flood_counts_reset()


@pytest.fixture
def faq(world: World) -> FaqEntry:
    return FaqEntry.objects.create(
        community=world.community,
        team=Team.LOGISTICS,
        question="快递和外卖放在哪里？怎么取？",
        answer="放在东门外的无接触取件架，按楼号分区摆放。",
    )


def _url(world: World, name: str = "comms:ask", *args: object) -> str:
    return reverse(name, args=[building_token(world.building1.pk), *args])


def _as(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "blue").save(buffer, "JPEG")
    return SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")


def _ask(world: World, text: str = "快递到了好几天了，在哪里取？", **kwargs: object) -> Question:
    return svc.question_ask(building=world.building1, text=text, **kwargs)  # type: ignore[arg-type]


# --- the resident's pages --------------------------------------------------------------------------------


def test_the_ask_page_opens_from_the_buildings_link_without_login(world: World, client: Client) -> None:
    response = client.get(_url(world))
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    assert "Ask the community" in body and world.community.name in body
    assert (
        'name="category"' in body
        and reverse("comms:ask_suggest", args=[building_token(world.building1.pk)]) in body
    )
    assert client.get("/ask/1-0000000000/").status_code == 404
    assert client.get(f"/ask/{world.building1.pk}/").status_code == 404


def test_asking_makes_a_ticket_the_phone_remembers(world: World, client: Client) -> None:
    response = client.post(
        _url(world),
        {"text": "家里停水了，什么时候来水？", "category": "", "name": "王女士", "phone": "13812345678"},
        REMOTE_ADDR="10.1.2.3",
    )
    question = Question.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/ask/t/{question.token}/?new=1"
    assert (question.team, question.ip, question.building_id) == (
        Team.ENGINEERING,
        "10.1.2.3",
        world.building1.pk,
    )
    assert Task.objects.get(pk=question.task_id).team == Team.ENGINEERING
    ticket = client.get(response["Location"])
    assert ticket.status_code == 200 and ticket["X-Robots-Tag"] == "noindex"
    text = ticket.content.decode()
    assert "家里停水了" in text and "138****5678" in text and "Waiting for an answer" in text
    # Back on the building's page, this phone sees its question; another phone does not.
    assert "家里停水了" in client.get(_url(world)).content.decode()
    assert "家里停水了" not in Client().get(_url(world)).content.decode()


def test_the_chosen_topic_routes_the_question(world: World, client: Client) -> None:
    client.post(_url(world), {"text": "门口有人一直按门铃", "category": "medicine"})
    assert Question.objects.get().team == Team.MEDICAL


def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(world: World, client: Client) -> None:
    response = client.post(_url(world), {"text": "药", "phone": "12345"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "at least 5 characters" in body and "mobile number" in body
    not_photo = SimpleUploadedFile("x.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")
    response = client.post(_url(world), {"text": "楼道灯坏了，看照片", "photo": not_photo})
    assert response.status_code == 400 and "not a photo" in response.content.decode()
    assert not Question.objects.exists() and not Task.objects.exists()


def test_a_photo_is_kept_and_shown_only_to_staff(world: World, client: Client) -> None:
    response = client.post(_url(world), {"text": "楼道灯坏了，看照片", "photo": _photo()})
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.photo.name.endswith(".jpg")
    photo_url = reverse("comms:question_photo", args=[question.pk])
    assert client.get(photo_url).status_code == 302  # to the login page
    staff = _as(world.alice).get(photo_url)
    assert staff.status_code == 200 and staff["Content-Type"] == "image/jpeg"
    assert "no-store" in staff["Cache-Control"]
    assert _as(world.charlie).get(photo_url).status_code == 404


def test_a_flood_of_questions_from_one_address_gets_429(world: World, client: Client) -> None:
    with one_flood_window(3600):
        for n in range(QUESTIONS_PER_HOUR):
            assert (
                client.post(
                    _url(world), {"text": f"第{n}个问题：快递在哪取"}, REMOTE_ADDR="10.9.9.9"
                ).status_code
                == 302
            )
        refused = client.post(_url(world), {"text": "再问一个：快递在哪取"}, REMOTE_ADDR="10.9.9.9")
        assert refused.status_code == 429 and refused["Retry-After"] == "3600"
        assert "Too many" in refused.content.decode()
        assert Question.objects.count() == QUESTIONS_PER_HOUR
        # Another address is not held up.
        assert client.post(_url(world), {"text": "快递在哪取？"}, REMOTE_ADDR="10.9.9.10").status_code == 302


def test_the_faq_is_suggested_while_typing_and_counted_once_per_page(
    world: World, client: Client, faq: FaqEntry
) -> None:
    url = _url(world, "comms:ask_suggest")
    response = client.get(url, {"q": "快递在哪取"})
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    body = response.content.decode()
    assert faq.question in body and faq.answer in body and "This answers my question" in body
    assert f'value="{faq.pk}"' in body  # the page now knows it was shown
    client.get(url, {"q": "快递在哪取啊", "seen": str(faq.pk)})
    faq.refresh_from_db()
    assert faq.shown == 1
    assert faq.question not in client.get(url, {"q": "快"}).content.decode()
    assert faq.question not in client.get(url, {"q": "天气预报说明天下雨"}).content.decode()


def test_this_answers_my_question_is_counted_and_no_ticket_is_made(
    world: World, client: Client, faq: FaqEntry
) -> None:
    response = client.post(_url(world, "comms:ask_helped", faq.pk))
    assert response.status_code == 200 and "Glad it helped" in response.content.decode()
    faq.refresh_from_db()
    assert faq.helped == 1 and not Question.objects.exists()
    other = FaqEntry.objects.create(
        community=Community.objects.get(code="other"), question="别处", answer="别处"
    )
    assert client.post(_url(world, "comms:ask_helped", other.pk)).status_code == 404
    assert client.get(_url(world, "comms:ask_helped", faq.pk)).status_code == 405


def test_the_public_faq_lists_the_communitys_published_entries(
    world: World, client: Client, faq: FaqEntry
) -> None:
    FaqEntry.objects.create(community=world.community, question="草稿问题", answer="未发布", published=False)
    FaqEntry.objects.create(
        community=Community.objects.get(code="other"), question="别的社区的问题", answer="x"
    )
    body = client.get(_url(world, "comms:ask_faq")).content.decode()
    assert faq.question in body and faq.answer in body
    assert "草稿问题" not in body and "别的社区的问题" not in body


def test_the_ticket_shows_the_answer_once_given(world: World, client: Client) -> None:
    question = _ask(world, phone="13812345678")
    url = reverse("comms:ticket", args=[question.token])
    assert "Waiting for an answer" in client.get(url).content.decode()
    _as(world.alice).post(reverse("comms:question", args=[question.pk]), {"answer": "在东门外的取件架。"})
    body = client.get(url).content.decode()
    assert "Answered" in body and "在东门外的取件架。" in body


def test_guessing_ticket_links_is_stopped(world: World, client: Client) -> None:
    question = _ask(world)
    for n in range(TICKET_MISSES):
        assert client.get(f"/ask/t/guess{n:020d}/", REMOTE_ADDR="10.7.7.7").status_code == 404
    assert client.get(f"/ask/t/{question.token}/", REMOTE_ADDR="10.7.7.7").status_code == 429
    assert client.get(f"/ask/t/{question.token}/", REMOTE_ADDR="10.7.7.8").status_code == 200


def test_the_ask_page_never_shows_other_residents_questions(world: World, client: Client) -> None:
    _ask(world, "邻居的私事：我家老人住院了", name="李秀英", phone="13812341234")
    for url in (_url(world), _url(world, "comms:ask_faq")):
        body = client.get(url).content.decode()
        assert "邻居的私事" not in body and "李秀英" not in body and "1234" not in body
    assert (
        "邻居的私事"
        not in client.get(_url(world, "comms:ask_suggest"), {"q": "我家老人住院了"}).content.decode()
    )


# --- the staff desk ---------------------------------------------------------------------------------------


def test_the_desk_from_three_seats(world: World) -> None:
    question = _ask(world, name="李秀英", phone="13812341234")
    elsewhere = svc.question_ask(
        building=BuildingFactory(community=Community.objects.get(code="other"), number="7"),
        text="别的社区的问题",
    )
    url = reverse("comms:questions")
    for seat in (world.alice, world.bob, world.commander, world.observer):
        body = _as(seat).get(url).content.decode()
        assert question.text in body and "李*英" in body and "138****1234" in body
        assert "李秀英" not in body and "13812341234" not in body and elsewhere.text not in body
    outsider = _as(world.charlie)
    assert question.text not in outsider.get(url).content.decode()
    assert outsider.get(reverse("comms:question", args=[question.pk])).status_code == 404
    street = _as(world.street_admin).get(url).content.decode()
    assert question.text in street and elsewhere.text in street
    assert Client().get(url).status_code == 302


def test_the_desk_keeps_its_query_count(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(12):
        _ask(world, f"第{n}个问题：快递在哪取", phone="13812345678")
    client = _as(world.alice)
    client.get(reverse("comms:questions"))
    with django_assert_max_num_queries(11):
        response = client.get(reverse("comms:questions"), {"status": "open", "team": Team.LOGISTICS})
    assert response.status_code == 200 and response.content.decode().count("data-question=") == 12


def test_overdue_questions_are_marked_on_the_desk(world: World) -> None:
    question = _ask(world)
    Task.objects.filter(pk=question.task_id).update(due_at=question.created_at.replace(year=2000))
    body = _as(world.alice).get(reverse("comms:questions")).content.decode()
    assert 'class="row-short"' in body and "overdue" in body


def test_answering_on_the_page_completes_the_task_queues_the_sms_and_grows_the_faq(world: World) -> None:
    first = _ask(world, "快递到了好几天了一直没找到，到底在哪里取啊？", phone="13812345678")
    second = _ask(world, "我家的快递在哪拿", phone="13900001111")
    client = _as(world.alice)
    page = client.get(reverse("comms:question", args=[first.pk])).content.decode()
    assert second.text in page and f'value="{second.pk}"' in page  # the similar one, to answer too
    assert (
        'value="快递到了好几天了一直没找到，到底在哪里取啊？"' in page
    )  # the FAQ question starts from her words
    response = client.post(
        reverse("comms:question", args=[first.pk]),
        {
            "answer": "快递统一放在东门外的取件架。",
            "also": [second.pk],
            "add_to_faq": "on",
            "faq_question": "快递放在哪里取？",
        },
    )
    assert response.status_code == 302
    assert Question.objects.filter(status=Question.Status.ANSWERED).count() == 2
    assert Task.objects.filter(status=Task.Status.DONE).count() == 2
    assert set(OutboxMessage.objects.filter(channel="sms").values_list("address", flat=True)) == {
        "13812345678",
        "13900001111",
    }
    entry = FaqEntry.objects.get()
    assert entry.question == "快递放在哪里取？" and entry.published
    shown = client.get(response["Location"]).content.decode()
    assert "Answered 2 question(s)." in shown and "快递统一放在东门外的取件架。" in shown


def test_an_empty_answer_is_refused_and_observers_cannot_answer(world: World) -> None:
    question = _ask(world)
    url = reverse("comms:question", args=[question.pk])
    assert _as(world.alice).post(url, {"answer": ""}).status_code == 400
    observer = _as(world.observer)
    assert "may read the questions" in observer.get(url).content.decode()
    assert observer.post(url, {"answer": "在东门。"}).status_code == 403
    assert (
        observer.post(reverse("comms:question_close", args=[question.pk]), {"reason": "spam"}).status_code
        == 403
    )
    assert _as(world.charlie).post(url, {"answer": "在东门。"}).status_code == 404
    question.refresh_from_db()
    assert question.status == Question.Status.OPEN


def test_closing_and_moving_on_the_page(world: World) -> None:
    question = _ask(world, "楼下有人聚集")
    client = _as(world.bob)
    client.post(reverse("comms:question_team", args=[question.pk]), {"team": Team.SECURITY})
    question.refresh_from_db()
    assert question.team == Team.SECURITY
    client.post(reverse("comms:question_close", args=[question.pk]), {"reason": "other", "note": ""})
    question.refresh_from_db()
    assert question.status == Question.Status.OPEN  # "other" needs a note
    client.post(
        reverse("comms:question_close", args=[question.pk]), {"reason": "other", "note": "已电话联系居民"}
    )
    question.refresh_from_db()
    assert question.status == Question.Status.CLOSED and "已电话联系居民" in question.answer
    assert "已电话联系居民" in Client().get(reverse("comms:ticket", args=[question.token])).content.decode()


def test_revealing_the_phone_on_the_page_is_logged(world: World) -> None:
    question = _ask(world, phone="13812341234")
    response = _as(world.alice).post(reverse("comms:question_reveal", args=[question.pk]))
    assert "13812341234" in response.content.decode()
    assert AuditLog.objects.filter(action=AuditLog.Action.REVEAL, target_id=str(question.pk)).exists()
    assert _as(world.observer).post(reverse("comms:question_reveal", args=[question.pk])).status_code == 403


# --- the FAQ pages ----------------------------------------------------------------------------------------


def test_the_faq_is_managed_by_the_communitys_staff(world: World, faq: FaqEntry) -> None:
    FaqEntry.objects.filter(pk=faq.pk).update(shown=40, helped=17)
    client = _as(world.alice)
    body = client.get(reverse("comms:faq")).content.decode()
    assert faq.question in body and "<b>17</b>" in body
    created = client.post(
        reverse("comms:faq_new"),
        {"question": "垃圾几点收？", "answer": "早7点、晚6点。", "team": Team.LOGISTICS, "published": "on"},
    )
    assert created.status_code == 302
    entry = FaqEntry.objects.get(question="垃圾几点收？")
    assert entry.community_id == world.community.pk and entry.created_by == world.alice
    client.post(
        reverse("comms:faq_edit", args=[entry.pk]),
        {"question": "垃圾几点收？", "answer": "早7点。", "team": ""},
    )
    entry.refresh_from_db()
    assert entry.answer == "早7点。" and not entry.published  # an unticked box hides it
    client.post(reverse("comms:faq_publish", args=[entry.pk]), {"published": "1"})
    entry.refresh_from_db()
    assert entry.published
    client.post(reverse("comms:faq_delete", args=[entry.pk]))
    assert not FaqEntry.objects.filter(pk=entry.pk).exists()


def test_faq_pages_from_three_seats(world: World, faq: FaqEntry, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    observer = _as(world.observer)
    assert faq.question in observer.get(reverse("comms:faq")).content.decode()
    assert observer.post(reverse("comms:faq_publish", args=[faq.pk]), {"published": "0"}).status_code == 403
    assert observer.get(reverse("comms:faq_new")).status_code == 403
    charlie = _as(world.charlie)
    assert faq.question not in charlie.get(reverse("comms:faq")).content.decode()
    assert charlie.get(reverse("comms:faq_edit", args=[faq.pk])).status_code == 404
    assert charlie.post(reverse("comms:faq_delete", args=[faq.pk])).status_code == 404
    for n in range(10):
        FaqEntry.objects.create(community=world.community, question=f"问题{n}", answer="答案")
    client = _as(world.bob)
    client.get(reverse("comms:faq"))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("comms:faq")).status_code == 200


def test_an_answered_question_can_start_an_faq_entry(world: World) -> None:
    question = _ask(world, "孩子的奶粉快喝完了，小区能买到吗？")
    svc.questions_answer(
        actor=world.alice,
        question=Question.objects.select_related("community", "task").get(pk=question.pk),
        answer="在楼栋群接龙母婴用品。",
    )
    page = _as(world.alice).get(reverse("comms:faq_new"), {"question": question.pk}).content.decode()
    assert "孩子的奶粉快喝完了" in page and "在楼栋群接龙母婴用品。" in page
    assert _as(world.charlie).get(reverse("comms:faq_new"), {"question": question.pk}).status_code == 404
