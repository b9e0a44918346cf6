"""Reading broadcasts: who may see and send them, their counts, the per-building confirmation table, the
households that have not confirmed (scoped and masked), and the public notice board."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Length
from django.http import Http404

from linli.comms.models import Broadcast, BroadcastRecipient, NoticeTemplate, OutboxMessage
from linli.comms.models.broadcasts import Audience
from linli.core.access import acts, administers, scope_q
from linli.core.identity import mask_name, mask_phone
from linli.core.models import User
from linli.core.roles import Role
from linli.registry.models import Building, Community, Resident
from linli.tasks.models import Task

OutStatus = OutboxMessage.Status

# --- who may do what -----------------------------------------------------------------------------------


def can_compose(actor: User, community: Community) -> bool:
    """Administrators of the community, and its grid leaders (for their own grid's buildings)."""
    if administers(actor, community.pk):
        return acts(actor)
    return acts(actor) and actor.role == Role.GRID_LEADER and actor.community_id == community.pk


def can_send(actor: User | None, community: Community, building_ids: Iterable[int] = ()) -> bool:
    """Whether the actor may send to this scope: administrators anywhere in their community, grid leaders
    only to buildings of their own grid. No actor: the system itself (jobs, the demo)."""
    if actor is None:
        return True
    if administers(actor, community.pk):
        return acts(actor)
    if not can_compose(actor, community) or not actor.grid_id:
        return False
    ids = set(building_ids)
    if not ids:
        return False
    own = set(
        Building.objects.filter(pk__in=ids, community=community, grid_id=actor.grid_id).values_list(
            "pk", flat=True
        )
    )
    return own == ids


def can_manage_templates(actor: User, community: Community) -> bool:
    return administers(actor, community.pk) and acts(actor)


def can_confirm_at_door(actor: User, building: Building | None) -> bool:
    """Staff who knocked: anyone who acts in the building's grid or for its whole community."""
    if building is None or not acts(actor):
        return False
    if administers(actor, building.community_id) or actor.is_superuser:
        return True
    if actor.grid_id:
        return actor.grid_id == building.grid_id
    return actor.community_id == building.community_id


def buildings_sendable(actor: User, community: Community) -> QuerySet[Building]:
    """The buildings the actor may choose on the compose page."""
    qs = Building.objects.filter(community=community).select_related("grid").order_by("sort_key", "number")
    if administers(actor, community.pk):
        return qs
    return qs.filter(grid_id=actor.grid_id or 0)


# --- lists and details ---------------------------------------------------------------------------------


def broadcasts_for(actor: User) -> QuerySet[Broadcast]:
    """A community's staff see all of its broadcasts; a street's administrators all of the street's."""
    return Broadcast.objects.filter(scope_q(actor, grid=None))


def broadcast_get(actor: User, pk: int) -> Broadcast:
    broadcast = (
        broadcasts_for(actor).select_related("community", "created_by", "template").filter(pk=pk).first()
    )
    if broadcast is None:
        raise Http404
    return broadcast


@dataclass
class Counts:
    recipients: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    acknowledged: int = 0
    pending: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "recipients": self.recipients,
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "acknowledged": self.acknowledged,
            "pending": self.pending,
        }

    @property
    def messages(self) -> int:
        return self.sent + self.failed + self.pending

    @property
    def not_acknowledged(self) -> int:
        return self.recipients - self.acknowledged

    @property
    def percent_acknowledged(self) -> int:
        return round(100 * self.acknowledged / self.recipients) if self.recipients else 0

    @property
    def percent_sent(self) -> int:
        return round(100 * (self.sent + self.failed) / self.messages) if self.messages else 100


def _message_counts() -> dict[str, Any]:
    return {
        "sent": Count("id", filter=Q(status__in=[OutStatus.SENT, OutStatus.DELIVERED])),
        "delivered": Count("id", filter=Q(status=OutStatus.DELIVERED)),
        "failed": Count("id", filter=Q(status=OutStatus.DEAD)),
        "pending": Count("id", filter=Q(status__in=[OutStatus.QUEUED, OutStatus.SENDING])),
    }


def counts_many(broadcasts: Sequence[Broadcast]) -> dict[int, Counts]:
    """Counts of many broadcasts in two queries. Messages are the outbox's (a family's shared phone gets one
    SMS); a staff notice's in-app messages land at once and count as sent and delivered."""
    ids = [b.pk for b in broadcasts]
    result = {pk: Counts() for pk in ids}
    if not ids:
        return result
    for row in (
        OutboxMessage.objects.filter(broadcast_id__in=ids)
        .order_by()
        .values("broadcast_id")
        .annotate(**_message_counts())
    ):
        c = result[row["broadcast_id"]]
        c.sent, c.delivered, c.failed, c.pending = (
            row["sent"],
            row["delivered"],
            row["failed"],
            row["pending"],
        )
    for row in (
        BroadcastRecipient.objects.filter(broadcast_id__in=ids)
        .order_by()
        .values("broadcast_id")
        .annotate(n=Count("id"), acked=Count("id", filter=Q(acked_at__isnull=False)))
    ):
        c = result[row["broadcast_id"]]
        c.recipients, c.acknowledged = row["n"], row["acked"]
    for b in broadcasts:
        if b.audience == Audience.STAFF:
            c = result[b.pk]
            c.sent += c.recipients
            c.delivered += c.recipients
    return result


def broadcast_counts(broadcast: Broadcast) -> dict[str, int]:
    """recipients, sent (accepted by the channel, delivered included), delivered, failed (dead messages),
    acknowledged (recipients who confirmed) and pending (messages still waiting to go)."""
    return counts_many([broadcast])[broadcast.pk].as_dict()


# --- the detail page ------------------------------------------------------------------------------------


@dataclass
class BuildingRow:
    building: Building
    people: int = 0
    households: int = 0
    confirmed: int = 0  # households with at least one confirmation
    no_phone: int = 0  # households nobody's phone reaches
    escalated: int = 0  # households passed to the door-knock
    task: Task | None = None

    @property
    def open(self) -> int:
        return self.households - self.confirmed

    @property
    def percent(self) -> int:
        return round(100 * self.confirmed / self.households) if self.households else 0


def building_table(broadcast: Broadcast) -> list[BuildingRow]:
    """Confirmation by building, by household (one confirmation reaches the household): three queries."""
    per_household = (
        BroadcastRecipient.objects.filter(broadcast=broadcast, resident__isnull=False)
        .order_by()
        .values_list("building_id", "resident__household_id")
        .annotate(
            n=Count("id"),
            acked=Count("id", filter=Q(acked_at__isnull=False)),
            phones=Count("id", filter=~Q(phone="")),
            escalated=Count("id", filter=Q(escalated_at__isnull=False)),
        )
    )
    rows: dict[int, BuildingRow] = {}
    buildings = {
        b.pk: b
        for b in Building.objects.filter(community_id=broadcast.community_id).select_related("grid", "worker")
    }
    for building_id, _household, n, acked, phones, escalated in per_household:
        building = buildings.get(building_id)
        if building is None:
            continue
        row = rows.setdefault(building_id, BuildingRow(building))
        row.people += n
        row.households += 1
        row.confirmed += 1 if acked else 0
        row.no_phone += 0 if phones else 1
        row.escalated += 1 if escalated and not acked else 0
    for task in escalation_tasks(broadcast):
        if task.order in rows:
            rows[task.order].task = task
    return sorted(rows.values(), key=lambda r: (r.building.sort_key, r.building.number))


def escalation_tasks(broadcast: Broadcast) -> list[Task]:
    return list(
        # One per building: the task's `order` is the building's id.
        Task.objects.filter(source=Task.Source.BROADCAST, source_id=broadcast.pk)
        .select_related("assignee")
        .order_by("id")
    )


@dataclass
class OpenHousehold:
    household_id: int
    building: str
    building_id: int
    entrance: str
    room: str
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    escalated: bool = False

    @property
    def no_phone(self) -> bool:
        return not self.phones

    @property
    def room_label(self) -> str:
        """ "2-301" (entrance-room), or "301" in a building without entrances."""
        return f"{self.entrance}-{self.room}" if self.entrance else self.room


def open_households(
    actor: User, broadcast: Broadcast, *, building_id: int | None = None, limit: int = 200
) -> tuple[list[OpenHousehold], int]:
    """Households of the actor's scope nobody of which has confirmed, room by room, names and phones masked;
    at most `limit`, and how many there are in all."""
    found = _open(
        broadcast, scope_q(actor, community="resident__community", grid="resident__grid"), building_id
    )
    return found[:limit], len(found)


def open_households_all(broadcast: Broadcast) -> list[OpenHousehold]:
    """Every household of the notice nobody of which has confirmed (for the escalation, which is the system)."""
    return _open(broadcast, Q(), None)


def _open(broadcast: Broadcast, scope: Q, building_id: int | None) -> list[OpenHousehold]:
    confirmed = BroadcastRecipient.objects.filter(
        broadcast=broadcast, acked_at__isnull=False, resident__isnull=False
    ).values("resident__household_id")
    qs = (
        BroadcastRecipient.objects.filter(broadcast=broadcast, resident__isnull=False, acked_at__isnull=True)
        .filter(scope)
        .exclude(resident__household_id__in=confirmed)
    )
    if building_id:
        qs = qs.filter(building_id=building_id)
    rows = qs.order_by(
        "resident__household__building__sort_key",
        "resident__household__building__number",
        "resident__household__entrance__number",
        Length("resident__household__room"),
        "resident__household__room",
        "resident_id",
    ).values_list(
        "resident__household_id",
        "resident__household__building__number",
        "resident__household__building_id",
        "resident__household__entrance__number",
        "resident__household__room",
        "resident__name",
        "phone",
        "escalated_at",
    )
    households: dict[int, OpenHousehold] = {}
    for household_id, number, b_id, entrance, room, name, phone, escalated_at in rows:
        h = households.get(household_id)
        if h is None:
            h = households[household_id] = OpenHousehold(household_id, number, b_id, entrance, room)
        h.names.append(mask_name(name))
        if phone and mask_phone(phone) not in h.phones:
            h.phones.append(mask_phone(phone))
        h.escalated = h.escalated or escalated_at is not None
    return list(households.values())


def staff_recipients(broadcast: Broadcast) -> list[BroadcastRecipient]:
    """A staff notice's recipients, who confirmed first."""
    return list(
        BroadcastRecipient.objects.filter(broadcast=broadcast, user__isnull=False)
        .select_related("user", "user__grid")
        .order_by("acked_at", "user__grid__number", "user__username")
    )


def household_in_scope(actor: User, household_id: int) -> Building | None:
    """The household's building when the actor may see the household, else None."""
    resident = (
        Resident.objects.filter(scope_q(actor), household_id=household_id)
        .select_related("household__building")
        .first()
    )
    return resident.household.building if resident is not None else None


# --- templates -----------------------------------------------------------------------------------------


def templates_for(community: Community) -> QuerySet[NoticeTemplate]:
    """The community's own templates and the built-in ones."""
    return NoticeTemplate.objects.filter(Q(community=community) | Q(community__isnull=True)).order_by(
        "community_id", "name", "id"
    )


def template_get(community: Community, pk: int | None = None, key: str = "") -> NoticeTemplate | None:
    qs = templates_for(community)
    if pk is not None:
        return qs.filter(pk=pk).first()
    # The community's own template of that key first, then the built-in one.
    return qs.filter(key=key).order_by("community_id").first() if key else None


# --- the public notice board ----------------------------------------------------------------------------


def public_notices(community: Community) -> QuerySet[Broadcast]:
    """A community's notices to residents that are on the public board, newest first."""
    return Broadcast.objects.filter(
        community=community, audience=Audience.RESIDENTS, public=True, status=Broadcast.Status.SENT
    ).order_by("-sent_at", "-id")


def recipient_by_token(token: str) -> BroadcastRecipient | None:
    return (
        BroadcastRecipient.objects.select_related("broadcast__community")
        .filter(token=token, broadcast__status=Broadcast.Status.SENT)
        .first()
    )
