"""Broadcasts, the pages: the staff's list (scoped, in a fixed number of queries), compose → check → send, the
detail with the households that have not confirmed (scoped, masked) and the door-knock action, templates;
and the residents' public pages: the notice board and the confirmation link (no login, rate limited, no
hint of who exists)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from linli.comms import broadcasts as svc
from linli.comms.models import Broadcast, BroadcastRecipient, NoticeTemplate, OutboxMessage
from linli.comms.tests.test_broadcasts import NOW, People, make_people, recipient, sent
from linli.comms.views import broadcasts as views
from linli.conftest import World
from linli.core.models import User
from linli.core.ratelimit import LocalWindow
from linli.tasks.models import Task

pytestmark = pytest.mark.usefixtures("people")


@pytest.fixture
def people(world: World) -> People:
    return make_people(world)


@pytest.fixture(autouse=True)
def _morning() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_public_counts() -> None:
    views._PUBLIC.reset()


def login(user: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def compose(**fields: object) -> dict[str, object]:
    return {
        "community_code": "nanli",
        "audience": "residents",
        "scope": "community",
        "title": "停水通知",
        "body": "明日9:00至17:00停水，请提前储水。",
        "sms": "on",
        "public": "on",
        "ack_deadline": "",
    } | fields


# --- the list ------------------------------------------------------------------------------------------


def test_the_list_shows_the_communitys_notices_newest_first_with_counts(
    world: World, django_assert_max_num_queries: object
) -> None:
    older = sent(world, title="旧通知", require_ack=True)
    newer = sent(world, title="新通知")
    svc.broadcast_ack(token=recipient(older, world.resident1).token)
    for _n in range(5):
        sent(world, title="更多通知")
    client = login(world.commander)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = client.get(reverse("comms:broadcasts"))
    html = response.content.decode()
    assert response.status_code == 200 and html.index("新通知") < html.index("旧通知")
    assert "2 / 5 (40%)" in html  # resident1 and her grandson share the phone
    assert f'data-broadcast="{newer.pk}"' in html and 'id="new-broadcast"' in html


@pytest.mark.parametrize(
    ("who", "sees"), [("alice", True), ("observer", True), ("street_admin", True), ("charlie", False)]
)
def test_who_sees_the_list(world: World, who: str, sees: bool) -> None:
    b = sent(world)
    html = login(getattr(world, who)).get(reverse("comms:broadcasts")).content.decode()
    assert (f'data-broadcast="{b.pk}"' in html) is sees
    # charlie administers his own community: he may write notices there.
    assert ('id="new-broadcast"' in html) is (who in ("street_admin", "charlie"))


# --- compose, check, send --------------------------------------------------------------------------------


def test_compose_check_and_send(world: World) -> None:
    client = login(world.commander)
    page = client.get(reverse("comms:broadcast_new"))
    assert page.status_code == 200 and "data-sms-counter" in page.content.decode()
    response = client.post(
        reverse("comms:broadcast_new"), compose(require_ack="on", ack_deadline="2030-06-03T12:00")
    )
    draft = Broadcast.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("comms:broadcast", args=[draft.pk])
    assert draft.status == "draft" and draft.require_ack and draft.channels == ["sms"]
    assert draft.ack_deadline == dt.datetime(2030, 6, 3, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    review = client.get(response["Location"]).content.decode()
    assert "【邻里】停水通知：明日9:00" in review and "Send now to 2 phones" in review
    assert "1 household has no phone" in review
    client.post(reverse("comms:broadcast_send", args=[draft.pk]))
    client.post(reverse("comms:broadcast_send", args=[draft.pk]))  # a double click
    draft.refresh_from_db()
    assert draft.status == "sent" and OutboxMessage.objects.filter(broadcast=draft).count() == 2


def test_compose_shows_the_services_refusal_on_the_field(world: World) -> None:
    response = login(world.commander).post(
        reverse("comms:broadcast_new"), compose(body="很长的通知。" * 70, scope="buildings")
    )
    html = response.content.decode()
    assert response.status_code == 400 and not Broadcast.objects.exists()
    assert "at most 5 messages" in html and "Choose at least one building." in html


def test_changing_a_draft_replaces_it(world: World) -> None:
    client = login(world.commander)
    draft = svc.broadcast_create(
        actor=world.commander, community=world.community, title="草稿", body="正文", channels=["sms"]
    )
    page = client.get(reverse("comms:broadcast_new") + f"?draft={draft.pk}").content.decode()
    assert 'value="草稿"' in page and f'name="draft" value="{draft.pk}"' in page
    client.post(reverse("comms:broadcast_new"), compose(title="改过的", draft=str(draft.pk)))
    assert list(Broadcast.objects.values_list("title", flat=True)) == ["改过的"]


def test_a_grid_leader_composes_for_their_own_buildings(world: World, people: People) -> None:
    client = login(people.leader1)
    page = client.get(reverse("comms:broadcast_new")).content.decode()
    assert 'name="scope" value="buildings"' in page and 'name="scope" value="community"' not in page
    assert f'name="buildings" value="{world.building1.pk}"' in page
    assert f'name="buildings" value="{world.building2.pk}"' not in page
    response = client.post(
        reverse("comms:broadcast_new"), compose(scope="buildings", buildings=[str(world.building1.pk)])
    )
    assert response.status_code == 302
    sneaky = client.post(
        reverse("comms:broadcast_new"), compose(scope="buildings", buildings=[str(world.building2.pk)])
    )
    assert sneaky.status_code == 400 and Broadcast.objects.count() == 1


@pytest.mark.parametrize(("who", "refused"), [("alice", 403), ("observer", 403), ("charlie", 404)])
def test_others_cannot_compose_or_send(world: World, who: str, refused: int) -> None:
    draft = svc.broadcast_create(
        actor=world.commander, community=world.community, title="草稿", body="正文", channels=["sms"]
    )
    client = login(getattr(world, who))
    assert client.get(reverse("comms:broadcast_new") + "?community=nanli").status_code == refused
    assert client.post(reverse("comms:broadcast_new"), compose()).status_code == refused
    assert Broadcast.objects.count() == 1
    send = client.post(reverse("comms:broadcast_send", args=[draft.pk]))
    assert send.status_code == 404
    draft.refresh_from_db()
    assert draft.status == "draft"
    review = client.get(reverse("comms:broadcast", args=[draft.pk]))
    if who == "charlie":
        assert review.status_code == 404
    else:
        assert 'id="send-now"' not in review.content.decode()


def test_the_preview_and_the_template_picker(world: World) -> None:
    client = login(world.commander)
    html = client.get(
        reverse("comms:broadcast_preview"),
        {
            "community_code": "nanli",
            "audience": "residents",
            "scope": "buildings",
            "buildings": [world.building1.pk],
        },
    ).content.decode()
    assert '<b class="big">1</b> phones: 3 people in 2 households, 1 buildings' in html
    assert "1 household has no phone" in html
    staff = client.get(reverse("comms:broadcast_preview"), {"audience": "staff", "scope": "community"})
    assert "5</b> staff" in staff.content.decode()
    svc.ensure_builtin_templates()
    template = NoticeTemplate.objects.get(key="water-cut")
    filled = client.get(reverse("comms:broadcast_template_fill"), {"template": template.pk}).content.decode()
    assert 'value="停水通知"' in filled and "因管道维修，南里社区将于6月3日{time}停水" in filled


# --- the detail ----------------------------------------------------------------------------------------


def test_the_detail_lists_households_not_confirmed_in_the_viewers_area_masked(
    world: World, people: People
) -> None:
    b = sent(world, require_ack=True)
    url = reverse("comms:broadcast", args=[b.pk])
    alice = login(world.alice).get(url).content.decode()
    assert "李*英、李*宝" in alice and "138****1234" in alice and "no phone — visit" in alice
    assert "李秀英" not in alice and "13812341234" not in alice
    assert "王*国" not in alice  # bob's grid
    assert alice.count(">Confirmed at the door</button>") == 2
    bob = login(world.bob).get(url).content.decode()
    assert "王*国、赵*兰" in bob and "李*英" not in bob
    commander = login(world.commander).get(url).content.decode()
    assert "王*国" in commander and "李*英" in commander
    assert login(world.charlie).get(url).status_code == 404
    observer = login(world.observer).get(url).content.decode()
    assert ">Confirmed at the door</button>" not in observer


def test_the_detail_reads_in_a_fixed_number_of_queries(
    world: World, people: People, django_assert_max_num_queries: object
) -> None:
    b = sent(world, require_ack=True)
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        svc.broadcast_escalations_due()
    client = login(world.commander)
    with django_assert_max_num_queries(18):  # type: ignore[operator]
        html = client.get(reverse("comms:broadcast", args=[b.pk])).content.decode()
    tasks = list(Task.objects.filter(source=Task.Source.BROADCAST, source_id=b.pk))
    assert len(tasks) == 2 and all(f'href="/tasks/{t.pk}/"' in html for t in tasks)
    # The task's page links back to the notice.
    task_page = client.get(reverse("tasks:detail", args=[tasks[0].pk])).content.decode()
    assert reverse("comms:broadcast", args=[b.pk]) in task_page


def test_the_detail_of_a_staff_notice_lists_who_confirmed(world: World, people: People) -> None:
    b = sent(world, audience="staff", channels=[], require_ack=True, title="值班")
    svc.broadcast_ack(token=BroadcastRecipient.objects.get(broadcast=b, user=world.alice).token)
    html = login(world.commander).get(reverse("comms:broadcast", args=[b.pk])).content.decode()
    assert 'id="staff"' in html and html.count("✓") >= 1


def test_the_live_counts_refresh_while_messages_go_out(world: World) -> None:
    b = sent(world)
    client = login(world.alice)
    live = client.get(reverse("comms:broadcast_live", args=[b.pk])).content.decode()
    assert 'hx-trigger="every 4s"' in live and "2 messages still going out" in live
    OutboxMessage.objects.filter(broadcast=b).update(status="delivered")
    live = client.get(reverse("comms:broadcast_live", args=[b.pk])).content.decode()
    assert "hx-trigger" not in live and "2 delivered" in live


def test_confirmed_at_the_door_in_ones_own_grid_only(world: World, people: People) -> None:
    b = sent(world, require_ack=True)
    url = reverse("comms:broadcast_door", args=[b.pk])
    done = login(world.alice).post(
        url, {"household": people.no_phone.household_id}, headers={"HX-Request": "true"}
    )
    assert done.status_code == 200 and "confirmed at the door" in done.content.decode()
    assert recipient(b, people.no_phone).ack_via == "staff"
    assert login(world.bob).post(url, {"household": world.resident1.household_id}).status_code == 404
    assert login(world.charlie).post(url, {"household": world.resident1.household_id}).status_code == 404
    assert recipient(b, world.resident1).acked_at is None


# --- templates -----------------------------------------------------------------------------------------


def test_administrators_keep_templates_and_others_read_them(world: World) -> None:
    client = login(world.commander)
    page = client.get(reverse("comms:notice_templates")).content.decode()
    assert "停水通知" in page and "封控管理通知" in page and 'id="new-template"' in page
    response = client.post(
        reverse("comms:notice_template_new"),
        {
            "community_code": "nanli",
            "name": "电梯检修",
            "audience": "residents",
            "title": "电梯检修",
            "body": "{date}检修",
            "key": "lift",
        },
    )
    assert response.status_code == 302
    t = NoticeTemplate.objects.get(key="lift")
    assert (
        client.post(
            reverse("comms:notice_template_edit", args=[t.pk]),
            {
                "name": "电梯检修通知",
                "audience": "residents",
                "title": "电梯检修",
                "body": "明日检修",
                "key": "lift",
            },
        ).status_code
        == 302
    )
    t.refresh_from_db()
    assert t.name == "电梯检修通知"
    alice = login(world.alice)
    assert 'id="new-template"' not in alice.get(reverse("comms:notice_templates")).content.decode()
    assert alice.get(reverse("comms:notice_template_edit", args=[t.pk])).status_code == 404
    assert alice.post(reverse("comms:notice_template_delete", args=[t.pk])).status_code == 404
    assert login(world.charlie).get(reverse("comms:notice_template_edit", args=[t.pk])).status_code == 404
    builtin = NoticeTemplate.objects.filter(community__isnull=True).first()
    assert builtin is not None
    assert client.get(reverse("comms:notice_template_edit", args=[builtin.pk])).status_code == 404
    assert client.post(reverse("comms:notice_template_delete", args=[t.pk])).status_code == 302
    assert not NoticeTemplate.objects.filter(pk=t.pk).exists()


# --- the public pages ----------------------------------------------------------------------------------


def test_the_notice_board_shows_sent_public_notices_to_residents_only(world: World, client: Client) -> None:
    board = sent(world, title="公开的通知")
    sent(world, title="不公开的通知", public=False)
    sent(world, title="给工作人员", audience="staff", channels=[])
    svc.broadcast_create(
        actor=world.commander, community=world.community, title="草稿", body="x", channels=["sms"]
    )
    response = client.get(reverse("comms:notices", args=["nanli"]))
    html = response.content.decode()
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    assert (
        "公开的通知" in html
        and "不公开的通知" not in html
        and "给工作人员" not in html
        and "草稿" not in html
    )
    assert "李秀英" not in html and "1381234" not in html
    page = client.get(reverse("comms:notice", args=["nanli", board.pk]))
    assert page.status_code == 200 and "明日9:00至17:00停水" in page.content.decode()
    assert client.get(reverse("comms:notices", args=["nosuch"])).status_code == 404
    assert client.get(reverse("comms:notice", args=["other", board.pk])).status_code == 404


def test_the_confirmation_link_shows_the_notice_and_one_button(world: World, client: Client) -> None:
    b = sent(world, require_ack=True)
    token = recipient(b, world.resident1).token
    url = reverse("comms:notice_ack", args=[token])
    page = client.get(url)
    html = page.content.decode()
    assert (
        page.status_code == 200 and page["X-Robots-Tag"] == "noindex" and "no-store" in page["Cache-Control"]
    )
    assert "I have read this" in html and "李秀英" not in html and "明日9:00" in html
    done = client.post(url)
    assert done.status_code == 302 and recipient(b, world.resident1).ack_via == "link"
    assert "you have confirmed this notice" in client.get(url).content.decode()
    assert client.post(url).status_code == 302  # again: nothing changes


def test_unknown_links_are_the_ordinary_404_and_guessing_is_paused(world: World, client: Client) -> None:
    b = sent(world, require_ack=True)
    good = recipient(b, world.resident1).token
    assert client.get(reverse("comms:notice_ack", args=["BAD!"])).status_code == 404
    for n in range(views.GUESS_LIMIT - 1):
        assert client.get(reverse("comms:notice_ack", args=[f"zz{n:06d}"])).status_code == 404
    assert client.get(reverse("comms:notice_ack", args=[good])).status_code == 429


def test_a_flood_from_one_address_is_stopped(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "_PUBLIC", LocalWindow(5, 60))
    for _n in range(5):
        assert client.get(reverse("comms:notices", args=["nanli"])).status_code == 200
    response = client.get(reverse("comms:notices", args=["nanli"]))
    assert response.status_code == 429 and response["Retry-After"] == "60"
