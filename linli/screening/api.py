"""Mass testing API: open a campaign, schedule it, read its coverage; scanners and laboratories check
people in and post tube results."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from linli.core.http import actor_of, error_text
from linli.registry.models import Building
from linli.registry.selectors import community_get
from linli.screening import selectors as sel
from linli.screening import services
from linli.screening.models import Campaign, Site, Tube

router = Router(tags=["screening"])


class ErrorOut(Schema):
    detail: str


class SiteIn(Schema):
    name: str = ""
    place: str = ""
    normal_per_hour: int = 120
    priority_per_hour: int = 40
    controlled_per_hour: int = 0


class CampaignIn(Schema):
    scope: str  # the community's code
    date: dt.date
    buildings: list[str] = []  # building numbers; empty: the whole community
    name: str = ""
    starts_at: dt.time = dt.time(7, 0)
    ends_at: dt.time = dt.time(18, 0)
    slot_minutes: int = 30
    pool_size: int = 10
    sites: list[SiteIn] = []


class CampaignOut(Schema):
    id: int
    community: str
    name: str
    date: dt.date
    status: str
    counts: dict[str, int]
    sites: list[dict[str, object]]


class SlotOut(Schema):
    site: str
    site_id: int
    lane: str
    batch: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    load: int
    capacity: int
    buildings: list[str]


class ScheduleOut(Schema):
    people: int
    at_sites: int
    door: int
    max_load: int
    capacity: int
    slots: list[SlotOut]


class BuildingCoverageOut(Schema):
    building: str
    people: int
    tested: int
    missing: int
    households: int
    households_done: int
    households_partial: int
    door: int
    door_done: int


class CoverageOut(Schema):
    people: int
    tested: int
    missing: int
    percent: int
    households: int
    households_done: int
    door: int
    door_done: int
    buildings: list[BuildingCoverageOut]


class CheckinIn(Schema):
    code: str
    tube: str
    site: int | None = None  # None: door-to-door
    pool_size: int | None = None


class CheckinOut(Schema):
    resident: str
    household: str
    lane: str
    tube: str
    tube_members: int
    pool_size: int
    tube_full: bool
    checked_in_at: dt.datetime


class ResultIn(Schema):
    result: str  # negative | positive


class ResultOut(Schema):
    tube: str
    result: str
    people: int
    cases_opened: int


def _campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.pk,
        community=campaign.community.code,
        name=campaign.name,
        date=campaign.day,
        status=campaign.status,
        counts=campaign.counts,
        sites=[
            {
                "id": s.pk,
                "name": s.name,
                "place": s.place,
                "normal_per_hour": s.normal_per_hour,
                "priority_per_hour": s.priority_per_hour,
                "controlled_per_hour": s.controlled_per_hour,
            }
            for s in campaign.sites.all()
        ],
    )


@router.post("/campaigns", response={201: CampaignOut, 400: ErrorOut, 403: ErrorOut})
def campaign_create(request: HttpRequest, payload: CampaignIn) -> Status:
    """Open a campaign for a community (or some of its buildings) on a day; the registry is counted at once."""
    actor = actor_of(request)
    community = community_get(actor, payload.scope)
    buildings = list(Building.objects.filter(community=community, number__in=payload.buildings))
    unknown = sorted(set(payload.buildings) - {b.number for b in buildings})
    if unknown:
        return Status(400, ErrorOut(detail=f"unknown buildings: {', '.join(unknown)}"))
    try:
        campaign = services.campaign_open(
            actor=actor,
            community=community,
            day=payload.date,
            name=payload.name,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            slot_minutes=payload.slot_minutes,
            pool_size=payload.pool_size,
            buildings=buildings,
            sites=[services.SiteValues(**s.dict()) for s in payload.sites] or None,
        )
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=error_text(exc)))
    return Status(201, _campaign_out(campaign))


@router.get("/campaigns/{campaign_id}", response=CampaignOut)
def campaign_detail(request: HttpRequest, campaign_id: int) -> CampaignOut:
    return _campaign_out(sel.campaign_get(actor_of(request), campaign_id))


def _slots(campaign: Campaign) -> list[SlotOut]:
    out = []
    for row in sel.schedule_rows(campaign):
        for lane, slot in row.lanes.items():
            if slot.load:
                out.append(
                    SlotOut(
                        site=row.site.name,
                        site_id=row.site.pk,
                        lane=lane,
                        batch=row.batch,
                        starts_at=row.starts_at,
                        ends_at=row.ends_at,
                        load=slot.load,
                        capacity=slot.capacity,
                        buildings=row.buildings,
                    )
                )
    return out


@router.post("/campaigns/{campaign_id}/schedule", response={200: ScheduleOut, 400: ErrorOut, 403: ErrorOut})
def campaign_schedule(request: HttpRequest, campaign_id: int) -> Status:
    """Call every household to a slot within the sites' capacity (people under monitoring last, bed-bound and
    home-isolated people door to door). Returns the slots in use with their loads and capacities."""
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, campaign_id)
    try:
        summary = services.campaign_schedule(actor=actor, campaign=campaign)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=error_text(exc)))
    return Status(
        200,
        ScheduleOut(
            people=summary.people,
            at_sites=summary.at_sites,
            door=summary.door,
            max_load=summary.max_load,
            capacity=summary.max_capacity,
            slots=_slots(campaign),
        ),
    )


class NotifyOut(Schema):
    households: int


@router.post("/campaigns/{campaign_id}/notify", response={200: NotifyOut, 400: ErrorOut, 403: ErrorOut})
def campaign_notify(request: HttpRequest, campaign_id: int) -> Status:
    """Send the notices (every household's time recorded as told; door-to-door tasks to the medical team).
    Check-in opens with them, on the testing day."""
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, campaign_id)
    try:
        households = services.campaign_notify(actor=actor, campaign=campaign)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=error_text(exc)))
    return Status(200, NotifyOut(households=households))


@router.get("/campaigns/{campaign_id}/coverage", response=CoverageOut)
def campaign_coverage(request: HttpRequest, campaign_id: int) -> CoverageOut:
    """Who has been sampled, by building and household."""
    campaign = sel.campaign_get(actor_of(request), campaign_id)
    return CoverageOut(**sel.coverage(campaign).as_dict())


@router.post(
    "/campaigns/{campaign_id}/checkins",
    response={201: CheckinOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def checkin_create(request: HttpRequest, campaign_id: int, payload: CheckinIn) -> Status:
    """A scanner's check-in: the person's code into a tube (opened on first use). 409 when the person is
    already checked in, the tube is full, or the code belongs elsewhere; the detail says which."""
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, campaign_id)
    site = get_object_or_404(Site, pk=payload.site, campaign=campaign) if payload.site is not None else None
    try:
        participant = services.participant_by_code(campaign, payload.code)
        tube = services.tube_open(
            actor=actor, campaign=campaign, site=site, code=payload.tube, pool_size=payload.pool_size
        )
        services.checkin(actor=actor, campaign=campaign, participant=participant, tube=tube, site=site)
    except ValidationError as exc:
        return Status(409, ErrorOut(detail=error_text(exc)))
    tube.refresh_from_db()
    return Status(
        201,
        CheckinOut(
            resident=participant.resident.name,
            household=str(participant.household),
            lane=participant.lane,
            tube=tube.code,
            tube_members=tube.members,
            pool_size=tube.pool_size,
            tube_full=tube.is_full,
            checked_in_at=participant.checked_in_at,  # type: ignore[arg-type]
        ),
    )


@router.post(
    "/campaigns/{campaign_id}/tubes/{code}/result", response={200: ResultOut, 400: ErrorOut, 403: ErrorOut}
)
def tube_result(request: HttpRequest, campaign_id: int, code: str, payload: ResultIn) -> Status:
    """A laboratory's result for a tube: negative, or a pooled positive that puts its members under control."""
    actor = actor_of(request)
    campaign = sel.campaign_get(actor, campaign_id)
    tube = get_object_or_404(Tube, campaign=campaign, code="".join(code.split()).upper())
    try:
        outcome = services.tube_result(actor=actor, tube=tube, result=payload.result)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=error_text(exc)))
    return Status(
        200,
        ResultOut(
            tube=tube.code, result=outcome.tube.result, people=outcome.people, cases_opened=outcome.cases
        ),
    )
