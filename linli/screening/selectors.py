"""Reading campaigns: the one access function, the count of who is to be tested, coverage and the queue."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Length
from django.http import Http404
from django.utils import timezone

from linli.core.access import community_ids_in_scope
from linli.core.models import User
from linli.core.roles import Role, ScopeLevel
from linli.epidemic.models import ControlCase, Measure
from linli.registry.models import Building, Residency, Resident, SpecialCare, SpecialKind
from linli.screening.models import Campaign, Lane, Participant, Reason, Site, Slot

# Children go to the priority lane with a parent (China's statistics count 0–14 as children).
CHILD_MAX_AGE = 14
PRIORITY_KINDS = frozenset({SpecialKind.DISABLED, SpecialKind.NEEDS_HELP, SpecialKind.PREGNANT})


def campaigns_for(actor: User) -> QuerySet[Campaign]:
    ids = community_ids_in_scope(actor)
    qs = Campaign.objects.select_related("community")
    if ids is None:
        return qs
    return qs.filter(community_id__in=ids)


def with_progress(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Each campaign with `people` (called) and `tested` (checked in)."""
    return campaigns.annotate(
        people=Count("participants"),
        tested=Count("participants", filter=Q(participants__checked_in_at__isnull=False)),
    )


def campaigns_under_way(actor: User) -> list[Campaign]:
    """Today's and tomorrow's campaigns that are not closed, with their progress (the home page)."""
    today = timezone.localdate()
    return list(
        with_progress(campaigns_for(actor))
        .filter(day__in=[today, today + dt.timedelta(days=1)])
        .exclude(status=Campaign.Status.CLOSED)
        .order_by("day", "starts_at")[:5]
    )


def campaign_get(actor: User, pk: int) -> Campaign:
    """Every campaign page loads its campaign here: out of scope is a 404."""
    campaign = campaigns_for(actor).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def active_volunteer_communities(actor: User) -> QuerySet[Any]:
    """The community of the actor's volunteer record while it is active (none otherwise), as a subquery."""
    from linli.volunteers.models import Volunteer

    return Volunteer.objects.filter(user=actor, status=Volunteer.Status.ACTIVE).values("community_id")


def checkin_campaigns_for(actor: User) -> QuerySet[Campaign]:
    """Campaigns the actor may check people in for. Volunteers have no scope of their own: theirs are the
    campaigns of the community their active volunteer record belongs to. Observers and department accounts
    get none."""
    if not actor.is_authenticated or not actor.is_active:
        return Campaign.objects.none()
    if actor.role == Role.VOLUNTEER and not actor.is_superuser:
        return Campaign.objects.select_related("community").filter(
            community_id__in=active_volunteer_communities(actor)
        )
    if actor.is_read_only or actor.is_outside:
        return Campaign.objects.none()
    return campaigns_for(actor)


def checkin_campaign_get(actor: User, pk: int) -> Campaign:
    """The campaign the check-in page works on; anything else is a 404. A closed campaign still loads, so a
    stale phone says "closed" rather than "not found"."""
    campaign = checkin_campaigns_for(actor).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def campaign_building(actor: User, campaign: Campaign, raw: str, *, names: bool) -> Building | None:
    """The building a campaign page is asked about (?building=<id>); a wrong one is a 404. Where the page
    shows who lives there (`names`), grid staff get only their own grid's buildings, as everywhere else."""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    building = Building.objects.filter(pk=int(raw), community_id=campaign.community_id).first()
    if building is None:
        raise Http404
    if (
        names
        and not actor.is_superuser
        and actor.scope_level == ScopeLevel.GRID
        and building.grid_id != actor.grid_id
    ):
        raise Http404
    return building


# What a check-in verdict, a search result or a pending person shows.
PARTICIPANT_RELATED = (
    "resident",
    "household__building",
    "household__entrance",
    "slot__site",
    "tube",
    "checkin_site",
)


def participants_search(
    campaign: Campaign, text: str, limit: int, *, at: Site | None = None, at_only: bool = False
) -> list[Participant]:
    """The campaign's people by name, room ("301") or building and room ("3-301"); those still to be sampled
    first. Deliberately not by phone or ID number: volunteers use this at the site. With `at_only`, only the
    people called to the site `at` (None: those sampled at home)."""
    text = text.strip()[:50]
    if not text:
        return []
    parts = re.split(r"[-－—\s]+", text)
    if len(parts) == 2 and all(parts):
        cond = Q(household__building__number=parts[0], household__room=parts[1])
    elif text.isdigit():
        cond = Q(household__room=text)
    else:
        cond = Q(name__contains=text)
    residents = Resident.objects.filter(community_id=campaign.community_id).filter(cond).values("id")
    where = Q(campaign=campaign, resident_id__in=residents)
    if at_only:  # only the people called to one site (None: those sampled at home)
        where &= Q(slot__site=at) if at is not None else Q(door=True)
    rows = (
        Participant.objects.filter(where)
        .select_related(*PARTICIPANT_RELATED)
        .order_by("building_id", "household_id", "id")
    )
    waiting = list(rows.filter(checked_in_at__isnull=True)[:limit])
    done = list(rows.filter(checked_in_at__isnull=False)[: max(0, limit - len(waiting))])
    return waiting + done


def recent_checkins(actor: User, campaign: Campaign, site: Site | None, limit: int) -> list[Participant]:
    """The actor's own last check-ins at a site (None: door to door), newest first."""
    qs = Participant.objects.filter(campaign=campaign, checked_in_by=actor, checked_in_at__isnull=False)
    qs = qs.filter(checkin_site=site) if site is not None else qs.filter(checkin_site__isnull=True)
    return list(
        qs.select_related("resident", "household__building", "household__entrance", "tube").order_by(
            "-checked_in_at", "-id"
        )[:limit]
    )


# --- who is to be tested ---------------------------------------------------------------------------


class Entry(NamedTuple):
    resident_id: int
    household_id: int
    building_id: int
    grid_id: int | None
    lane: str  # "" when sampled at home
    reason: str
    door: bool


@dataclass
class Census:
    entries: list[Entry] = field(default_factory=list)  # in calling order: building, entrance, room
    counts: dict[str, int] = field(default_factory=dict)


def classify(age: int, kinds: set[str], measure: str | None) -> tuple[str, str, bool] | None:
    """(lane, reason, sampled at home) for one person; None for someone away in central isolation, who is
    sampled at the isolation point rather than in the community."""
    if measure == Measure.CENTRAL:
        return None
    if measure == Measure.HOME:
        return "", Reason.HOME_ISOLATION, True
    if SpecialKind.BED_BOUND in kinds:
        return "", Reason.BED_BOUND, True
    if measure == Measure.MONITOR:
        return Lane.CONTROLLED, Reason.CONTROLLED, False
    if age >= 80:
        return Lane.PRIORITY, Reason.OVER_80, False
    if age < CHILD_MAX_AGE:
        return Lane.PRIORITY, Reason.CHILD, False
    if kinds & PRIORITY_KINDS:
        return Lane.PRIORITY, Reason.SPECIAL, False
    return Lane.NORMAL, Reason.NONE, False


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def census(community_id: int, building_ids: list[int], day: dt.date) -> Census:
    """The people actually living in the area (seed 000: "家庭户数、人员数量排摸") with the special groups and
    the people under control counted separately."""
    residents = Resident.objects.filter(
        community_id=community_id, residency__in=[Residency.BOTH, Residency.LIVING]
    )
    if building_ids:
        residents = residents.filter(household__building_id__in=building_ids)
    rows = list(
        residents.order_by(
            "household__building__sort_key",
            "household__building__number",
            "household__entrance__number",
            Length("household__room"),
            "household__room",
            "id",
        ).values_list("id", "household_id", "household__building_id", "grid_id", "birth_date")
    )
    ids_filter = Q(resident__community_id=community_id)
    kinds: dict[int, set[str]] = defaultdict(set)
    for resident_id, kind in SpecialCare.objects.filter(ids_filter).values_list("resident_id", "kind"):
        kinds[resident_id].add(kind)
    measures: dict[int, str] = dict(
        ControlCase.objects.filter(community_id=community_id, status=ControlCase.Status.ACTIVE).values_list(
            "resident_id", "measure"
        )
    )
    result = Census()
    counts: Counter[str] = Counter()
    households: set[int] = set()
    entries = result.entries
    # Ages by comparing birth dates with two cut-offs, not by computing each person's age.
    over_80_born = _years_before(day, 80)  # born on or before: 80 or older on the day
    child_born = _years_before(day, CHILD_MAX_AGE)  # born after: younger than 14
    normal, no_reason = Lane.NORMAL.value, Reason.NONE.value
    for resident_id, household_id, building_id, grid_id, born in rows:
        person_kinds = kinds.get(resident_id)
        measure = measures.get(resident_id)
        if born <= over_80_born:
            counts["over_80"] += 1
        elif born > child_born:
            counts["children"] += 1
        elif person_kinds is None and measure is None:
            # Most people: an adult with no tag and no case goes to the normal lane.
            households.add(household_id)
            entries.append(Entry(resident_id, household_id, building_id, grid_id, normal, no_reason, False))
            continue
        person_kinds = person_kinds or set()
        if SpecialKind.DISABLED in person_kinds:
            counts["disabled"] += 1
        if SpecialKind.BED_BOUND in person_kinds:
            counts["bed_bound"] += 1
        if measure:
            counts["controlled"] += 1
            counts[f"measure_{measure}"] += 1
        how = classify(_age(born, day), person_kinds, measure)
        if how is None:
            counts["away"] += 1
            continue
        lane, reason, door = how
        households.add(household_id)
        entries.append(Entry(resident_id, household_id, building_id, grid_id, lane, reason, door))
    for entry in entries:
        counts["door" if entry.door else f"lane_{entry.lane}"] += 1
    counts["people"] = len(entries)
    counts["households"] = len(households)
    result.counts = dict(counts)
    return result


# --- coverage --------------------------------------------------------------------------------------


@dataclass
class BuildingCoverage:
    building_id: int
    number: str
    people: int = 0
    tested: int = 0
    households: int = 0
    households_done: int = 0
    households_partial: int = 0
    door: int = 0
    door_done: int = 0

    @property
    def missing(self) -> int:
        return self.people - self.tested

    @property
    def percent(self) -> int:
        return round(100 * self.tested / self.people) if self.people else 100


@dataclass
class Coverage:
    buildings: list[BuildingCoverage]
    people: int
    tested: int
    households: int
    households_done: int
    door: int
    door_done: int

    @property
    def percent(self) -> int:
        return round(100 * self.tested / self.people) if self.people else 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "tested": self.tested,
            "missing": self.people - self.tested,
            "percent": self.percent,
            "households": self.households,
            "households_done": self.households_done,
            "door": self.door,
            "door_done": self.door_done,
            "buildings": [
                {
                    "building": b.number,
                    "people": b.people,
                    "tested": b.tested,
                    "missing": b.missing,
                    "households": b.households,
                    "households_done": b.households_done,
                    "households_partial": b.households_partial,
                    "door": b.door,
                    "door_done": b.door_done,
                }
                for b in self.buildings
            ],
        }


def coverage(campaign: Campaign) -> Coverage:
    """Who has been sampled, by building and household, from one grouped query."""
    rows = (
        Participant.objects.filter(campaign=campaign)
        .values("building_id", "household_id")
        .annotate(
            n_people=Count("id"),
            n_tested=Count("id", filter=Q(checked_in_at__isnull=False)),
            n_door=Count("id", filter=Q(door=True)),
            n_door_done=Count("id", filter=Q(door=True, checked_in_at__isnull=False)),
        )
    )
    by_building: dict[int, BuildingCoverage] = {}
    for row in rows:
        b = by_building.get(row["building_id"])
        if b is None:
            b = by_building[row["building_id"]] = BuildingCoverage(row["building_id"], "")
        b.people += row["n_people"]
        b.tested += row["n_tested"]
        b.households += 1
        b.door += row["n_door"]
        b.door_done += row["n_door_done"]
        if row["n_tested"] == row["n_people"]:
            b.households_done += 1
        elif row["n_tested"]:
            b.households_partial += 1
    order: dict[int, int] = {}
    for pk, number, sort_key in Building.objects.filter(pk__in=list(by_building)).values_list(
        "id", "number", "sort_key"
    ):
        by_building[pk].number, order[pk] = number, sort_key
    buildings = sorted(by_building.values(), key=lambda b: (order.get(b.building_id, 0), b.number))
    return Coverage(
        buildings=buildings,
        people=sum(b.people for b in buildings),
        tested=sum(b.tested for b in buildings),
        households=sum(b.households for b in buildings),
        households_done=sum(b.households_done for b in buildings),
        door=sum(b.door for b in buildings),
        door_done=sum(b.door_done for b in buildings),
    )


def missing_people(campaign: Campaign, building_id: int | None = None) -> QuerySet[Participant]:
    qs = Participant.objects.filter(campaign=campaign, checked_in_at__isnull=True)
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    return qs.select_related("resident", "household__building", "household__entrance", "slot")


# --- the schedule as people read it -----------------------------------------------------------------


@dataclass
class SlotRow:
    """One time window of one site: its lanes' loads and capacities and the buildings called."""

    site: Site
    batch: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    lanes: dict[str, Slot] = field(default_factory=dict)
    buildings: list[str] = field(default_factory=list)

    @property
    def load(self) -> int:
        return sum(s.load for s in self.lanes.values())

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.lanes.values())

    @property
    def cells(self) -> list[Slot | None]:
        """The normal, priority and separate-route slots, in that order (None where the site has no lane)."""
        return [self.lanes.get(lane) for lane in Lane.values]


def schedule_rows(campaign: Campaign, *, used_only: bool = True, site: Site | None = None) -> list[SlotRow]:
    slot_filter = Q(campaign=campaign) if site is None else Q(campaign=campaign, site=site)
    slots = list(
        Slot.objects.filter(slot_filter)
        .select_related("site")
        .order_by("starts_at", "site__order", "site_id")
    )
    called: dict[int, list[str]] = defaultdict(list)
    numbers = dict(Building.objects.filter(community_id=campaign.community_id).values_list("id", "number"))
    called_filter = Q(campaign=campaign, slot__isnull=False)
    if site is not None:
        called_filter &= Q(slot__site=site)
    for slot_id, building_id in (
        Participant.objects.filter(called_filter)
        .values_list("slot_id", "building_id")
        .distinct()
        .order_by("slot_id", "building_id")
    ):
        called[slot_id].append(numbers.get(building_id, "?"))
    rows: dict[tuple[int, dt.datetime], SlotRow] = {}
    for slot in slots:
        key = (slot.site_id, slot.starts_at)
        row = rows.get(key)
        if row is None:
            row = rows[key] = SlotRow(slot.site, slot.batch, slot.starts_at, slot.ends_at)
        row.lanes[slot.lane] = slot
        for number in called.get(slot.pk, []):
            if number not in row.buildings:
                row.buildings.append(number)
    result = [r for r in rows.values() if r.load or not used_only]
    return result


@dataclass
class GridRow:
    batch: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    cells: list[SlotRow | None]  # one per site, in the sites' order


def schedule_grid(campaign: Campaign, sites: list[Site]) -> list[GridRow]:
    """The schedule as one row per time slot and one column per site."""
    rows: dict[dt.datetime, GridRow] = {}
    column = {site.pk: n for n, site in enumerate(sites)}
    for slot_row in schedule_rows(campaign):
        row = rows.get(slot_row.starts_at)
        if row is None:
            row = rows[slot_row.starts_at] = GridRow(
                slot_row.batch, slot_row.starts_at, slot_row.ends_at, [None] * len(sites)
            )
        row.cells[column[slot_row.site.pk]] = slot_row
    return sorted(rows.values(), key=lambda r: r.starts_at)


# --- the public queue -------------------------------------------------------------------------------


@dataclass
class Queue:
    site: Site
    campaign: Campaign
    current: SlotRow | None
    upcoming: list[SlotRow]
    waiting: int
    per_minute: float
    wait_minutes: int | None
    done: int
    called: int


QUEUE_WINDOW = dt.timedelta(minutes=15)
# Fewer check-ins than this in the window say nothing about the pace (one scan would mean hours of waiting).
PACE_SAMPLE = 10


def site_queue(site: Site, now: dt.datetime | None = None) -> Queue:
    """What the queue page shows: the slot being called, the next ones, and how long a newcomer waits: the
    people called to this slot and the one before who are not sampled yet (earlier no-shows are not in the
    queue), over the site's pace in the last 15 minutes (its planned capacity until there is a pace)."""
    now = now or timezone.now()
    campaign = site.campaign
    rows = schedule_rows(campaign, site=site)
    current = next((r for r in rows if r.starts_at <= now < r.ends_at), None)
    upcoming = [r for r in rows if r.starts_at > now][:3]
    site_people = Participant.objects.filter(campaign=campaign, slot__site=site)
    called = site_people.filter(slot__starts_at__lte=now).count()
    done = site_people.filter(checked_in_at__isnull=False).count()
    waiting = site_people.filter(
        slot__starts_at__lte=now,
        slot__ends_at__gt=now - dt.timedelta(minutes=campaign.slot_minutes),
        checked_in_at__isnull=True,
    ).count()
    recent = Participant.objects.filter(
        campaign=campaign, checkin_site=site, checked_in_at__gt=now - QUEUE_WINDOW, checked_in_at__lte=now
    ).count()
    if recent >= PACE_SAMPLE:
        per_minute = recent / (QUEUE_WINDOW.total_seconds() / 60)
    else:
        per_minute = sum(site.per_hour(lane) for lane in (Lane.NORMAL, Lane.PRIORITY)) / 60
    wait = round(waiting / per_minute) if per_minute else None
    return Queue(site, campaign, current, upcoming, waiting, per_minute, wait, done, called)
