"""JSON API: broadcasts. A department or a script sends a notice to a community's residents or staff (it is
created and sent at once, as the page's Send does), then reads how far it got."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from linli.api.permissions import require_permission
from linli.comms import broadcasts as svc
from linli.comms.broadcasts import selectors as sel
from linli.comms.broadcasts.templates import template_fill
from linli.comms.models import Broadcast
from linli.comms.models.broadcasts import Audience
from linli.core.http import actor_of, error_text
from linli.registry.models import Building
from linli.registry.selectors import community_get

router = Router(tags=["comms"])


class ErrorOut(Schema):
    detail: str


class BroadcastIn(Schema):
    community: str = Field(description="the community's code, e.g. nanli")
    audience: str = Field("residents", description="residents or staff")
    scope: str = Field("community", description="community, buildings or special")
    buildings: list[str | int] = Field(
        default_factory=list, description="building numbers, for scope=buildings"
    )
    special_kinds: list[str] = Field(
        default_factory=list, description="special populations, for scope=special: over_80, elderly_alone …"
    )
    template: str | None = Field(
        None, description="a template's key (e.g. water-cut): fills title and text when they are left empty"
    )
    title: str = ""
    text: str = ""
    channels: list[str] = Field(
        default_factory=list, description="residents: sms; staff: inapp (always), sms, email, wecom, dingtalk"
    )
    require_ack: bool = False
    ack_deadline: dt.datetime | None = Field(None, description="ISO 8601; empty: in 2 hours")
    public: bool = Field(True, description="residents' notices: also on the public notice board")


class BroadcastCreatedOut(Schema):
    id: int
    recipients: int


class BroadcastOut(Schema):
    id: int
    status: str
    recipients: int
    sent: int
    delivered: int
    failed: int
    acknowledged: int
    pending: int


def _detail(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items())
    return error_text(exc)


@router.post(
    "/broadcasts",
    response={201: BroadcastCreatedOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Send a notice",
)
def broadcast_create(request: HttpRequest, payload: BroadcastIn) -> Status:
    """Create and send a notice to a community's residents (SMS, the public notice board) or staff (in the
    app, by their own SMS/email settings, the community's WeCom/DingTalk groups). Residents reached by one
    phone get one SMS. With require_ack, households that have not confirmed by the deadline are passed to
    their building's grid worker and building contact for a knock on the door."""
    require_permission(request, "broadcasts")
    actor = actor_of(request)
    community = community_get(actor, payload.community)
    if not sel.can_compose(actor, community):
        raise PermissionDenied("this account may not send notices in this community")
    numbers = [str(n).strip() for n in payload.buildings]
    buildings = list(Building.objects.filter(community=community, number__in=numbers))
    unknown = sorted(set(numbers) - {b.number for b in buildings})
    if unknown:
        return Status(
            400, ErrorOut(detail=f"buildings: no building {', '.join(unknown)} in {community.code}")
        )
    template = None
    title, text = payload.title, payload.text
    if payload.template:
        svc.ensure_builtin_templates()
        template = sel.template_get(community, key=payload.template)
        if template is None:
            return Status(400, ErrorOut(detail=f"template: no template with the key {payload.template}"))
        title = title or template_fill(template.title, community)
        text = text or template_fill(template.body, community)
    if payload.ack_deadline is not None and payload.ack_deadline.tzinfo is None:
        return Status(
            400, ErrorOut(detail="ack_deadline: give the time zone, e.g. 2030-06-03T16:00:00+08:00")
        )
    try:
        # One step for a script: a notice that cannot be sent leaves no draft behind.
        with transaction.atomic():
            broadcast = svc.broadcast_create(
                actor=actor,
                community=community,
                title=title,
                body=text,
                channels=payload.channels,
                audience=payload.audience,
                scope=payload.scope,
                buildings=buildings,
                special_kinds=payload.special_kinds,
                require_ack=payload.require_ack,
                ack_deadline=payload.ack_deadline,
                public=payload.public and payload.audience == Audience.RESIDENTS,
                template=template,
            )
            recipients = svc.broadcast_send(actor=actor, broadcast=broadcast)
    except ValidationError as exc:
        return Status(400, ErrorOut(detail=_detail(exc)))
    return Status(201, BroadcastCreatedOut(id=broadcast.pk, recipients=recipients))


@router.get("/broadcasts/{broadcast_id}", response={200: BroadcastOut, 403: ErrorOut, 404: ErrorOut})
def broadcast_status(request: HttpRequest, broadcast_id: int) -> BroadcastOut:
    """How far a notice got: recipients; messages sent (accepted by the channel, delivered included),
    delivered, failed and pending (still going out); recipients who confirmed."""
    require_permission(request, "broadcasts")
    broadcast: Broadcast = sel.broadcast_get(actor_of(request), broadcast_id)
    return BroadcastOut(id=broadcast.pk, status=broadcast.status, **svc.broadcast_counts(broadcast))
