"""Each person's channels: urgent messages at once, others after the quiet hours or in a digest; and the
channels page, the notification settings page and the hub from three seats."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import Client
from django.utils import timezone

from linli.comms import preferences
from linli.comms.models import Channel, ChannelEndpoint, ChannelPreference, Notification, OutboxMessage
from linli.comms.outbox import Outgoing, outbox_enqueue
from linli.comms.services import Message, notify_many
from linli.conftest import World

TZ = dt.timezone(dt.timedelta(hours=8))
AFTERNOON = dt.datetime(2030, 3, 5, 15, 0, tzinfo=TZ)
NIGHT = dt.datetime(2030, 3, 5, 23, 30, tzinfo=TZ)


def _with_phone(world: World) -> None:
    world.alice.phone = "13811112222"
    world.alice.email = "alice@example.org"
    world.alice.save()


def test_an_urgent_message_goes_by_sms_at_once_even_at_night(world: World) -> None:
    _with_phone(world)
    with time_machine.travel(NIGHT, tick=False):
        notify_many([Message(world.alice.pk, "发热居民2小时内上门核查", urgent=True)])
    sms = OutboxMessage.objects.get(channel=Channel.SMS)
    assert sms.address == "13811112222" and sms.urgent
    assert sms.next_attempt_at == NIGHT
    assert not OutboxMessage.objects.filter(channel=Channel.EMAIL).exists()  # email is off by default


def test_non_urgent_messages_wait_for_the_digest(world: World) -> None:
    _with_phone(world)
    with time_machine.travel(AFTERNOON, tick=False):
        notify_many([Message(world.alice.pk, f"新任务 {i}") for i in range(5)])
        assert not OutboxMessage.objects.exists()
        assert preferences.digests_due() == 1
    digest = OutboxMessage.objects.get()
    assert "5" in digest.title and "新任务 4" in digest.body
    with time_machine.travel(AFTERNOON + dt.timedelta(minutes=30), tick=False):
        notify_many([Message(world.alice.pk, "又一个任务")])
        assert preferences.digests_due() == 0  # the next digest is due an hour after the last
    with time_machine.travel(AFTERNOON + dt.timedelta(minutes=61), tick=False):
        assert preferences.digests_due() == 1
    latest = OutboxMessage.objects.order_by("-id").first()
    assert latest is not None and "又一个任务" in latest.body and "新任务" not in latest.body


def test_no_digest_during_quiet_hours_and_read_messages_are_left_out(world: World) -> None:
    _with_phone(world)
    with time_machine.travel(NIGHT, tick=False):
        notify_many([Message(world.alice.pk, "夜里的消息")])
        assert preferences.digests_due() == 0
    Notification.objects.filter(title="夜里的消息").update(read_at=timezone.now())
    with time_machine.travel(NIGHT + dt.timedelta(hours=8), tick=False):
        assert preferences.digests_due() == 0


def test_without_a_digest_each_message_waits_for_the_end_of_the_quiet_hours(world: World) -> None:
    _with_phone(world)
    ChannelPreference.objects.create(user=world.alice, digest=False, email=True)
    with time_machine.travel(NIGHT, tick=False):
        notify_many([Message(world.alice.pk, "明早例会")])
    queued = {m.channel: m for m in OutboxMessage.objects.all()}
    assert set(queued) == {Channel.SMS, Channel.EMAIL}
    assert timezone.localtime(queued[Channel.SMS].next_attempt_at) == dt.datetime(2030, 3, 6, 7, 0, tzinfo=TZ)


def test_nobody_without_a_phone_gets_an_sms(world: World) -> None:
    notify_many([Message(world.bob.pk, "紧急", urgent=True)])
    assert not OutboxMessage.objects.exists()
    assert Notification.objects.filter(user=world.bob).count() == 1


def test_quiet_hours_may_wrap_past_midnight_or_sit_within_a_day() -> None:
    pref = ChannelPreference(quiet_start=dt.time(22), quiet_end=dt.time(7))
    assert pref.is_quiet(dt.time(23)) and pref.is_quiet(dt.time(6, 59)) and not pref.is_quiet(dt.time(7))
    siesta = ChannelPreference(quiet_start=dt.time(12), quiet_end=dt.time(14))
    assert siesta.is_quiet(dt.time(13)) and not siesta.is_quiet(dt.time(15))
    assert not ChannelPreference(quiet_start=dt.time(8), quiet_end=dt.time(8)).is_quiet(dt.time(8))


def test_people_set_their_own_channels(world: World) -> None:
    browser = Client()
    browser.force_login(world.alice)
    page = browser.get("/comms/preferences/")
    assert page.status_code == 200
    answer = browser.post(
        "/comms/preferences/",
        {"sms": "on", "quiet_start": "23:00", "quiet_end": "06:30", "digest_minutes": "120"},
    )
    assert answer.status_code == 302
    pref = ChannelPreference.objects.get(user=world.alice)
    assert pref.sms and not pref.email and not pref.digest and pref.quiet_end == dt.time(6, 30)


def _robot_form(**extra: str) -> dict[str, str]:
    return {
        "kind": Channel.WECOM,
        "name": "南里社区工作群",
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123",
        "secret": "",
        "team": "",
        **extra,
    }


def test_the_commander_adds_a_group_robot_and_tests_it(
    world: World, django_capture_on_commit_callbacks
) -> None:
    browser = Client()
    browser.force_login(world.commander)
    assert browser.get("/comms/channels/").status_code == 200
    bad = browser.post(
        "/comms/channels/", _robot_form(url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    )
    assert bad.status_code == 200 and "key=" in bad.content.decode()
    assert browser.post("/comms/channels/", _robot_form()).status_code == 302
    robot = ChannelEndpoint.objects.get()
    assert robot.community == world.community and robot.created_by == world.commander
    with django_capture_on_commit_callbacks():
        browser.post(f"/comms/channels/robots/{robot.pk}/", {"action": "test"})
    assert OutboxMessage.objects.filter(endpoint=robot).count() == 1
    browser.post(f"/comms/channels/robots/{robot.pk}/", {"action": "off"})
    robot.refresh_from_db()
    assert not robot.is_active


def test_grid_staff_see_the_channels_but_change_nothing_and_others_cannot_reach_them(world: World) -> None:
    robot = ChannelEndpoint.objects.create(
        kind=Channel.WECOM, name="群", url="https://x/?key=1", community=world.community
    )
    worker = Client()
    worker.force_login(world.alice)
    page = worker.get("/comms/channels/")
    assert page.status_code == 200 and "群" in page.content.decode()
    assert worker.post("/comms/channels/", _robot_form()).status_code == 403
    assert worker.post(f"/comms/channels/robots/{robot.pk}/", {"action": "off"}).status_code == 403
    outsider = Client()
    outsider.force_login(world.charlie)
    assert "南里" not in outsider.get("/comms/channels/").content.decode()
    assert outsider.post(f"/comms/channels/robots/{robot.pk}/", {"action": "off"}).status_code == 404
    robot.refresh_from_db()
    assert robot.is_active


def test_failed_messages_are_listed_and_sent_again(world: World, django_assert_max_num_queries) -> None:
    outbox_enqueue(
        [
            Outgoing(
                key=f"k{i}",
                channel=Channel.SMS,
                address="13800000000",
                title="通知",
                community_id=world.community.pk,
            )
            for i in range(3)
        ],
        kick=False,
    )
    OutboxMessage.objects.update(status=OutboxMessage.Status.DEAD, last_error="空号", attempts=6)
    browser = Client()
    browser.force_login(world.commander)
    with django_assert_max_num_queries(14):
        page = browser.get("/comms/channels/").content.decode()
    assert "空号" in page
    first = OutboxMessage.objects.order_by("pk").first()
    assert first is not None
    browser.post("/comms/channels/retry/", {"ids": [str(first.pk)], "community_code": "nanli"})
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.QUEUED).count() == 1
    outsider = Client()
    outsider.force_login(world.charlie)
    outsider.post("/comms/channels/retry/", {"all": "1", "community_code": "nanli"})
    assert (
        OutboxMessage.objects.filter(status=OutboxMessage.Status.DEAD).count() == 2
    )  # charlie retried nothing here


def test_the_hub_links_every_part(world: World) -> None:
    browser = Client()
    browser.force_login(world.commander)
    page = browser.get("/comms/").content.decode()
    assert "/comms/channels/" in page and "/comms/preferences/" in page


def test_two_runs_at_once_send_one_digest(world: World, monkeypatch) -> None:
    _with_phone(world)
    with time_machine.travel(AFTERNOON, tick=False):
        notify_many([Message(world.alice.pk, "新任务")])
    stale = preferences.preferences_for([world.alice.pk])  # what a second run read before the first wrote
    with time_machine.travel(AFTERNOON + dt.timedelta(seconds=30), tick=False):
        assert preferences.digests_due() == 1
    monkeypatch.setattr(preferences, "preferences_for", lambda ids: stale)
    with time_machine.travel(AFTERNOON + dt.timedelta(seconds=61), tick=False):
        assert preferences.digests_due() == 0
    assert OutboxMessage.objects.count() == 1
