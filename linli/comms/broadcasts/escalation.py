"""Residents who did not confirm a notice by its deadline are told at the door (seed 000: the building
contact reaches residents who cannot use phones). Once per notice, past its deadline: per building, one
task for the building's grid worker listing the rooms, due in 2 hours, and an SMS to the building contact
(楼组长) with the same rooms. Households nobody's phone reaches are on the list from the start."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from linli.comms.broadcasts.recipients import mobile
from linli.comms.broadcasts.selectors import OpenHousehold, open_households_all
from linli.comms.broadcasts.sms import MAX_SEGMENTS, signature, sms_segments
from linli.comms.models import Broadcast, BroadcastRecipient, Channel, Notification
from linli.comms.models.broadcasts import Audience
from linli.comms.outbox import Outgoing, outbox_enqueue
from linli.comms.services import Message, notify_many
from linli.core.audit import audit_record
from linli.core.identity import mask_phone
from linli.core.models import AuditLog
from linli.epidemic.selectors import Routing, routing_for
from linli.registry.models import Building
from linli.tasks.models import Task
from linli.tasks.services import TaskSpec, tasks_create

KNOCK_WITHIN = dt.timedelta(hours=2)
TITLE_ROOMS = 12  # rooms named in a task's title; the detail has them all
PER_PASS = 50  # notices escalated per run (every 5 minutes)


NIGHT_FROM, NIGHT_UNTIL = dt.time(22, 0), dt.time(7, 0)


def _after_night(now: dt.datetime) -> dt.datetime | None:
    """07:00 when `now` is between 22:00 and 07:00 (local time); None (at once) otherwise."""
    local = timezone.localtime(now)
    if NIGHT_UNTIL <= local.time() < NIGHT_FROM:
        return None
    morning = local.replace(hour=NIGHT_UNTIL.hour, minute=0, second=0, microsecond=0)
    return morning if morning > local else morning + dt.timedelta(days=1)


def broadcast_escalations_due(now: dt.datetime | None = None) -> int:
    """Escalate every notice past its deadline that has not been escalated yet; returns how many."""
    now = now or timezone.now()
    due = list(
        Broadcast.objects.filter(
            status=Broadcast.Status.SENT,
            audience=Audience.RESIDENTS,
            require_ack=True,
            ack_deadline__lte=now,
            escalated_at__isnull=True,
        )
        .order_by("ack_deadline", "id")
        .values_list("pk", flat=True)[:PER_PASS]
    )
    done = 0
    for pk in due:
        try:
            done += broadcast_escalate(broadcast_id=pk, now=now)
        except Exception:  # one notice that cannot be escalated must not hold up the others
            logging.getLogger(__name__).exception("escalating notice %s failed", pk)
    return done


def broadcast_escalate(*, broadcast_id: int, now: dt.datetime | None = None) -> bool:
    """Escalate one notice; False when another worker has done it (the claim is a conditional update)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not Broadcast.objects.filter(
            pk=broadcast_id, escalated_at__isnull=True, status=Broadcast.Status.SENT
        ).update(escalated_at=now):
            return False
        broadcast = Broadcast.objects.select_related("community").get(pk=broadcast_id)
        households = open_households_all(broadcast)
        by_building: dict[int, list[OpenHousehold]] = defaultdict(list)
        for h in households:
            by_building[h.building_id].append(h)
        with translation.override(settings.LANGUAGE_CODE):
            _knock(broadcast, by_building, routing_for(broadcast.community_id), now)
            detail = _(
                "not confirmed by the deadline: %(households)d households in %(buildings)d buildings"
            ) % {
                "households": len(households),
                "buildings": len(by_building),
            }
        if households:
            BroadcastRecipient.objects.filter(
                broadcast=broadcast,
                acked_at__isnull=True,
                resident__household_id__in=[h.household_id for h in households],
            ).update(escalated_at=now)
        audit_record(actor=None, action=AuditLog.Action.UPDATE, target=broadcast, detail=detail)
    return True


def _room_list(households: list[OpenHousehold], limit: int | None = None) -> str:
    rooms = [h.room_label for h in households]
    if limit is not None and len(rooms) > limit:
        return "、".join(rooms[:limit]) + " …"
    return "、".join(rooms)


def _knock(
    broadcast: Broadcast, by_building: dict[int, list[OpenHousehold]], routing: Routing, now: dt.datetime
) -> list[Task]:
    if not by_building:
        return []
    buildings = Building.objects.in_bulk(list(by_building))
    page = reverse("comms:broadcast", args=[broadcast.pk])
    specs: list[TaskSpec] = []
    sms: list[Outgoing] = []
    for building_id, households in by_building.items():
        building = buildings[building_id]
        label = _("Bldg %(n)s") % {"n": building.number}
        title = _("Knock on doors: notice «%(title)s», %(building)s: rooms %(rooms)s") % {
            "title": broadcast.title,
            "building": label,
            "rooms": _room_list(households, TITLE_ROOMS),
        }
        lines = [
            _(
                "The notice «%(title)s» asked residents to confirm by %(deadline)s. These %(n)d households of "
                "%(building)s have not: tell them at the door, then press “confirmed at the door” on the "
                "notice's page (%(page)s)."
            )
            % {
                "title": broadcast.title,
                "deadline": timezone.localtime(broadcast.ack_deadline).strftime("%m-%d %H:%M")
                if broadcast.ack_deadline
                else "",
                "n": len(households),
                "building": label,
                "page": page,
            },
            "",
        ]
        for h in households:
            who = "、".join(h.names)
            reach = "、".join(h.phones) if h.phones else _("no phone — visit")
            lines.append(f"{h.room_label}: {who} ({reach})")
        if building.contact_name or building.contact_phone:
            lines += [
                "",
                _("Building contact: %(name)s %(phone)s")
                % {"name": building.contact_name, "phone": mask_phone(building.contact_phone)},
            ]
        grid_id, _worker, _leader = routing.for_building(building_id)
        specs.append(
            TaskSpec(
                title=title,
                detail="\n".join(lines),
                due_at=now + KNOCK_WITHIN,
                community_id=broadcast.community_id,
                grid_id=grid_id,
                priority=Task.Priority.HIGH,
                source=Task.Source.BROADCAST,
                source_id=broadcast.pk,
                order=building_id,  # which building's door-knock this is (see selectors.building_table)
                **routing.task_owners(building_id),
            )
        )
        contact = mobile(building.contact_phone)
        if contact:
            text = _contact_sms(broadcast, label, households)
            sms.append(
                Outgoing(
                    key=f"b{broadcast.pk}:bldg{building_id}:{Channel.SMS}",
                    channel=Channel.SMS,
                    title=_("Please knock: %(title)s") % {"title": broadcast.title},
                    body=text,
                    address=contact,
                    community_id=broadcast.community_id,
                    payload={"sms": text},
                    urgent=True,
                    # The building contact is a resident: not woken at night, told at 07:00.
                    not_before=_after_night(now),
                )
            )
    tasks = tasks_create(specs)
    notify_many(
        Message(
            user_id=int(task.assignee_id or task.leader_id or 0),
            title=task.title,
            url=reverse("tasks:detail", args=[task.pk]),
            kind=Notification.Kind.ASSIGNED,
            urgent=True,
        )
        for task in tasks
        if task.assignee_id or task.leader_id
    )
    outbox_enqueue(sms)
    return tasks


def _contact_sms(broadcast: Broadcast, building: str, households: list[OpenHousehold]) -> str:
    """The building contact's SMS, with as many rooms as fit in the longest SMS sent."""
    prefix = signature(broadcast.community.name)

    def text(rooms: str) -> str:
        return _(
            "Building contact: %(n)d households of %(building)s have not confirmed the notice «%(title)s»: "
            "rooms %(rooms)s. Please tell them at the door. Thank you! %(community)s"
        ) % {
            "n": len(households),
            "building": building,
            "title": broadcast.title,
            "rooms": rooms,
            "community": broadcast.community.name,
        }

    for limit in (len(households), 40, 25, 15, 8, 3):
        candidate = text(_room_list(households, limit))
        if sms_segments(prefix + candidate)[1] <= MAX_SEGMENTS:
            return candidate
    return text(_room_list(households, 1))
