"""Writes for the volunteer force: sign-up and approval, certificates, enterprises, needs and call-outs,
answers and back-fill, check-in and hours, points, injuries."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.comms.services import Message, notify, notify_many
from linli.core.access import community_ids_in_scope
from linli.core.audit import audit_record, diff
from linli.core.identity import InvalidIdentity, normalize_phone, parse_id_number
from linli.core.models import AuditLog, User
from linli.core.roles import ADMIN_ROLES, Role
from linli.core.selectors import community_staff
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


# GB 32100-2015: the unified social credit code's 18 characters come from this set; the last is a check.
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def clean_credit_code(raw: object) -> str:
    code = unicodedata.normalize("NFKC", str(raw or "")).strip().upper()
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        raise ValidationError(
            _("The unified social credit code has 18 digits and capital letters (no I, O, S, V or Z).")
        )
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    if _CREDIT_CHARS[(31 - total % 31) % 31] != code[17]:
        raise ValidationError(
            _("The last character of the credit code does not match: check it against the business licence.")
        )
    return code


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
    is one volunteer. An employee an enterprise enrolled, still waiting for approval, claims that record
    by signing up with the same name and phone; the record stays an application until the community
    approves it, so nobody can take over an active volunteer this way."""
    if not consent:
        raise ValidationError(_("Read and accept the volunteer agreement to sign up."))
    phone_number = clean_phone(phone)
    id_text = clean_id_number(id_number)
    with transaction.atomic():
        existing = (
            Volunteer.objects.select_for_update()
            .filter(street_id=community.street_id, phone=phone_number)
            .first()
        )
        claimable = (
            existing is not None
            and existing.user_id is None
            and existing.enterprise_id is not None
            and existing.status == Volunteer.Status.APPLIED
            and existing.name == name.strip()
        )
        if existing is not None and not claimable:
            raise ValidationError(ALREADY_REGISTERED)
        volunteer = existing or Volunteer(
            community=community, street_id=community.street_id, phone=phone_number
        )
        if building is not None and building.community_id != volunteer.community_id:
            raise ValidationError(_("Choose a building of this community."))
        user = _outside_account(phone_number, name, Role.VOLUNTEER, password)
        now = timezone.now()
        volunteer.user = user
        volunteer.name = name.strip()[:50]
        volunteer.id_number = volunteer.id_number or id_text
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
    tell_coordinators(
        volunteer.community_id,
        _("New volunteer application: %(name)s") % {"name": volunteer.name},
        f"/volunteers/{volunteer.pk}/",
    )
    return volunteer


ALREADY_REGISTERED = gettext_lazy("This phone number is already registered. Sign in, or ask your community.")


def _outside_account(phone: str, name: str, role: str, password: str) -> User:
    """A volunteer's or enterprise contact's login: the mobile number is the username. Two sign-ups
    with one number at the same moment: the second is told it is taken."""
    user = User(username=phone, display_name=name.strip()[:50], phone=phone, role=role)
    user.set_password(password)
    user.full_clean(exclude=["password"], validate_unique=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError(ALREADY_REGISTERED) from None
    return user


def tell_coordinators(community_id: int, title: str, url: str) -> None:
    notify(
        users=community_staff(community_id).filter(role__in=[Role.COMMUNITY_ADMIN, Role.TEAM_MEMBER]),
        title=title,
        url=url,
    )


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
        withdrawn = []
        if status != Volunteer.Status.ACTIVE:
            # Nobody inactive or suspended stays called out or booked for a shift that has not started;
            # the places go back to the needs.
            withdrawn = list(
                Shift.objects.filter(
                    volunteer=volunteer,
                    status__in=[Shift.Status.OFFERED, Shift.Status.ACCEPTED],
                    starts_at__gt=timezone.now(),
                ).select_related("need")
            )
            Shift.objects.filter(pk__in=[s.pk for s in withdrawn]).update(
                status=Shift.Status.WITHDRAWN, answered_at=timezone.now()
            )
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=volunteer,
            changes={"status": [before, status]},
            detail=note.strip()[:200],
        )
    if volunteer.user_id and withdrawn:
        notify_many(
            Message(
                user_id=volunteer.user_id,
                title=_("Withdrawn: %(title)s") % {"title": s.need.title},
                url="/v/",
            )
            for s in withdrawn
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
    before = (
        {} if created else Volunteer.objects.filter(pk=volunteer.pk).values(*AUDITED, *MASKED).first() or {}
    )
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
        changes = (
            diff({k: before.get(k) for k in AUDITED}, {k: getattr(volunteer, k) for k in AUDITED})
            if before
            else {}
        )
        changes.update({k: ["***", "***"] for k in MASKED if before and before[k] != getattr(volunteer, k)})
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
            target=volunteer,
            changes=changes,
        )
    return volunteer


# What the audit log records of an edit; phone and ID number only as "changed".
AUDITED = [
    "name",
    "tier",
    "community_id",
    "building_id",
    "availability",
    "on_call",
    "insurer",
    "policy_number",
    "cover",
    "insured_until",
    "notes",
]
MASKED = ["phone", "id_number"]


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
        _record_training(training, by=actor)
        audit_record(
            actor=actor, action=AuditLog.Action.CREATE, target=volunteer, detail=training.title[:200]
        )
    return training


def _record_training(training: Training, *, by: User | None) -> None:
    """Training earns half a point an hour; a drill attended earns the drill points, once a day."""
    drill = training.kind == Training.Kind.DRILL
    same_day = Training.objects.filter(
        volunteer_id=training.volunteer_id, kind=Training.Kind.DRILL, on=training.on
    )
    if drill and same_day.exists():
        return  # already recorded (checked in at the drill and entered by hand, say)
    training.save()
    points = DRILL_POINTS if drill else TRAINING_POINTS_PER_HOUR * training.hours
    if points:
        PointEntry.objects.create(
            volunteer_id=training.volunteer_id,
            reason=PointEntry.Reason.DRILL if drill else PointEntry.Reason.TRAINING,
            hours=training.hours,
            points=points,
            note=training.title[:200],
            by=by,
        )


def injury_record(*, actor: User, volunteer: Volunteer, injury: Injury) -> Injury:
    """An injury on duty, for the insurance claim; the insurer and policy are on the volunteer."""
    if actor != volunteer.user:
        _require_coordinator(actor, volunteer.community_id)
    injury.volunteer = volunteer
    injury.recorded_by = actor
    injury.save()
    audit_record(actor=actor, action=AuditLog.Action.CREATE, target=volunteer, detail=_("injury on duty"))
    tell_coordinators(
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
    code = clean_credit_code(credit_code)
    phone_number = clean_phone(phone)
    with transaction.atomic():
        if Enterprise.objects.filter(credit_code=code).exists():
            raise ValidationError(_("This enterprise is already registered."))
        user = _outside_account(phone_number, contact, Role.ENTERPRISE, password)
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


def coordinated_communities(actor: User | None, need: Need) -> frozenset[int] | None:
    """Whose volunteers a call-out may reach: the street's for street staff, otherwise the caller's
    communities. A system back-fill acts for whoever created the need."""
    actor = actor or need.created_by
    if actor is None:
        return frozenset({need.community_id})
    if actor.is_superuser or actor.role == Role.STREET_ADMIN:
        return None
    return frozenset(community_ids_in_scope(actor) or [need.community_id])


def _offer(need: Need, volunteer_ids: Sequence[int]) -> list[Shift]:
    """Create the offers, in a transaction, skipping anyone booked in the meantime."""
    made: list[Shift] = []
    live = [Shift.Status.OFFERED, Shift.Status.ACCEPTED]
    for volunteer in (
        Volunteer.objects.select_for_update()
        .filter(pk__in=volunteer_ids, status=Volunteer.Status.ACTIVE)
        .order_by("pk")
    ):
        if _live_clash(volunteer.pk, need.starts_at, need.ends_at, statuses=live):
            continue
        shift, created = Shift.objects.get_or_create(
            need=need, volunteer=volunteer, defaults={"starts_at": need.starts_at, "ends_at": need.ends_at}
        )
        if created:
            made.append(shift)
    return made


def call_out(*, actor: User, need: Need, volunteers: Iterable[Volunteer], notify: bool = True) -> list[Shift]:
    """Offer the need to these volunteers. Only those the ranking would accept are asked: a valid
    certificate, free then, in the caller's communities, not booked for an overlapping shift."""
    _require_coordinator(actor, need.community_id)
    if need.status != Need.Status.OPEN:
        raise ValidationError(_("This need is no longer open."))
    allowed = {c.volunteer.pk for c in rank_candidates(need, actor=actor, limit=None)}
    with transaction.atomic():
        made = _offer(need, [v.pk for v in volunteers if v.pk in allowed])
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
    ranked = rank_candidates(need, actor=actor, limit=wanted)
    return call_out(actor=actor, need=need, volunteers=[c.volunteer for c in ranked])


def open_places(need: Need) -> int:
    live = need.shifts.filter(status__in=[Shift.Status.OFFERED, Shift.Status.ACCEPTED]).count()
    return max(0, need.count - live)


def shift_answer(*, actor: User, shift: Shift, accept: bool) -> Shift:
    """The volunteer accepts or declines. An accept takes a place only while the need is open and has
    one left, and never over another accepted shift at the same time; the last place taken withdraws
    the other offers. A decline is back-filled with the next best candidate at once."""
    if shift.volunteer.user_id != actor.pk:
        raise PermissionDenied
    with transaction.atomic():
        # The need first, then the volunteer: every writer of a need's places locks in this order.
        need = Need.objects.select_for_update().get(pk=shift.need_id)
        volunteer = Volunteer.objects.select_for_update().get(pk=shift.volunteer_id)
        current = Shift.objects.select_for_update().get(pk=shift.pk)
        if current.status != Shift.Status.OFFERED:
            raise ValidationError(_("This call-out was already answered or withdrawn."))
        if accept:
            if not volunteer.is_active:
                raise ValidationError(_("Your volunteer status is not active: ask your community."))
            if need.status != Need.Status.OPEN or _accepted(need) >= need.count:
                raise ValidationError(_("Thank you: the places are already filled."))
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
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=need, detail=current.status)
        if accept and _accepted(need) >= need.count:
            _withdraw_offers(need)
    if not accept:
        backfill(need=shift.need)
    return current


def shift_cancel_by_volunteer(*, actor: User, shift: Shift) -> Shift:
    """A volunteer who accepted cannot come after all: before the shift starts the place goes back to
    the need and is back-filled, as a decline would be."""
    if shift.volunteer.user_id != actor.pk:
        raise PermissionDenied
    with transaction.atomic():
        current = Shift.objects.select_for_update().get(pk=shift.pk)
        if current.status != Shift.Status.ACCEPTED or current.checked_in_at is not None:
            raise ValidationError(_("This shift cannot be given up any more."))
        if current.starts_at <= timezone.now():
            raise ValidationError(_("The shift has started: tell the site lead."))
        current.status, current.answered_at = Shift.Status.DECLINED, timezone.now()
        current.save(update_fields=["status", "answered_at"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=current.need,
            detail=_("gave up an accepted shift"),
        )
    tell_coordinators(
        shift.need.community_id,
        _("%(name)s cannot come: %(title)s") % {"name": shift.volunteer.name, "title": shift.need.title},
        f"/volunteers/needs/{shift.need_id}/",
    )
    backfill(need=shift.need)
    return current


def _accepted(need: Need) -> int:
    return need.shifts.filter(status=Shift.Status.ACCEPTED).count()


def _withdraw_offers(need: Need, statuses: Sequence[str] = (Shift.Status.OFFERED,)) -> None:
    """The need is filled or closed: the call-outs still waiting are withdrawn, and those people told."""
    shifts = list(need.shifts.filter(status__in=statuses).select_related("volunteer"))
    need.shifts.filter(pk__in=[s.pk for s in shifts]).update(
        status=Shift.Status.WITHDRAWN, answered_at=timezone.now()
    )
    notify_many(
        Message(
            user_id=s.volunteer.user_id,
            title=_("No longer needed: %(title)s") % {"title": need.title},
            url="/v/",
        )
        for s in shifts
        if s.volunteer.user_id
    )


def backfill(*, need: Need) -> list[Shift]:
    """Offer the open places of a need to the next best candidates (a system call-out)."""
    with transaction.atomic():
        locked = Need.objects.select_for_update().get(pk=need.pk)
        if locked.status != Need.Status.OPEN or locked.starts_at <= timezone.now():
            return []
        wanted = open_places(locked)
        if wanted <= 0:
            return []
        ranked = rank_candidates(locked, limit=wanted)
        made = _offer(locked, [c.volunteer.pk for c in ranked])
        audit_record(
            actor=None,
            action=AuditLog.Action.UPDATE,
            target=locked,
            detail=_("back-filled %(n)d") % {"n": len(made)},
            community_id=locked.community_id,
        )
    _tell_called_out(locked, made)
    return made


def need_close(*, actor: User, need: Need, cancel: bool = False) -> Need:
    """Close a need that has enough people (waiting call-outs are withdrawn), or cancel it (everyone
    booked is told)."""
    _require_coordinator(actor, need.community_id)
    with transaction.atomic():
        Need.objects.select_for_update().filter(pk=need.pk).update(
            status=Need.Status.CANCELLED if cancel else Need.Status.CLOSED
        )
        need.refresh_from_db()
        _withdraw_offers(
            need, [Shift.Status.OFFERED, Shift.Status.ACCEPTED] if cancel else [Shift.Status.OFFERED]
        )
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=need, detail=need.status)
    return need


# Check-in, hours and points ------------------------------------------------------------------------


def check_in(*, actor: User, need: Need, at: dt.datetime | None = None) -> Shift:
    """Scanning the site's QR code: the volunteer's accepted shift for this need starts."""
    now = at or timezone.now()
    shift = Shift.objects.filter(need=need, volunteer__user=actor).select_related("need", "volunteer").first()
    if shift is None or shift.status != Shift.Status.ACCEPTED:
        raise ValidationError(
            _("You have no accepted shift here. Accept the call-out first, or ask the site lead.")
        )
    if not shift.volunteer.is_active:
        raise ValidationError(_("Your volunteer status is not active: ask your community."))
    if shift.checked_out_at is not None:
        raise ValidationError(_("You already checked out of this shift."))
    if shift.checked_in_at is not None:
        return shift
    if now < need.starts_at - CHECKIN_EARLY or now > need.ends_at:
        raise ValidationError(
            _("Check-in is open from %(start)s to %(end)s (an hour before the shift until it ends).")
            % {
                "start": f"{timezone.localtime(need.starts_at - CHECKIN_EARLY):%m-%d %H:%M}",
                "end": f"{timezone.localtime(need.ends_at):%H:%M}",
            }
        )
    if Shift.objects.filter(pk=shift.pk, checked_in_at__isnull=True).update(checked_in_at=now):
        audit_record(actor=actor, action=AuditLog.Action.UPDATE, target=need, detail=_("checked in"))
    shift.refresh_from_db()
    return shift


def check_out(*, actor: User, need: Need, at: dt.datetime | None = None) -> Shift:
    """Leaving the site: hours and points accrue. Hours count from the shift's start (not an early
    arrival) to check-out, and no further than the shift's end: overtime is not guessed."""
    now = at or timezone.now()
    with transaction.atomic():
        shift = Shift.objects.select_for_update().filter(need=need, volunteer__user=actor).first()
        if shift is None or shift.checked_in_at is None:
            raise ValidationError(_("Check in first."))
        if shift.checked_out_at is not None:
            return shift
        start = max(shift.checked_in_at, need.starts_at)
        end = min(now, need.ends_at)
        hours = max(Decimal(0), Decimal((end - start).total_seconds() / 3600)).quantize(Decimal("0.01"))
        shift.checked_out_at, shift.hours = now, hours
        shift.save(update_fields=["checked_out_at", "hours"])
        _award_shift(shift, start, end)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=need,
            detail=_("checked out: %(h)s h") % {"h": hours},
        )
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
    PointEntry.objects.bulk_create(entries)
    if shift.need.is_drill:
        # A drill shift is drill attendance: recorded once, as a training record with its points.
        _record_training(
            Training(
                volunteer_id=shift.volunteer_id,
                kind=Training.Kind.DRILL,
                title=shift.need.title[:100],
                on=timezone.localdate(start),
                hours=hours,
            ),
            by=None,
        )


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


@dataclass
class Candidate:
    volunteer: Volunteer
    cost: int
    distance: int  # 0 same building, 1 same grid, 2 same community, 3 elsewhere in the street
    recent_hours: int  # served in the last 30 days (the fairness part of the cost)


def rank_candidates(need: Need, *, actor: User | None = None, limit: int | None = 20) -> list[Candidate]:
    """The best candidates for a saved need, cheapest first, excluding anyone already asked and anyone
    outside the communities the caller coordinates."""
    asked = set(need.shifts.values_list("volunteer_id", flat=True))
    spec = dispatch.NeedSpec.of(need, exclude=asked, community_ids=coordinated_communities(actor, need))
    pool = dispatch.load_pool(street_ids=[need.street_id], skill_ids=spec.skill_ids, holding_all=True)
    ids, costs = dispatch.candidates(pool, spec, limit=limit)
    steps = dispatch.distance_steps(pool, spec, ids)
    people = Volunteer.objects.in_bulk([int(pool.ids[i]) for i in ids])
    return [
        Candidate(
            people[int(pool.ids[i])],
            int(c),
            int(step),
            int(pool.recent_hours[i]),
        )
        for i, c, step in zip(ids, costs, steps, strict=True)
    ]
