"""Demo notices for the demo community, so that the pages look like a working week:

- a water-cut notice (停水通知) to grid 1's and grid 2's buildings this morning, asking for confirmation: most
  households confirmed by the link or by replying 1, the deadline passed an hour ago and the rest became
  door-knock tasks for the grid workers (a few already knocked and recorded);
- yesterday's mass-testing notice (核酸检测通知) to the whole community, on the public notice board;
- a notice to staff about tonight's duty roster, confirmed by most of them.

SMS were "delivered" (the demo has no gateway); a handful failed on numbers no longer in use."""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from linli.comms.broadcasts import (
    broadcast_confirm_at_door,
    broadcast_create,
    broadcast_escalate,
    broadcast_send,
    ensure_builtin_templates,
)
from linli.comms.broadcasts.selectors import template_get
from linli.comms.broadcasts.templates import template_fill
from linli.comms.models import Broadcast, BroadcastRecipient, OutboxMessage
from linli.comms.models.broadcasts import Audience
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Building, Community

Status = OutboxMessage.Status


def seed_broadcasts(community: Community) -> None:
    """Seed the community's demo notices once (nothing when it has notices already, or no commander)."""
    ensure_builtin_templates()
    if Broadcast.objects.filter(community=community).exists():
        return
    commander = (
        User.objects.filter(community=community, role=Role.COMMUNITY_ADMIN, grid__isnull=True, is_active=True)
        .order_by("id")
        .first()
    )
    if commander is None:
        return
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        rng = random.Random(8)
        now = timezone.now()
        _testing_round(community, commander, now, rng)
        _staff_roster(community, commander, now, rng)
        _water_cut(community, commander, now, rng)


def _send(broadcast: Broadcast, sent_at: dt.datetime, deadline: dt.datetime | None) -> None:
    """Send now, then move the notice back to when it went out."""
    broadcast_send(actor=broadcast.created_by, broadcast=broadcast)
    Broadcast.objects.filter(pk=broadcast.pk).update(
        created_at=sent_at, sent_at=sent_at, ack_deadline=deadline
    )
    broadcast.refresh_from_db()


def _deliver(broadcast: Broadcast, sent_at: dt.datetime, rng: random.Random, failed: int) -> None:
    """The gateway took every SMS; most reports came back delivered, a few numbers were dead."""
    ids = list(OutboxMessage.objects.filter(broadcast=broadcast).order_by("id").values_list("id", flat=True))
    dead = set(rng.sample(ids, min(failed, len(ids))))
    OutboxMessage.objects.filter(pk__in=ids).exclude(pk__in=dead).update(
        status=Status.DELIVERED,
        attempts=1,
        sent_at=sent_at + dt.timedelta(seconds=20),
        delivered_at=sent_at + dt.timedelta(seconds=45),
        lease_until=None,
    )
    OutboxMessage.objects.filter(pk__in=dead).update(
        status=Status.DEAD, attempts=1, last_error="空号 / number not in use", lease_until=None
    )


def _testing_round(community: Community, commander: User, now: dt.datetime, rng: random.Random) -> None:
    template = template_get(community, key="testing-round")
    sent_at = now - dt.timedelta(days=1, hours=3)
    day = timezone.localtime(sent_at + dt.timedelta(days=1))
    body = (
        (template.body if template else "{community}定于{date}{time}在{place}开展全员核酸检测。")
        .replace("{date}", f"{day.month}月{day.day}日")
        .replace("{time}", "7:00—11:00")
        .replace("{place}", "社区南门广场、3号楼北侧空地两处采样点")
        .replace("{phone}", community.phone or "社区居委会")
    )
    body = template_fill(body, community)
    broadcast = broadcast_create(
        actor=commander,
        community=community,
        title="核酸检测通知",
        body=body,
        channels=["sms"],
        template=template,
    )
    _send(broadcast, sent_at, None)
    _deliver(broadcast, sent_at, rng, failed=7)


def _staff_roster(community: Community, commander: User, now: dt.datetime, rng: random.Random) -> None:
    broadcast = broadcast_create(
        actor=commander,
        community=community,
        audience=Audience.STAFF,
        title="今晚应急值班安排",
        body="今晚20:00至明早8:00由第1、2网格值班，值班人员请提前到居委会签到，保持手机畅通；"
        "防汛物资在居委会一楼仓库，钥匙在值班室。收到请点确认。",
        channels=["inapp", "wecom"],
        require_ack=True,
        ack_deadline=now + dt.timedelta(hours=1),
    )
    sent_at = now - dt.timedelta(hours=5)
    _send(broadcast, sent_at, sent_at + dt.timedelta(hours=2))
    recipients = list(BroadcastRecipient.objects.filter(broadcast=broadcast).order_by("id"))
    for index, r in enumerate(recipients):
        if index % 6 != 4:
            BroadcastRecipient.objects.filter(pk=r.pk).update(
                acked_at=sent_at + dt.timedelta(minutes=rng.randrange(2, 110)), ack_via="link"
            )


def _water_cut(community: Community, commander: User, now: dt.datetime, rng: random.Random) -> None:
    buildings = list(
        Building.objects.filter(community=community, grid__number__in=[1, 2]).order_by("sort_key", "number")
    )
    template = template_get(community, key="water-cut")
    body = (
        template_fill(template.body.replace("{phone}", community.phone or "社区居委会"), community).replace(
            "{time}", "9:00至17:00"
        )
        if template
        else "因管道维修，明日9:00至17:00停水，请提前储水。"
    )
    sent_at = now - dt.timedelta(hours=3, minutes=10)
    deadline = sent_at + dt.timedelta(hours=2)
    broadcast = broadcast_create(
        actor=commander,
        community=community,
        title="停水通知",
        body=body,
        channels=["sms"],
        scope=Broadcast.Scope.BUILDINGS,
        buildings=buildings,
        require_ack=True,
        ack_deadline=now + dt.timedelta(hours=1),
        template=template,
    )
    _send(broadcast, sent_at, deadline)
    _deliver(broadcast, sent_at, rng, failed=5)
    # Confirmations: by phone, so everyone on a phone confirms together; most within the first hour.
    by_phone: dict[str, list[int]] = {}
    for pk, phone in BroadcastRecipient.objects.filter(broadcast=broadcast).values_list("pk", "phone"):
        if phone:
            by_phone.setdefault(phone, []).append(pk)
    for ids in by_phone.values():
        if rng.random() < 0.78:
            minutes = min(int(rng.expovariate(1 / 25)) + 1, 118)
            BroadcastRecipient.objects.filter(pk__in=ids).update(
                acked_at=sent_at + dt.timedelta(minutes=minutes),
                ack_via="sms" if rng.random() < 0.4 else "link",
            )
    broadcast_escalate(broadcast_id=broadcast.pk, now=deadline + dt.timedelta(minutes=5))
    OutboxMessage.objects.filter(key__startswith=f"b{broadcast.pk}:bldg").update(
        status=Status.SENT, attempts=1, sent_at=deadline + dt.timedelta(minutes=6), lease_until=None
    )
    # Grid 1's worker has already knocked on a few doors.
    worker = (
        User.objects.filter(community=community, role=Role.GRID_WORKER, grid__number=1).order_by("id").first()
    )
    if worker is None:
        return
    open_households = list(
        BroadcastRecipient.objects.filter(
            broadcast=broadcast, acked_at__isnull=True, resident__grid_id=worker.grid_id or 0
        )
        .order_by("resident__household_id")
        .values_list("resident__household_id", flat=True)
        .distinct()[:4]
    )
    for index, household_id in enumerate(open_households):
        broadcast_confirm_at_door(
            actor=worker,
            broadcast=broadcast,
            household_id=household_id,
            at=now - dt.timedelta(minutes=40 - 8 * index),
        )
