"""The outbox and its channels, against local fake servers: SMS gateway, WeCom and DingTalk robots, a
department's webhook receiver, an SMTP server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse

import pytest
import time_machine
from django.utils import timezone

from linli.comms import outbox
from linli.comms.channels.robots import dingtalk_signed_url
from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.comms.outbox import Outgoing, outbox_enqueue
from linli.comms.signing import HEADER, signature, verify
from linli.comms.tests.fakes import fake_http, fake_smtp, sms_gateway_answer
from linli.conftest import World

Status = OutboxMessage.Status
SECRET = "gateway-secret-0123456789"


def _sms(key: str, phone: str, text: str = "明天8点核酸检测", **extra: object) -> Outgoing:
    return Outgoing(key=key, channel=Channel.SMS, address=phone, title=text, **extra)  # type: ignore[arg-type]


def _status(key: str) -> OutboxMessage:
    return OutboxMessage.objects.get(key=key)


def _webhook(
    url: str, community, *, name: str = "CDC", secret: str = "s" * 16, events=None
) -> ChannelEndpoint:  # type: ignore[no-untyped-def]
    """A department's webhook receiver for the community."""
    return ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK, name=name, url=url, secret=secret, events=events or [], community=community
    )


def test_sms_go_to_the_gateway_in_one_signed_batch_and_a_refused_number_is_not_retried(db, settings) -> None:
    with fake_http() as gateway:
        gateway.answer = sms_gateway_answer(refuse={"13900000000"})
        settings.SMS_GATEWAY_URL = gateway.url + "/send"
        settings.SMS_GATEWAY_SECRET = SECRET
        settings.SMS_GATEWAY_TOKEN = "tok"
        outbox_enqueue([_sms("a", "13800000001"), _sms("b", "13800000002"), _sms("c", "13900000000")])
        assert outbox.deliver() == 3
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert verify(SECRET, request.body, request.headers[HEADER])
    assert request.headers["Authorization"] == "Bearer tok"
    sent = request.json()["messages"]
    assert [(m["id"], m["to"]) for m in sent] == [
        ("a", "13800000001"),
        ("b", "13800000002"),
        ("c", "13900000000"),
    ]
    assert _status("a").status == Status.SENT and _status("a").provider_id == "p-a"
    refused = _status("c")
    assert refused.status == Status.DEAD and "invalid number" in refused.last_error and refused.attempts == 1


def test_queueing_the_same_message_twice_sends_it_once(db) -> None:
    assert outbox_enqueue([_sms("same", "13800000001")]) == 1
    assert outbox_enqueue([_sms("same", "13800000001"), _sms("same", "13800000001")]) == 0
    assert OutboxMessage.objects.count() == 1


def test_a_gateway_that_is_down_is_retried_later_with_growing_waits_then_given_up(db, settings) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 3
    outbox.MAX_ATTEMPTS = 3
    try:
        with fake_http() as gateway:
            gateway.answer = lambda r: (503, {"error": "maintenance"})
            settings.SMS_GATEWAY_URL = gateway.url
            start = timezone.now()
            with time_machine.travel(start, tick=False):
                outbox_enqueue([_sms("k", "13800000001")])
                outbox.deliver()
            first = _status("k")
            assert first.status == Status.QUEUED and first.attempts == 1 and "503" in first.last_error
            wait1 = first.next_attempt_at - start
            assert dt.timedelta(seconds=20) < wait1 < dt.timedelta(seconds=40)
            with time_machine.travel(start + dt.timedelta(seconds=5), tick=False):
                assert outbox.deliver() == 0  # not due yet
            with time_machine.travel(first.next_attempt_at + dt.timedelta(seconds=1), tick=False):
                outbox.deliver()
            second = _status("k")
            assert second.attempts == 2
            assert second.next_attempt_at - (first.next_attempt_at + dt.timedelta(seconds=1)) > wait1 * 1.3
            with time_machine.travel(second.next_attempt_at + dt.timedelta(seconds=1), tick=False):
                outbox.deliver()
            assert _status("k").status == Status.DEAD and _status("k").attempts == 3
            assert len(gateway.requests) == 3
    finally:
        outbox.MAX_ATTEMPTS = 6


def test_a_failing_channel_does_not_hold_up_the_others(db, settings, world: World) -> None:
    with fake_http() as gateway, fake_http() as robot:
        gateway.answer = sms_gateway_answer()
        robot.answer = lambda r: (500, "boom")
        settings.SMS_GATEWAY_URL = gateway.url
        wecom = ChannelEndpoint.objects.create(
            kind=Channel.WECOM,
            name="工作群",
            url=f"{robot.url}/cgi-bin/webhook/send?key=k",
            community=world.community,
        )
        outbox_enqueue(
            [
                Outgoing(key="r", channel=Channel.WECOM, endpoint_id=wecom.pk, title="停水通知"),
                _sms("s", "13800000001"),
                Outgoing(key="x", channel=Channel.WEBHOOK, endpoint_id=None, title="case.created"),
            ]
        )
        outbox.deliver()
    assert _status("s").status == Status.SENT
    assert _status("r").status == Status.QUEUED and "500" in _status("r").last_error
    assert _status("x").status == Status.DEAD  # a webhook whose subscription is gone
    wecom.refresh_from_db()
    assert wecom.last_failure_at is not None and "500" in wecom.last_error


def test_an_unreachable_server_is_retried(db, settings) -> None:
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/send"  # discard port: nothing listens
    outbox_enqueue([_sms("k", "13800000001")])
    outbox.deliver()
    assert _status("k").status == Status.QUEUED and _status("k").attempts == 1


def test_no_gateway_configured_fails_at_once_with_a_reason(db, settings) -> None:
    settings.SMS_GATEWAY_URL = ""
    outbox_enqueue([_sms("k", "13800000001")])
    outbox.deliver()
    assert _status("k").status == Status.DEAD and "SMS_GATEWAY_URL" in _status("k").last_error


def test_messages_of_a_worker_killed_mid_batch_are_taken_again_when_its_lease_runs_out(db, settings) -> None:
    with fake_http() as gateway:
        gateway.answer = sms_gateway_answer()
        settings.SMS_GATEWAY_URL = gateway.url
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            outbox_enqueue([_sms("a", "13800000001"), _sms("b", "13800000002")])
            taken = outbox.claim()  # a worker takes them and dies before recording anything
            assert {m.key for m in taken} == {"a", "b"}
            assert outbox.deliver() == 0  # another worker leaves them alone while the lease holds
        with time_machine.travel(start + dt.timedelta(seconds=outbox.LEASE_SECONDS + 1), tick=False):
            assert outbox.deliver() == 2
            # The dead worker wakes up late and reports: its lease is gone, so nothing it says counts.
            from linli.comms.channels import failure

            outbox.record(taken, {m.pk: failure("late") for m in taken})
    assert {m.status for m in OutboxMessage.objects.all()} == {Status.SENT}
    assert [m["id"] for m in gateway.requests[0].json()["messages"]] == ["a", "b"]


def test_wecom_robots_get_their_markdown_format(db, world: World) -> None:
    with fake_http() as robot:
        endpoint = ChannelEndpoint.objects.create(
            kind=Channel.WECOM,
            name="南里工作群",
            url=f"{robot.url}/cgi-bin/webhook/send?key=abc",
            community=world.community,
        )
        outbox_enqueue(
            [
                Outgoing(
                    key="w",
                    channel=Channel.WECOM,
                    endpoint_id=endpoint.pk,
                    title="停电通知",
                    body="3号楼今晚停电",
                    url="http://x/y",
                    urgent=True,
                )
            ]
        )
        outbox.deliver()
    request = robot.requests[0]
    assert request.query == {"key": ["abc"]}
    payload = request.json()
    assert payload["msgtype"] == "markdown"
    assert "停电通知" in payload["markdown"]["content"] and "3号楼今晚停电" in payload["markdown"]["content"]
    assert "(http://x/y)" in payload["markdown"]["content"]
    assert _status("w").status == Status.SENT


def test_wecom_rate_limit_is_retried_and_a_bad_key_is_not(db, world: World) -> None:
    with fake_http() as robot:
        robot.answer = lambda r: (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
        endpoint = ChannelEndpoint.objects.create(
            kind=Channel.WECOM, name="群", url=f"{robot.url}/send?key=abc", community=world.community
        )
        outbox_enqueue([Outgoing(key="w", channel=Channel.WECOM, endpoint_id=endpoint.pk, title="t")])
        outbox.deliver()
        assert _status("w").status == Status.QUEUED
        robot.answer = lambda r: (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        outbox_enqueue([Outgoing(key="w2", channel=Channel.WECOM, endpoint_id=endpoint.pk, title="t")])
        outbox.deliver()
    assert _status("w2").status == Status.DEAD and "93000" in _status("w2").last_error


def test_dingtalk_requests_are_signed_as_dingtalk_checks_them(db, world: World) -> None:
    secret = "SECabc123"
    with fake_http() as robot:
        endpoint = ChannelEndpoint.objects.create(
            kind=Channel.DINGTALK,
            name="钉钉群",
            url=f"{robot.url}/robot/send?access_token=tok",
            secret=secret,
            community=world.community,
        )
        outbox_enqueue(
            [Outgoing(key="d", channel=Channel.DINGTALK, endpoint_id=endpoint.pk, title="火情", urgent=True)]
        )
        outbox.deliver()
    request = robot.requests[0]
    timestamp = request.query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    )
    assert request.query["sign"][0] == expected.decode()
    assert request.query["access_token"] == ["tok"]
    payload = request.json()
    assert payload["msgtype"] == "markdown" and payload["markdown"]["title"] == "火情"
    assert payload["at"] == {"isAtAll": True}
    url = dingtalk_signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=t", secret, now_ms=1700000000000
    )
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["timestamp"] == ["1700000000000"]


def test_webhooks_are_signed_and_carry_the_event_and_a_delivery_id(db, world: World) -> None:
    with fake_http() as receiver:
        receiver.answer = lambda r: (204, None)
        endpoint = _webhook(
            f"{receiver.url}/hooks",
            world.community,
            secret="department-secret-123",
            events=["incident.reported"],
        )
        queued = outbox.webhook_event(
            event="incident.reported", key="incident:7", data={"id": 7}, community_id=world.community.pk
        )
        assert queued == 1
        assert (
            outbox.webhook_event(event="case.created", key="case:1", data={}, community_id=world.community.pk)
            == 0
        )
        outbox.deliver()
    request = receiver.requests[0]
    assert request.headers["X-Linli-Event"] == "incident.reported"
    assert request.headers["X-Linli-Delivery"] == f"wh:incident:7:incident.reported:e{endpoint.pk}"
    assert verify("department-secret-123", request.body, request.headers[HEADER])
    assert not verify("another-secret-456789", request.body, request.headers[HEADER])
    assert request.json()["data"] == {"id": 7}


def test_a_webhook_in_another_community_gets_nothing(db, world: World) -> None:
    other = world.other_resident.community
    _webhook("http://127.0.0.1:9/", other, name="x", events=["incident.reported"])
    assert (
        outbox.webhook_event(event="incident.reported", key="i:1", data={}, community_id=world.community.pk)
        == 0
    )


def test_email_goes_through_smtp(db, settings) -> None:
    with fake_smtp() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        outbox_enqueue(
            [
                Outgoing(
                    key="m",
                    channel=Channel.EMAIL,
                    address="duty@example.org",
                    title="日报已生成",
                    body="见附件",
                )
            ]
        )
        outbox.deliver()
    assert _status("m").status == Status.SENT
    assert smtp.mails[0]["rcpt"] == ["duty@example.org"]
    assert "=?utf-8?" in smtp.mails[0]["data"].decode() or "日报" in smtp.mails[0]["data"].decode()


def test_a_mail_server_that_is_away_is_retried(db, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    outbox_enqueue([Outgoing(key="m", channel=Channel.EMAIL, address="a@example.org", title="t")])
    outbox.deliver()
    assert _status("m").status == Status.QUEUED and "mail server" in _status("m").last_error


def test_signatures_expire_and_must_match(db) -> None:
    body = b'{"a": 1}'
    header = signature("s3cret", body, timestamp=1_700_000_000)
    assert verify("s3cret", body, header, now=1_700_000_100)
    assert not verify("s3cret", body, header, now=1_700_001_000)  # replayed 16 minutes later
    assert not verify("s3cret", body + b" ", header, now=1_700_000_100)
    assert not verify("s3cret", body, None) and not verify("", body, header)


@pytest.mark.parametrize("status", ["delivered", "failed"])
def test_gateway_receipts_need_a_valid_signature(db, settings, client, status: str) -> None:
    settings.SMS_GATEWAY_SECRET = SECRET
    outbox_enqueue([_sms("k", "13800000001")], kick=False)
    OutboxMessage.objects.filter(key="k").update(status=Status.SENT)
    body = json.dumps({"receipts": [{"id": "k", "status": status, "error": "空号"}]}).encode()
    refused = client.post("/api/v1/comms/sms/receipts", body, content_type="application/json")
    forged = client.post(
        "/api/v1/comms/sms/receipts",
        body,
        content_type="application/json",
        headers={HEADER: signature("wrong", body)},
    )
    assert refused.status_code == 401 and forged.status_code == 401
    assert _status("k").status == Status.SENT
    answer = client.post(
        "/api/v1/comms/sms/receipts",
        body,
        content_type="application/json",
        headers={HEADER: signature(SECRET, body)},
    )
    assert answer.status_code == 200 and answer.json() == {"updated": 1}
    assert _status("k").status == (Status.DELIVERED if status == "delivered" else Status.DEAD)


def test_a_worker_restarted_on_the_same_machine_takes_back_a_dead_ones_messages_and_sends_none_twice(
    db, settings, monkeypatch
) -> None:
    import socket

    sent_before: set[str] = {"a"}  # the dead worker's call reached the gateway for "a" only

    def gateway(r):  # type: ignore[no-untyped-def]
        if r.path == "/lookup":
            return 200, {
                "found": [{"id": i, "provider_id": "p-old"} for i in r.json()["ids"] if i in sent_before]
            }
        return sms_gateway_answer()(r)

    with fake_http() as fake:
        fake.answer = gateway
        settings.SMS_GATEWAY_URL = fake.url + "/send"
        settings.SMS_GATEWAY_LOOKUP_URL = fake.url + "/lookup"
        outbox_enqueue([_sms("a", "13800000001"), _sms("b", "13800000002")])
        outbox.worker_identity.cache_clear()
        monkeypatch.setattr(outbox, "worker_identity", lambda: f"{socket.gethostname()}:999999999:1")
        assert len(outbox.claim()) == 2  # a worker with a pid that no longer runs holds them
        monkeypatch.undo()
        assert outbox.deliver() == 2  # at once: no waiting for the lease
    assert [r.path for r in fake.requests] == ["/lookup", "/send"]
    assert [m["id"] for m in fake.requests[1].json()["messages"]] == ["b"]
    assert _status("a").status == Status.SENT and _status("a").provider_id == "p-old"
    assert _status("b").status == Status.SENT


def test_a_robot_that_limits_makes_the_rest_wait_without_counting_a_try(db, world: World) -> None:
    with fake_http() as robot:
        robot.answer = lambda r: (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
        endpoint = ChannelEndpoint.objects.create(
            kind=Channel.WECOM, name="群", url=f"{robot.url}/send?key=abc", community=world.community
        )
        outbox_enqueue(
            [
                Outgoing(key=f"w{i}", channel=Channel.WECOM, endpoint_id=endpoint.pk, title="t")
                for i in range(5)
            ]
        )
        outbox.deliver()
    assert len(robot.requests) == 1
    assert _status("w0").attempts == 1
    waiting = OutboxMessage.objects.exclude(key="w0")
    assert {(m.status, m.attempts) for m in waiting} == {(Status.QUEUED, 0)}


def test_a_receiver_that_does_not_answer_costs_one_timeout_and_the_sms_go_first(
    db, settings, world: World
) -> None:
    with fake_http() as gateway:
        gateway.answer = sms_gateway_answer()
        settings.SMS_GATEWAY_URL = gateway.url
        endpoint = _webhook("http://127.0.0.1:9/hook", world.community)
        outbox_enqueue(
            [
                Outgoing(key=f"h{i}", channel=Channel.WEBHOOK, endpoint_id=endpoint.pk, title="case.created")
                for i in range(4)
            ]
            + [_sms("s", "13800000001", urgent=True)]
        )
        outbox.deliver(rounds=1)
    assert _status("s").status == Status.SENT
    assert _status("h0").attempts == 1
    assert {m.attempts for m in OutboxMessage.objects.filter(key__in=["h1", "h2", "h3"])} == {0}


def test_a_mail_the_server_cannot_take_fails_alone(db, settings) -> None:
    with fake_smtp() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        outbox_enqueue(
            [
                Outgoing(key="a", channel=Channel.EMAIL, address="a@example.org", title="停水\n通知"),
                Outgoing(key="b", channel=Channel.EMAIL, address="bad\naddress@example.org", title="通知"),
                Outgoing(key="c", channel=Channel.EMAIL, address="c@example.org", title="通知"),
            ]
        )
        outbox.deliver()
    assert _status("a").status == Status.SENT and _status("a").title == "停水 通知"
    assert _status("b").status == Status.DEAD
    assert _status("c").status == Status.SENT
    assert len(smtp.mails) == 2


@pytest.mark.django_db(transaction=True)
def test_a_slow_worker_keeps_its_messages(settings, monkeypatch, world: World) -> None:
    """The lease is renewed while a slow receiver is being called: no other worker takes the messages."""
    import threading
    import time

    monkeypatch.setattr(outbox, "LEASE_SECONDS", 0.6)
    taken_by_other: list[int] = []
    with fake_http() as receiver:

        def slow(r):  # type: ignore[no-untyped-def]
            time.sleep(0.5)
            return 200, {}

        receiver.answer = slow
        endpoint = _webhook(f"{receiver.url}/h", world.community)
        outbox_enqueue(
            [
                Outgoing(key=f"h{i}", channel=Channel.WEBHOOK, endpoint_id=endpoint.pk, title="e")
                for i in range(3)
            ],
            kick=False,  # this test's worker delivers
        )
        if connection_vendor() == "sqlite":
            pytest.skip("the other worker needs its own connection: PostgreSQL")

        def other() -> None:
            time.sleep(0.9)
            from django.db import connection

            try:
                taken_by_other.extend(m.pk for m in outbox.claim())
            finally:
                connection.close()

        thread = threading.Thread(target=other)
        thread.start()
        outbox.deliver()
        thread.join()
    assert taken_by_other == []
    assert len(receiver.requests) == 3
    assert {m.status for m in OutboxMessage.objects.all()} == {Status.SENT}


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


def test_a_webhook_to_the_linli_server_itself_is_not_sent(db, settings, world: World) -> None:
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    endpoint = _webhook("http://127.0.0.1:5432/", world.community, name="x")
    outbox_enqueue(
        [Outgoing(key="h", channel=Channel.WEBHOOK, endpoint_id=endpoint.pk, title="case.created")]
    )
    outbox.deliver()
    assert _status("h").status == Status.DEAD and "not allowed" in _status("h").last_error
    from linli.comms.channels.http import forbidden_target

    assert forbidden_target("http://169.254.169.254/latest/meta-data") != ""
    assert forbidden_target("http://10.20.1.15:8080/linli") == ""


def test_a_long_notification_goes_by_sms_cut_short_with_its_link() -> None:
    from linli.comms.channels.sms import TEXT_MAX, text_of

    m = OutboxMessage(title="任务逾期", body="详情" * 1000, url="https://linli.example/tasks/1/")
    text = text_of(m)
    assert text.startswith("任务逾期 详情") and text.endswith("… https://linli.example/tasks/1/")
    assert len(text) <= TEXT_MAX + 1 + len(m.url)
