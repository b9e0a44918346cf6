"""Key sites (seed 001: 重点场所): their rules, the twice-daily disinfection log, environmental samples with
published results, and the scan that turns a missed disinfection or an overdue sample into a task.

Disinfection is logged by staff signed in on a phone, never through the site's public link: that link is
printed as a QR code on the marker at the site's door, so anyone passing could read it, and a log anyone
can write proves nothing. The person who did the round is recorded by name (`done_by`), the staff account
that logged it as `recorded_by`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.comms.models import Notification
from linli.comms.services import Message, notify_many
from linli.core.access import acts, administers, scope_q
from linli.core.audit import audit_record, diff
from linli.core.clock import local_at
from linli.core.identity import InvalidIdentity, normalize_optional_phone
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.epidemic.selectors import Routing, routing_for
from linli.health.models import Disinfection, EnvSample, KeySite, SiteKind, new_token
from linli.registry.models import Building, Community, Grid
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskConflict, TaskSpec, task_set_status, tasks_create

SOURCE = Task.Source.KEY_SITE
# A round logged within this time of its scheduled time is on time; after it, the slot is missed and the
# scan alerts the site's grid worker.
GRACE = dt.timedelta(minutes=60)
# A round may be logged this long before its time (a cleaner who starts early), not earlier.
EARLY = dt.timedelta(minutes=90)
# How far back a forgotten round may still be logged (a worker back from a night shift).
BACKFILL_DAYS = 2
COLD_CHAIN_SAMPLE_DAYS = 3
MAX_SLOTS = 6
MAX_SAMPLES = 100
# The grid worker has this long to disinfect (or log) after a missed-round alert.
ALERT_WITHIN = dt.timedelta(minutes=30)
SAMPLE_WITHIN = dt.timedelta(hours=4)
POSITIVE_WITHIN = dt.timedelta(hours=1)
_TIME = re.compile(r"^([01]?\d|2[0-3])[:：.]([0-5]\d)$")

# The rules a site of each kind starts with (seed 001); the community edits them. Kept in the site's
# language when saved: they are posted at the site and shown on its public page.
DEFAULT_RULES: dict[str, list[Any]] = {
    SiteKind.SUPERMARKET: [
        gettext_lazy("Scan the venue code and take the temperature at the entrance"),
        gettext_lazy("Limit the number of shoppers inside; queue 1 metre apart"),
        gettext_lazy("Masks on for staff and shoppers"),
        gettext_lazy("Disinfect trolleys, baskets, counters and lifts at 07:00 and 19:00"),
    ],
    SiteKind.MARKET: [
        gettext_lazy("Scan the venue code and take the temperature at the entrance"),
        gettext_lazy("Limit the number of shoppers inside; queue 1 metre apart"),
        gettext_lazy("Masks on for stallholders and shoppers"),
        gettext_lazy("Disinfect stalls, floors and drains at 07:00 and 19:00"),
    ],
    SiteKind.SCHOOL: [
        gettext_lazy(
            "Morning and afternoon health checks with temperatures for every child and staff member"
        ),
        gettext_lazy("Closed campus: no visitors; parents hand over and collect at the gate"),
        gettext_lazy("Follow up the same day on every absence because of illness"),
        gettext_lazy("Ventilate classrooms; disinfect at 07:00 and 19:00"),
    ],
    SiteKind.EXPRESS: [
        gettext_lazy("Contactless delivery: parcels left at the collection point"),
        gettext_lazy("Disinfect the outer packaging of every parcel"),
        gettext_lazy("Couriers wear masks and take their temperature every day"),
        gettext_lazy("Disinfect the counter and shelves at 07:00 and 19:00"),
    ],
    SiteKind.COLD_CHAIN: [
        gettext_lazy(
            "Imported cold-chain food: check the three certificates (quarantine, nucleic acid test, "
            "disinfection) before sale"
        ),
        gettext_lazy("Staff take their temperature every day"),
        gettext_lazy("Environmental samples every 3 days"),
        gettext_lazy("Disinfect cold stores, counters and packaging at 07:00 and 19:00"),
    ],
    SiteKind.NURSING_HOME: [
        gettext_lazy("Closed management: residents stay in, staff stay on site"),
        gettext_lazy("Visits by appointment only"),
        gettext_lazy("Temperatures of residents and staff twice a day"),
        gettext_lazy("Disinfect rooms and shared areas at 07:00 and 19:00"),
    ],
    SiteKind.PHARMACY: [
        gettext_lazy(
            "Fever, cough, antiviral and antibiotic medicines sold only with real-name registration"
        ),
        gettext_lazy("Report every buyer to the community within 2 hours"),
        gettext_lazy("Scan the venue code and take the temperature at the entrance"),
        gettext_lazy("Disinfect the counter at 07:00 and 19:00"),
    ],
    SiteKind.CLINIC: [
        gettext_lazy("Pre-check and triage at the door; fever patients go to the fever clinic"),
        gettext_lazy("Masks on for everyone"),
        gettext_lazy("Disinfect waiting areas at 07:00 and 19:00"),
    ],
    SiteKind.OTHER: [
        gettext_lazy("Scan the venue code and take the temperature at the entrance"),
        gettext_lazy("Masks on; keep 1 metre apart"),
        gettext_lazy("Disinfect at 07:00 and 19:00"),
    ],
}


def default_rules(kind: str) -> str:
    """The starting rules for a kind of site, one a line, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return "\n".join(str(rule) for rule in DEFAULT_RULES.get(kind, DEFAULT_RULES[SiteKind.OTHER]))


def default_rules_by_kind() -> dict[str, str]:
    return {kind: default_rules(kind) for kind in SiteKind.values}


# --- who may act ------------------------------------------------------------------------------------


def can_manage_sites(actor: User, community_id: int | None = None) -> bool:
    """The commander (community administrator) and the street office register sites and set their rules."""
    return administers(actor, community_id)


def can_record(actor: User) -> bool:
    """Staff who act log disinfection and samples at a site they can see; observers and department systems
    only look."""
    return acts(actor)


def _require_record(actor: User) -> None:
    if not can_record(actor):
        raise PermissionDenied(_("Your role may look at key sites but not log anything."))


# --- reading ----------------------------------------------------------------------------------------


def key_sites_q(actor: User) -> Q:
    """Sites of the actor's area: grid staff see their grid's sites and the community-wide ones (no grid)."""
    if not actor.is_authenticated or not actor.is_active:
        return Q(pk__in=[])
    return (Q(grid__isnull=True) & scope_q(actor, grid=None)) | (Q(grid__isnull=False) & scope_q(actor))


def key_sites_qs(actor: User, *, include_inactive: bool = False) -> QuerySet[KeySite]:
    qs = KeySite.objects.filter(key_sites_q(actor))
    return qs if include_inactive else qs.filter(active=True)


def key_site_get(actor: User, pk: int) -> KeySite:
    """Every staff page of a site loads it here: out of scope is a 404."""
    site = (
        key_sites_qs(actor, include_inactive=True)
        .select_related("community", "grid", "building")
        .filter(pk=pk)
        .first()
    )
    if site is None:
        raise Http404
    return site


def key_site_by_token(token: str) -> KeySite:
    """The site of a public link; an old or unknown token, or a site out of use, is a 404."""
    site = KeySite.objects.select_related("community").filter(token=token, active=True).first()
    if site is None:
        raise Http404
    return site


class SlotState:
    DONE = "done"
    LATE = "late"
    MISSED = "missed"
    DUE = "due"
    UPCOMING = "upcoming"


SLOT_LABELS = {
    SlotState.DONE: gettext_lazy("done"),
    SlotState.LATE: gettext_lazy("done late"),
    SlotState.MISSED: gettext_lazy("missed"),
    SlotState.DUE: gettext_lazy("due now"),
    SlotState.UPCOMING: gettext_lazy("later today"),
}
SLOT_COLOURS = {
    SlotState.DONE: "green",
    SlotState.LATE: "yellow",
    SlotState.MISSED: "red",
    SlotState.DUE: "info",
    SlotState.UPCOMING: "",
}


@dataclass
class SlotStatus:
    day: dt.date
    time: dt.time
    state: str
    record: Disinfection | None = None
    early: bool = False  # not yet its time, but within EARLY of it: it may be logged now

    @property
    def label(self) -> str:
        return str(_("due soon") if self.early else SLOT_LABELS[self.state])

    @property
    def colour(self) -> str:
        return "info" if self.early else SLOT_COLOURS[self.state]

    @property
    def hhmm(self) -> str:
        return self.time.strftime("%H:%M")

    @property
    def done(self) -> bool:
        return self.record is not None

    @property
    def open(self) -> bool:
        """Not logged yet and its time has come (or nearly: EARLY before it): the one-tap button shows."""
        return self.early or self.state in (SlotState.DUE, SlotState.MISSED)


def slot_state(day: dt.date, slot: dt.time, record: Disinfection | None, now: dt.datetime) -> str:
    scheduled = local_at(day, slot)
    if record is not None:
        return SlotState.DONE if record.done_at <= scheduled + GRACE else SlotState.LATE
    if now < scheduled:
        return SlotState.UPCOMING
    if now <= scheduled + GRACE:
        return SlotState.DUE
    return SlotState.MISSED


def slot_statuses(
    site: KeySite, day: dt.date, records: Iterable[Disinfection], now: dt.datetime
) -> list[SlotStatus]:
    by_slot = {r.slot: r for r in records if r.day == day}
    statuses = []
    for t in site.slot_times():
        state = slot_state(day, t, by_slot.get(t), now)
        early = state == SlotState.UPCOMING and now >= local_at(day, t) - EARLY
        statuses.append(SlotStatus(day, t, state, by_slot.get(t), early))
    return statuses


@dataclass
class SiteStatus:
    """A site as the list and the API show it: today's rounds, and where its sampling stands."""

    site: KeySite
    today: dt.date
    slots: list[SlotStatus] = field(default_factory=list)
    last_sample_on: dt.date | None = None
    last_result: str = ""
    last_result_on: dt.date | None = None

    @property
    def next_sample_due(self) -> dt.date | None:
        return sample_due_on(self.site, self.last_sample_on)

    @property
    def sample_overdue(self) -> bool:
        due = self.next_sample_due
        return due is not None and due < self.today

    @property
    def sample_due_today(self) -> bool:
        return self.next_sample_due == self.today

    @property
    def missed(self) -> int:
        return sum(1 for s in self.slots if s.state == SlotState.MISSED)

    @property
    def done(self) -> int:
        return sum(1 for s in self.slots if s.done)

    @property
    def open_slot(self) -> SlotStatus | None:
        """The round to log with one tap: the one due now (or within EARLY), else the earliest missed one. A
        cleaner who has just done the evening round must not log it as the morning's that was missed."""
        open_slots = [s for s in self.slots if s.open]
        return next(
            (s for s in open_slots if s.state != SlotState.MISSED), open_slots[0] if open_slots else None
        )

    @property
    def needs_attention(self) -> bool:
        return bool(self.missed) or self.sample_overdue or self.last_result == EnvSample.Result.POSITIVE

    @property
    def state(self) -> str:
        """One word for the whole site today: missed, due, done, or upcoming (nothing due yet)."""
        states = {s.state for s in self.slots}
        if SlotState.MISSED in states:
            return SlotState.MISSED
        if SlotState.DUE in states:
            return SlotState.DUE
        if states & {SlotState.DONE, SlotState.LATE}:
            return SlotState.DONE
        return SlotState.UPCOMING


def sample_due_on(site: KeySite, last_sample_on: dt.date | None) -> dt.date | None:
    """When the next environmental sample is due: `sample_every_days` after the last one; a site on a
    schedule that was never sampled is due from the day it was registered."""
    if not site.sample_every_days:
        return None
    if last_sample_on is None:
        return timezone.localtime(site.created_at).date() if site.created_at else timezone.localdate()
    return last_sample_on + dt.timedelta(days=site.sample_every_days)


def _with_samples(qs: QuerySet[KeySite]) -> QuerySet[KeySite]:
    resulted = EnvSample.objects.filter(site=OuterRef("pk")).exclude(result=EnvSample.Result.PENDING)
    latest = resulted.order_by("-taken_on", "-id")
    return qs.annotate(
        last_sample_on=Max("samples__taken_on"),
        last_result=Subquery(latest.values("result")[:1]),
        last_result_on=Subquery(latest.values("taken_on")[:1]),
    )


def site_statuses(sites: QuerySet[KeySite], now: dt.datetime | None = None) -> list[SiteStatus]:
    """Today's status of each site, in three queries whatever the number of sites."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rows = list(_with_samples(sites).select_related("grid"))
    records: dict[int, list[Disinfection]] = defaultdict(list)
    for record in Disinfection.objects.filter(site__in=[s.pk for s in rows], day=today):
        records[record.site_id].append(record)
    return [
        SiteStatus(
            site=s,
            today=today,
            slots=slot_statuses(s, today, records.get(s.pk, []), now),
            last_sample_on=s.last_sample_on,  # type: ignore[attr-defined]
            last_result=s.last_result or "",  # type: ignore[attr-defined]
            last_result_on=s.last_result_on,  # type: ignore[attr-defined]
        )
        for s in rows
    ]


def key_sites_for(
    actor: User, *, now: dt.datetime | None = None, kind: str = "", include_inactive: bool = False
) -> list[SiteStatus]:
    """The sites the actor can see with today's status: the ones that need someone first, then by kind."""
    qs = key_sites_qs(actor, include_inactive=include_inactive).order_by("kind", "name", "id")
    if kind:
        qs = qs.filter(kind=kind)
    rows = site_statuses(qs, now)
    return sorted(rows, key=lambda r: (not r.needs_attention, not r.site.active))


def key_site_status(site: KeySite, now: dt.datetime | None = None) -> SiteStatus:
    return site_statuses(KeySite.objects.filter(pk=site.pk), now)[0]


def disinfection_log(site: KeySite, days: int = 7, now: dt.datetime | None = None) -> list[list[SlotStatus]]:
    """The last `days` days of rounds, today first (the ledger an inspector asks for)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first = today - dt.timedelta(days=days - 1)
    records = list(Disinfection.objects.filter(site=site, day__gte=first, day__lte=today))
    created = timezone.localtime(site.created_at).date() if site.created_at else first
    return [
        slot_statuses(site, day, records, now)
        for day in (today - dt.timedelta(days=n) for n in range(days))
        if day >= created
    ]


def samples_of(site: KeySite, limit: int = 20) -> list[EnvSample]:
    return list(EnvSample.objects.filter(site=site).select_related("recorded_by")[:limit])


def published_samples(site: KeySite, limit: int = 10) -> list[EnvSample]:
    """What the public page shows: dates, points, counts and results, nobody's name."""
    return list(
        EnvSample.objects.filter(site=site).only("taken_on", "points", "count", "result", "result_at")[:limit]
    )


# --- writing: the site ------------------------------------------------------------------------------


@dataclass
class SiteValues:
    name: str
    kind: str
    address: str = ""
    building: Building | None = None
    grid: Grid | None = None
    contact_name: str = ""
    contact_phone: str = ""
    rules: str = ""
    disinfect_times: str = "07:00,19:00"
    sample_every_days: int | None = None
    active: bool = True


def parse_times(text: str) -> str:
    """ "7:00, 19:00" → "07:00,19:00"; raises ValidationError naming what is not a time."""
    times: list[dt.time] = []
    for part in re.split(r"[,，、;；\s]+", text.strip()):
        if not part:
            continue
        match = _TIME.match(part)
        if not match:
            raise ValidationError(
                _("%(value)s is not a time of day: write times as HH:MM, separated by commas.")
                % {"value": part}
            )
        time = dt.time(int(match.group(1)), int(match.group(2)))
        if time not in times:
            times.append(time)
    if not times:
        raise ValidationError(_("Give at least one disinfection time, e.g. 07:00,19:00."))
    if len(times) > MAX_SLOTS:
        raise ValidationError(_("At most %(n)d disinfection times a day.") % {"n": MAX_SLOTS})
    return ",".join(t.strftime("%H:%M") for t in sorted(times))


def _check_site(community: Community, values: SiteValues) -> dict[str, Any]:
    """The columns to save, or a ValidationError keyed by field."""
    errors: dict[str, str] = {}
    name = " ".join(values.name.split())[:100]
    if not name:
        errors["name"] = _("Give the site's name.")
    if values.kind not in SiteKind.values:
        errors["kind"] = _("Choose what kind of site it is.")
    try:
        times = parse_times(values.disinfect_times)
    except ValidationError as exc:
        errors["disinfect_times"] = " ".join(exc.messages)
        times = ""
    try:
        phone = normalize_optional_phone(values.contact_phone)
    except InvalidIdentity as exc:
        errors["contact_phone"] = str(exc)
        phone = ""
    building, grid = values.building, values.grid
    if building is not None and building.community_id != community.pk:
        errors["building"] = _("This building is in another community.")
    if grid is not None and grid.community_id != community.pk:
        errors["grid"] = _("This grid is in another community.")
    if building is not None and building.grid_id and grid is not None and grid.pk != building.grid_id:
        errors["grid"] = _("The building is in %(grid)s.") % {"grid": building.grid}
    every = values.sample_every_days
    if every is not None and not 1 <= every <= 30:
        errors["sample_every_days"] = _("Sample every 1 to 30 days, or leave it empty.")
    if errors:
        raise ValidationError(errors)
    if values.kind == SiteKind.COLD_CHAIN and not every:
        # Seed 001: cold-chain stores are sampled every 3 days; a cold-chain site is never off the schedule.
        every = COLD_CHAIN_SAMPLE_DAYS
    grid_id = building.grid_id if building is not None and building.grid_id else (grid.pk if grid else None)
    return {
        "name": name,
        "kind": values.kind,
        "address": values.address.strip()[:200],
        "building_id": building.pk if building is not None else None,
        "grid_id": grid_id,
        "contact_name": values.contact_name.strip()[:50],
        "contact_phone": phone,
        "rules": values.rules.strip() or default_rules(values.kind),
        "disinfect_times": times,
        "sample_every_days": every or None,
        "active": values.active,
    }


def key_site_save(
    *, actor: User, community: Community, values: SiteValues, site: KeySite | None = None
) -> KeySite:
    """Register a site, or change one (the caller loaded it with key_site_get)."""
    if site is not None and site.community_id != community.pk:
        raise ValidationError(_("The site belongs to another community."))
    if not can_manage_sites(actor, community.pk):
        raise PermissionDenied(_("Only the community's commander or the street office registers key sites."))
    columns = _check_site(community, values)
    with transaction.atomic():
        if site is None:
            site = KeySite.objects.create(community=community, **columns)
            audit_record(
                actor=actor,
                action=AuditLog.Action.CREATE,
                target=site,
                detail=f"{site.get_kind_display()} · {site.disinfect_times}",
            )
            return site
        before = {key: getattr(site, key) for key in columns}
        for key, value in columns.items():
            setattr(site, key, value)
        site.save()
        changes = diff(before, columns)
        if changes:
            audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=site, changes=changes)
    return site


def key_site_new_token(*, actor: User, site: KeySite) -> KeySite:
    """A new public link for the site; the old link, its printed QR code and a pharmacy's form stop working."""
    if not can_manage_sites(actor, site.community_id):
        raise PermissionDenied(_("Only the community's commander or the street office registers key sites."))
    with transaction.atomic():
        site.token = new_token()
        site.save(update_fields=["token"])
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=site, detail=_("new public link"))
    return site


# --- writing: disinfection --------------------------------------------------------------------------


def _lock(site: KeySite) -> None:
    """Serialise writes about one site (a log, the scan's alert) so that neither misses the other."""
    KeySite.objects.select_for_update().filter(pk=site.pk).values_list("pk", flat=True).first()


def disinfection_record(
    *,
    actor: User,
    site: KeySite,
    slot: dt.time,
    day: dt.date | None = None,
    done_by: str = "",
    done_at: dt.datetime | None = None,
    agent: str = "",
    areas: str = "",
    note: str = "",
) -> Disinfection:
    """Log one round of a site's disinfection; a round logged late closes the scan's alert for it."""
    _require_record(actor)
    now = timezone.now()
    today = timezone.localdate()
    day = day or today
    done_at = done_at or now
    if slot not in site.slot_times():
        raise ValidationError(
            _("%(time)s is not one of this site's disinfection times (%(times)s).")
            % {"time": slot.strftime("%H:%M"), "times": site.disinfect_times}
        )
    if day > today:
        raise ValidationError(_("That day has not come yet."))
    if day < today - dt.timedelta(days=BACKFILL_DAYS):
        raise ValidationError(
            _("Rounds older than %(n)d days cannot be logged any more.") % {"n": BACKFILL_DAYS}
        )
    scheduled = local_at(day, slot)
    if scheduled - EARLY > now:
        raise ValidationError(
            _("The %(time)s round cannot be logged before %(from)s.")
            % {
                "time": slot.strftime("%H:%M"),
                "from": timezone.localtime(scheduled - EARLY).strftime("%H:%M"),
            }
        )
    if done_at > now + dt.timedelta(minutes=5):
        raise ValidationError(_("The time it was done is in the future."))
    if done_at < scheduled - EARLY:
        raise ValidationError(_("That is too early for this round: choose the round it belongs to."))
    who = " ".join(done_by.split())[:50] or actor.name
    with transaction.atomic():
        _lock(site)
        try:
            with transaction.atomic():
                record = Disinfection.objects.create(
                    site=site,
                    day=day,
                    slot=slot,
                    done_at=done_at,
                    done_by=who,
                    recorded_by=actor,
                    agent=agent.strip()[:100],
                    areas=areas.strip()[:200],
                    note=note.strip()[:300],
                )
        except IntegrityError:
            first = Disinfection.objects.filter(site=site, day=day, slot=slot).first()
            raise ValidationError(
                _("The %(time)s round is already logged: %(who)s at %(when)s.")
                % {
                    "time": slot.strftime("%H:%M"),
                    "who": first.done_by if first else "",
                    "when": timezone.localtime(first.done_at).strftime("%H:%M") if first else "",
                }
            ) from None
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=record,
            target_label=f"{site.name} {day.isoformat()} {slot:%H:%M}",
            detail=_("disinfected by %(who)s at %(when)s")
            % {"who": who, "when": timezone.localtime(done_at).strftime("%H:%M")},
            community_id=site.community_id,
        )
        _close_alerts(
            actor,
            site,
            [disinfection_stage(day, slot)],
            _("Logged: disinfected by %(who)s at %(when)s.")
            % {"who": who, "when": timezone.localtime(done_at).strftime("%H:%M")},
        )
    return record


def disinfection_stage(day: dt.date, slot: dt.time) -> str:
    """The alert task's stage: one task per site, day and round, whoever scans."""
    return f"disinf-{day:%Y%m%d}-{slot:%H%M}"


def sample_stage(due_on: dt.date) -> str:
    return f"sample-{due_on:%Y%m%d}"


def _close_alerts(actor: User, site: KeySite, stages: list[str], result: str, prefix: str = "") -> int:
    """Mark the scan's open alerts for these stages (or any stage starting with `prefix`) done."""
    tasks = Task.objects.filter(source=SOURCE, source_id=site.pk, status__in=Task.OPEN_STATUSES)
    tasks = tasks.filter(stage__startswith=prefix) if prefix else tasks.filter(stage__in=stages)
    closed = 0
    for task in tasks:
        try:
            task_set_status(actor=actor, task=task, status=Task.Status.DONE, result=result, authorised=True)
        except TaskConflict:
            continue  # someone closed it meanwhile
        closed += 1
    return closed


# --- writing: environmental samples -----------------------------------------------------------------


def env_sample_record(
    *,
    actor: User,
    site: KeySite,
    taken_on: dt.date | None = None,
    points: str = "",
    count: int = 1,
    taken_by: str = "",
) -> EnvSample:
    """Log samples taken at a site (result pending); an open "sample due" alert for the site is done."""
    _require_record(actor)
    today = timezone.localdate()
    taken_on = taken_on or today
    errors: dict[str, str] = {}
    if taken_on > today:
        errors["taken_on"] = _("The sampling date is in the future.")
    elif taken_on < today - dt.timedelta(days=30):
        errors["taken_on"] = _("The sampling date is more than 30 days ago.")
    if not 1 <= count <= MAX_SAMPLES:
        errors["count"] = _("Between 1 and %(n)d samples.") % {"n": MAX_SAMPLES}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock(site)
        sample = EnvSample.objects.create(
            site=site,
            taken_on=taken_on,
            points=points.strip()[:300],
            count=count,
            taken_by=" ".join(taken_by.split())[:100],
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=sample,
            target_label=f"{site.name} {taken_on.isoformat()}",
            detail=_("%(n)d environmental samples") % {"n": count},
            community_id=site.community_id,
        )
        _close_alerts(
            actor,
            site,
            [],
            _("Sampled on %(day)s.") % {"day": taken_on.isoformat()},
            prefix="sample-",
        )
    return sample


def env_sample_result(*, actor: User, sample: EnvSample, result: str) -> EnvSample:
    """Record a sample's result, once. A positive result makes an urgent task for the medical team and tells
    the commander at once."""
    _require_record(actor)
    if result not in (EnvSample.Result.NEGATIVE, EnvSample.Result.POSITIVE):
        raise ValidationError(_("The result is negative or positive."))
    now = timezone.now()
    site = sample.site
    with transaction.atomic():
        won = EnvSample.objects.filter(pk=sample.pk, result=EnvSample.Result.PENDING).update(
            result=result, result_at=now
        )
        if not won:
            sample.refresh_from_db()
            raise ValidationError(
                _("The result is already recorded as %(result)s.") % {"result": sample.get_result_display()}
            )
        sample.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=sample,
            target_label=f"{site.name} {sample.taken_on.isoformat()}",
            changes={"result": [EnvSample.Result.PENDING, result]},
            community_id=site.community_id,
        )
        if result == EnvSample.Result.POSITIVE:
            _positive_alert(site, sample, now)
    return sample


def _positive_alert(site: KeySite, sample: EnvSample, now: dt.datetime) -> Task:
    routing = routing_for(site.community_id)
    owners = routing.task_owners(site.building_id, Team.MEDICAL)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Positive environmental sample: %(site)s") % {"site": site.name}
        detail = _(
            "Sampled on %(day)s (%(points)s). Close the site, trace the goods and the people who handled "
            "them, disinfect thoroughly, and report to the CDC."
        ) % {"day": sample.taken_on.isoformat(), "points": sample.points or "—"}
        task = tasks_create(
            [
                TaskSpec(
                    title=title,
                    detail=detail,
                    due_at=now + POSITIVE_WITHIN,
                    community_id=site.community_id,
                    grid_id=site.grid_id,
                    priority=Task.Priority.URGENT,
                    source=SOURCE,
                    source_id=site.pk,
                    stage=f"positive-{sample.pk}"[:20],
                    **owners,
                )
            ]
        )[0]
        recipients = [uid for uid in (routing.commander_id, owners.get("leader_id")) if uid]
        notify_many(
            Message(
                user_id=uid,
                title=title,
                body=detail,
                url=reverse("tasks:detail", args=[task.pk]),
                kind=Notification.Kind.ASSIGNED,
                urgent=True,
            )
            for uid in dict.fromkeys(recipients)
        )
    return task


# --- the scan ---------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    disinfection: int = 0
    samples: int = 0

    @property
    def created(self) -> int:
        return self.disinfection + self.samples


@dataclass
class _Alert:
    site: KeySite
    stage: str
    title: str
    detail: str
    due_at: dt.datetime
    priority: int
    slot: tuple[dt.date, dt.time] | None = None


def _site_owners(site: KeySite, routing: Routing, grid_workers: dict[int, int]) -> dict[str, Any]:
    """Who gets a site's alert: the grid worker of its building, else a grid worker of its grid (the grid
    leader when it has none), else the commander."""
    if site.building_id is not None and routing.for_building(site.building_id)[1]:
        return routing.task_owners(site.building_id)
    leader = routing.grid_leaders.get(site.grid_id) if site.grid_id else None
    worker = grid_workers.get(site.grid_id) if site.grid_id else None
    return {
        "assignee_id": worker or leader or routing.commander_id,
        "leader_id": leader or routing.commander_id,
        "commander_id": routing.commander_id,
    }


def key_site_scan(now: dt.datetime | None = None) -> ScanResult:
    """Alert the grid worker about every round not logged within GRACE of its time (today's, and
    yesterday's late ones), and about every site whose environmental sample is overdue. Safe to run
    twice, or on two workers at once: each alert is made under the site's lock after checking that its
    task does not exist yet."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    days = [today - dt.timedelta(days=1), today]
    sites = list(
        KeySite.objects.filter(active=True)
        .annotate(last_sample_on=Max("samples__taken_on"))
        .order_by("community_id", "id")
    )
    if not sites:
        return ScanResult()
    done = set(
        Disinfection.objects.filter(site__in=[s.pk for s in sites], day__in=days).values_list(
            "site_id", "day", "slot"
        )
    )
    alerts: list[_Alert] = []
    with translation.override(settings.LANGUAGE_CODE):
        for site in sites:
            created = site.created_at or now
            for day in days:
                for slot in site.slot_times():
                    scheduled = local_at(day, slot)
                    deadline = scheduled + GRACE
                    if not (scheduled > created and now - dt.timedelta(days=1) < deadline <= now):
                        continue
                    if (site.pk, day, slot) in done:
                        continue
                    alerts.append(_disinfection_alert(site, day, slot, now))
            due_on = sample_due_on(site, site.last_sample_on)  # type: ignore[attr-defined]
            if due_on is not None and due_on < today:
                alerts.append(_sample_alert(site, due_on, now))
    if not alerts:
        return ScanResult()
    existing = set(
        Task.objects.filter(
            source=SOURCE, source_id__in={a.site.pk for a in alerts}, stage__in={a.stage for a in alerts}
        ).values_list("source_id", "stage")
    )
    fresh = [a for a in alerts if (a.site.pk, a.stage) not in existing]
    result = ScanResult()
    routings: dict[int, tuple[Routing, dict[int, int]]] = {}
    messages: list[Message] = []
    for alert in fresh:
        community_id = alert.site.community_id
        if community_id not in routings:
            routings[community_id] = (routing_for(community_id), _grid_workers(community_id))
        routing, workers = routings[community_id]
        task = _alert_create(alert, _site_owners(alert.site, routing, workers))
        if task is None:
            continue
        if alert.slot is not None:
            result.disinfection += 1
        else:
            result.samples += 1
        if task.assignee_id:
            messages.append(
                Message(
                    user_id=task.assignee_id,
                    title=task.title,
                    body=task.detail,
                    url=reverse("tasks:detail", args=[task.pk]),
                    kind=Notification.Kind.ASSIGNED,
                    urgent=alert.slot is not None,
                )
            )
    notify_many(messages)
    return result


def _grid_workers(community_id: int) -> dict[int, int]:
    """The first active grid worker of each grid of the community."""
    workers: dict[int, int] = {}
    for grid_id, user_id in (
        User.objects.filter(
            community_id=community_id, grid__isnull=False, role=Role.GRID_WORKER, is_active=True
        )
        .order_by("id")
        .values_list("grid_id", "id")
    ):
        workers.setdefault(grid_id, user_id)
    return workers


def _disinfection_alert(site: KeySite, day: dt.date, slot: dt.time, now: dt.datetime) -> _Alert:
    values = {"site": site.name, "time": slot.strftime("%H:%M")}
    return _Alert(
        site=site,
        stage=disinfection_stage(day, slot),
        title=_("Disinfection not logged: %(site)s %(time)s") % values,
        detail=_(
            "The %(time)s round at %(site)s was not logged within an hour. Have it done now, or log it on "
            "the site's page if it was done."
        )
        % values
        + (f" ({day.isoformat()})" if day != timezone.localtime(now).date() else ""),
        due_at=now + ALERT_WITHIN,
        priority=Task.Priority.HIGH,
        slot=(day, slot),
    )


def _sample_alert(site: KeySite, due_on: dt.date, now: dt.datetime) -> _Alert:
    morning = local_at(timezone.localtime(now).date(), dt.time(8, 0))
    return _Alert(
        site=site,
        stage=sample_stage(due_on),
        title=_("Environmental sample overdue: %(site)s") % {"site": site.name},
        detail=_(
            "%(site)s is sampled every %(n)d days; the sample due on %(day)s has not been logged. Arrange "
            "the sampling and log it on the site's page."
        )
        % {"site": site.name, "n": site.sample_every_days, "day": due_on.isoformat()},
        due_at=max(now, morning) + SAMPLE_WITHIN,
        priority=Task.Priority.NORMAL,
    )


def _alert_create(alert: _Alert, owners: dict[str, Any]) -> Task | None:
    """Create the alert's task unless it exists (or the round was logged meanwhile), under the site's lock:
    on PostgreSQL a second worker waits for the lock and then sees the first one's task; SQLite runs one
    writing transaction at a time."""
    site = alert.site
    with transaction.atomic():
        _lock(site)
        if Task.objects.filter(source=SOURCE, source_id=site.pk, stage=alert.stage).exists():
            return None
        if (
            alert.slot is not None
            and Disinfection.objects.filter(site=site, day=alert.slot[0], slot=alert.slot[1]).exists()
        ):
            return None
        task = tasks_create(
            [
                TaskSpec(
                    title=alert.title,
                    detail=alert.detail,
                    due_at=alert.due_at,
                    community_id=site.community_id,
                    grid_id=site.grid_id,
                    priority=alert.priority,
                    source=SOURCE,
                    source_id=site.pk,
                    stage=alert.stage,
                    **owners,
                )
            ]
        )[0]
        audit_record(
            actor=None,
            action=AuditLog.Action.CREATE,
            target=task,
            detail=alert.stage,
            community_id=site.community_id,
        )
    return task


def open_alerts(site: KeySite) -> list[Task]:
    """The site's alert tasks still open (the site page lists them)."""
    return list(
        Task.objects.filter(source=SOURCE, source_id=site.pk, status__in=Task.OPEN_STATUSES)
        .select_related("assignee")
        .order_by("due_at", "id")
    )
