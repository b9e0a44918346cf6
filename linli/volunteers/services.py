"""Writes for the volunteer force: sign-up and approval, certificates, enterprises, needs and call-outs,
answers and back-fill, check-in and hours, points, injuries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.services import Message, notify_many
from linli.core.access import community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.identity import InvalidIdentity, normalize_phone, parse_id_number
from linli.core.models import AuditLog, User
from linli.core.roles import ADMIN_ROLES, Role
from linli.registry.models import Building, Community
from linli.volunteers import dispatch
from linli.volunteers.models import (
    Certificate,
    Enterprise,
    Injury,
    Need,
    PointEntry,
    Shift,
    Skill,
    Training,
    Volunteer,
)

# Who coordinates volunteers: commanders, street staff, and the community's teams (liaison leads the call-outs).
COORDINATOR_ROLES = ADMIN_ROLES | {Role.TEAM_MEMBER, Role.GRID_LEADER}

# Points (seed 000: tie service to honour and credit records).
POINTS_PER_HOUR = Decimal(1)
NIGHT_BONUS_PER_HOUR = Decimal("0.5")  # hours between 22:00 and 06:00
DRILL_POINTS = Decimal(5)
TRAINING_POINTS_PER_HOUR = Decimal("0.5")
# Check-in opens an hour before the shift; hours count from the shift's start at the earliest.
CHECKIN_EARLY = dt.timedelta(hours=1)
CHECKOUT_GRACE = dt.timedelta(hours=2)

SERVICE_AGREEMENT_VERSION = "2026-1"


def can_coordinate(actor: User, community_id: int | None) -> bool:
    if actor.is_superuser:
        return True
    if not actor.is_active or actor.role not in COORDINATOR_ROLES:
        return False
    return community_id in (community_ids_in_scope(actor) or [])


def _require_coordinator(actor: User, community_id: int | None) -> None:
    if not can_coordinate(actor, community_id):
        raise PermissionDenied(_("You do not coordinate volunteers there."))


def clean_phone(raw: object) -> str:
    try:
        return normalize_phone(raw)
    except InvalidIdentity as exc:
        raise ValidationError(str(exc)) from None


def clean_id_number(raw: object) -> str:
    if not str(raw or "").strip():
        return ""
    try:
        return parse_id_number(raw).number
    except InvalidIdentity as exc:
        raise ValidationError(str(exc)) from None


# Sign-up and the registry ---------------------------------------------------------------------------


def volunteer_sign_up(
    *,
    community: Community,
    name: str,
    phone: object,
    password: str,
    id_number: object = "",
    building: Building | None = None,
    skills: Iterable[Skill] = (),
    availability: int = 0,
    on_call: bool = False,
    consent: bool,
) -> Volunteer:
    """The public sign-up: an application the community approves. The same phone number in the street
    is one volunteer: an employee an enterprise enrolled claims their record by signing up with the
    same name and phone, and gets a login."""
    if not consent:
        raise ValidationError(_("Read and accept the volunteer agreement to sign up."))
    phone_number = clean_phone(phone)
    id_text = clean_id_number(id_number)
    if building is not None and building.community_id != community.pk:
        raise ValidationError(_("Choose a building of this community."))
    with transaction.atomic():
        existing = (
            Volunteer.objects.select_for_update()
            .filter(street_id=community.street_id, phone=phone_number)
            .first()
        )
        if existing is not None and (existing.user_id or existing.name != name.strip()):
            raise ValidationError(
                _("This phone number is already registered. Sign in, or ask your community.")
            )
        if User.objects.filter(username=phone_number).exists():
            raise ValidationError(
                _("This phone number is already registered. Sign in, or ask your community.")
            )
        user = User(
            username=phone_number, display_name=name.strip()[:50], phone=phone_number, role=Role.VOLUNTEER
        )
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        now = timezone.now()
        volunteer = existing or Volunteer(
            community=community, street_id=community.street_id, phone=phone_number
        )
        volunteer.user = user
        volunteer.name = name.strip()[:50]
        volunteer.id_number = id_text or volunteer.id_number
        volunteer.building = building or volunteer.building
        volunteer.availability = availability or volunteer.availability
        volunteer.on_call = on_call or volunteer.on_call
        volunteer.consent_at = now
        volunteer.agreement_signed_at = now
        volunteer.save()
        volunteer.skills.add(*skills)
        audit_record(
            actor=user,
            action=AuditLog.Action.CREATE,
            target=volunteer,
            detail=_("volunteer sign-up"),
            community_id=community.pk,
        )
    _tell_coordinators(
        volunteer.community_id,
        _("New volunteer application: %(name)s") % {"name": volunteer.name},
        f"/volunteers/{volunteer.pk}/",
    )
    return volunteer


def _tell_coordinators(community_id: int, title: str, url: str) -> None:
    people = User.objects.filter(
        community_id=community_id, role__in=[Role.COMMUNITY_ADMIN, Role.TEAM_MEMBER], is_active=True
    ).values_list("pk", flat=True)
    notify_many(Message(user_id=pk, title=title, url=url) for pk in people)


def volunteer_set_status(*, actor: User, volunteer: Volunteer, status: str, note: str = "") -> Volunteer:
    """Approve an application, or make a volunteer inactive or suspended (with a reason)."""
    _require_coordinator(actor, volunteer.community_id)
    if status not in Volunteer.Status.values:
        raise ValidationError(_("Unknown status."))
    if status == Volunteer.Status.SUSPENDED and not note.strip():
        raise ValidationError(_("Say why the volunteer is suspended."))
    before = volunteer.status
    with transaction.atomic():
        volunteer.status = status
        if status == Volunteer.Status.ACTIVE and volunteer.approved_at is None:
            volunteer.approved_at, volunteer.approved_by = timezone.now(), actor
        if note.strip():
            volunteer.notes = note.strip()[:300]
        volunteer.save()
        if status != Volunteer.Status.ACTIVE:
            # Nobody inactive or suspended stays called out.
            Shift.objects.filter(
                volunteer=volunteer, status=Shift.Status.OFFERED, starts_at__gt=timezone.now()
            ).update(status=Shift.Status.WITHDRAWN, answered_at=timezone.now())
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=volunteer,
            changes={"status": [before, status]},
            detail=note.strip()[:200],
        )
    if volunteer.user_id and before == Volunteer.Status.APPLIED and status == Volunteer.Status.ACTIVE:
        notify_many(
            [
                Message(
                    user_id=volunteer.user_id,
                    title=_("Welcome: your volunteer application was approved."),
                    url="/v/",
                )
            ]
        )
    return volunteer


def volunteer_save(*, actor: User, volunteer: Volunteer, skills: Iterable[Skill] | None = None) -> Volunteer:
    """A coordinator registers or edits a volunteer (tier, skills, availability, insurance, building)."""
    _require_coordinator(actor, volunteer.community_id)
    volunteer.phone = clean_phone(volunteer.phone)
    volunteer.id_number = clean_id_number(volunteer.id_number)
    if volunteer.building_id and volunteer.building.community_id != volunteer.community_id:  # type: ignore[union-attr]
        raise ValidationError(_("Choose a building of this community."))
    created = volunteer.pk is None
    with transaction.atomic():
        if created and volunteer.status == Volunteer.Status.APPLIED:
            volunteer.status = Volunteer.Status.ACTIVE
            volunteer.approved_at, volunteer.approved_by = timezone.now(), actor
        try:
            with transaction.atomic():
                volunteer.save()
        except IntegrityError:
            raise ValidationError(
                _("A volunteer with this phone number is already registered in the street.")
            ) from None
        if skills is not None:
            volunteer.skills.set(list(skills))
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
            target=volunteer,
        )
    return volunteer


def volunteer_reveal(*, actor: User, volunteer: Volunteer, reason: str = "phone") -> str:
    """A coordinator needs the full phone number to call a volunteer; every reveal is logged."""
    _require_coordinator(actor, volunteer.community_id)
    audit_record(actor=actor, action=AuditLog.Action.REVEAL, target=volunteer, detail=reason)
    return volunteer.phone


def certificate_add(*, actor: User, volunteer: Volunteer, certificate: Certificate) -> Certificate:
    _require_coordinator(actor, volunteer.community_id)
    if certificate.expires_on is not None and certificate.expires_on < certificate.issued_on:
        raise ValidationError(_("The certificate expires before it was issued."))
    certificate.volunteer = volunteer
    with transaction.atomic():
        certificate.save()
        volunteer.skills.add(certificate.skill)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=volunteer,
            detail=_("certificate %(skill)s %(number)s")
            % {"skill": certificate.skill, "number": certificate.number},
        )
    return certificate


def training_add(*, actor: User, volunteer: Volunteer, training: Training) -> Training:
    _require_coordinator(actor, volunteer.community_id)
    training.volunteer = volunteer
    with transaction.atomic():
        training.save()
        points = (
            DRILL_POINTS
            if training.kind == Training.Kind.DRILL
            else TRAINING_POINTS_PER_HOUR * training.hours
        )
        if points:
            PointEntry.objects.create(
                volunteer=volunteer,
                reason=PointEntry.Reason.DRILL
                if training.kind == Training.Kind.DRILL
                else PointEntry.Reason.TRAINING,
                hours=training.hours,
                points=points,
                note=training.title[:200],
                by=actor,
            )
        audit_record(
            actor=actor, action=AuditLog.Action.CREATE, target=volunteer, detail=training.title[:200]
        )
    return training


def injury_record(*, actor: User, volunteer: Volunteer, injury: Injury) -> Injury:
    """An injury on duty, for the insurance claim; the insurer and policy are on the volunteer."""
    if actor != volunteer.user:
        _require_coordinator(actor, volunteer.community_id)
    injury.volunteer = volunteer
    injury.recorded_by = actor
    injury.save()
    audit_record(actor=actor, action=AuditLog.Action.CREATE, target=volunteer, detail=_("injury on duty"))
    _tell_coordinators(
        volunteer.community_id,
        _("Injury on duty: %(name)s") % {"name": volunteer.name},
        f"/volunteers/{volunteer.pk}/",
    )
    return injury


def points_award(*, actor: User, volunteer: Volunteer, points: Decimal, note: str) -> PointEntry:
    """A commendation: extra points with the reason."""
    _require_coordinator(actor, volunteer.community_id)
    if not note.strip():
        raise ValidationError(_("Say what the points are for."))
    if points <= 0 or points > 100:
        raise ValidationError(_("Award between 0 and 100 points."))
    entry = PointEntry.objects.create(
        volunteer=volunteer, reason=PointEntry.Reason.BONUS, points=points, note=note.strip()[:200], by=actor
    )
    audit_record(
        actor=actor, action=AuditLog.Action.CREATE, target=volunteer, detail=f"+{points}: {note}"[:200]
    )
    return entry


# Enterprises --------------------------------------------------------------------------------------


def enterprise_register(
    *,
    street_id: int,
    name: str,
    credit_code: str,
    contact: str,
    phone: object,
    password: str,
    address: str = "",
) -> Enterprise:
    """A company registers to enrol its trained employees (云入库); the street approves it."""
    code = credit_code.strip().upper()
    if len(code) != 18 or not code.isalnum():
        raise ValidationError(_("The unified social credit code has 18 letters and digits."))
    phone_number = clean_phone(phone)
    with transaction.atomic():
        if Enterprise.objects.filter(credit_code=code).exists():
            raise ValidationError(_("This enterprise is already registered."))
        if User.objects.filter(username=phone_number).exists():
            raise ValidationError(
                _("This phone number is already registered. Sign in, or ask your community.")
            )
        user = User(
            username=phone_number, display_name=contact.strip()[:50], phone=phone_number, role=Role.ENTERPRISE
        )
        user.set_password(password)
        user.save()
        enterprise = Enterprise.objects.create(
            street_id=street_id,
            name=name.strip(),
            credit_code=code,
            contact=contact.strip(),
            phone=phone_number,
            address=address.strip(),
        )
        enterprise.accounts.add(user)
        audit_record(actor=user, action=AuditLog.Action.CREATE, target=enterprise, street_id=street_id)
    return enterprise


def enterprise_set_status(*, actor: User, enterprise: Enterprise, status: str) -> Enterprise:
    if not (
        actor.is_superuser or (actor.role == Role.STREET_ADMIN and actor.street_id == enterprise.street_id)
    ):
        raise PermissionDenied
    enterprise.status = status
    enterprise.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=AuditLog.Action.UPDATE,
        target=enterprise,
        street_id=enterprise.street_id,
        detail=status,
    )
    return enterprise


def can_see_enterprise(actor: User, enterprise: Enterprise) -> bool:
    if actor.is_superuser:
        return True
    if actor.role == Role.ENTERPRISE:
        return enterprise.accounts.filter(pk=actor.pk).exists()
    return actor.street_id == enterprise.street_id and actor.role in COORDINATOR_ROLES


# Needs, call-outs and answers ----------------------------------------------------------------------


def need_create(
    *,
    actor: User,
    community: Community,
    title: str,
    skills: Sequence[Skill],
    count: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    building: Building | None = None,
    place: str = "",
    response: Any = None,
) -> Need:
    _require_coordinator(actor, community.pk)
    if ends_at <= starts_at:
        raise ValidationError(_("The shift must end after it starts."))
    if ends_at - starts_at > dt.timedelta(hours=24):
        raise ValidationError(_("A shift is at most 24 hours; split longer needs into shifts."))
    if count < 1 or count > 500:
        raise ValidationError(_("Ask for between 1 and 500 people."))
    if building is not None and building.community_id != community.pk:
        raise ValidationError(_("Choose a building of this community."))
    with transaction.atomic():
        need = Need.objects.create(
            community=community,
            street_id=community.street_id,
            title=title.strip()[:100],
            count=count,
            building=building,
            place=place.strip()[:100],
            starts_at=starts_at,
            ends_at=ends_at,
            response=response,
            is_drill=bool(response is not None and response.is_drill),
            created_by=actor,
        )
        need.skills.set(skills)
        audit_record(actor=actor, action=AuditLog.Action.CREATE, target=need, community_id=community.pk)
    return need


def _live_clash(
    volunteer_id: int, starts_at: dt.datetime, ends_at: dt.datetime, *, statuses: Sequence[str]
) -> Shift | None:
    return (
        Shift.objects.filter(
            volunteer_id=volunteer_id, status__in=statuses, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .select_related("need")
        .first()
    )


def call_out(*, actor: User, need: Need, volunteers: Iterable[Volunteer], notify: bool = True) -> list[Shift]:
    """Offer the need to these volunteers. Someone already called out or booked for an overlapping
    shift is skipped, never double-booked."""
    _require_coordinator(actor, need.community_id)
    if need.status != Need.Status.OPEN:
        raise ValidationError(_("This need is no longer open."))
    made: list[Shift] = []
    live = [Shift.Status.OFFERED, Shift.Status.ACCEPTED]
    with transaction.atomic():
        for volunteer in (
            Volunteer.objects.select_for_update()
            .filter(pk__in=[v.pk for v in volunteers], status=Volunteer.Status.ACTIVE)
            .order_by("pk")
        ):
            if _live_clash(volunteer.pk, need.starts_at, need.ends_at, statuses=live):
                continue
            shift, created = Shift.objects.get_or_create(
                need=need,
                volunteer=volunteer,
                defaults={"starts_at": need.starts_at, "ends_at": need.ends_at},
            )
            if created:
                made.append(shift)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=need,
            detail=_("called out %(n)d") % {"n": len(made)},
            community_id=need.community_id,
        )
    if notify:
        _tell_called_out(need, made)
    return made


def _tell_called_out(need: Need, shifts: Sequence[Shift]) -> None:
    when = f"{timezone.localtime(need.starts_at):%m-%d %H:%M}–{timezone.localtime(need.ends_at):%H:%M}"
    notify_many(
        Message(
            user_id=shift.volunteer.user_id,
            title=_("Call-out: %(title)s, %(when)s") % {"title": need.title, "when": when},
            body=need.place or (str(need.building) if need.building else ""),
            url="/v/",
            urgent=True,
        )
        for shift in shifts
        if shift.volunteer.user_id
    )


def call_out_best(*, actor: User, need: Need, count: int | None = None) -> list[Shift]:
    """Call out the best-ranked candidates for the places still open."""
    wanted = count if count is not None else open_places(need)
    if wanted <= 0:
        return []
    ranked = rank_candidates(need, limit=wanted)
    return call_out(actor=actor, need=need, volunteers=[c.volunteer for c in ranked])


def open_places(need: Need) -> int:
    live = need.shifts.filter(status__in=[Shift.Status.OFFERED, Shift.Status.ACCEPTED]).count()
    return max(0, need.count - live)


def shift_answer(*, actor: User, shift: Shift, accept: bool) -> Shift:
    """The volunteer accepts or declines. Accepting refuses an overlap with another accepted shift;
    a decline is back-filled with the next best candidate at once."""
    if shift.volunteer.user_id != actor.pk:
        raise PermissionDenied
    with transaction.atomic():
        Volunteer.objects.select_for_update().filter(pk=shift.volunteer_id).get()
        current = Shift.objects.select_for_update().get(pk=shift.pk)
        if current.status != Shift.Status.OFFERED:
            raise ValidationError(_("This call-out was already answered or withdrawn."))
        if accept:
            clash = _live_clash(
                shift.volunteer_id, shift.starts_at, shift.ends_at, statuses=[Shift.Status.ACCEPTED]
            )
            if clash is not None:
                raise ValidationError(
                    _("You already have a shift then: %(title)s, %(when)s.")
                    % {
                        "title": clash.need.title,
                        "when": f"{timezone.localtime(clash.starts_at):%m-%d %H:%M}",
                    }
                )
        current.status = Shift.Status.ACCEPTED if accept else Shift.Status.DECLINED
        current.answered_at = timezone.now()
        current.save(update_fields=["status", "answered_at"])
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=current.need, detail=current.status)
    if not accept:
        backfill(need=shift.need)
    return current


def backfill(*, need: Need) -> list[Shift]:
    """Offer the open places of a need to the next best candidates (system call-out, no actor)."""
    if need.status != Need.Status.OPEN or need.starts_at <= timezone.now():
        return []
    wanted = open_places(need)
    if wanted <= 0:
        return []
    ranked = rank_candidates(need, limit=wanted)
    made: list[Shift] = []
    with transaction.atomic():
        for candidate in ranked:
            if _live_clash(
                candidate.volunteer.pk,
                need.starts_at,
                need.ends_at,
                statuses=[Shift.Status.OFFERED, Shift.Status.ACCEPTED],
            ):
                continue
            shift, created = Shift.objects.get_or_create(
                need=need,
                volunteer=candidate.volunteer,
                defaults={"starts_at": need.starts_at, "ends_at": need.ends_at},
            )
            if created:
                made.append(shift)
    _tell_called_out(need, made)
    return made


def need_close(*, actor: User, need: Need, cancel: bool = False) -> Need:
    _require_coordinator(actor, need.community_id)
    need.status = Need.Status.CANCELLED if cancel else Need.Status.CLOSED
    need.save(update_fields=["status"])
    if cancel:
        live = list(
            need.shifts.filter(status__in=[Shift.Status.OFFERED, Shift.Status.ACCEPTED]).select_related(
                "volunteer"
            )
        )
        need.shifts.filter(pk__in=[s.pk for s in live]).update(status=Shift.Status.WITHDRAWN)
        notify_many(
            Message(
                user_id=s.volunteer.user_id,
                title=_("Cancelled: %(title)s") % {"title": need.title},
                url="/v/",
            )
            for s in live
            if s.volunteer.user_id
        )
    audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=need, detail=need.status)
    return need


# Check-in, hours and points ------------------------------------------------------------------------


def check_in(*, actor: User, need: Need, at: dt.datetime | None = None) -> Shift:
    """Scanning the site's QR code: the volunteer's accepted shift for this need starts."""
    now = at or timezone.now()
    shift = Shift.objects.filter(need=need, volunteer__user=actor).select_related("need").first()
    if shift is None or shift.status != Shift.Status.ACCEPTED:
        raise ValidationError(
            _("You have no accepted shift here. Accept the call-out first, or ask the site lead.")
        )
    if shift.checked_out_at is not None:
        raise ValidationError(_("You already checked out of this shift."))
    if shift.checked_in_at is not None:
        return shift
    if now < need.starts_at - CHECKIN_EARLY or now > need.ends_at:
        raise ValidationError(
            _("Check-in is open from an hour before the shift until it ends (%(start)s–%(end)s).")
            % {
                "start": f"{timezone.localtime(need.starts_at):%H:%M}",
                "end": f"{timezone.localtime(need.ends_at):%H:%M}",
            }
        )
    Shift.objects.filter(pk=shift.pk, checked_in_at__isnull=True).update(checked_in_at=now)
    shift.refresh_from_db()
    return shift


def check_out(*, actor: User, need: Need, at: dt.datetime | None = None) -> Shift:
    """Leaving the site: hours and points accrue. Hours count from the shift's start (not an early
    arrival) to check-out, at most two hours past the shift's end."""
    now = at or timezone.now()
    with transaction.atomic():
        shift = Shift.objects.select_for_update().filter(need=need, volunteer__user=actor).first()
        if shift is None or shift.checked_in_at is None:
            raise ValidationError(_("Check in first."))
        if shift.checked_out_at is not None:
            return shift
        start = max(shift.checked_in_at, need.starts_at)
        end = min(now, need.ends_at + CHECKOUT_GRACE)
        hours = max(Decimal(0), Decimal((end - start).total_seconds() / 3600)).quantize(Decimal("0.01"))
        shift.checked_out_at, shift.hours = now, hours
        shift.save(update_fields=["checked_out_at", "hours"])
        _award_shift(shift, start, end)
    return shift


def _award_shift(shift: Shift, start: dt.datetime, end: dt.datetime) -> None:
    hours = shift.hours or Decimal(0)
    entries = [
        PointEntry(
            volunteer_id=shift.volunteer_id,
            shift=shift,
            reason=PointEntry.Reason.HOURS,
            hours=hours,
            points=(hours * POINTS_PER_HOUR).quantize(Decimal("0.1")),
            note=shift.need.title[:200],
        )
    ]
    night = _night_hours(start, end)
    if night:
        entries.append(
            PointEntry(
                volunteer_id=shift.volunteer_id,
                shift=shift,
                reason=PointEntry.Reason.NIGHT,
                points=(night * NIGHT_BONUS_PER_HOUR).quantize(Decimal("0.1")),
                note=shift.need.title[:200],
            )
        )
    if shift.need.is_drill:
        entries.append(
            PointEntry(
                volunteer_id=shift.volunteer_id,
                shift=shift,
                reason=PointEntry.Reason.DRILL,
                points=DRILL_POINTS,
                note=shift.need.title[:200],
            )
        )
    PointEntry.objects.bulk_create(entries)


def _night_hours(start: dt.datetime, end: dt.datetime) -> Decimal:
    total = 0.0
    at = timezone.localtime(start)
    stop = timezone.localtime(end)
    while at < stop:
        step = min(stop, at.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1))
        if at.hour >= 22 or at.hour < 6:
            total += (step - at).total_seconds() / 3600
        at = step
    return Decimal(total).quantize(Decimal("0.01"))


# Ranking (the read side lives in dispatch; this wraps it for one saved need) -----------------------


class Candidate:
    def __init__(self, volunteer: Volunteer, cost: int, distance: int) -> None:
        self.volunteer = volunteer
        self.cost = cost
        self.distance = distance  # 0 same building, 1 same grid, 2 same community, 3 same street


def rank_candidates(need: Need, *, limit: int = 20) -> list[Candidate]:
    """The best candidates for a saved need, excluding anyone already asked."""
    asked = set(need.shifts.values_list("volunteer_id", flat=True))
    spec = dispatch.NeedSpec.of(need, exclude=asked)
    pool = dispatch.load_pool(street_ids=[need.street_id], skill_ids=spec.skill_ids)
    ids, costs = dispatch.candidates(pool, spec, limit=limit)
    people = Volunteer.objects.in_bulk([int(pool.ids[i]) for i in ids])
    return [
        Candidate(people[int(pool.ids[i])], int(c), int(c) // dispatch.DISTANCE_COST)
        for i, c in zip(ids, costs, strict=True)
    ]
