"""Running a campaign: opening it, its sites, scheduling, notices, check-in and tubes, results, closing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from linli.comms.services import Message, notify_many
from linli.core.access import community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.bulk import insert_rows
from linli.core.clock import hm
from linli.core.models import AuditLog, User
from linli.core.roles import ADMIN_ROLES, Role
from linli.epidemic.models import ControlType
from linli.epidemic.selectors import Routing, routing_for
from linli.registry.models import Building, Community
from linli.screening import codes, scheduling
from linli.screening.models import Campaign, Lane, Participant, Site, Slot, Tube
from linli.screening.selectors import census
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskSpec, task_set_status, tasks_create

SOURCE = Task.Source.SCREENING
# A missed person is looked for at the door within this time of the campaign's close (seed 000:
# "安排志愿者上门确认是否全员核酸，避免漏检").
FOLLOWUP_WITHIN = dt.timedelta(hours=2)
# Telling a household its new time after a change.
RENOTICE_WITHIN = dt.timedelta(hours=1)
POOLED_POSITIVE_TYPE = "pooled_positive"
MAX_SITES = 20


# --- who may act ------------------------------------------------------------------------------------


def can_run(actor: User, community_id: int) -> bool:
    """The commander (community administrator) or the street office runs a campaign."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if actor.role not in ADMIN_ROLES:
        return False
    ids = community_ids_in_scope(actor)
    return ids is None or community_id in ids


def _require_run(actor: User, campaign: Campaign | Community) -> None:
    community_id = campaign.community_id if isinstance(campaign, Campaign) else campaign.pk
    if not can_run(actor, community_id):
        raise PermissionDenied(
            _("Only the community's commander or the street office runs a testing campaign.")
        )


def can_check_in(actor: User, campaign: Campaign) -> bool:
    """Staff of the community who act (not observers or department systems), and the community's active
    volunteers, who do most of the site work (seed 000: "一组志愿者帮助确认预约码")."""
    if not actor.is_authenticated or not actor.is_active or campaign.is_closed:
        return False
    if actor.is_superuser:
        return True
    if actor.role == Role.VOLUNTEER:
        from linli.volunteers.models import Volunteer

        return Volunteer.objects.filter(
            user=actor, community_id=campaign.community_id, status=Volunteer.Status.ACTIVE
        ).exists()
    if actor.is_read_only or actor.is_outside:
        return False
    ids = community_ids_in_scope(actor)
    return ids is None or campaign.community_id in ids


def _require_check_in(actor: User, campaign: Campaign) -> None:
    if campaign.is_closed:
        raise ValidationError(_("This campaign is closed."))
    if not can_check_in(actor, campaign):
        raise PermissionDenied(_("You cannot check people in for this campaign."))


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
        audit_record(actor=actor, action=action, target=campaign, target_label=f"{campaign} · {site.name}")
    return site


def site_delete(*, actor: User, campaign: Campaign, site: Site) -> None:
    _require_run(actor, campaign)
    _require_open(campaign)
    if site.campaign_id != campaign.pk:
        raise ValidationError(_("This site belongs to another campaign."))
    if Participant.objects.filter(Q(slot__site=site) | Q(checkin_site=site), campaign=campaign).exists():
        raise ValidationError(
            _("People are called to this site or were sampled there. Set its lanes to 0 and schedule again instead (possible until check-in starts).")
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
        if locked.notified_at is not None:
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


def _windows(campaign: Campaign) -> list[tuple[dt.datetime, dt.datetime]]:
    start = campaign.at(campaign.starts_at)
    end = campaign.at(campaign.ends_at)
    step = dt.timedelta(minutes=campaign.slot_minutes)
    windows = []
    while start + step <= end:
        windows.append((start, start + step))
        start += step
    return windows


def campaign_schedule(*, actor: User, campaign: Campaign) -> ScheduleSummary:
    """Count the area again, call every household to a slot and send the rest to door-to-door sampling.
    Scheduling again before check-in starts keeps everyone's code (codes are per person, not per slot) and
    re-sends the notice to households whose time changed."""
    _require_run(actor, campaign)
    _require_open(campaign)
    given = campaign
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _require_open(campaign)
        if Participant.objects.filter(campaign=campaign, checked_in_at__isnull=False).exists():
            raise ValidationError(
                _("Check-in has started: move single buildings to another time instead of scheduling again.")
            )
        sites = list(campaign.sites.all())
        counted = census(
            campaign.community_id, list(campaign.buildings.values_list("id", flat=True)), campaign.day
        )
        windows = _windows(campaign)
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
        previous = {
            resident_id: (site_id, start)
            for resident_id, site_id, start in Participant.objects.filter(
                campaign=campaign, notified_start__isnull=False
            ).values_list("resident_id", "notified_site_id", "notified_start")
        }
        old_tasks = dict(
            Participant.objects.filter(campaign=campaign, door_task__isnull=False).values_list(
                "resident_id", "door_task_id"
            )
        )
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
        rows = []
        for e in counted.entries:
            place = planned.placed.get(e.resident_id)
            lane, reason, door = e.lane, e.reason, e.door
            slot_id = None
            if e.resident_id in no_route:
                lane, door = "", True
            elif place is not None:
                site_id, lane, window = place
                slot_id = slot_ids[(site_id, lane, windows[window][0])]
            notified = previous.get(e.resident_id)
            rows.append(
                (
                    campaign.pk,
                    e.resident_id,
                    e.household_id,
                    e.building_id,
                    e.grid_id,
                    lane,
                    reason,
                    door,
                    slot_id,
                    notified[0] if notified else None,
                    notified[1] if notified else None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    old_tasks.get(e.resident_id),
                    None,
                )
            )
        insert_rows(Participant, PARTICIPANT_COLUMNS, rows)
        campaign.counts = counted.counts
        campaign.scheduled_at = timezone.now()
        if campaign.status == Campaign.Status.DRAFT:
            campaign.status = Campaign.Status.SCHEDULED
        campaign.save(update_fields=["counts", "scheduled_at", "status"])
        renotified = _renotify_changed(campaign, actor) if campaign.notified_at else 0
        if campaign.notified_at:
            _door_tasks(campaign, actor)
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
        door=sum(1 for r in rows if r[7]),
        slots_used=sum(1 for s in planned.slots.values() if s.load),
        max_load=top.load if top else 0,
        max_capacity=top.capacity if top else 0,
        renotified=renotified,
        controlled_from=windows[planned.controlled_from][0]
        if planned.controlled_from is not None and planned.controlled_from < len(windows)
        else None,
    )


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
    lift broken). They keep their households together and fill the slots from `start` on, within capacity.
    Returns how many people moved; those already told their time are told again."""
    _require_run(actor, campaign)
    _require_open(campaign)
    if site.campaign_id != campaign.pk or building.community_id != campaign.community_id:
        raise ValidationError(_("The site or the building belongs to another campaign."))
    with transaction.atomic():
        people = list(
            Participant.objects.select_for_update()
            .filter(campaign=campaign, building=building, door=False, checked_in_at__isnull=True)
            .select_related("slot")
            .order_by("household_id", "id")
        )
        if not people:
            raise ValidationError(_("Nobody in this building is waiting for a slot."))
        slots = list(
            Slot.objects.select_for_update()
            .filter(campaign=campaign, site=site, starts_at__gte=start)
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
        _tell_workers(
            campaign,
            _("Testing on %(day)s: print and post your buildings' notices, hand out the household slips")
            % {"day": campaign.day.isoformat()},
        )
    return households


def _mark_notified(participants: QuerySet[Participant]) -> None:
    """Record each person's current slot as the one their household was told (one UPDATE)."""
    slot = Slot.objects.filter(pk=OuterRef("slot_id"))
    participants.update(
        notified_site_id=Subquery(slot.values("site_id")[:1]),
        notified_start=Subquery(slot.values("starts_at")[:1]),
    )


def _tell_workers(campaign: Campaign, title: str) -> None:
    routing = routing_for(campaign.community_id)
    building_ids = set(
        Participant.objects.filter(campaign=campaign).values_list("building_id", flat=True).distinct()
    )
    users = {routing.for_building(b)[1] or routing.for_building(b)[2] for b in building_ids}
    users.discard(None)
    url = campaign.get_absolute_url()
    notify_many(Message(user_id=u, title=title, url=url) for u in users if u)


def _renotify_changed(campaign: Campaign, actor: User | None) -> int:
    """Households whose time changed after they were told get a new notice: a task for the building's
    grid worker with each household's new time, and the household's own page says it changed."""
    changed = list(
        Participant.objects.filter(campaign=campaign, notified_start__isnull=False, slot__isnull=False)
        .exclude(notified_site_id=F("slot__site_id"), notified_start=F("slot__starts_at"))
        .select_related("household__building", "household__entrance", "slot__site")
        .order_by("building_id", "household_id")
    )
    newly_told = list(
        Participant.objects.filter(
            campaign=campaign, notified_start__isnull=True, slot__isnull=False
        ).values_list("id", flat=True)
    )
    if not changed and not newly_told:
        return 0
    now = timezone.now()
    routing = routing_for(campaign.community_id)
    by_building: dict[int, dict[int, Participant]] = defaultdict(dict)
    for p in changed:
        by_building[p.building_id].setdefault(p.household_id, p)
    specs = []
    for building_id, households in by_building.items():
        lines = [
            f"{p.household}: {p.slot.site.name} {p.slot}"  # type: ignore[union-attr]
            for p in households.values()
        ]
        specs.append(
            _spec(
                campaign,
                routing,
                building_id,
                title=ngettext(
                    "Tell %(n)d household in building %(b)s its new testing time",
                    "Tell %(n)d households in building %(b)s their new testing time",
                    len(households),
                )
                % {"n": len(households), "b": next(iter(households.values())).household.building.number},
                detail="\n".join(lines),
                due=now + RENOTICE_WITHIN,
            )
        )
    tasks_create(specs)
    ids = [p.pk for p in changed]
    Participant.objects.filter(pk__in=ids).update(slot_changed_at=now)
    _mark_notified(Participant.objects.filter(pk__in=ids + newly_told))
    _notify_tasks(specs, campaign)
    return len(ids)


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
    grid_id, worker_id, leader_id = routing.for_building(building_id)
    if team:
        return TaskSpec(
            title=title,
            detail=detail,
            due_at=due,
            community_id=campaign.community_id,
            grid_id=grid_id,
            team=team,
            position_title=str(Team(team).label),
            leader_id=leader_id or routing.commander_id,
            commander_id=routing.commander_id,
            source=SOURCE,
            source_id=campaign.pk,
        )
    return TaskSpec(
        title=title,
        detail=detail,
        due_at=due,
        community_id=campaign.community_id,
        grid_id=grid_id,
        assignee_id=worker_id or leader_id,
        leader_id=leader_id or routing.commander_id,
        commander_id=routing.commander_id,
        source=SOURCE,
        source_id=campaign.pk,
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
    medical team, due by the end of sampling."""
    waiting = list(
        Participant.objects.filter(
            campaign=campaign, door=True, door_task__isnull=True, checked_in_at__isnull=True
        )
        .select_related("resident", "household__building", "household__entrance")
        .order_by("building_id", "household_id", "id")
    )
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
) -> list[TaskSpec]:
    """One task per household of `participants` (in calling order), linked from each member's `field`."""
    if not participants:
        return []
    households: dict[int, list[Participant]] = defaultdict(list)
    for p in participants:
        households[p.household_id].append(p)
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
    code = "".join(code.split()).upper()[:40]
    if not code:
        raise ValidationError(_("Scan or type the tube's code."))
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
                _("This code is for another campaign (%(name)s, %(day)s), not today's.")
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
                _(
                    "Tube %(code)s is full (%(n)d of %(size)d) or sealed: scan a new tube, then this person again."
                )
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
    if task is not None:
        task_set_status(actor=actor, task=task, status=Task.Status.DONE, result=_("sampled"), authorised=True)


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


def tube_result(*, actor: User, tube: Tube, result: str, source: str = "") -> ResultOutcome:
    """A tube's result. Negative: each member gets a negative test result. Pooled positive: each member is
    put under control (混管阳性: home until a single-tube retest), which tells their grid worker and the
    commander. A result is recorded once; the same result again is a no-op (a re-uploaded file)."""
    campaign = tube.campaign
    _require_run(actor, campaign)
    if result not in (Tube.Result.NEGATIVE, Tube.Result.POSITIVE):
        raise ValidationError(_("Choose negative or pooled positive."))
    from linli.epidemic.cases import case_open
    from linli.epidemic.models import TestResult

    with transaction.atomic():
        locked = Tube.objects.select_for_update().get(pk=tube.pk)
        if locked.result:
            if locked.result == result:
                return ResultOutcome(locked, locked.members, 0, locked.members)
            raise ValidationError(
                _("Tube %(code)s already has the result %(result)s; a correction goes through the CDC.")
                % {"code": locked.code, "result": locked.get_result_display()}
            )
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
            if control_type is None:
                raise ValidationError(_("The control type for pooled positives (混管阳性) is not in use."))
            for p in members:
                try:
                    with transaction.atomic():
                        case_open(actor=actor, resident=p.resident, control_type=control_type, note=label)
                    cases += 1
                except ValidationError:
                    already += 1  # already under control: the case they are in decides
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            target_label=f"{campaign} · {locked.code}",
            detail=_("%(result)s, %(n)d people") % {"result": Tube.Result(result).label, "n": len(members)},
        )
        locked.refresh_from_db()
    return ResultOutcome(locked, len(members), cases, already)


# --- closing ----------------------------------------------------------------------------------------


def campaign_close(*, actor: User, campaign: Campaign) -> int:
    """End sampling: everyone not sampled becomes a door-to-door follow-up for their building's grid worker,
    one task per household (seed 000: confirm door to door that everyone is tested). Returns the tasks."""
    _require_run(actor, campaign)
    with transaction.atomic():
        won = (
            Campaign.objects.filter(pk=campaign.pk)
            .exclude(status__in=[Campaign.Status.CLOSED, Campaign.Status.DRAFT])
            .update(status=Campaign.Status.CLOSED, closed_at=timezone.now())
        )
        if not won:
            campaign.refresh_from_db()
            if campaign.status == Campaign.Status.DRAFT:
                raise ValidationError(_("This campaign was never scheduled: delete it instead."))
            raise ValidationError(_("This campaign is already closed."))
        campaign.refresh_from_db()
        missed = list(
            Participant.objects.filter(
                campaign=campaign, checked_in_at__isnull=True, followup_task__isnull=True
            )
            .select_related("resident", "household__building", "household__entrance")
            .order_by("building_id", "household_id", "id")
        )
        due = timezone.now() + FOLLOWUP_WITHIN

        def spec(routing: Routing, members: list[Participant]) -> TaskSpec:
            return _spec(
                campaign,
                routing,
                members[0].building_id,
                title=_("Not tested: %(address)s %(names)s — confirm at the door")
                % {"address": members[0].household, "names": "、".join(p.resident.name for p in members)},
                detail=_(
                    "Campaign %(name)s on %(day)s. Find out why (away, ill, refused), arrange sampling, and note it here."
                )
                % {"name": campaign.name, "day": campaign.day.isoformat()},
                due=due,
            )

        specs = _household_tasks(campaign, missed, "followup_task", spec)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=campaign,
            detail=_("closed: %(n)d people not tested, %(t)d follow-up tasks")
            % {"n": len(missed), "t": len(specs)},
        )
    _notify_tasks(specs, campaign)
    return len(specs)
