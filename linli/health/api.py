"""Health monitoring API: pharmacies (or their chain's system) report fever-medicine purchases, and a key
site's disinfection and sampling status can be read."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status

from linli.core.http import actor_of, error_text
from linli.health import keysites, pharmacy
from linli.registry.selectors import communities_for, community_get

router = Router(tags=["health"])


class ErrorOut(Schema):
    detail: str


class PharmacyReportIn(Schema):
    # A registered pharmacy's key-site token, or its name; an unregistered pharmacy by name together with
    # `community` (the community's code) when the token's account covers more than one community.
    pharmacy: str
    community: str = ""
    buyer_name: str
    buyer_phone: str = ""
    buyer_id_number: str = ""
    address: str = ""
    medicine: str
    quantity: int = 1
    bought_at: dt.datetime | None = None  # empty: now


class PharmacyReportOut(Schema):
    id: int
    matched: bool
    task_id: int
    due_at: dt.datetime


def _detail(exc: ValidationError) -> str:
    """A service's refusal as one line naming the fields: "buyer_phone: … ; bought_at: …"."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items())
    return error_text(exc)


@router.post("/pharmacy-reports", response={201: PharmacyReportOut, 400: ErrorOut, 403: ErrorOut})
def pharmacy_report_create(request: HttpRequest, payload: PharmacyReportIn) -> Status:
    """Report a fever-medicine purchase. The buyer is matched in the ledger (ID number, else phone, else name
    and address) and a home check due within 2 hours goes to their grid worker, or to the data group when
    the ledger does not know them."""
    actor = actor_of(request)
    site = pharmacy.pharmacy_for_api(actor, payload.pharmacy)
    if site is not None:
        community = site.community
    elif payload.community:
        community = community_get(actor, payload.community)
    else:
        communities = list(communities_for(actor)[:2])
        if len(communities) != 1:
            return Status(
                400, ErrorOut(detail="community: give the community's code, or a registered pharmacy's token")
            )
        community = communities[0]
    if not pharmacy.can_report(actor, community.pk):
        return Status(403, ErrorOut(detail="this account may not report pharmacy purchases"))
    try:
        report, task = pharmacy.pharmacy_report_record(
            actor=actor,
            community=community,
            pharmacy=site,
            pharmacy_name=payload.pharmacy if site is None else "",
            buyer_name=payload.buyer_name,
            buyer_phone=payload.buyer_phone,
            buyer_id_number=payload.buyer_id_number,
            address=payload.address,
            medicine=payload.medicine,
            quantity=payload.quantity,
            bought_at=payload.bought_at,
            via=pharmacy.Via.API,
        )
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=_detail(exc)))
    return Status(
        201,
        PharmacyReportOut(
            id=report.pk, matched=report.resident_id is not None, task_id=task.pk, due_at=task.due_at
        ),
    )


class SlotOut(Schema):
    time: str
    state: str  # done | late | missed | due | upcoming
    can_log: bool  # not logged, and its time has come or is within an hour and a half
    done_at: dt.datetime | None
    done_by: str


class SampleStatusOut(Schema):
    every_days: int | None
    last_taken_on: dt.date | None
    next_due: dt.date | None
    overdue: bool
    last_result: str
    last_result_on: dt.date | None


class KeySiteStatusOut(Schema):
    id: int
    name: str
    kind: str
    community: str
    active: bool
    day: dt.date
    state: str
    slots: list[SlotOut]
    sample: SampleStatusOut


@router.get("/key-sites/{site_id}/status", response=KeySiteStatusOut)
def key_site_status(request: HttpRequest, site_id: int) -> KeySiteStatusOut:
    """Today's disinfection rounds of a key site and where its environmental sampling stands."""
    site = keysites.key_site_get(actor_of(request), site_id)
    status = keysites.key_site_status(site)
    return KeySiteStatusOut(
        id=site.pk,
        name=site.name,
        kind=site.kind,
        community=site.community.code,
        active=site.active,
        day=status.today,
        state=status.state,
        slots=[
            SlotOut(
                time=s.hhmm,
                state=s.state,
                can_log=s.open,
                done_at=s.record.done_at if s.record else None,
                done_by=s.record.done_by if s.record else "",
            )
            for s in status.slots
        ],
        sample=SampleStatusOut(
            every_days=site.sample_every_days,
            last_taken_on=status.last_sample_on,
            next_due=status.next_sample_due,
            overdue=status.sample_overdue,
            last_result=status.last_result,
            last_result_on=status.last_result_on,
        ),
    )
