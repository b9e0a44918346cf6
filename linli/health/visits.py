"""Key-population visits (seed 001: 重点人群每周走访): the weekly plan for people over 60 living alone and the
chronically ill, the visit a worker records on the phone, the needs it turns into tasks, and the week's
board of who is overdue, due today, done and still to come.

When a plan falls due and when it is overdue is decided by VisitPlanQuerySet.due_by / overdue alone (the
daily report counts with the same methods); this module only combines them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.services import Message, notify, notify_many
from linli.core.access import acts, administers, scope_q
from linli.core.audit import audit_record, diff
from linli.core.identity import mask_name
from linli.core.models import AuditLog, User
from linli.core.roles import SUPERVISOR_ROLES
from linli.epidemic.selectors import routing_for
from linli.health.models import (
    FEVER_AT,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    WEEKDAYS,
    Need,
    Visit,
    VisitGroup,
    VisitPlan,
    VisitPlanQuerySet,
    week_of,
)
from linli.registry.models import Community, Grid, Residency, Resident, SpecialKind
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskSpec, tasks_create

ELDERLY_AGE = 60
# New plans are spread over the working week; the weekend is left for catching up.
WORKING_DAYS = (0, 1, 2, 3, 4)

BP_SYSTOLIC = (50, 260)
BP_DIASTOLIC = (30, 160)
MEDICINE_DAYS_MAX = 365
# A visit seeing 180/110 or more, or a fever, is told to the grid leader at once.
HIGH_SYSTOLIC = 180
HIGH_DIASTOLIC = 110
# A visit may be entered after the fact (the evening after a morning round), but not a week late.
LATE_ENTRY = dt.timedelta(days=8)
CLOCK_SKEW = dt.timedelta(minutes=10)

# Who takes a need over, how soon and how urgently. Help at home goes to the building's grid worker, who
# knows the household and finds a neighbour or volunteer; the rest go to the community's teams.
NEED_TEAM = {
    Need.GROCERIES: Team.LOGISTICS,
    Need.MEDICINE: Team.MEDICAL,
    Need.HELP: "",
    Need.MEDICAL: Team.MEDICAL,
}
NEED_WITHIN = {
    Need.GROCERIES: dt.timedelta(hours=24),
    Need.MEDICINE: dt.timedelta(hours=24),
    Need.HELP: dt.timedelta(hours=24),
    Need.MEDICAL: dt.timedelta(hours=2),
}
NEED_PRIORITY = {
    Need.GROCERIES: Task.Priority.NORMAL,
    Need.MEDICINE: Task.Priority.NORMAL,
    Need.HELP: Task.Priority.NORMAL,
    Need.MEDICAL: Task.Priority.URGENT,
}
# Medicine running out within this many days is fetched sooner and ranks higher.
MEDICINE_SHORT_DAYS = 3


# --- who may do what ---------------------------------------------------------------------------------


def can_visit(actor: User) -> bool:
    """Staff who act (not observers or department systems, not volunteers' accounts) record visits, in
    their own scope; the caller has loaded the resident through a scoped selector."""
    return acts(actor)


def can_see_names(actor: User) -> bool:
    """Who visits sees whom they visit; observers see the board with names masked and no health data."""
    return can_visit(actor)


def can_edit_plans(actor: User) -> bool:
    """The community's administrators and grid leaders (for their own grid, by scope) set visit days."""
    return actor.is_active and (actor.is_superuser or actor.role in SUPERVISOR_ROLES)


def can_sync_plans(actor: User, community_id: int) -> bool:
    return administers(actor, community_id)


def _require_in_scope(actor: User, resident: Resident) -> None:
    # Services are called by pages and by the API alike: the scope rule is checked here too.
    if not Resident.objects.filter(scope_q(actor), pk=resident.pk).exists():
        raise Http404


# --- plans -------------------------------------------------------------------------------------------


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def eligible_residents(community_id: int, day: dt.date) -> dict[int, str]:
    """{resident id: VisitGroup} of the people living here who are visited weekly: over 60 and living alone
    (the tag says alone, the birth date says over 60), or chronically ill. Living alone comes first."""
    living = Resident.objects.filter(
        community_id=community_id, residency__in=[Residency.BOTH, Residency.LIVING]
    )
    groups: dict[int, str] = {
        pk: VisitGroup.CHRONIC
        for pk in living.filter(special__kind=SpecialKind.CHRONIC).values_list("pk", flat=True)
    }
    elderly = living.filter(
        special__kind=SpecialKind.ELDERLY_ALONE, birth_date__lte=_years_before(day, ELDERLY_AGE)
    )
    for pk in elderly.values_list("pk", flat=True):
        groups[pk] = VisitGroup.ELDERLY_ALONE
    return groups


@dataclass
class SyncResult:
    created: int = 0
    stopped: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.stopped or self.updated)


def _least_loaded_day(load: dict[int, int]) -> int:
    return min(WORKING_DAYS, key=lambda d: (load.get(d, 0), d))


@transaction.atomic
def visit_plans_sync(*, actor: User | None, community: Community, today: dt.date | None = None) -> SyncResult:
    """Bring the community's plans in line with the ledger: a plan for everyone eligible who has none,
    starting today on the least busy working day of their visitor; plans of people no longer eligible, or
    no longer living here, stopped. Plans staff stopped by hand stay stopped (the plans page restarts them).
    `actor` None: the demo seeder or a job."""
    if actor is not None and not can_sync_plans(actor, community.pk):
        raise PermissionDenied(_("Only the community's administrators update the visit plans."))
    today = today or timezone.localdate()
    eligible = eligible_residents(community.pk, today)
    result = SyncResult()

    # A plan belongs to the resident (one each): someone who moved here from another community brings theirs.
    plans = {
        p.resident_id: p
        for p in VisitPlan.objects.filter(Q(community_id=community.pk) | Q(resident_id__in=list(eligible)))
        .select_related("resident__household__building")
        .select_for_update(of=("self",))
    }
    residents = {
        r.pk: r for r in Resident.objects.filter(pk__in=list(eligible)).select_related("household__building")
    }

    # Each visitor's (or, with nobody named, each building's) plans per weekday, so new ones even it out.
    load: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def visitor_key(visitor_id: int | None, building_id: int, worker_id: int | None) -> tuple[str, int]:
        if visitor_id or worker_id:
            return ("user", visitor_id or worker_id or 0)
        return ("building", building_id)

    for plan in plans.values():
        if plan.active and plan.community_id == community.pk:
            building = plan.resident.household.building
            load[visitor_key(plan.visitor_id, building.pk, building.worker_id)][plan.weekday] += 1

    to_stop: list[int] = []
    for resident_id, plan in plans.items():
        if plan.community_id != community.pk:
            continue
        if resident_id not in eligible:
            if plan.active:
                to_stop.append(plan.pk)
            continue
        resident = residents[resident_id]
        group = eligible[resident_id]
        if plan.group != group or plan.grid_id != resident.grid_id:
            VisitPlan.objects.filter(pk=plan.pk).update(group=group, grid_id=resident.grid_id)
            result.updated += 1
        else:
            result.unchanged += 1
    if to_stop:
        result.stopped = VisitPlan.objects.filter(pk__in=to_stop).update(active=False)

    ordered = sorted(
        (r for pk, r in residents.items() if pk not in plans or plans[pk].community_id != community.pk),
        key=lambda r: (r.household.building.sort_key, r.household.building.number, r.household.room, r.pk),
    )
    new_plans: list[VisitPlan] = []
    for resident in ordered:
        building = resident.household.building
        key = visitor_key(None, building.pk, building.worker_id)
        weekday = _least_loaded_day(load[key])
        load[key][weekday] += 1
        values = {
            "community_id": community.pk,
            "grid_id": resident.grid_id,
            "group": eligible[resident.pk],
            "weekday": weekday,
            "visitor": None,
            "active": True,
            "starts_on": today,
        }
        moved = plans.get(resident.pk)
        if moved is not None:
            VisitPlan.objects.filter(pk=moved.pk).update(**values)
        else:
            new_plans.append(VisitPlan(resident_id=resident.pk, **values))
        result.created += 1
    VisitPlan.objects.bulk_create(new_plans, batch_size=500)

    if result.changed:
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=community,
            community_id=community.pk,
            target_label=str(_("visit plans of %(community)s") % {"community": community.name}),
            detail=f"visit plans synced: {result.created} created, {result.stopped} stopped, "
            f"{result.updated} updated",
        )
    return result


def _plan_snapshot(plan: VisitPlan) -> dict[str, object]:
    return {
        "weekday": plan.weekday,
        "visitor": plan.visitor.name if plan.visitor else "",
        "active": plan.active,
    }


def plan_visitors(community_id: int) -> QuerySet[User]:
    """Who may be named as a plan's visitor: the community's staff who act, not API or read-only accounts."""
    from linli.core.roles import READ_ONLY_ROLES

    return (
        User.objects.filter(community_id=community_id, is_active=True, is_service_account=False)
        .exclude(role__in=READ_ONLY_ROLES)
        .order_by("grid__number", "display_name", "username")
    )


@transaction.atomic
def visit_plan_update(
    *, actor: User, plan: VisitPlan, weekday: int, visitor: User | None, active: bool
) -> VisitPlan:
    """Change a plan's day, visitor or whether it runs. A new day or a restart counts from today, so the
    change does not make the person overdue for a day that has already passed this week."""
    if not can_edit_plans(actor):
        raise PermissionDenied(_("Only administrators and grid leaders change visit plans."))
    if weekday not in dict(WEEKDAYS):
        raise ValidationError({"weekday": _("Choose a day of the week.")})
    if visitor is not None and not plan_visitors(plan.community_id).filter(pk=visitor.pk).exists():
        raise ValidationError({"visitor": _("Choose a member of this community's staff.")})
    plan = VisitPlan.objects.select_for_update(of=("self",)).select_related("visitor").get(pk=plan.pk)
    before = _plan_snapshot(plan)
    today = timezone.localdate()
    if weekday != plan.weekday or (active and not plan.active):
        plan.starts_on = max(plan.starts_on, today)
    plan.weekday, plan.visitor, plan.active = weekday, visitor, active
    plan.save(update_fields=["weekday", "visitor", "active", "starts_on"])
    changes = diff(before, _plan_snapshot(plan))
    if changes:
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=plan, changes=changes)
    return plan


# --- recording a visit -------------------------------------------------------------------------------


@dataclass
class VisitOutcome:
    visit: Visit
    tasks: list[Task] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)


def _check(
    *,
    method: str,
    visited_at: dt.datetime,
    bp_systolic: int | None,
    bp_diastolic: int | None,
    temperature: Decimal | None,
    medicine_days_left: int | None,
    needs: list[str],
) -> None:
    errors: dict[str, str] = {}
    if method not in Visit.Method.values:
        errors["method"] = _("Choose how you visited.")
    now = timezone.now()
    if visited_at > now + CLOCK_SKEW:
        errors["visited_at"] = _("The visit time is in the future.")
    elif visited_at < now - LATE_ENTRY:
        errors["visited_at"] = _("A visit more than a week ago cannot be entered.")
    if (bp_systolic is None) != (bp_diastolic is None):
        errors["bp_diastolic" if bp_diastolic is None else "bp_systolic"] = _(
            "Enter both blood pressure numbers, or neither."
        )
    if bp_systolic is not None and not BP_SYSTOLIC[0] <= bp_systolic <= BP_SYSTOLIC[1]:
        errors["bp_systolic"] = _("Should be between %(lo)d and %(hi)d.") % {
            "lo": BP_SYSTOLIC[0],
            "hi": BP_SYSTOLIC[1],
        }
    if bp_diastolic is not None and not BP_DIASTOLIC[0] <= bp_diastolic <= BP_DIASTOLIC[1]:
        errors["bp_diastolic"] = _("Should be between %(lo)d and %(hi)d.") % {
            "lo": BP_DIASTOLIC[0],
            "hi": BP_DIASTOLIC[1],
        }
    if (
        bp_systolic is not None
        and bp_diastolic is not None
        and "bp_systolic" not in errors
        and "bp_diastolic" not in errors
        and bp_systolic <= bp_diastolic
    ):
        errors["bp_systolic"] = _("The upper pressure must be higher than the lower one: are they swapped?")
    if temperature is not None and not TEMPERATURE_MIN <= temperature <= TEMPERATURE_MAX:
        errors["temperature"] = _("A body temperature is between %(lo)s and %(hi)s °C.") % {
            "lo": TEMPERATURE_MIN,
            "hi": TEMPERATURE_MAX,
        }
    if medicine_days_left is not None and not 0 <= medicine_days_left <= MEDICINE_DAYS_MAX:
        errors["medicine_days_left"] = _("Days of medicine left is between 0 and %(max)d.") % {
            "max": MEDICINE_DAYS_MAX
        }
    unknown = [n for n in needs if n not in Need.values]
    if unknown:
        errors["needs"] = _("Unknown need: %(need)s.") % {"need": ", ".join(unknown)}
    if errors:
        raise ValidationError(errors)


def is_high_pressure(systolic: int | None, diastolic: int | None) -> bool:
    return (systolic or 0) >= HIGH_SYSTOLIC or (diastolic or 0) >= HIGH_DIASTOLIC


def is_fever(temperature: Decimal | None) -> bool:
    return temperature is not None and temperature >= FEVER_AT


def visit_findings(visit: Visit) -> list[str]:
    """What in a visit's readings the grid leader is told about at once, as words."""
    findings = []
    if is_high_pressure(visit.bp_systolic, visit.bp_diastolic):
        findings.append(
            _("blood pressure %(s)d/%(d)d") % {"s": visit.bp_systolic or 0, "d": visit.bp_diastolic or 0}
        )
    if is_fever(visit.temperature):
        findings.append(_("temperature %(t)s °C") % {"t": visit.temperature})
    return findings


def _need_title(need: str, name: str, address: str) -> str:
    if need == Need.GROCERIES:
        text = _("Groceries for %(name)s (%(address)s)")
    elif need == Need.MEDICINE:
        text = _("Medicine for %(name)s (%(address)s)")
    elif need == Need.HELP:
        text = _("Help at home for %(name)s (%(address)s)")
    else:
        text = _("See a doctor: %(name)s (%(address)s)")
    return text % {"name": name, "address": address}


def _need_detail(visit: Visit, resident: Resident, need: str, address: str, url: str) -> str:
    lines = [
        _("Visited %(when)s by %(who)s (%(how)s).")
        % {
            "when": timezone.localtime(visit.visited_at).strftime("%m-%d %H:%M"),
            "who": visit.visitor.name if visit.visitor else "",
            "how": visit.get_method_display(),
        },
        _("Address: %(address)s") % {"address": address},
    ]
    if resident.phone:
        lines.append(
            _("Phone: %(phone)s (full number on the resident's page)") % {"phone": resident.masked_phone}
        )
    if resident.contact_name:
        lines.append(_("Family contact: %(name)s") % {"name": resident.contact_name})
    if need == Need.MEDICINE and (visit.medicines or visit.medicine_days_left is not None):
        lines.append(
            _("Medicines: %(medicines)s; days left: %(days)s")
            % {
                "medicines": visit.medicines or "—",
                "days": "—" if visit.medicine_days_left is None else visit.medicine_days_left,
            }
        )
    if need == Need.MEDICAL and visit.symptoms:
        lines.append(_("Symptoms: %(symptoms)s") % {"symptoms": visit.symptoms})
    if visit.needs_note:
        lines.append(_("What they need: %(note)s") % {"note": visit.needs_note})
    lines.append(_("The visit: %(url)s") % {"url": url})
    return "\n".join(lines)


@transaction.atomic
def visit_record(
    *,
    actor: User,
    resident: Resident,
    method: str = Visit.Method.HOME,
    visited_at: dt.datetime | None = None,
    bp_systolic: int | None = None,
    bp_diastolic: int | None = None,
    temperature: Decimal | None = None,
    medicines: str = "",
    medicine_days_left: int | None = None,
    symptoms: str = "",
    needs: Iterable[str] = (),
    needs_note: str = "",
    note: str = "",
) -> VisitOutcome:
    """Record one visit (a second one the same week is simply another visit). Each need ticked becomes one
    task for whoever takes it over; a high blood pressure or a fever is told to the grid leader at once."""
    if not can_visit(actor):
        raise PermissionDenied(_("Your role does not record visits."))
    _require_in_scope(actor, resident)
    now = timezone.now()
    visited_at = visited_at or now
    need_list = [n for n in Need.values if n in set(needs)] + [n for n in needs if n not in Need.values]
    _check(
        method=method,
        visited_at=visited_at,
        bp_systolic=bp_systolic,
        bp_diastolic=bp_diastolic,
        temperature=temperature,
        medicine_days_left=medicine_days_left,
        needs=need_list,
    )
    plan = VisitPlan.objects.filter(resident_id=resident.pk).first()
    visit = Visit.objects.create(
        community_id=resident.community_id,
        grid_id=resident.grid_id,
        resident=resident,
        plan=plan,
        week=week_of(timezone.localtime(visited_at).date()),
        visited_at=visited_at,
        visitor=actor,
        method=method,
        bp_systolic=bp_systolic,
        bp_diastolic=bp_diastolic,
        temperature=temperature,
        medicines=medicines.strip()[:300],
        medicine_days_left=medicine_days_left,
        symptoms=symptoms.strip()[:300],
        needs=",".join(need_list),
        needs_note=needs_note.strip()[:300],
        note=note.strip(),
    )
    outcome = VisitOutcome(visit=visit)
    household = resident.household
    address = str(household)
    url = reverse("health:visit_detail", args=[visit.pk])
    routing = routing_for(resident.community_id)
    grid_id = routing.for_building(household.building_id)[0] or resident.grid_id

    specs = []
    for need in need_list:
        priority = NEED_PRIORITY[Need(need)]
        within = NEED_WITHIN[Need(need)]
        if (
            need == Need.MEDICINE
            and medicine_days_left is not None
            and medicine_days_left <= MEDICINE_SHORT_DAYS
        ):
            priority, within = Task.Priority.HIGH, dt.timedelta(hours=12)
        specs.append(
            TaskSpec(
                title=_need_title(need, resident.name, address),
                detail=_need_detail(visit, resident, need, address, url),
                due_at=now + within,
                community_id=resident.community_id,
                grid_id=grid_id,
                priority=priority,
                source=Task.Source.VISIT,
                source_id=visit.pk,
                stage=need,
                **routing.task_owners(household.building_id, NEED_TEAM[Need(need)]),
            )
        )
    if specs:
        outcome.tasks = tasks_create(specs)
        notify_many(
            Message(
                user_id=task.assignee_id or task.leader_id,  # type: ignore[arg-type]
                title=task.title,
                url=task.get_absolute_url() if task.pk else reverse("tasks:mine"),
                kind="assigned",
                urgent=task.priority <= Task.Priority.HIGH,
            )
            for task in outcome.tasks
            if task.assignee_id or task.leader_id
        )

    findings = visit_findings(visit)
    if findings:
        leader_id = routing.grid_leaders.get(grid_id) if grid_id else None
        leader_id = leader_id or routing.commander_id
        if leader_id:
            notify(
                users=User.objects.filter(pk=leader_id),
                title=_("Visit: %(name)s (%(address)s) has %(findings)s")
                % {"name": resident.name, "address": address, "findings": ", ".join(findings)},
                body=_("Recorded by %(who)s.") % {"who": actor.name},
                url=url,
                urgent=True,
            )
            outcome.alerts.append(
                _("The grid leader has been told: %(findings)s.") % {"findings": ", ".join(findings)}
            )

    audit_record(
        actor=actor,
        action=AuditLog.Action.CREATE,
        target=visit,
        target_label=f"{resident.name} {timezone.localtime(visited_at):%Y-%m-%d}",
        detail=f"visit ({method}); needs: {visit.needs or '-'}; tasks: "
        + (", ".join(str(t.pk) for t in outcome.tasks) or "-"),
    )
    return outcome


# --- reading -----------------------------------------------------------------------------------------


def visit_plans_for(actor: User) -> VisitPlanQuerySet:
    """Plans the actor may see: their grid's, their community's, or their street's."""
    return VisitPlan.objects.filter(scope_q(actor))


def visits_for(actor: User) -> QuerySet[Visit]:
    return Visit.objects.filter(scope_q(actor))


def visit_plan_get(actor: User, pk: int) -> VisitPlan:
    plan = (
        visit_plans_for(actor)
        .select_related(
            "resident__household__building__worker", "resident__household__entrance", "visitor", "grid"
        )
        .filter(pk=pk)
        .first()
    )
    if plan is None:
        raise Http404
    return plan


def visit_get(actor: User, pk: int) -> Visit:
    visit = (
        visits_for(actor)
        .select_related(
            "resident__household__building", "resident__household__entrance", "visitor", "plan", "grid"
        )
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        raise Http404
    return visit


def visit_tasks(visit: Visit) -> list[Task]:
    return list(
        Task.objects.filter(source=Task.Source.VISIT, source_id=visit.pk)
        .select_related("assignee")
        .order_by("priority", "id")
    )


def resident_visits(actor: User, resident: Resident, limit: int = 100) -> list[Visit]:
    """One resident's visits, latest first (the caller loaded the resident in scope)."""
    return list(
        Visit.objects.filter(resident=resident)
        .select_related("visitor")
        .order_by("-visited_at", "-id")[:limit]
    )


def last_visit(resident: Resident) -> Visit | None:
    return Visit.objects.filter(resident=resident).order_by("-visited_at", "-id").first()


@dataclass
class PlanRow:
    plan: VisitPlan
    due_on: dt.date
    visitor: User | None  # named on the plan, or the building's worker
    last_visited_at: dt.datetime | None = None
    missed_last_week: bool = False
    name: str = ""
    # The first of its visitor's rows in a list: the board puts the visitor's name above it.
    first_of_visitor: bool = False

    @property
    def resident(self) -> Resident:
        return self.plan.resident

    @property
    def days_since(self) -> int | None:
        if self.last_visited_at is None:
            return None
        return (timezone.localdate() - timezone.localtime(self.last_visited_at).date()).days


@dataclass
class VisitorLine:
    """One visitor's (or grid's) week at a glance, for those who oversee several."""

    key: int | None
    name: str
    grid: str = ""
    overdue: int = 0
    today: int = 0
    upcoming: int = 0
    done: int = 0

    @property
    def total(self) -> int:
        return self.overdue + self.today + self.upcoming + self.done


@dataclass
class Board:
    day: dt.date
    monday: dt.date
    overdue: list[PlanRow]
    today: list[PlanRow]
    upcoming: list[PlanRow]
    done: list[Visit]
    counts: dict[str, int]
    visitors: list[VisitorLine]
    names: bool
    truncated: bool = False
    upcoming_truncated: bool = False

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def percent_done(self) -> int:
        total = self.counts["done"] + self.counts["overdue"] + self.counts["today"] + self.counts["upcoming"]
        return round(100 * self.counts["done"] / total) if total else 100


BOARD_ROWS = 300


def _visitor_q(visitor_id: int) -> Q:
    return Q(visitor_id=visitor_id) | Q(
        visitor__isnull=True, resident__household__building__worker_id=visitor_id
    )


def visits_board(
    actor: User,
    day: dt.date | None = None,
    *,
    visitor_id: int | None = None,
    grid_id: int | None = None,
    community_id: int | None = None,
) -> Board:
    """The week of visits in the actor's scope (a grid worker's grid, a community, a street): overdue (this
    week's day has passed, or last week's visit was missed, and nobody has visited this week), due today,
    still to come this week, and the visits done this week; with each visitor's counts. A fixed number of
    queries however many plans there are."""
    day = day or timezone.localdate()
    monday = week_of(day)
    plans = visit_plans_for(actor).filter(active=True)
    if visitor_id:
        plans = plans.filter(_visitor_q(visitor_id))
    if grid_id:
        plans = plans.filter(grid_id=grid_id)
    if community_id:
        plans = plans.filter(community_id=community_id)
    visited = Exists(Visit.objects.filter(resident_id=OuterRef("resident_id"), week=monday))
    unvisited = plans.exclude(visited)

    missed_before = plans.overdue(monday - dt.timedelta(days=1)).values("pk")
    overdue_q = Q(pk__in=missed_before)
    if day != monday:
        overdue_q |= Q(pk__in=plans.overdue(day - dt.timedelta(days=1)).values("pk"))
    overdue_qs = unvisited.filter(overdue_q)
    today_qs = unvisited.due_by(day).filter(weekday=day.weekday()).exclude(pk__in=missed_before)
    upcoming_qs = (
        unvisited.due_by(monday + dt.timedelta(days=6))
        .exclude(pk__in=plans.due_by(day).values("pk"))
        .exclude(pk__in=missed_before)
    )
    owner = ("pk", "visitor_id", "resident__household__building__worker_id", "grid_id")
    sections = {
        "overdue": list(overdue_qs.values_list(*owner)),
        "today": list(today_qs.values_list(*owner)),
        "upcoming": list(upcoming_qs.values_list(*owner)),
        "done": list(plans.filter(visited).values_list(*owner)),
    }
    missed_ids = set(plans.filter(pk__in=missed_before).values_list("pk", flat=True))

    # Everyone's counts, by the plan's visitor (or the building's worker).
    lines: dict[int | None, VisitorLine] = {}
    grids_of: dict[int | None, set[int]] = defaultdict(set)
    for section, rows in sections.items():
        for _pk, visitor, worker, grid in rows:
            key = visitor or worker
            line = lines.setdefault(key, VisitorLine(key=key, name=""))
            setattr(line, section, getattr(line, section) + 1)
            if grid:
                grids_of[key].add(grid)
    people = {u.pk: u for u in User.objects.filter(pk__in=[k for k in lines if k])}
    grid_names = dict(
        Grid.objects.filter(pk__in={g for gs in grids_of.values() for g in gs}).values_list("pk", "name")
    )
    for key, line in lines.items():
        line.name = people[key].name if key in people else _("nobody named")
        line.grid = "、".join(sorted(grid_names.get(g, "") for g in grids_of[key]))
    visitors = sorted(lines.values(), key=lambda v: (v.key is None, -v.overdue, -v.today, v.grid, v.name))

    # The rows to show, in one query.
    shown = {
        section: [pk for pk, *_rest in sections[section][:BOARD_ROWS]]
        for section in ("overdue", "today", "upcoming")
    }
    wanted = [pk for ids in shown.values() for pk in ids]
    loaded = {
        p.pk: p
        for p in VisitPlan.objects.filter(pk__in=wanted).select_related(
            "resident__household__building__worker",
            "resident__household__entrance",
            "visitor",
            "grid",
        )
    }
    last = dict(
        Visit.objects.filter(resident_id__in=[p.resident_id for p in loaded.values()])
        .values("resident_id")
        .annotate(at=Max("visited_at"))
        .values_list("resident_id", "at")
    )
    names = can_see_names(actor)

    def row(plan: VisitPlan) -> PlanRow:
        return PlanRow(
            plan=plan,
            due_on=plan.due_on(day),
            visitor=plan.visitor or plan.resident.household.building.worker,
            last_visited_at=last.get(plan.resident_id),
            missed_last_week=plan.pk in missed_ids,
            name=plan.resident.name if names else mask_name(plan.resident.name),
        )

    def place(plan: VisitPlan) -> tuple[object, ...]:
        h = plan.resident.household
        return (h.building.sort_key, h.building.number, h.entrance.number, len(h.room), h.room, plan.pk)

    def rows_of(section: str) -> list[PlanRow]:
        return [row(loaded[pk]) for pk in shown[section] if pk in loaded]

    # Someone overseeing several visitors reads each visitor's people together, in that visitor's order.
    order = {line.key: n for n, line in enumerate(visitors)}

    def by(row: PlanRow) -> int:
        return order.get(row.visitor.pk if row.visitor else None, len(order))

    overdue = sorted(
        rows_of("overdue"), key=lambda r: (by(r), not r.missed_last_week, r.due_on, place(r.plan))
    )
    today = sorted(rows_of("today"), key=lambda r: (by(r), place(r.plan)))
    upcoming = sorted(rows_of("upcoming"), key=lambda r: (by(r), r.due_on, place(r.plan)))
    for rows in (overdue, today, upcoming):
        for before, current in zip([None, *rows], rows, strict=False):
            current.first_of_visitor = before is None or before.visitor != current.visitor

    done_qs = Visit.objects.filter(week=monday, resident_id__in=plans.values("resident_id"))
    done = list(
        done_qs.select_related(
            "resident__household__building", "resident__household__entrance", "visitor"
        ).order_by("-visited_at", "-id")[:BOARD_ROWS]
    )
    if not names:
        for visit in done:
            visit.resident.name = mask_name(visit.resident.name)
    counts = {section: len(rows) for section, rows in sections.items()}
    return Board(
        day=day,
        monday=monday,
        overdue=overdue,
        today=today,
        upcoming=upcoming,
        done=done,
        counts=counts,
        visitors=visitors,
        names=names,
        truncated=any(len(sections[s]) > BOARD_ROWS for s in ("overdue", "today", "done")),
        upcoming_truncated=len(sections["upcoming"]) > BOARD_ROWS,
    )


def next_due(actor: User, day: dt.date | None = None) -> PlanRow | None:
    """After saving a visit: the next person the actor should see (overdue first, then today's)."""
    board = visits_board(actor, day, visitor_id=actor.pk)
    for row in board.overdue + board.today:
        return row
    return None
