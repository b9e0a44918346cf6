"""Fever-medicine purchases reported by pharmacies (seed 001: 药店哨点): each becomes a home check within
2 hours, by the buyer's grid worker when the ledger knows the buyer, else by the data group, who find them.

Pharmacies report on their own form (a link only the pharmacy is given, not the key site's public page,
whose link hangs on the marker at the door), through the API, or a staff member types a report phoned in.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from linli.comms.models import Notification
from linli.comms.services import Message, notify_many
from linli.core.access import community_ids_in_scope, scope_q
from linli.core.audit import audit_record, reveal_logged
from linli.core.identity import (
    InvalidIdentity,
    mask_id_number,
    mask_phone,
    normalize_optional_phone,
    parse_id_number,
)
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.epidemic.selectors import Routing, routing_for
from linli.health.models import KeySite, PharmacyReport, SiteKind
from linli.registry.address import clean_building, parse_address
from linli.registry.models import Building, Community, Household, Resident
from linli.tasks.models import Task, Team
from linli.tasks.services import TaskSpec, tasks_create

SOURCE = Task.Source.PHARMACY
# Seed 001/DOMAIN: a fever-medicine buyer is checked at the door within 2 hours of the report.
CHECK_WITHIN = dt.timedelta(hours=2)
# A purchase older than this is not a report any more but a question for the community office.
MAX_AGE = dt.timedelta(days=7)
# Clocks on a pharmacy's till and our server differ by a few minutes.
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_QUANTITY = 100


class Via:
    FORM = "form"  # a staff member typed it
    LINK = "link"  # the pharmacy's own form
    API = "api"


# --- the pharmacy's own link --------------------------------------------------------------------------


def form_key(site: KeySite) -> str:
    """The pharmacy's form link: derived from the site's token (a new token revokes it) but not the token
    itself, which is printed on the site's marker for anyone to scan."""
    digest = salted_hmac("linli.health.pharmacy-form", site.token).hexdigest()[:16]
    return f"{site.pk}-{digest}"


def pharmacy_by_form_key(key: str) -> KeySite:
    site_id = key.partition("-")[0]
    if not site_id.isdigit():
        raise Http404
    site = (
        KeySite.objects.select_related("community")
        .filter(pk=int(site_id), kind=SiteKind.PHARMACY, active=True)
        .first()
    )
    if site is None or not hmac.compare_digest(form_key(site), key):
        raise Http404
    return site


# --- who may act ------------------------------------------------------------------------------------


def can_report(actor: User, community_id: int | None = None) -> bool:
    """Staff who act, and department systems (a pharmacy chain's or the market regulator's), report
    purchases in their area; observers only look."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if actor.is_outside or actor.role == Role.OBSERVER:
        return False
    if community_id is None:
        return True
    ids = community_ids_in_scope(actor)
    return ids is None or community_id in ids


# --- recording ----------------------------------------------------------------------------------------


@dataclass
class Buyer:
    name: str
    phone: str = ""
    id_number: str = ""
    address: str = ""


@dataclass
class Match:
    resident: Resident | None = None
    building_id: int | None = None
    evidence: str = ""  # "id", "phone", "name_address" or ""


def _clean(
    buyer: Buyer, medicine: str, quantity: int, bought_at: dt.datetime | None, now: dt.datetime
) -> tuple[Buyer, str, dt.datetime]:
    """Normalised values, or a ValidationError keyed by field."""
    errors: dict[str, str] = {}
    name = " ".join(buyer.name.split())[:50]
    if not name:
        errors["buyer_name"] = _("Give the buyer's name.")
    phone = ""
    try:
        phone = normalize_optional_phone(buyer.phone)
    except InvalidIdentity as exc:
        errors["buyer_phone"] = str(exc)
    id_number = ""
    if buyer.id_number.strip():
        try:
            id_number = parse_id_number(buyer.id_number).number
        except InvalidIdentity as exc:
            errors["buyer_id_number"] = str(exc)
    medicine = " ".join(medicine.split())[:200]
    if not medicine:
        errors["medicine"] = _("Say which medicine was bought.")
    if not 1 <= quantity <= MAX_QUANTITY:
        errors["quantity"] = _("The quantity is between 1 and %(n)d.") % {"n": MAX_QUANTITY}
    bought_at = bought_at or now
    if timezone.is_naive(bought_at):
        bought_at = timezone.make_aware(bought_at)
    if bought_at > now + CLOCK_SKEW:
        errors["bought_at"] = _("The time of purchase is in the future.")
    elif bought_at < now - MAX_AGE:
        errors["bought_at"] = _("The purchase is more than 7 days ago: call the community office instead.")
    if errors:
        raise ValidationError(errors)
    return Buyer(name, phone, id_number, " ".join(buyer.address.split())[:200]), medicine, bought_at


def match_buyer(community_id: int, buyer: Buyer) -> Match:
    """The buyer in the community's ledger: by ID number, else by phone, else by name and address; only a
    single person counts, and someone whose ID number differs from a given one is never taken."""
    residents = Resident.objects.filter(community_id=community_id).select_related("household")
    if buyer.id_number:
        found = residents.filter(id_number=buyer.id_number).first()
        if found is not None:
            return Match(found, found.household.building_id, "id")

    def acceptable(people: list[Resident]) -> list[Resident]:
        return [p for p in people if not buyer.id_number or p.id_number == buyer.id_number]

    if buyer.phone:
        # phone_rev (the phone reversed) is indexed; phone is not.
        people = acceptable(list(residents.filter(phone_rev=buyer.phone[::-1])[:10]))
        if len(people) > 1:
            # A family shares one phone: the name decides.
            people = [p for p in people if p.name == buyer.name]
        if len(people) == 1:
            return Match(people[0], people[0].household.building_id, "phone")
    address = parse_address(buyer.address)
    if buyer.name and address.complete:
        building_ids = [
            b.pk
            for b in Building.objects.filter(community_id=community_id).only("id", "number")
            if clean_building(b.number) == address.building
        ]
        homes = Household.objects.filter(building_id__in=building_ids, room__iexact=address.room)
        if address.entrance:
            homes = homes.filter(Q(entrance__number=address.entrance) | Q(entrance__number=""))
        people = acceptable(list(residents.filter(household__in=homes, name=buyer.name)[:10]))
        if len(people) == 1:
            return Match(people[0], people[0].household.building_id, "name_address")
    return Match()


def pharmacy_report_record(
    *,
    actor: User | None,
    community: Community,
    pharmacy: KeySite | None,
    pharmacy_name: str = "",
    buyer_name: str,
    buyer_phone: str = "",
    buyer_id_number: str = "",
    address: str = "",
    medicine: str,
    quantity: int = 1,
    bought_at: dt.datetime | None = None,
    via: str = Via.FORM,
) -> tuple[PharmacyReport, Task]:
    """Record a purchase and send the 2-hour home check: to the grid worker of the buyer's building when the
    ledger knows the buyer, else to the data group ("find this buyer"). `actor` is None for the pharmacy's
    own form."""
    if actor is not None and not can_report(actor, community.pk):
        raise PermissionDenied(_("Your role may not report pharmacy purchases here."))
    if pharmacy is not None and (pharmacy.community_id != community.pk or pharmacy.kind != SiteKind.PHARMACY):
        raise ValidationError({"pharmacy": _("That pharmacy is not a pharmacy of this community.")})
    name = (pharmacy.name if pharmacy is not None else " ".join(pharmacy_name.split()))[:100]
    if not name:
        raise ValidationError({"pharmacy": _("Say which pharmacy sold the medicine.")})
    now = timezone.now()
    buyer, medicine, bought_at = _clean(
        Buyer(buyer_name, buyer_phone, buyer_id_number, address), medicine, quantity, bought_at, now
    )
    match = match_buyer(community.pk, buyer)
    routing = routing_for(community.pk)
    with transaction.atomic():
        report = PharmacyReport.objects.create(
            community=community,
            pharmacy=pharmacy,
            pharmacy_name=name,
            buyer_name=buyer.name,
            buyer_phone=buyer.phone,
            buyer_id_number=buyer.id_number,
            address=buyer.address,
            medicine=medicine,
            quantity=quantity,
            bought_at=bought_at,
            resident=match.resident,
            building_id=match.building_id,
            reported_by=actor if actor is not None and actor.pk else None,
            via=via,
        )
        with translation.override(settings.LANGUAGE_CODE):
            task = _check_task(report, match, routing, now)
            audit_record(
                actor=actor,
                action=AuditLog.Action.CREATE,
                target=report,
                target_label=f"{name} · {buyer.name}",
                detail=_("fever medicine: %(medicine)s × %(n)d; %(match)s")
                % {
                    "medicine": medicine,
                    "n": quantity,
                    "match": _("matched to the ledger") if match.resident else _("not found in the ledger"),
                },
            )
            _notify(report, task, routing.commander_id)
    return report, task


def _check_task(report: PharmacyReport, match: Match, routing: Routing, now: dt.datetime) -> Task:
    values = {
        "name": report.buyer_name,
        "pharmacy": report.pharmacy_name,
        "medicine": report.medicine,
        "n": report.quantity,
        "when": timezone.localtime(report.bought_at).strftime("%m-%d %H:%M"),
        "phone": mask_phone(report.buyer_phone) or "—",
        "address": report.address or "—",
    }
    detail = (
        _(
            "%(name)s bought %(medicine)s × %(n)d at %(pharmacy)s at %(when)s (phone %(phone)s; address given: "
            "%(address)s). Check at the door within 2 hours: temperature, symptoms, an antigen test; report "
            "a fever to the medical team."
        )
        % values
    )
    if match.resident is not None:
        title = _("Home check within 2 h: %(name)s (%(home)s), fever medicine") % {
            "name": report.buyer_name,
            "home": match.resident.household,
        }
        owners = routing.task_owners(match.building_id)
        priority = Task.Priority.HIGH
    else:
        title = _("Find this buyer and check within 2 h: %(name)s, fever medicine at %(pharmacy)s") % values
        detail = (
            _("The buyer is not in the ledger: find them by the phone and address the pharmacy gave.")
            + " "
            + detail
        )
        owners = routing.task_owners(None, Team.DATA)
        priority = Task.Priority.URGENT
    return tasks_create(
        [
            TaskSpec(
                title=title,
                detail=detail
                + " "
                + _("Full phone and ID number: pharmacy report #%(id)d under Health monitoring.")
                % {"id": report.pk},
                due_at=now + CHECK_WITHIN,
                community_id=report.community_id,
                grid_id=match.resident.grid_id if match.resident is not None else None,
                priority=priority,
                source=SOURCE,
                source_id=report.pk,
                stage="home-check",
                **owners,
            )
        ]
    )[0]


def _notify(report: PharmacyReport, task: Task, commander_id: int | None) -> None:
    url = reverse("tasks:detail", args=[task.pk])
    recipients = [task.assignee_id] if task.assignee_id else [task.leader_id or commander_id]
    notify_many(
        Message(
            user_id=uid,
            title=task.title,
            body=_("Due at %(time)s.") % {"time": timezone.localtime(task.due_at).strftime("%H:%M")},
            url=url,
            kind=Notification.Kind.ASSIGNED,
            urgent=True,
        )
        for uid in dict.fromkeys(recipients)
        if uid
    )


# --- reading ------------------------------------------------------------------------------------------


def pharmacy_reports_for(actor: User) -> QuerySet[PharmacyReport]:
    """Community staff see all their community's reports; grid staff those whose buyer lives in their grid."""
    return PharmacyReport.objects.filter(scope_q(actor, grid="building__grid"))


def pharmacy_report_get(actor: User, pk: int) -> PharmacyReport:
    report = (
        pharmacy_reports_for(actor)
        .select_related(
            "community", "pharmacy", "resident__household__building", "resident__household__entrance"
        )
        .filter(pk=pk)
        .first()
    )
    if report is None:
        raise Http404
    return report


@dataclass
class ReportRow:
    """A report as the staff list shows it: the buyer's phone and ID number masked, the home check's state."""

    report: PharmacyReport
    task: Task | None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.report.buyer_phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.report.buyer_id_number)

    @property
    def matched(self) -> bool:
        return self.report.resident_id is not None


def report_rows(reports: list[PharmacyReport]) -> list[ReportRow]:
    """Rows for a page of reports, with their home-check tasks in one more query."""
    tasks = {
        t.source_id: t
        for t in Task.objects.filter(source=SOURCE, source_id__in=[r.pk for r in reports]).select_related(
            "assignee"
        )
    }
    return [ReportRow(r, tasks.get(r.pk)) for r in reports]


def pharmacy_report_rows(
    actor: User, *, day: dt.date | None = None, unmatched: bool = False
) -> QuerySet[PharmacyReport]:
    qs = pharmacy_reports_for(actor).select_related(
        "resident__household__building", "resident__household__entrance"
    )
    if day is not None:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        qs = qs.filter(bought_at__gte=start, bought_at__lt=start + dt.timedelta(days=1))
    if unmatched:
        qs = qs.filter(resident__isnull=True)
    return qs.order_by("-bought_at", "-id")


REVEALABLE = {"buyer_phone", "buyer_id_number"}


def pharmacy_report_reveal(*, actor: User, report: PharmacyReport, field: str) -> str:
    """The buyer's full phone or ID number, logged. The caller loaded the report in scope."""
    if field not in REVEALABLE:
        raise ValueError(field)
    label = {"buyer_phone": _("phone"), "buyer_id_number": _("ID number")}[field]
    return reveal_logged(actor=actor, target=report, value=str(getattr(report, field)), detail=str(label))


def pharmacies_of(community_id: int) -> list[KeySite]:
    return list(
        KeySite.objects.filter(community_id=community_id, kind=SiteKind.PHARMACY, active=True).order_by(
            "name"
        )
    )


def pharmacy_for_api(actor: User, value: str) -> KeySite | None:
    """A pharmacy named in an API call: a key site's token, else the unique pharmacy of that name in scope."""
    from linli.health.keysites import key_sites_qs

    value = value.strip()
    if not value:
        return None
    sites = key_sites_qs(actor).filter(kind=SiteKind.PHARMACY)
    by_token = sites.filter(token=value).first()
    if by_token is not None:
        return by_token
    named = list(sites.filter(name=" ".join(value.split()))[:2])
    return named[0] if len(named) == 1 else None
