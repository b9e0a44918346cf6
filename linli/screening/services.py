"""Running a campaign: opening it, its sites, scheduling, notices, check-in and tubes, results, closing."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from linli.comms.services import Message, notify_many
from linli.core.access import administers, community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.bulk import insert_rows
from linli.core.clock import hm, local_at
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.epidemic.models import ControlType
from linli.epidemic.selectors import Routing, routing_for
from linli.registry.models import Building, Community, Household
from linli.screening import codes, scheduling
from linli.screening.models import Campaign, Lane, Participant, Reason, Site, Slot, Tube
from linli.screening.selectors import Census, Entry, active_volunteer_communities, census
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskSpec, task_set_status, tasks_cancel, tasks_create

SOURCE = Task.Source.SCREENING
# A missed person is looked for at the door within this time of the campaign's close (seed 000:
# "安排志愿者上门确认是否全员核酸，避免漏检").
FOLLOWUP_WITHIN = dt.timedelta(hours=4)
# One follow-up task per building: its title names the people when there are this few, else counts them.
FOLLOWUP_NAMES_IN_TITLE = 4
# Telling a household its new time after a change.
RENOTICE_WITHIN = dt.timedelta(hours=1)
POOLED_POSITIVE_TYPE = "pooled_positive"
# A tube barcode: letters, digits and dashes with at least one digit ("hello world" typed by mistake is not one).
TUBE_CODE = re.compile(r"(?=[0-9A-Z-]*[0-9])[0-9A-Z][0-9A-Z-]{1,39}")
# People under control are never pooled with others: a positive must point at them alone.
SINGLE_TUBE_REASONS = frozenset({Reason.HOME_ISOLATION, Reason.CONTROLLED})
MAX_SITES = 20


# --- who may act ------------------------------------------------------------------------------------


def can_run(actor: User, community_id: int) -> bool:
    """The commander (community administrator) or the street office runs a campaign."""
    return administers(actor, community_id)


def _require_run(actor: User, campaign: Campaign | Community) -> None:
    community_id = campaign.community_id if isinstance(campaign, Campaign) else campaign.pk
    if not can_run(actor, community_id):
        raise PermissionDenied(
            _("Only the community's commander or the street office runs a testing campaign.")
        )


def can_check_in(actor: User, campaign: Campaign) -> bool:
    """Staff of the community who act (not observers or department systems), and the community's active
    volunteers, who do most of the site work (seed 000: "一组志愿者帮助确认预约码")."""
    if not actor.is_authenticated or not actor.is_active or not campaign.checkin_open:
        return False
    if actor.is_superuser:
        return True
    if actor.role == Role.VOLUNTEER:
        return active_volunteer_communities(actor).filter(community_id=campaign.community_id).exists()
    if actor.is_read_only or actor.is_outside:
        return False
    ids = community_ids_in_scope(actor)
    return ids is None or campaign.community_id in ids


def _require_check_in(actor: User, campaign: Campaign) -> None:
    if campaign.is_closed:
        raise ValidationError(_("This campaign is closed."))
    if not campaign.checkin_open:
        raise ValidationError(checkin_closed_text(campaign))
    if not can_check_in(actor, campaign):
        raise PermissionDenied(_("You cannot check people in for this campaign."))


def checkin_closed_text(campaign: Campaign) -> str:
    if campaign.is_closed:
        return _("This campaign is closed.")
    if campaign.notified_at is None:
        return _("Check-in opens when the notices have been sent.")
    return _("Check-in is open on the testing day only (%(day)s).") % {"day": campaign.day.isoformat()}


def _require_open(campaign: Campaign) -> None:
    if campaign.is_closed:
        raise ValidationError(_("This campaign is closed."))


# --- opening ----------------------------------------------------------------------------------------


@dataclass
class SiteValues:
    name: str
    place: str = ""
    normal_per_hour: int = 120
    priority_per_hour: int = 40
    controlled_per_hour: int = 0


DEFAULT_SITES = [SiteValues(name="", normal_per_hour=120, priority_per_hour=40, controlled_per_hour=20)]


def _check_times(starts_at: dt.time, ends_at: dt.time, slot_minutes: int) -> None:
    if slot_minutes < 10 or slot_minutes > 120:
        raise ValidationError(_("A time slot is between 10 and 120 minutes long."))
    length = dt.datetime.combine(dt.date.min, ends_at) - dt.datetime.combine(dt.date.min, starts_at)
    if length < dt.timedelta(minutes=slot_minutes):
        raise ValidationError(_("Sampling must end at least one time slot after it starts."))


def campaign_open(
    *,
    actor: User,
    community: Community,
    day: dt.date,
    name: str = "",
    starts_at: dt.time = dt.time(7, 0),
    ends_at: dt.time = dt.time(18, 0),
    slot_minutes: int = 30,
    pool_size: int = 10,
    buildings: Sequence[Building] = (),
    sites: Sequence[SiteValues] | None = None,
    note: str = "",
) -> Campaign:
    _require_run(actor, community)
    _check_times(starts_at, ends_at, slot_minutes)
    if pool_size not in (1, 10, 20):
        raise ValidationError(_("A tube takes 1, 10 or 20 people."))
    if day < timezone.localdate():
        raise ValidationError(_("The testing day has passed."))
    if local_at(day, ends_at) <= timezone.now():
        raise ValidationError(_("Sampling would already be over: choose a later end time or another day."))
    if any(b.community_id != community.pk for b in buildings):
        raise ValidationError(_("A chosen building is in another community."))
    sites = list(sites) if sites is not None else list(DEFAULT_SITES)
    if not sites:
        raise ValidationError(_("A campaign needs at least one sampling site."))
    for values in sites:
        _check_site(values)
    building_ids = [b.pk for b in buildings]
    counted = census(community.pk, building_ids, day)
    if not counted.entries:
        raise ValidationError(_("Nobody lives in the chosen area according to the registry."))
    with transaction.atomic():
        campaign = Campaign.objects.create(
            community=community,
            name=(name.strip() or _("Mass testing %(date)s") % {"date": day.isoformat()})[:100],
            day=day,
            starts_at=starts_at,
            ends_at=ends_at,
            slot_minutes=slot_minutes,
            pool_size=pool_size,
            counts=counted.counts,
            note=note.strip()[:300],
            created_by=actor,
        )
        if building_ids:
            campaign.buildings.set(building_ids)
        for order, values in enumerate(sites):
            _site_create(campaign, values, order)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=campaign,
            detail=_("%(day)s: %(people)d people in %(households)d households")
            % {
                "day": day.isoformat(),
                "people": counted.counts.get("people", 0),
                "households": counted.counts.get("households", 0),
            },
        )
    return campaign


def _check_site(values: SiteValues) -> None:
    for n in (values.normal_per_hour, values.priority_per_hour, values.controlled_per_hour):
        if n < 0 or n > 2000:
            raise ValidationError(_("A lane takes between 0 and 2,000 people per hour."))
    if values.normal_per_hour <= 0 and values.controlled_per_hour <= 0:
        raise ValidationError(_("A site needs a normal lane or a separate route."))


def _site_create(campaign: Campaign, values: SiteValues, order: int) -> Site:
    return Site.objects.create(
        campaign=campaign,
        name=(values.name.strip() or _("Sampling site %(n)d") % {"n": order + 1})[:100],
        place=values.place.strip()[:200],
        normal_per_hour=values.normal_per_hour,
        priority_per_hour=values.priority_per_hour,
        controlled_per_hour=values.controlled_per_hour,
        order=order,
    )


def site_save(*, actor: User, campaign: Campaign, site: Site | None, values: SiteValues) -> Site:
    """Add or change a site. Capacities change the schedule: schedule again afterwards."""
    _require_run(actor, campaign)
    _require_open(campaign)
    _check_site(values)
    with transaction.atomic():
        if site is None:
            if campaign.sites.count() >= MAX_SITES:
                raise ValidationError(_("A campaign has at most %(n)d sites.") % {"n": MAX_SITES})
            site = _site_create(campaign, values, campaign.sites.count())
            action = AuditLog.Action.CREATE
        else:
            if site.campaign_id != campaign.pk:
                raise ValidationError(_("This site belongs to another campaign."))
            site.name = values.name.strip()[:100] or site.name
            site.place = values.place.strip()[:200]
            site.normal_per_hour = values.normal_per_hour
            site.priority_per_hour = values.priority_per_hour
            site.controlled_per_hour = values.controlled_per_hour
            site.save()
            action = AuditLog.Action.UPDATE
        if campaign.status != Campaign.Status.DRAFT:
            _sync_site_slots(campaign, site)
        audit_record(actor=actor, action=action, target=campaign, target_label=f"{campaign} · {site.name}")
    return site


def _sync_site_slots(campaign: Campaign, site: Site) -> None:
    """A scheduled campaign's slots follow a site's new or changed capacity at once, so a site added late can
    take a building (move one there) and a raised capacity takes newcomers. A slot never shrinks below the
    people already called to it."""
    existing = {(s.lane, s.starts_at): s for s in Slot.objects.filter(site=site)}
    new_rows = []
    for batch, (start, end) in enumerate(campaign.windows(), start=1):
        for lane in Lane.values:
            capacity = scheduling.slot_capacity(site.per_hour(lane), campaign.slot_minutes)
            slot = existing.get((lane, start))
            if slot is None:
                if capacity > 0:
                    new_rows.append(
                        Slot(
                            campaign=campaign,
                            site=site,
                            lane=lane,
                            batch=batch,
                            starts_at=start,
                            ends_at=end,
                            capacity=capacity,
                        )
                    )
            elif slot.load == 0 and capacity == 0:
                slot.delete()
            elif slot.capacity != max(capacity, slot.load):
                Slot.objects.filter(pk=slot.pk).update(capacity=Greatest(Value(capacity), F("load")))
    Slot.objects.bulk_create(new_rows)


def site_delete(*, actor: User, campaign: Campaign, site: Site) -> None:
    _require_run(actor, campaign)
    _require_open(campaign)
    if site.campaign_id != campaign.pk:
        raise ValidationError(_("This site belongs to another campaign."))
    if Participant.objects.filter(Q(slot__site=site) | Q(checkin_site=site), campaign=campaign).exists():
        raise ValidationError(
            _(
                "People are called to this site or were sampled there. Set its lanes to 0 and schedule again instead (possible until check-in starts)."
            )
        )
    if campaign.sites.count() <= 1:
        raise ValidationError(_("A campaign needs at least one sampling site."))
    with transaction.atomic():
        site.delete()
        audit_record(
            actor=actor,
            action=AuditLog.Action.DELETE,
            target=campaign,
            target_label=f"{campaign} · {site.name}",
        )


def campaign_delete(*, actor: User, campaign: Campaign) -> None:
    """Remove a campaign opened by mistake: only before its notices went out, so no household was told."""
    _require_run(actor, campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.notified_at is not None or locked.tubes.exists():
            raise ValidationError(
                _("Notices have gone out for this campaign: close it instead of deleting it.")
            )
        audit_record(actor=actor, action=AuditLog.Action.DELETE, target=locked, detail=locked.day.isoformat())
        Task.objects.filter(source=SOURCE, source_id=locked.pk).delete()
        locked.delete()


# --- scheduling -------------------------------------------------------------------------------------


@dataclass
class ScheduleSummary:
    people: int
    at_sites: int
    door: int
    slots_used: int
    max_load: int
    max_capacity: int
    renotified: int
    controlled_from: dt.datetime | None


def campaign_schedule(*, actor: User, campaign: Campaign) -> ScheduleSummary:
    """Count the area again, call every household to a slot and send the rest to door-to-door sampling.

    Before the notices, the whole area is planned again. After them, everyone keeps the time they were told:
    people who moved away leave the list, and newcomers and people whose lane changed (a new monitoring
    case, a bed-bound tag) are placed in the room left, and their grid worker is asked to tell them. A
    person's code never changes (codes are per person, not per slot)."""
    _require_run(actor, campaign)
    _require_open(campaign)
    given = campaign
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require_open(campaign)
        counted = census(
            campaign.community_id, list(campaign.buildings.values_list("id", flat=True)), campaign.day
        )
        if campaign.notified_at is not None:
            # Households have their times (and check-in may be under way): only the changes are placed.
            summary = _schedule_changes(actor, campaign, counted)
            given.refresh_from_db()
            return summary
        sites = list(campaign.sites.all())
        windows = campaign.windows()
        people = [
            scheduling.Person(e.resident_id, e.household_id, e.building_id, e.lane)
            for e in counted.entries
            if not e.door
        ]
        capacities = [
            scheduling.SiteCapacity(
                s.pk,
                {
                    Lane.NORMAL: s.normal_per_hour,
                    Lane.PRIORITY: s.priority_per_hour,
                    Lane.CONTROLLED: s.controlled_per_hour,
                },
            )
            for s in sites
        ]
        planned = scheduling.plan(people, capacities, windows=len(windows), minutes=campaign.slot_minutes)
        # With no separate route anywhere, people under monitoring are sampled at home rather than in
        # the queue with everyone else.
        controlled = {p.id for p in people if p.lane == Lane.CONTROLLED}
        no_route = {pid for pid in planned.unplaced if pid in controlled}
        unplaced = [pid for pid in planned.unplaced if pid not in no_route]
        if unplaced:
            raise ValidationError(
                ngettext(
                    "%(n)d person does not fit into the sites' capacity between %(start)s and %(end)s: add a "
                    "site or a lane, raise the capacity or lengthen the day.",
                    "%(n)d people do not fit into the sites' capacity between %(start)s and %(end)s: add a "
                    "site or a lane, raise the capacity or lengthen the day.",
                    len(unplaced),
                )
                % {
                    "n": len(unplaced),
                    "start": campaign.starts_at.strftime("%H:%M"),
                    "end": campaign.ends_at.strftime("%H:%M"),
                }
            )
        # Before the notices nobody has been told a time or checked in (check-in opens with the notices):
        # the whole list is written again.
        Participant.objects.filter(campaign=campaign).delete()
        Slot.objects.filter(campaign=campaign).delete()
        slot_rows = [
            (
                campaign.pk,
                s.site,
                s.lane,
                s.window + 1,
                windows[s.window][0],
                windows[s.window][1],
                s.capacity,
                s.load,
            )
            for s in planned.slots.values()
        ]
        insert_rows(
            Slot,
            ["campaign_id", "site_id", "lane", "batch", "starts_at", "ends_at", "capacity", "load"],
            slot_rows,
        )
        slot_ids = {
            (site_id, lane, starts_at): pk
            for pk, site_id, lane, starts_at in Slot.objects.filter(campaign=campaign).values_list(
                "id", "site_id", "lane", "starts_at"
            )
        }
        # The plan's (site, lane, window) → slot id, so that each person's slot is one lookup.
        slot_of = {key: slot_ids[(key[0], key[1], windows[key[2]][0])] for key in planned.slots}
        rows = []
        for e in counted.entries:
            place = planned.placed.get(e.resident_id)
            lane, reason, door = e.lane, e.reason, e.door
            slot_id = None
            if e.resident_id in no_route:
                lane, door = "", True
            elif place is not None:
                lane = place[1]
                slot_id = slot_of[place]
            rows.append(_participant_row(campaign, e, lane=lane, reason=reason, door=door, slot_id=slot_id))
        insert_rows(Participant, PARTICIPANT_COLUMNS, rows)
        campaign.counts = counted.counts
        campaign.scheduled_at = timezone.now()
        if campaign.status == Campaign.Status.DRAFT:
            campaign.status = Campaign.Status.SCHEDULED
        campaign.save(update_fields=["counts", "scheduled_at", "status"])
        top = planned.max_load()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            detail=_("scheduled %(people)d people in %(slots)d slots")
            % {"people": len(planned.placed), "slots": sum(1 for s in planned.slots.values() if s.load)},
        )
    given.refresh_from_db()
    return ScheduleSummary(
        people=len(rows),
        at_sites=len(planned.placed),
        door=sum(1 for e in counted.entries if e.door) + len(no_route),
        slots_used=sum(1 for s in planned.slots.values() if s.load),
        max_load=top.load if top else 0,
        max_capacity=top.capacity if top else 0,
        renotified=0,
        controlled_from=windows[planned.controlled_from][0]
        if planned.controlled_from is not None and planned.controlled_from < len(windows)
        else None,
    )


def _participant_row(
    campaign: Campaign, e: Entry, *, lane: str, reason: str, door: bool, slot_id: int | None
) -> tuple[object, ...]:
    """A new Participant row in PARTICIPANT_COLUMNS' order: nobody told, checked in or tasked yet."""
    return (
        campaign.pk, e.resident_id, e.household_id, e.building_id, e.grid_id, lane, reason, door, slot_id,
        None, None, None, None, None, None, None, None, None,
    )  # fmt: skip


def _schedule_changes(actor: User, campaign: Campaign, counted: Census) -> ScheduleSummary:
    """After the notices: keep every told time; take people who left off the list (unless sampled); place
    newcomers and people whose lane changed into the room left, household by household, at their building's
    site, never in a slot that has begun and never after the separate route has started."""
    now = timezone.now()
    current = {
        p.resident_id: p
        for p in Participant.objects.filter(campaign=campaign).only(
            "id", "resident_id", "household_id", "building_id", "lane", "reason", "door", "slot_id",
            "checked_in_at",
        )
    }  # fmt: skip
    slots = {s.pk: s for s in Slot.objects.filter(campaign=campaign).select_related("site")}
    freed: dict[int, int] = defaultdict(int)
    wanted = {e.resident_id: e for e in counted.entries}
    gone = [p for rid, p in current.items() if rid not in wanted and p.checked_in_at is None]
    for p in gone:
        if p.slot_id:
            freed[p.slot_id] += 1
    Participant.objects.filter(pk__in=[p.pk for p in gone]).delete()
    to_place: list[tuple[Entry, Participant | None]] = []
    for e in counted.entries:
        known = current.get(e.resident_id)
        # The reason decides the lane (or door-to-door), so an unchanged reason keeps the told time.
        if known is not None and (known.checked_in_at is not None or known.reason == e.reason):
            continue
        if known is not None and known.slot_id:
            freed[known.slot_id] += 1
        to_place.append((e, known))
    for slot_id, n in freed.items():
        slots[slot_id].load -= n
    placed, door = _place_changes(campaign, to_place, slots, now)
    for slot_id in freed.keys() | {sid for sid in placed.values() if sid}:
        Slot.objects.filter(pk=slot_id).update(load=slots[slot_id].load)
    rows: list[tuple[object, ...]] = []
    for e, known in to_place:
        new_slot = placed.get(e.resident_id)
        lane = slots[new_slot].lane if new_slot else ""
        is_door = e.door or e.resident_id in door
        if known is None:
            rows.append(
                _participant_row(campaign, e, lane=lane, reason=e.reason, door=is_door, slot_id=new_slot)
            )
        else:
            Participant.objects.filter(pk=known.pk, checked_in_at__isnull=True).update(
                lane=lane, reason=e.reason, door=is_door, slot_id=new_slot
            )
    insert_rows(Participant, PARTICIPANT_COLUMNS, rows)
    campaign.counts = counted.counts
    campaign.scheduled_at = now
    campaign.save(update_fields=["counts", "scheduled_at"])
    renotified = _renotify_changed(campaign, actor)
    _door_tasks(campaign, actor)
    audit_record(
        actor=actor,
        action=AuditLog.Action.UPDATE,
        target=campaign,
        detail=_("list updated: %(new)d placed, %(gone)d left the list")
        % {"new": len(to_place), "gone": len(gone)},
    )
    used = [s for s in slots.values() if s.load]
    top = max(used, key=lambda s: (s.load / s.capacity, s.load), default=None)
    return ScheduleSummary(
        people=len(wanted),
        at_sites=sum(1 for e in counted.entries if not e.door) - len(door),
        door=sum(1 for e in counted.entries if e.door) + len(door),
        slots_used=len(used),
        max_load=top.load if top else 0,
        max_capacity=top.capacity if top else 0,
        renotified=renotified,
        controlled_from=_controlled_from(slots.values()),
    )


def _controlled_from(slots: Iterable[Slot]) -> dt.datetime | None:
    """When the separate route starts: the first of its slots anyone is called to."""
    return min((s.starts_at for s in slots if s.lane == Lane.CONTROLLED and s.load), default=None)


def _place_changes(
    campaign: Campaign,
    to_place: list[tuple[Entry, Participant | None]],
    slots: dict[int, Slot],
    now: dt.datetime,
) -> tuple[dict[int, int], set[int]]:
    """({resident: slot}, residents sent to door-to-door for want of a separate route) for the people to
    place; a ValidationError names the households that do not fit."""
    sites = sorted({s.site for s in slots.values()}, key=lambda site: (site.order, site.pk))
    building_site: dict[int, int] = {}
    for building_id, site_id, _n in (
        Participant.objects.filter(campaign=campaign, slot__isnull=False)
        .values_list("building_id", "slot__site_id")
        .annotate(n=Count("id"))
        .order_by("building_id", "-n")
    ):
        building_site.setdefault(building_id, site_id)
    route_from = _controlled_from(slots.values())
    by_window: dict[tuple[int, str, dt.datetime], Slot] = {
        (s.site_id, s.lane, s.starts_at): s for s in slots.values()
    }
    starts = sorted({s.starts_at for s in slots.values() if s.starts_at >= now})
    households: dict[int, list[Entry]] = defaultdict(list)
    for e, _p in to_place:
        if not e.door:
            households[e.household_id].append(e)
    placed: dict[int, int] = {}
    door: set[int] = set()
    full: list[str] = []
    route_sites = [site for site in sites if site.controlled_per_hour > 0]
    for members in households.values():
        controlled = [e for e in members if e.lane == Lane.CONTROLLED]
        others = [e for e in members if e.lane != Lane.CONTROLLED]
        if controlled and not route_sites:
            door.update(e.resident_id for e in controlled)
            controlled = []
        if others:
            site_id = building_site.get(others[0].building_id) or next(
                (site.pk for site in sites if site.normal_per_hour > 0), None
            )
            site = next((x for x in sites if x.pk == site_id), None)
            need: dict[str, list[Entry]] = defaultdict(list)
            for e in others:
                need[_lane_at(site, e.lane) if site else Lane.NORMAL].append(e)
            chosen = None
            for at in starts:
                if route_from is not None and at >= route_from:
                    break
                cells = {lane: by_window.get((site_id or 0, lane, at)) for lane in need}
                if all(c is not None and c.load + len(need[lane]) <= c.capacity for lane, c in cells.items()):
                    chosen = cells
                    break
            if chosen is None:
                full.append(str(others[0].household_id))
            else:
                for lane, cell in chosen.items():
                    assert cell is not None
                    cell.load += len(need[lane])
                    placed.update((e.resident_id, cell.pk) for e in need[lane])
        for e in controlled:
            cell = next(
                (
                    by_window[(site.pk, Lane.CONTROLLED, at)]
                    for at in starts
                    for site in route_sites
                    if (route_from is None or at >= route_from)
                    and (site.pk, Lane.CONTROLLED, at) in by_window
                    and by_window[(site.pk, Lane.CONTROLLED, at)].load
                    < by_window[(site.pk, Lane.CONTROLLED, at)].capacity
                ),
                None,
            )
            if cell is None:
                full.append(str(e.household_id))
            else:
                cell.load += 1
                placed[e.resident_id] = cell.pk
    if full:
        labels = ", ".join(
            str(h)
            for h in Household.objects.filter(pk__in=[int(h) for h in full]).select_related(
                "building", "entrance"
            )[:10]
        )
        raise ValidationError(
            _(
                "No room left for %(households)s in the slots still to come: add a site or raise a lane's capacity, then try again."
            )
            % {"households": labels}
        )
    return placed, door


PARTICIPANT_COLUMNS = [
    "campaign_id",
    "resident_id",
    "household_id",
    "building_id",
    "grid_id",
    "lane",
    "reason",
    "door",
    "slot_id",
    "notified_site_id",
    "notified_start",
    "slot_changed_at",
    "checked_in_at",
    "checked_in_by_id",
    "checkin_site_id",
    "tube_id",
    "door_task_id",
    "followup_task_id",
]


def building_move(
    *, actor: User, campaign: Campaign, building: Building, site: Site, start: dt.datetime
) -> int:
    """Call a building's people who are not sampled yet to another site or time (a site opened late, a
    lift broken). They keep their households together and fill the slots from `start` on, within capacity
    and before the separate route starts; people under monitoring keep their place on it. Returns how many
    people moved; those already told their time are told again."""
    _require_run(actor, campaign)
    _require_open(campaign)
    if site.campaign_id != campaign.pk or building.community_id != campaign.community_id:
        raise ValidationError(_("The site or the building belongs to another campaign."))
    if start + dt.timedelta(minutes=campaign.slot_minutes) <= timezone.now():
        raise ValidationError(_("That time has passed: choose a later one."))
    with transaction.atomic():
        people = list(
            Participant.objects.select_for_update()
            .filter(campaign=campaign, building=building, door=False, checked_in_at__isnull=True)
            .exclude(lane=Lane.CONTROLLED)
            .order_by("household_id", "id")
        )
        if not people:
            raise ValidationError(_("Nobody in this building is waiting for a slot."))
        route_from = _controlled_from(
            Slot.objects.filter(campaign=campaign, lane=Lane.CONTROLLED, load__gt=0)
        )
        slots = list(
            Slot.objects.select_for_update()
            .filter(campaign=campaign, site=site, starts_at__gte=start)
            .exclude(lane=Lane.CONTROLLED)
            .filter(starts_at__lt=route_from or campaign.at(campaign.ends_at))
            .order_by("starts_at", "id")
        )
        # Free the old places first (a move to a later slot of the same site may reuse them).
        freed: dict[int, int] = defaultdict(int)
        for p in people:
            if p.slot_id:
                freed[p.slot_id] += 1
        for slot_id, n in freed.items():
            Slot.objects.filter(pk=slot_id).update(load=F("load") - n)
        loads = {s.pk: s.load - freed.get(s.pk, 0) for s in slots}
        by_lane: dict[str, list[Slot]] = defaultdict(list)
        for s in slots:
            by_lane[s.lane].append(s)
        households: dict[int, list[Participant]] = defaultdict(list)
        for p in people:
            households[p.household_id].append(p)
        window = 0
        starts = sorted({s.starts_at for s in slots})
        moved: list[Participant] = []
        for members in households.values():
            need: dict[str, int] = defaultdict(int)
            for p in members:
                need[_lane_at(site, p.lane)] += 1
            while window < len(starts):
                at = starts[window]
                fits = all(
                    any(s.starts_at == at and loads[s.pk] + n <= s.capacity for s in by_lane.get(lane, []))
                    for lane, n in need.items()
                )
                if fits:
                    break
                window += 1
            if window >= len(starts):
                raise ValidationError(
                    _(
                        "%(site)s has no room for building %(building)s from %(time)s on: choose an earlier time or another site."
                    )
                    % {"site": site.name, "building": building.number, "time": hm(start)}
                )
            at = starts[window]
            for p in members:
                lane = _lane_at(site, p.lane)
                slot = next(s for s in by_lane[lane] if s.starts_at == at)
                loads[slot.pk] += 1
                p.slot_id, p.lane = slot.pk, lane
                moved.append(p)
        Participant.objects.bulk_update(moved, ["slot_id", "lane"], batch_size=500)
        for slot in slots:
            if loads[slot.pk] != slot.load - freed.get(slot.pk, 0):
                Slot.objects.filter(pk=slot.pk).update(load=loads[slot.pk])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            detail=_("building %(building)s moved to %(site)s from %(time)s")
            % {"building": building.number, "site": site.name, "time": hm(start)},
        )
        if campaign.notified_at:
            _renotify_changed(campaign, actor)
    return len(moved)


def _lane_at(site: Site, lane: str) -> str:
    """A person's lane at a site that may lack it: priority falls back to the normal lane."""
    if lane and site.per_hour(lane) > 0:
        return lane
    if lane == Lane.CONTROLLED:
        raise ValidationError(
            _("%(site)s has no separate route for people under monitoring.") % {"site": site.name}
        )
    return Lane.NORMAL


# --- notices ----------------------------------------------------------------------------------------


def campaign_notify(*, actor: User, campaign: Campaign) -> int:
    """Send the notices: every household's time is recorded as told, the grid workers are asked to post
    their buildings' notices and hand out the household slips, and door-to-door sampling becomes tasks for
    the medical team. Returns the number of households told."""
    _require_run(actor, campaign)
    given = campaign
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require_open(campaign)
        if campaign.status == Campaign.Status.DRAFT:
            raise ValidationError(_("Schedule the campaign before sending notices."))
        now = timezone.now()
        first = campaign.notified_at is None
        _mark_notified(Participant.objects.filter(campaign=campaign, slot__isnull=False))
        campaign.notified_at = campaign.notified_at or now
        campaign.status = Campaign.Status.NOTIFIED
        campaign.save(update_fields=["notified_at", "status"])
        doors = _door_tasks(campaign, actor)
        households = Participant.objects.filter(campaign=campaign).values("household_id").distinct().count()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            detail=_("notices for %(n)d households, %(d)d door-to-door tasks")
            % {"n": households, "d": doors},
        )
    given.refresh_from_db()
    if first:
        _notice_tasks(campaign)
    return households


def _mark_notified(participants: QuerySet[Participant]) -> None:
    """Record each person's current slot as the one their household was told (one UPDATE)."""
    slot = Slot.objects.filter(pk=OuterRef("slot_id"))
    participants.update(
        notified_site_id=Subquery(slot.values("site_id")[:1]),
        notified_start=Subquery(slot.values("starts_at")[:1]),
    )


def _notice_tasks(campaign: Campaign) -> None:
    """A task per building for its grid worker: post the building's notice and hand out its household slips
    (or send each household its link), due when sampling starts."""
    due = max(campaign.at(campaign.starts_at), timezone.now() + dt.timedelta(hours=1))
    rows = (
        Participant.objects.filter(campaign=campaign)
        .values("building_id", "household__building__number")
        .annotate(households=Count("household_id", distinct=True))
        .order_by("household__building__sort_key", "household__building__number")
    )
    routing = routing_for(campaign.community_id)
    specs = [
        _spec(
            campaign,
            routing,
            row["building_id"],
            title=_("Testing %(day)s: post the notice in building %(b)s, hand out %(n)d household slips")
            % {
                "day": campaign.day.isoformat(),
                "b": row["household__building__number"],
                "n": row["households"],
            },
            detail=_(
                "Campaign %(name)s. Print the building notice and the household slips from the campaign page (or "
                "send each household its link for the building's chat group); slips go to the door for people who "
                "do not use phones."
            )
            % {"name": campaign.name},
            due=due,
        )
        for row in rows
    ]
    tasks_create(specs)
    _notify_tasks(specs, campaign)


def _renotify_changed(campaign: Campaign, actor: User | None) -> int:
    """After the notices, every household whose notice no longer holds is told again by its grid worker (a
    task per building listing each household and what changed), and its own page shows the change:
    a new time or site, a newcomer who has had no notice, or someone now sampled at home. Returns how many
    people are told again."""
    related = ("household__building", "household__entrance", "slot__site")
    changed = list(
        Participant.objects.filter(campaign=campaign, notified_start__isnull=False, slot__isnull=False)
        .exclude(notified_site_id=F("slot__site_id"), notified_start=F("slot__starts_at"))
        .select_related(*related)
    )
    newcomers = list(
        Participant.objects.filter(
            campaign=campaign, notified_start__isnull=True, slot__isnull=False, checked_in_at__isnull=True
        ).select_related(*related)
    )
    to_door = list(
        Participant.objects.filter(
            campaign=campaign, notified_start__isnull=False, door=True, checked_in_at__isnull=True
        ).select_related(*related)
    )
    if not changed and not newcomers and not to_door:
        return 0
    now = timezone.now()
    lines: dict[int, dict[int, str]] = defaultdict(dict)  # building → household → line
    numbers: dict[int, str] = {}
    for people, what in (
        (changed, _("new time or place")),
        (newcomers, _("no notice yet: hand them a slip")),
        (to_door, _("now sampled at home: they should not come")),
    ):
        for p in sorted(people, key=lambda p: (p.building_id, p.household_id)):
            numbers[p.building_id] = p.household.building.number
            where = f"{p.slot.site.name} {p.slot}" if p.slot else ""
            lines[p.building_id].setdefault(p.household_id, f"{p.household}: {what} {where}".strip())
    routing = routing_for(campaign.community_id)
    specs = [
        _spec(
            campaign,
            routing,
            building_id,
            title=ngettext(
                "Tell %(n)d household in building %(b)s its new testing arrangement",
                "Tell %(n)d households in building %(b)s their new testing arrangements",
                len(households),
            )
            % {"n": len(households), "b": numbers[building_id]},
            detail=_("Campaign %(name)s on %(day)s.")
            % {"name": campaign.name, "day": campaign.day.isoformat()}
            + "\n"
            + "\n".join(households.values()),
            due=now + RENOTICE_WITHIN,
        )
        for building_id, households in sorted(lines.items())
    ]
    tasks_create(specs)
    told = [p.pk for p in changed + newcomers + to_door]
    Participant.objects.filter(pk__in=[p.pk for p in changed + to_door]).update(slot_changed_at=now)
    _mark_notified(Participant.objects.filter(pk__in=told))
    _notify_tasks(specs, campaign)
    return len(told)


def _spec(
    campaign: Campaign,
    routing: Routing,
    building_id: int,
    *,
    title: str,
    detail: str,
    due: dt.datetime,
    team: str = "",
) -> TaskSpec:
    """A campaign's task about a building, for its grid worker or (with `team`) one of the teams."""
    return TaskSpec(
        title=title,
        detail=detail,
        due_at=due,
        community_id=campaign.community_id,
        grid_id=routing.for_building(building_id)[0],
        source=SOURCE,
        source_id=campaign.pk,
        **routing.task_owners(building_id, team),
    )


def _notify_tasks(specs: Iterable[TaskSpec], campaign: Campaign) -> None:
    url = reverse("tasks:mine")
    notify_many(
        Message(user_id=s.assignee_id or s.leader_id, title=s.title, url=url, kind="assigned")  # type: ignore[arg-type]
        for s in specs
        if s.assignee_id or s.leader_id
    )


def _door_tasks(campaign: Campaign, actor: User | None) -> int:
    """One door-to-door sampling task per household with bed-bound or home-isolated members, for the
    medical team, due by the end of sampling. Kept in step with the list: a member who is no longer sampled
    at home leaves the task (a task left with nobody is cancelled), and a new one joins the household's open
    task rather than getting a second."""
    no_longer = Participant.objects.filter(campaign=campaign, door=False, door_task__isnull=False)
    stale = set(no_longer.values_list("door_task_id", flat=True))
    no_longer.update(door_task=None)
    if stale:
        still = set(
            Participant.objects.filter(door_task_id__in=stale, door=True).values_list(
                "door_task_id", flat=True
            )
        )
        tasks_cancel(
            Task.objects.filter(pk__in=stale - still),
            reason=_("nobody in this household is sampled at home any more"),
        )
    open_tasks = dict(
        Participant.objects.filter(
            campaign=campaign,
            door=True,
            door_task__isnull=False,
            door_task__status__in=Task.OPEN_STATUSES,
        ).values_list("household_id", "door_task_id")
    )
    waiting = []
    for p in (
        Participant.objects.filter(
            campaign=campaign, door=True, door_task__isnull=True, checked_in_at__isnull=True
        )
        .select_related("resident", "household__building", "household__entrance")
        .order_by("building_id", "household_id", "id")
    ):
        if p.household_id in open_tasks:
            Participant.objects.filter(pk=p.pk).update(door_task_id=open_tasks[p.household_id])
        else:
            waiting.append(p)
    due = max(campaign.at(campaign.ends_at), timezone.now() + dt.timedelta(hours=1))

    def spec(routing: Routing, members: list[Participant]) -> TaskSpec:
        names = "、".join(f"{p.resident.name}（{p.get_reason_display()}）" for p in members)
        return _spec(
            campaign,
            routing,
            members[0].building_id,
            title=_("Door-to-door sampling: %(address)s %(names)s")
            % {"address": members[0].household, "names": names},
            detail=_(
                "Campaign %(name)s. Sample them at home and check them in on the check-in page (door-to-door)."
            )
            % {"name": campaign.name},
            due=due,
            team=Team.MEDICAL,
        )

    return len(_household_tasks(campaign, waiting, "door_task", spec))


def _household_tasks(
    campaign: Campaign,
    participants: list[Participant],
    field: str,
    spec: Callable[[Routing, list[Participant]], TaskSpec],
    by: Callable[[Participant], int] = lambda p: p.household_id,
) -> list[TaskSpec]:
    """One task per household (or per `by`) of `participants`, in calling order, linked from each member's
    `field`."""
    if not participants:
        return []
    households: dict[int, list[Participant]] = defaultdict(list)
    for p in participants:
        households[by(p)].append(p)
    routing = routing_for(campaign.community_id)
    specs = [spec(routing, members) for members in households.values()]
    tasks = tasks_create(specs)
    for task, members in zip(tasks, households.values(), strict=True):
        Participant.objects.filter(pk__in=[p.pk for p in members]).update(**{field: task})
    return specs


# --- tubes and check-in -----------------------------------------------------------------------------


def tube_open(
    *, actor: User, campaign: Campaign, site: Site | None, code: str, pool_size: int | None = None
) -> Tube:
    """Start a tube (its barcode scanned or typed). Re-scanning an open tube of the same site continues it."""
    _require_check_in(actor, campaign)
    raw = code.strip()
    if "/" in raw or codes.household_token_parse(raw) is not None:
        # The household's QR sits beside its members' on every slip; a site's queue QR is on the poster.
        raise ValidationError(
            _("That is a household's or a site's page code, not a tube: scan each person's own code.")
        )
    code = raw.upper()
    if not code:
        raise ValidationError(_("Scan or type the tube's code."))
    if not TUBE_CODE.fullmatch(code):
        raise ValidationError(
            _(
                "“%(code)s” is not a tube code or a person's code: tube codes are 2 to 40 letters, digits and dashes, with a digit."
            )
            % {"code": code[:40]}
        )
    size = pool_size or campaign.pool_size
    if size not in (1, 10, 20):
        raise ValidationError(_("A tube takes 1, 10 or 20 people."))
    if site is not None and site.campaign_id != campaign.pk:
        raise ValidationError(_("This site belongs to another campaign."))
    existing = Tube.objects.filter(campaign=campaign, code=code).first()
    if existing is not None:
        if existing.is_open and existing.site_id == (site.pk if site else None):
            return existing
        raise ValidationError(
            _("Tube %(code)s is already used (%(n)d of %(size)d, opened at %(time)s). Take a new tube.")
            % {
                "code": code,
                "n": existing.members,
                "size": existing.pool_size,
                "time": hm(existing.opened_at),
            }
        )
    try:
        with transaction.atomic():
            tube = Tube.objects.create(
                campaign=campaign, site=site, code=code, pool_size=size, opened_by=actor
            )
    except IntegrityError as exc:  # the same tube scanned on two phones at once
        raise ValidationError(
            _("Tube %(code)s was just opened by someone else. Take a new tube.") % {"code": code}
        ) from exc
    return tube


def tube_seal(*, actor: User, tube: Tube) -> Tube:
    _require_check_in(actor, tube.campaign)
    Tube.objects.filter(pk=tube.pk, sealed_at__isnull=True).update(sealed_at=timezone.now())
    tube.refresh_from_db()
    return tube


def participant_by_code(campaign: Campaign, text: str) -> Participant:
    """The person a scanned code names, in this campaign; a clear refusal otherwise."""
    parsed = codes.person_code_parse(text)
    if parsed is None:
        raise ValidationError(_("This is not a testing code of ours. Search the person by name instead."))
    campaign_id, resident_id = parsed
    if campaign_id != campaign.pk:
        other = Campaign.objects.filter(pk=campaign_id).first()
        if other is not None and other.community_id == campaign.community_id:
            raise ValidationError(
                _("This code is for another campaign (%(name)s, %(day)s), not this one.")
                % {"name": other.name, "day": other.day.isoformat()}
            )
        raise ValidationError(_("This code is from another community's campaign."))
    participant = (
        Participant.objects.filter(campaign=campaign, resident_id=resident_id)
        .select_related("resident", "household__building", "household__entrance", "slot__site")
        .first()
    )
    if participant is None:
        raise ValidationError(
            _("This person is no longer on this campaign's list (moved out since the notice).")
        )
    return participant


def checkin(
    *, actor: User, campaign: Campaign, participant: Participant, tube: Tube, site: Site | None
) -> Participant:
    """Record that a person was sampled into `tube`. A second scan is refused with when and where the first
    was; a full tube is refused; both are decided by conditional updates, so two phones scanning at the
    same moment cannot both win."""
    _require_check_in(actor, campaign)
    if participant.campaign_id != campaign.pk:
        raise ValidationError(_("This person is on another campaign's list."))
    if tube.campaign_id != campaign.pk:
        raise ValidationError(_("This tube belongs to another campaign."))
    _check_where(participant, site, tube)
    now = timezone.now()
    with transaction.atomic():
        won = Participant.objects.filter(pk=participant.pk, checked_in_at__isnull=True).update(
            checked_in_at=now, checked_in_by=actor, checkin_site=site, tube=tube
        )
        if not won:
            raise ValidationError(_already_text(participant))
        added = Tube.objects.filter(
            pk=tube.pk, sealed_at__isnull=True, members__lt=F("pool_size"), result=""
        ).update(members=F("members") + 1)
        if not added:
            tube.refresh_from_db()
            raise ValidationError(
                _("Tube %(code)s is full (%(n)d of %(size)d) or sealed: scan a new tube.")
                % {"code": tube.code, "n": tube.members, "size": tube.pool_size}
            )
        Tube.objects.filter(pk=tube.pk, members=F("pool_size"), sealed_at__isnull=True).update(sealed_at=now)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            target_label=f"{campaign} · {participant.resident.name}",
            detail=_("checked in, tube %(code)s") % {"code": tube.code},
        )
    # The rows as written, without reloading the person (the caller shows their name and household).
    participant.checked_in_at, participant.checked_in_by, participant.checkin_site, participant.tube = (
        now,
        actor,
        site,
        tube,
    )
    tube.refresh_from_db(fields=["members", "sealed_at"])
    if participant.door_task_id:
        _close_door_task(actor, participant)
    return participant


def _check_where(participant: Participant, site: Site | None, tube: Tube) -> None:
    """People under control are sampled apart: at home, or on the separate route, in a single tube."""
    name = participant.resident.name
    if participant.door and site is not None and participant.reason == Reason.HOME_ISOLATION:
        raise ValidationError(
            _(
                "%(name)s is in home isolation and must not be at a site: send them home; they are sampled at home."
            )
            % {"name": name}
        )
    if participant.door and site is not None:
        raise ValidationError(
            _(
                "%(name)s is on the door-to-door list (%(reason)s). If they came anyway, sample them and check them in as door-to-door."
            )
            % {"name": name, "reason": participant.get_reason_display()}
        )
    if participant.lane == Lane.CONTROLLED and site is not None and site.controlled_per_hour == 0:
        raise ValidationError(
            _(
                "%(name)s is under health monitoring: send them to the separate route (%(where)s), not this queue."
            )
            % {"name": name, "where": participant.slot.site.name if participant.slot else _("separate route")}
        )
    if participant.reason in SINGLE_TUBE_REASONS and tube.pool_size != 1:
        raise ValidationError(
            _("%(name)s is under control: sample them in a single tube (scan a new tube, 1 person).")
            % {"name": name}
        )


def _already_text(participant: Participant) -> str:
    current = Participant.objects.filter(pk=participant.pk).select_related("checkin_site", "tube").first()
    if current is None or current.checked_in_at is None:
        return _("This person was just checked in by someone else.")
    return already_text(current)


def already_text(participant: Participant) -> str:
    """ "Already checked in at 09:42 (site, tube T-1)" for a participant loaded with its site and tube."""
    where = participant.checkin_site.name if participant.checkin_site else _("door-to-door")
    return _("Already checked in at %(time)s (%(where)s, tube %(tube)s).") % {
        "time": hm(participant.checked_in_at),
        "where": where,
        "tube": participant.tube.code if participant.tube else "—",
    }


def _close_door_task(actor: User, participant: Participant) -> None:
    """A household's door-to-door task is done when all its members in it are sampled."""
    task_id = participant.door_task_id
    if task_id is None:
        return
    if Participant.objects.filter(door_task_id=participant.door_task_id, checked_in_at__isnull=True).exists():
        return
    task = Task.objects.filter(pk=task_id, status__in=Task.OPEN_STATUSES).first()
    # Someone may close it at the same moment: the check-in itself is recorded either way.
    if task is not None:
        with contextlib.suppress(ValidationError):
            task_set_status(
                actor=actor, task=task, status=Task.Status.DONE, result=_("sampled"), authorised=True
            )


def checkin_undo(*, actor: User, campaign: Campaign, participant: Participant) -> None:
    """Take back a wrong check-in (scanned the neighbour's code) while its tube is still open."""
    _require_check_in(actor, campaign)
    with transaction.atomic():
        p = Participant.objects.select_for_update().get(pk=participant.pk, campaign=campaign)
        if p.checked_in_at is None:
            raise ValidationError(_("This person is not checked in."))
        tube = Tube.objects.select_for_update().get(pk=p.tube_id) if p.tube_id else None
        if tube is not None and tube.result:
            raise ValidationError(_("The tube has a result: the check-in stays."))
        Participant.objects.filter(pk=p.pk).update(
            checked_in_at=None, checked_in_by=None, checkin_site=None, tube=None
        )
        if tube is not None:
            Tube.objects.filter(pk=tube.pk).update(members=F("members") - 1, sealed_at=None)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            target_label=f"{campaign} · {p.resident.name}",
            detail=_("check-in taken back"),
        )


# --- results ----------------------------------------------------------------------------------------


@dataclass
class ResultOutcome:
    tube: Tube
    people: int
    cases: int
    already: int


def tube_result(
    *, actor: User, tube: Tube, result: str, source: str = "", correct: bool = False
) -> ResultOutcome:
    """A tube's result. Negative: each member gets a negative test result. Pooled positive: each member is
    put under control (混管阳性: home until a single-tube retest), which tells their grid worker and the
    commander. A result is recorded once; the same result again is a no-op (a re-uploaded file)."""
    campaign = tube.campaign
    _require_run(actor, campaign)
    if result not in (Tube.Result.NEGATIVE, Tube.Result.POSITIVE):
        raise ValidationError(_("Choose negative or pooled positive."))
    from linli.epidemic.cases import case_open, test_record
    from linli.epidemic.models import ControlCase, TestResult

    with transaction.atomic():
        locked = Tube.objects.select_for_update().get(pk=tube.pk)
        corrected = False
        if locked.result:
            if locked.result == result:
                return ResultOutcome(locked, locked.members, 0, locked.members)
            if not (correct and locked.result == Tube.Result.NEGATIVE and result == Tube.Result.POSITIVE):
                raise ValidationError(
                    _(
                        "Tube %(code)s already has the result %(result)s. A negative can be corrected to a pooled "
                        "positive; to take back a positive, cancel or release the people's control cases."
                    )
                    % {"code": locked.code, "result": locked.get_result_display()}
                )
            # A negative tapped by mistake must not hide a positive: its negative results go.
            corrected = True
            TestResult.objects.filter(
                resident_id__in=Participant.objects.filter(tube=locked).values("resident_id"),
                taken_on=campaign.day,
                result=TestResult.Result.NEGATIVE,
            ).delete()
        if locked.members == 0:
            raise ValidationError(_("Tube %(code)s has nobody in it.") % {"code": locked.code})
        now = timezone.now()
        Tube.objects.filter(pk=locked.pk).update(
            result=result, result_at=now, result_by=actor, sealed_at=locked.sealed_at or now
        )
        members = list(Participant.objects.filter(tube=locked).select_related("resident__household"))
        cases = 0
        already = 0
        label = source or _("mass testing %(day)s, tube %(code)s") % {
            "day": campaign.day.isoformat(),
            "code": locked.code,
        }
        if result == Tube.Result.NEGATIVE:
            TestResult.objects.bulk_create(
                TestResult(
                    community_id=campaign.community_id,
                    resident_id=p.resident_id,
                    taken_on=campaign.day,
                    result=TestResult.Result.NEGATIVE,
                    source=label[:50],
                    recorded_by=actor,
                )
                for p in members
            )
        else:
            control_type = (
                ControlType.objects.filter(
                    Q(community_id=campaign.community_id) | Q(community__isnull=True),
                    key=POOLED_POSITIVE_TYPE,
                    is_active=True,
                )
                .order_by(F("community_id").desc(nulls_last=True))
                .first()
            )
            if control_type is None and locked.pool_size > 1:
                raise ValidationError(_("The control type for pooled positives (混管阳性) is not in use."))
            under_control = set(
                ControlCase.objects.filter(
                    resident_id__in=[p.resident_id for p in members], status=ControlCase.Status.ACTIVE
                ).values_list("resident_id", flat=True)
            )
            for p in members:
                if locked.pool_size == 1:
                    # A single tube's positive is the person's own result: red at once, commander told.
                    test_record(
                        actor=actor, case_or_resident=p.resident, taken_on=campaign.day, result="positive"
                    )
                elif p.resident_id in under_control:
                    already += 1  # the case they are already in decides what happens next
                else:
                    case_open(actor=actor, resident=p.resident, control_type=control_type, note=label)  # type: ignore[arg-type]
                    cases += 1
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            target_label=f"{campaign} · {locked.code}",
            detail=(_("corrected: %(result)s, %(n)d people") if corrected else _("%(result)s, %(n)d people"))
            % {"result": Tube.Result(result).label, "n": len(members)},
        )
        locked.refresh_from_db()
    return ResultOutcome(locked, len(members), cases, already)


# --- closing ----------------------------------------------------------------------------------------


def campaign_close(*, actor: User, campaign: Campaign) -> int:
    """End sampling: everyone not sampled becomes a door-to-door follow-up for their building's grid worker,
    one task per building listing its households (seed 000: confirm door to door that everyone is tested),
    rather than hundreds of tasks on one phone. Returns the tasks."""
    _require_run(actor, campaign)
    if timezone.now() < campaign.at(campaign.starts_at):
        raise ValidationError(
            _("Sampling has not started yet (%(day)s %(time)s): close the campaign after it.")
            % {"day": campaign.day.isoformat(), "time": campaign.starts_at.strftime("%H:%M")}
        )
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.NOTIFIED).update(
            status=Campaign.Status.CLOSED, closed_at=timezone.now()
        )
        if not won:
            campaign.refresh_from_db()
            if campaign.is_closed:
                raise ValidationError(_("This campaign is already closed."))
            raise ValidationError(_("Notices were never sent for this campaign: delete it instead."))
        campaign.refresh_from_db()
        # Households still waiting for door-to-door sampling go to their grid worker with everyone else
        # missed; the medical team's open task ends here (check-in closes with the campaign).
        tasks_cancel(
            Task.objects.filter(source=SOURCE, source_id=campaign.pk, team=Team.MEDICAL),
            reason=_("campaign closed: the grid worker follows up"),
        )
        missed = list(
            Participant.objects.filter(
                campaign=campaign, checked_in_at__isnull=True, followup_task__isnull=True
            )
            .select_related("resident", "household__building", "household__entrance")
            .order_by("building_id", "household_id", "id")
        )
        due = timezone.now() + FOLLOWUP_WITHIN

        def spec(routing: Routing, members: list[Participant]) -> TaskSpec:
            households: dict[int, list[Participant]] = defaultdict(list)
            for p in members:
                households[p.household_id].append(p)
            if len(members) <= FOLLOWUP_NAMES_IN_TITLE:
                who = "、".join(p.resident.name for p in members)
            else:
                who = ngettext(
                    "%(h)d household (%(n)d people)", "%(h)d households (%(n)d people)", len(households)
                ) % {"h": len(households), "n": len(members)}
            lines = [
                f"{people[0].household}: " + "、".join(p.resident.name for p in people)
                for people in households.values()
            ]
            return _spec(
                campaign,
                routing,
                members[0].building_id,
                title=_("Not tested in building %(building)s: %(who)s — confirm at the door")
                % {"building": members[0].household.building.number, "who": who},
                detail=_(
                    "Campaign %(name)s on %(day)s. Find out why (away, ill, refused), arrange sampling, and note it here."
                )
                % {"name": campaign.name, "day": campaign.day.isoformat()}
                + "\n\n"
                + "\n".join(lines),
                due=due,
            )

        specs = _household_tasks(campaign, missed, "followup_task", spec, by=lambda p: p.building_id)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            detail=_("closed: %(n)d people not tested, %(t)d follow-up tasks")
            % {"n": len(missed), "t": len(specs)},
        )
    _notify_tasks(specs, campaign)
    return len(specs)
