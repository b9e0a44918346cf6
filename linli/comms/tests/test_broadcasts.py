"""Broadcasts, the services: SMS length, who a notice reaches (one SMS per phone, the household's phone for
members without one, nobody living elsewhere), sending once, confirmations by link, reply and at the door,
and the door-knock escalation of households that did not confirm by the deadline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from linli.comms import broadcasts as svc
from linli.comms.broadcasts.recipients import preview
from linli.comms.broadcasts.selectors import building_table, open_households
from linli.comms.broadcasts.sms import sms_length
from linli.comms.models import Broadcast, BroadcastRecipient, NoticeTemplate, Notification, OutboxMessage
from linli.conftest import World
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UserFactory
from linli.registry.models import Building, Residency, Resident, SpecialCare, SpecialKind
from linli.tasks.models import Task

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2030, 6, 3, 9, 0, tzinfo=CST)
Out = OutboxMessage.Status


@pytest.fixture(autouse=True)
def _morning() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class People:
    """Building 1 (alice's grid): resident1 and her grandson without a phone (room 101); an old man with no
    phone at all (room 102); a tenant registered here but living elsewhere. Building 2 (bob's grid):
    resident2 and his wife on his phone (room 201)."""

    grandson: Resident
    no_phone: Resident
    away: Resident
    wife: Resident
    leader1: User


@pytest.fixture
def people(world: World) -> People:
    return make_people(world)


def make_people(world: World) -> People:
    Building.objects.filter(pk=world.building1.pk).update(contact_name="周阿姨", contact_phone="13700001111")
    world.building1.refresh_from_db()
    grandson = ResidentFactory(
        household=world.resident1.household, name="李小宝", phone="", birth_date=dt.date(2028, 9, 1)
    )
    no_phone = ResidentFactory(
        household=HouseholdFactory(building=world.building1, room="102"),
        name="孙长寿",
        phone="",
        birth_date=dt.date(1945, 2, 3),
    )
    away = ResidentFactory(
        household=HouseholdFactory(building=world.building1, room="103"),
        name="钱在外",
        residency=Residency.REGISTERED,
    )
    wife = ResidentFactory(household=world.resident2.household, name="赵桂兰", phone=world.resident2.phone)
    leader1 = UserFactory(username="leader1", role=Role.GRID_LEADER, grid=world.grid1)
    return People(grandson=grandson, no_phone=no_phone, away=away, wife=wife, leader1=leader1)


def notice(world: World, **fields: object) -> Broadcast:
    values: dict[str, object] = {
        "actor": world.commander,
        "community": world.community,
        "title": "停水通知",
        "body": "明日9:00至17:00停水，请提前储水。",
        "channels": ["sms"],
    } | fields
    return svc.broadcast_create(**values)  # type: ignore[arg-type]


def sent(world: World, **fields: object) -> Broadcast:
    broadcast = notice(world, **fields)
    svc.broadcast_send(actor=world.commander, broadcast=broadcast)
    broadcast.refresh_from_db()
    return broadcast


def recipient(broadcast: Broadcast, resident: Resident) -> BroadcastRecipient:
    return BroadcastRecipient.objects.get(broadcast=broadcast, resident=resident)


# --- SMS length ---------------------------------------------------------------------------------------


def test_gsm_text_is_160_characters_in_one_sms_and_153_per_part_after() -> None:
    assert svc.sms_segments("") == (0, 0)
    assert svc.sms_segments("a" * 160) == (160, 1)
    assert svc.sms_segments("a" * 161) == (161, 2)
    assert svc.sms_segments("a" * 306) == (306, 2)
    assert svc.sms_segments("a" * 307) == (307, 3)
    # The extension table's characters take two places.
    assert svc.sms_segments("€" * 80) == (160, 1)
    assert svc.sms_segments("[" * 81) == (162, 2)


def test_one_chinese_character_makes_it_ucs2_70_in_one_and_67_per_part() -> None:
    assert svc.sms_segments("停" * 70) == (70, 1)
    assert svc.sms_segments("停" * 71) == (71, 2)
    assert svc.sms_segments("a" * 133 + "停") == (134, 2)
    assert svc.sms_segments("a" * 134 + "停") == (135, 3)
    assert svc.sms_segments("好😀") == (3, 1)  # an emoji is two UCS-2 characters


def test_the_counted_sms_has_the_signature_and_the_confirmation_link(world: World) -> None:
    plain = sms_length(title="停水", body="明天停水", require_ack=False)
    with_link = sms_length(title="停水", body="明天停水", require_ack=True)
    assert plain[0] == len("【邻里】停水：明天停水")
    assert with_link[0] > plain[0] + len("/n/12345678/")


@pytest.mark.parametrize(
    "text", ["1", "１", "收到", "确认", "好", "ok", "OK", "ＯＫ", "Ok!", " 收到。", "好的"]
)
def test_replies_that_confirm(text: str) -> None:
    assert svc.is_ack_reply(text)


@pytest.mark.parametrize("text", ["", "2", "不", "不知道", "ok but why", "收到？为什么停水"])
def test_replies_that_do_not(text: str) -> None:
    assert not svc.is_ack_reply(text)


# --- the draft: what is refused ------------------------------------------------------------------------


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_a_notice_needs_a_title_and_a_text(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        notice(world, title="  ", body="")
    assert set(errors_of(exc)) == {"title", "body"}


def test_residents_are_reached_by_sms_not_by_staff_channels(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        notice(world, channels=["sms", "wecom", "email"])
    assert "for staff" in errors_of(exc)["channels"][0]
    with pytest.raises(ValidationError) as exc:
        notice(world, channels=[], public=False)
    assert "nobody will see" in errors_of(exc)["channels"][0]
    with pytest.raises(ValidationError) as exc:
        notice(world, channels=[], require_ack=True)
    assert "needs SMS" in errors_of(exc)["require_ack"][0]
    with pytest.raises(ValidationError) as exc:
        notice(world, channels=["fax"])
    assert "Unknown channel: fax" in errors_of(exc)["channels"][0]


def test_buildings_of_another_community_are_refused(world: World) -> None:
    elsewhere = BuildingFactory(number="9")
    with pytest.raises(ValidationError) as exc:
        notice(world, scope="buildings", buildings=[world.building1, elsewhere])
    assert "not in 南里社区" in errors_of(exc)["buildings"][0]
    with pytest.raises(ValidationError) as exc:
        notice(world, scope="buildings", buildings=[])
    assert "at least one building" in errors_of(exc)["buildings"][0]


def test_an_sms_longer_than_five_parts_is_refused_with_how_much_to_cut(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        notice(world, body="请提前储水。" * 60)
    message = errors_of(exc)["body"][0]
    assert "at most 5 messages" in message and "Shorten the text by about" in message
    notice(world, body="请提前储水。" * 50)  # 300 characters and the rest: five parts


def test_a_deadline_in_the_past_and_placeholders_left_are_refused(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        notice(world, require_ack=True, ack_deadline=NOW - dt.timedelta(minutes=1))
    assert "in the past" in errors_of(exc)["ack_deadline"][0]
    with pytest.raises(ValidationError) as exc:
        notice(world, body="明日{time}在{place}核酸检测")
    assert "{time}、{place}" in errors_of(exc)["body"][0]


def test_confirmation_is_due_in_two_hours_unless_said_otherwise(world: World) -> None:
    b = notice(world, require_ack=True)
    assert b.ack_deadline == NOW + dt.timedelta(hours=2) and b.status == Broadcast.Status.DRAFT
    assert notice(world).ack_deadline is None
    assert AuditLog.objects.filter(
        target_type="comms.broadcast", target_id=str(b.pk), action="create"
    ).exists()


def test_special_populations_are_residents_and_need_a_kind(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        notice(world, audience="staff", scope="special", special_kinds=["over_80"], channels=["inapp"])
    assert "scope" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        notice(world, scope="special")
    assert "special_kinds" in errors_of(exc)


def test_who_may_send(world: World, people: People) -> None:
    for outsider in (world.observer, world.alice, world.charlie):
        with pytest.raises(PermissionDenied):
            notice(world, actor=outsider)
    # The street's administrator sends for any of its communities; a grid leader to their own grid only.
    assert notice(world, actor=world.street_admin).created_by == world.street_admin
    assert notice(world, actor=people.leader1, scope="buildings", buildings=[world.building1])
    with pytest.raises(ValidationError) as exc:
        notice(world, actor=people.leader1, scope="buildings", buildings=[world.building1, world.building2])
    assert "own grid" in errors_of(exc)["buildings"][0]
    with pytest.raises(ValidationError):
        notice(world, actor=people.leader1)  # the whole community


# --- sending -------------------------------------------------------------------------------------------


def test_everyone_living_here_is_a_recipient_and_each_phone_gets_one_sms(
    world: World, people: People
) -> None:
    b = notice(world, require_ack=True)
    assert svc.broadcast_send(actor=world.commander, broadcast=b) == 5
    b.refresh_from_db()
    assert (b.status, b.sent_at, b.recipient_count) == (Broadcast.Status.SENT, NOW, 5)
    rows = {r.resident_id: r for r in BroadcastRecipient.objects.filter(broadcast=b)}
    assert people.away.pk not in rows  # registered here, living elsewhere
    assert world.other_resident.pk not in rows
    # The grandson is reached on his grandmother's phone, the wife on her husband's; room 102 has no phone.
    assert rows[people.grandson.pk].phone == world.resident1.phone
    assert rows[people.wife.pk].phone == world.resident2.phone
    assert rows[people.no_phone.pk].phone == ""
    assert rows[world.resident1.pk].building_id == world.building1.pk
    assert len({r.token for r in rows.values()}) == 5 and all(len(r.token) == 8 for r in rows.values())
    sms = list(OutboxMessage.objects.filter(broadcast=b).order_by("address"))
    assert [m.address for m in sms] == sorted([world.resident1.phone, world.resident2.phone])
    first = next(m for m in sms if m.address == world.resident1.phone)
    mine = min(
        (r for r in rows.values() if r.phone == world.resident1.phone), key=lambda r: r.resident_id or 0
    )
    assert first.key == f"b{b.pk}:r{mine.pk}:sms" and first.resident_id == mine.resident_id
    assert first.channel == "sms" and first.community_id == world.community.pk and first.urgent
    assert (
        first.payload["sms"].startswith("停水通知：明日9:00") and f"/n/{mine.token}/" in first.payload["sms"]
    )
    assert first.url.endswith(f"/n/{mine.token}/")


def test_sending_twice_sends_nothing_more(world: World, people: People) -> None:
    b = notice(world)
    assert svc.broadcast_send(actor=world.commander, broadcast=b) == 5
    assert svc.broadcast_send(actor=world.commander, broadcast=b) == 5
    assert BroadcastRecipient.objects.filter(broadcast=b).count() == 5
    assert OutboxMessage.objects.filter(broadcast=b).count() == 2


def test_a_notice_that_reaches_nobody_is_not_sent(world: World) -> None:
    b = notice(world, scope="special", special_kinds=[SpecialKind.PREGNANT])
    with pytest.raises(ValidationError) as exc:
        svc.broadcast_send(actor=world.commander, broadcast=b)
    assert "Nobody is in the scope" in errors_of(exc)["scope"][0]
    b.refresh_from_db()
    assert b.status == Broadcast.Status.DRAFT


def test_a_notice_without_sms_is_on_the_board_only(world: World, people: People) -> None:
    b = sent(world, channels=[])
    assert b.recipient_count == 5 and not OutboxMessage.objects.filter(broadcast=b).exists()


def test_buildings_scope_reaches_those_buildings_only(world: World, people: People) -> None:
    b = sent(world, scope="buildings", buildings=[world.building2])
    assert set(BroadcastRecipient.objects.filter(broadcast=b).values_list("resident_id", flat=True)) == {
        world.resident2.pk,
        people.wife.pk,
    }


def test_special_populations_include_the_age_derived_ones(world: World, people: People) -> None:
    SpecialCare.objects.create(resident=people.wife, kind=SpecialKind.CHRONIC)
    over_80 = sent(world, scope="special", special_kinds=[SpecialKind.OVER_80])
    assert list(
        BroadcastRecipient.objects.filter(broadcast=over_80).values_list("resident_id", flat=True)
    ) == [people.no_phone.pk]
    mixed = sent(world, scope="special", special_kinds=[SpecialKind.INFANT, SpecialKind.CHRONIC])
    assert set(BroadcastRecipient.objects.filter(broadcast=mixed).values_list("resident_id", flat=True)) == {
        people.grandson.pk,
        people.wife.pk,
    }
    # The infant has no phone: the SMS goes to the household's phone.
    assert set(OutboxMessage.objects.filter(broadcast=mixed).values_list("address", flat=True)) == {
        world.resident1.phone,
        world.resident2.phone,
    }


def test_the_preview_counts_phones_buildings_and_households_without_phone(
    world: World, people: People
) -> None:
    p = preview(community_id=world.community.pk, audience="residents", scope="community")
    assert (p.people, p.phones, p.buildings, p.households, p.households_without_phone) == (5, 2, 2, 3, 1)


def test_staff_notices_reach_the_communitys_staff_in_the_app(world: World, people: People) -> None:
    volunteer = UserFactory(role=Role.VOLUNTEER)
    b = sent(
        world, audience="staff", channels=["email"], require_ack=True, title="今晚值班", body="请20点到岗"
    )
    users = set(BroadcastRecipient.objects.filter(broadcast=b).values_list("user_id", flat=True))
    assert users == {world.alice.pk, world.bob.pk, world.commander.pk, world.observer.pk, people.leader1.pk}
    assert volunteer.pk not in users and world.charlie.pk not in users
    assert b.channels == ["inapp", "email"] and not b.public
    note = Notification.objects.get(user=world.alice, title="今晚值班")
    assert note.urgent and note.url == f"/n/{recipient_of(b, world.alice).token}/"
    assert svc.broadcast_counts(b) == {
        "recipients": 5,
        "sent": 5,
        "delivered": 5,
        "failed": 0,
        "acknowledged": 0,
        "pending": 0,
    }
    grid = sent(world, audience="staff", channels=[], scope="buildings", buildings=[world.building1])
    assert set(BroadcastRecipient.objects.filter(broadcast=grid).values_list("user_id", flat=True)) == {
        world.alice.pk,
        people.leader1.pk,
    }
    assert not Notification.objects.get(user=world.alice, title="停水通知").urgent


def recipient_of(broadcast: Broadcast, user: User) -> BroadcastRecipient:
    return BroadcastRecipient.objects.get(broadcast=broadcast, user=user)


def test_staff_notices_post_to_the_communitys_group_robots(world: World) -> None:
    from linli.comms.models import ChannelEndpoint

    robot = ChannelEndpoint.objects.create(
        kind="wecom", name="南里工作群", url="https://qyapi.weixin.qq.com/x?key=1", community=world.community
    )
    ChannelEndpoint.objects.create(
        kind="dingtalk",
        name="钉钉群",
        url="https://oapi.dingtalk.com/robot/send?t=1",
        community=world.community,
    )
    b = sent(world, audience="staff", channels=["wecom"])
    post = OutboxMessage.objects.get(broadcast=b)
    assert (post.channel, post.endpoint_id, post.key) == ("wecom", robot.pk, f"b{b.pk}:robots:e{robot.pk}")


def test_counts_follow_the_outbox_and_the_confirmations(world: World, people: People) -> None:
    b = sent(world, require_ack=True)
    assert svc.broadcast_counts(b) == {
        "recipients": 5,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "acknowledged": 0,
        "pending": 2,
    }
    first, second = OutboxMessage.objects.filter(broadcast=b).order_by("id")
    OutboxMessage.objects.filter(pk=first.pk).update(status=Out.DELIVERED)
    OutboxMessage.objects.filter(pk=second.pk).update(status=Out.DEAD)
    svc.broadcast_ack(token=recipient(b, world.resident2).token)
    assert svc.broadcast_counts(b) == {
        "recipients": 5,
        "sent": 1,
        "delivered": 1,
        "failed": 1,
        "acknowledged": 2,
        "pending": 0,
    }


# --- confirmations -------------------------------------------------------------------------------------


def test_the_link_confirms_everyone_on_that_phone_once(world: World, people: People) -> None:
    b = sent(world, require_ack=True)
    token = recipient(b, world.resident1).token
    later = NOW + dt.timedelta(minutes=5)
    r = svc.broadcast_ack(token=token, at=later)
    assert r is not None and r.acked_at == later and r.ack_via == "link"
    assert recipient(b, people.grandson).acked_at == later
    assert recipient(b, world.resident2).acked_at is None
    again = svc.broadcast_ack(token=token, at=later + dt.timedelta(minutes=5))
    assert again is not None and again.acked_at == later
    assert svc.broadcast_ack(token="nosuchtk") is None
    assert AuditLog.objects.filter(target_id=str(b.pk), detail__startswith="2 confirmed").count() == 1


def test_a_draft_cannot_be_confirmed(world: World, people: People) -> None:
    b = notice(world, require_ack=True)
    assert not BroadcastRecipient.objects.filter(broadcast=b).exists()
    assert svc.broadcast_ack_by_reply(phone=world.resident1.phone, text="1") is False


def test_an_sms_reply_confirms_the_latest_notice_that_asked(world: World, people: People) -> None:
    with time_machine.travel(NOW - dt.timedelta(days=4), tick=False):
        old = sent(world, require_ack=True, title="旧通知")
    with time_machine.travel(NOW - dt.timedelta(hours=3), tick=False):
        earlier = sent(world, require_ack=True, title="早些的通知")
    with time_machine.travel(NOW - dt.timedelta(hours=1), tick=False):
        sent(world, title="不需要确认")
        latest = sent(world, require_ack=True, title="最新的通知")
    assert svc.broadcast_ack_by_reply(phone="+86 139-0000-5678", text="ＯＫ") is True
    assert recipient(latest, world.resident2).ack_via == "sms"
    assert recipient(latest, people.wife).acked_at == NOW
    assert recipient(earlier, world.resident2).acked_at is None
    assert svc.broadcast_ack_by_reply(phone=world.resident2.phone, text="收到") is True
    assert recipient(earlier, world.resident2).acked_at == NOW
    # Nothing within three days is left; the four-day-old notice is not confirmed by a stray "1".
    assert svc.broadcast_ack_by_reply(phone=world.resident2.phone, text="1") is False
    assert recipient(old, world.resident2).acked_at is None
    assert svc.broadcast_ack_by_reply(phone=world.resident1.phone, text="为什么停水") is False
    assert svc.broadcast_ack_by_reply(phone="12345", text="1") is False


def test_staff_confirm_a_household_at_the_door_in_their_own_grid(world: World, people: People) -> None:
    b = sent(world, require_ack=True)
    household = people.no_phone.household_id
    assert svc.broadcast_confirm_at_door(actor=world.alice, broadcast=b, household_id=household) == 1
    assert recipient(b, people.no_phone).ack_via == "staff"
    with pytest.raises(PermissionDenied):
        svc.broadcast_confirm_at_door(actor=world.bob, broadcast=b, household_id=world.resident1.household_id)
    with pytest.raises(PermissionDenied):
        svc.broadcast_confirm_at_door(
            actor=world.observer, broadcast=b, household_id=world.resident1.household_id
        )
    assert svc.broadcast_confirm_at_door(actor=world.commander, broadcast=b, household_id=household) == 0


# --- escalation ----------------------------------------------------------------------------------------


def test_nothing_is_escalated_before_the_deadline(world: World, people: People) -> None:
    sent(world, require_ack=True)
    with time_machine.travel(NOW + dt.timedelta(hours=1, minutes=59), tick=False):
        assert svc.broadcast_escalations_due() == 0
    assert not Task.objects.exists()


def test_past_the_deadline_each_building_gets_one_door_knock_task_and_its_contact_an_sms(
    world: World, people: People
) -> None:
    HouseholdFactory(building=world.building1, room="1201")  # empty: nobody to knock for
    b = sent(world, require_ack=True)
    svc.broadcast_ack(token=recipient(b, world.resident2).token)  # building 2 has confirmed
    deadline = NOW + dt.timedelta(hours=2)
    with time_machine.travel(deadline + dt.timedelta(minutes=3), tick=False):
        assert svc.broadcast_escalations_due() == 1
        assert svc.broadcast_escalations_due() == 0  # once per notice
    task = Task.objects.get()
    # Tasks are shared: written in the site's language, whoever's screen made them.
    assert task.title == "上门通知《停水通知》：1号楼，房号 1-101、1-102"
    assert task.assignee_id == world.alice.pk and task.commander_id == world.commander.pk
    assert task.grid_id == world.grid1.pk and task.priority == Task.Priority.HIGH
    assert (task.source, task.source_id) == (Task.Source.BROADCAST, b.pk)
    assert task.due_at == deadline + dt.timedelta(minutes=3, hours=2)
    assert "1-102: 孙*寿 (无电话，需上门)" in task.detail
    assert "1-101: 李*英、李*宝 (138****1234)" in task.detail
    assert "李秀英" not in task.detail
    assert Notification.objects.filter(user=world.alice, urgent=True, url=f"/tasks/{task.pk}/").exists()
    contact = OutboxMessage.objects.get(address="13700001111")
    assert contact.key == f"b{b.pk}:bldg{world.building1.pk}:sms" and contact.broadcast_id is None
    assert "1-101、1-102" in contact.payload["sms"]
    b.refresh_from_db()
    assert b.escalated_at == deadline + dt.timedelta(minutes=3)
    escalated = set(
        BroadcastRecipient.objects.filter(broadcast=b, escalated_at__isnull=False).values_list(
            "resident_id", flat=True
        )
    )
    assert escalated == {world.resident1.pk, people.grandson.pk, people.no_phone.pk}
    table = {row.building.pk: row for row in building_table(b)}
    assert table[world.building1.pk].task == task and table[world.building1.pk].open == 2
    assert table[world.building2.pk].task is None and table[world.building2.pk].open == 0


def test_a_household_confirmed_by_one_member_is_not_knocked(world: World, people: People) -> None:
    b = sent(world, require_ack=True, scope="buildings", buildings=[world.building1])
    svc.broadcast_ack(token=recipient(b, people.grandson).token)
    svc.broadcast_confirm_at_door(actor=world.alice, broadcast=b, household_id=people.no_phone.household_id)
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        assert svc.broadcast_escalations_due() == 1
    assert not Task.objects.exists() and not OutboxMessage.objects.filter(address="13700001111").exists()


def test_notices_without_confirmation_or_to_staff_are_never_escalated(world: World, people: People) -> None:
    sent(world)
    sent(world, audience="staff", channels=[], require_ack=True)
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert svc.broadcast_escalations_due() == 0


def test_the_escalation_claims_the_notice_so_a_second_worker_does_nothing(
    world: World, people: People
) -> None:
    b = sent(world, require_ack=True)
    later = NOW + dt.timedelta(hours=3)
    assert svc.broadcast_escalate(broadcast_id=b.pk, now=later) is True
    assert svc.broadcast_escalate(broadcast_id=b.pk, now=later) is False
    assert Task.objects.count() == 2  # buildings 1 and 2, once


# --- what staff see ------------------------------------------------------------------------------------


def test_open_households_are_scoped_and_masked(world: World, people: People) -> None:
    b = sent(world, require_ack=True)
    mine, total = open_households(world.alice, b)
    assert total == 2 and [(h.room_label, h.names, h.no_phone) for h in mine] == [
        ("1-101", ["李*英", "李*宝"], False),
        ("1-102", ["孙*寿"], True),
    ]
    assert mine[0].phones == ["138****1234"]
    bobs, _total = open_households(world.bob, b)
    assert [h.room_label for h in bobs] == ["1-201"]
    assert open_households(world.charlie, b) == ([], 0)
    everyone, total = open_households(world.commander, b, limit=1)
    assert total == 3 and len(everyone) == 1


# --- templates -----------------------------------------------------------------------------------------


def test_builtin_templates_are_made_once(db: None) -> None:
    assert svc.ensure_builtin_templates() == 6
    assert svc.ensure_builtin_templates() == 0
    names = set(NoticeTemplate.objects.filter(community__isnull=True).values_list("name", flat=True))
    assert {"核酸检测通知", "停水通知", "停电通知", "封控管理通知", "疫苗接种通知", "防汛预警"} == names


def test_a_template_fills_the_community_and_leaves_time_and_place(world: World) -> None:
    world.community.phone = "010-67712345"
    text = svc.template_fill("{community}于{date}{time}在{place}，电话{phone}", world.community)
    assert text == "南里社区于6月3日{time}在{place}，电话010-67712345"


def test_only_administrators_keep_the_communitys_templates(world: World) -> None:
    from linli.comms.broadcasts import notice_template_delete, notice_template_save

    t = notice_template_save(
        actor=world.commander, community=world.community, name="电梯检修", title="电梯检修通知", body="…"
    )
    assert t.community == world.community
    with pytest.raises(PermissionDenied):
        notice_template_save(actor=world.alice, community=world.community, name="x", title="x", body="x")
    with pytest.raises(ValidationError):
        notice_template_save(actor=world.commander, community=world.community, name="", title="", body="")
    svc.ensure_builtin_templates()
    builtin = NoticeTemplate.objects.filter(community__isnull=True).first()
    assert builtin is not None
    with pytest.raises(PermissionDenied):
        notice_template_delete(actor=world.commander, template=builtin)
    notice_template_delete(actor=world.commander, template=t)
    assert not NoticeTemplate.objects.filter(pk=t.pk).exists()


# --- the demo ------------------------------------------------------------------------------------------


def test_the_demo_notices_are_seeded_once(world: World, people: People) -> None:
    from linli.comms.demo_broadcasts import seed_broadcasts

    seed_broadcasts(world.community)
    seed_broadcasts(world.community)
    titles = set(Broadcast.objects.filter(community=world.community).values_list("title", flat=True))
    assert titles == {"核酸检测通知", "今晚应急值班安排", "停水通知"}
    water = Broadcast.objects.get(title="停水通知")
    assert water.escalated_at is not None and water.sent_at is not None and water.sent_at < NOW
    assert Broadcast.objects.filter(status=Broadcast.Status.SENT).count() == 3


def test_at_night_the_building_contact_is_told_at_seven(world: World, people: People) -> None:
    evening = NOW.replace(hour=21, minute=30)
    with time_machine.travel(evening, tick=False):
        b = sent(world, require_ack=True)
    with time_machine.travel(evening + dt.timedelta(hours=2, minutes=5), tick=False):
        assert svc.broadcast_escalations_due() == 1
    contact = OutboxMessage.objects.get(address="13700001111")
    assert timezone.localtime(contact.next_attempt_at) == (evening + dt.timedelta(days=1)).replace(
        hour=7, minute=30 - 30
    )
    assert Task.objects.filter(
        source=Task.Source.BROADCAST, source_id=b.pk
    ).exists()  # the worker's task: at once


def test_the_door_knock_task_is_done_when_the_last_household_of_the_building_is_confirmed(
    world: World, people: People
) -> None:
    b = sent(world, require_ack=True, scope="buildings", buildings=[world.building1])
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        assert svc.broadcast_escalations_due() == 1
    task = Task.objects.get(source=Task.Source.BROADCAST)
    svc.broadcast_confirm_at_door(actor=world.alice, broadcast=b, household_id=world.resident1.household_id)
    task.refresh_from_db()
    assert task.is_open  # one household still to go
    svc.broadcast_confirm_at_door(actor=world.alice, broadcast=b, household_id=people.no_phone.household_id)
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.done_by == world.alice


def test_a_late_confirmation_by_link_closes_the_door_knock_task_too(world: World, people: People) -> None:
    b = sent(world, require_ack=True, scope="buildings", buildings=[world.building1])
    svc.broadcast_confirm_at_door(actor=world.alice, broadcast=b, household_id=people.no_phone.household_id)
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        assert svc.broadcast_escalations_due() == 1
        svc.broadcast_ack(token=recipient(b, world.resident1).token)
    task = Task.objects.get(source=Task.Source.BROADCAST)
    assert task.status == Task.Status.DONE and task.done_by is None
