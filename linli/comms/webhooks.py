"""Departments' webhook subscriptions, and the events they receive.

A department's system subscribes with its API token (POST /api/v1/webhooks): a ChannelEndpoint of kind
"webhook" that belongs to the token and covers the token account's street or community. Apps raise events
inside the transaction that caused them (case_created and response_activated here; incidents raise their
own) through outbox.webhook_event; the outbox's workers POST them signed with the subscription's secret. Revoking the
token stops its subscriptions at once.

Payloads carry what a duty desk needs to act and to look the thing up in Linli (ids, codes, types,
building numbers, times, status, the staff page) and no more: people's names are masked, no phone or ID
numbers. Each payload's fields are the pydantic models below; the OpenAPI document is built from them.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema

from linli.comms.models import Channel, ChannelEndpoint, OutboxMessage
from linli.comms.outbox import WEBHOOK_EVENTS, webhook_event
from linli.core.audit import audit_record
from linli.core.http import public_url
from linli.core.identity import mask_name
from linli.core.models import AuditLog, User

if TYPE_CHECKING:
    from linli.api.models import ApiToken
    from linli.epidemic.models import ControlCase
    from linli.response.models import Response

SECRET_MIN = 16
SECRET_MAX = 200
URL_MAX = 500
# A system needs a few receivers (a test and a production one, one per event); more is a loop gone wrong.
MAX_PER_TOKEN = 20


class AlreadySubscribed(ValidationError):
    def __init__(self, message: str, existing: ChannelEndpoint) -> None:
        super().__init__(message)
        self.existing = existing


# --- subscriptions ------------------------------------------------------------------------------------


def webhooks_of_token(token: ApiToken) -> QuerySet[ChannelEndpoint]:
    """The token's live subscriptions, oldest first."""
    return ChannelEndpoint.objects.filter(kind=Channel.WEBHOOK, token=token, is_active=True).order_by("id")


def webhook_get(token: ApiToken, pk: int) -> ChannelEndpoint:
    """One of the token's live subscriptions; anyone else's (or a removed one) is a 404."""
    endpoint = webhooks_of_token(token).filter(pk=pk).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _clean(url: str, events: Sequence[str], secret: str) -> tuple[str, list[str]]:
    errors: dict[str, list[str]] = {}
    url = (url or "").strip()
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if not url:
        errors["url"] = [_("Give the address Linli should POST the events to.")]
    elif len(url) > URL_MAX:
        errors["url"] = [_("The address is longer than %(n)d characters.") % {"n": URL_MAX}]
    elif (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        errors["url"] = [
            _(
                "The address must be an http:// or https:// URL with a host, e.g. http://10.20.1.15:8080/linli."
            )
        ]
    else:
        from linli.comms.channels.http import forbidden_target

        why = forbidden_target(url)
        if why:
            errors["url"] = [_("This address cannot receive events: %(why)s.") % {"why": why}]
    wanted = list(dict.fromkeys(e.strip() for e in events if isinstance(e, str)))
    unknown = [e for e in wanted if e not in WEBHOOK_EVENTS]
    if not wanted:
        errors["events"] = [
            _("Subscribe to at least one event: %(all)s.") % {"all": ", ".join(WEBHOOK_EVENTS)}
        ]
    elif unknown:
        errors["events"] = [
            _("Unknown events: %(bad)s. Known events: %(all)s.")
            % {"bad": ", ".join(unknown), "all": ", ".join(WEBHOOK_EVENTS)}
        ]
    if len(secret or "") < SECRET_MIN:
        errors["secret"] = [
            _("The secret must be at least %(n)d characters (a random string; it signs every delivery).")
            % {"n": SECRET_MIN}
        ]
    elif len(secret) > SECRET_MAX:
        errors["secret"] = [_("The secret must be at most %(n)d characters.") % {"n": SECRET_MAX}]
    if errors:
        raise ValidationError(errors)
    return url, [e for e in WEBHOOK_EVENTS if e in wanted]


@transaction.atomic
def webhook_subscribe(
    *, actor: User, token: ApiToken, url: str, events: Sequence[str], secret: str
) -> ChannelEndpoint:
    """Subscribe the token's system to events at `url`, signed with `secret`. The subscription covers the
    token account's scope (a street's covers its communities). The same address twice is refused
    (AlreadySubscribed names the first): the events would arrive twice."""
    if token.revoked_at is not None:
        raise PermissionDenied(_("This token has been revoked."))
    url, chosen = _clean(url, events, secret)
    # Serialise one token's subscriptions, so that two calls at once cannot both pass the checks below.
    type(token).objects.select_for_update().filter(pk=token.pk).first()
    mine = webhooks_of_token(token)
    existing = mine.filter(url=url).first()
    if existing is not None:
        raise AlreadySubscribed(
            _(
                "This token already has a subscription for this address (id %(id)d); delete it first to change it."
            )
            % {"id": existing.pk},
            existing,
        )
    if mine.count() >= MAX_PER_TOKEN:
        raise ValidationError(
            {
                "url": [
                    _("A token may have at most %(n)d subscriptions; delete one first.")
                    % {"n": MAX_PER_TOKEN}
                ]
            }
        )
    account = token.user
    host = urllib.parse.urlsplit(url).netloc
    endpoint = ChannelEndpoint.objects.create(
        kind=Channel.WEBHOOK,
        name=f"{token.name} → {host}"[:100],
        url=url,
        secret=secret,
        street_id=account.street_id,
        community_id=account.community_id,
        events=chosen,
        token=token,
        created_by=actor if actor.pk else None,
    )
    audit_record(
        actor=actor,
        action=AuditLog.Action.CREATE,
        target=endpoint,
        detail=f"webhook {host} for {', '.join(chosen)}",
        street_id=account.street_id,
        community_id=account.community_id,
    )
    return endpoint


def _cancel_queued(endpoint_ids: Sequence[int], reason: str) -> int:
    return OutboxMessage.objects.filter(
        endpoint_id__in=list(endpoint_ids), status=OutboxMessage.Status.QUEUED
    ).update(status=OutboxMessage.Status.CANCELLED, last_error=reason[:500])


@transaction.atomic
def webhook_unsubscribe(*, actor: User, endpoint: ChannelEndpoint) -> None:
    """Remove a subscription: nothing more is queued for it and what waits is not sent. Its delivery
    history stays in the outbox."""
    changed = ChannelEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(is_active=False)
    if not changed:
        return
    endpoint.is_active = False
    _cancel_queued([endpoint.pk], "the subscription was removed")
    audit_record(
        actor=actor,
        action=AuditLog.Action.DELETE,
        target=endpoint,
        detail=f"webhook {urllib.parse.urlsplit(endpoint.url).netloc} removed",
        street_id=endpoint.street_id,
        community_id=endpoint.community_id,
    )


def webhooks_stop_for_token(token: ApiToken) -> int:
    """A revoked token's subscriptions stop (the caller audits the revocation). Returns how many."""
    ids = list(webhooks_of_token(token).values_list("pk", flat=True))
    if not ids:
        return 0
    ChannelEndpoint.objects.filter(pk__in=ids).update(is_active=False)
    _cancel_queued(ids, "the API token was revoked")
    return len(ids)


# --- events -------------------------------------------------------------------------------------------


class CaseCreatedData(Schema):
    """`case.created`: a resident was put under control (isolation or health monitoring)."""

    id: int  # the case
    community: str
    community_name: str
    street: str
    control_type: str
    control_type_name: str
    measure: str  # central, home or monitor
    building: str | None  # the building number on the site, e.g. "3"
    resident: str  # masked name, e.g. 李*英
    started_at: dt.datetime
    release_on: dt.date
    status: str  # active
    dispatch_record: (
        int | None
    )  # the dispatched record it came from (its batch is in /epidemic/dispatch-lists)
    dispatch_batch: int | None
    url: str  # the case's staff page


class ResponseActivatedData(Schema):
    """`response.activated`: a community activated an emergency plan (a drill says so in `drill`)."""

    id: int  # the response
    community: str
    community_name: str
    street: str
    title: str
    category: str  # the plan's event category, e.g. public_health, natural_disaster
    level: int  # 1 (I, extremely serious) … 4 (IV, general)
    level_colour: str  # red, orange, yellow or blue
    drill: bool
    whole_community: bool
    buildings: list[str]  # building numbers when not the whole community
    reason: str
    activated_at: dt.datetime
    status: str  # active
    url: str


class IncidentReportedData(Schema):
    """`incident.reported`: a resident, volunteer or staff member reported an incident. What, where and when;
    never who reported it or their words."""

    # Built by linli.comms.incidents.reporting.webhook_data; this model documents it (keep the two alike).

    id: int
    kind: str  # fire, water, power, gas, injury, lift, security, structure, other
    urgent: bool
    community: str
    building: str | None  # the building number on the site
    place: str
    latitude: str | None  # WGS-84 degrees as text, from the reporter's phone
    longitude: str | None
    accuracy_m: int | None
    plan_x: float | None  # where on the community's site plan, 0..1 from the left
    plan_y: float | None  # 0..1 from the top
    reported_at: dt.datetime
    status: str  # new
    url: str


EVENT_DATA: dict[str, type[Schema]] = {
    "case.created": CaseCreatedData,
    "response.activated": ResponseActivatedData,
    "incident.reported": IncidentReportedData,
}


def _anyone_listening(event: str) -> bool:
    # One cheap query before any payload is built: most communities have no department subscribed.
    subscribed = ChannelEndpoint.objects.filter(kind=Channel.WEBHOOK, is_active=True)
    return any(event in (events or []) for events in subscribed.values_list("events", flat=True))


def _community_facts(community_id: int) -> tuple[str, str, str, int | None]:
    from linli.registry.models import Community

    row = (
        Community.objects.filter(pk=community_id)
        .values_list("code", "name", "street__code", "street_id")
        .first()
    )
    return row if row is not None else ("", "", "", None)  # type: ignore[return-value]


def _raise(event: str, key: str, data: Schema, community_id: int, street_id: int | None) -> int:
    payload: dict[str, Any] = data.model_dump(mode="json")
    return webhook_event(event=event, key=key, data=payload, community_id=community_id, street_id=street_id)


def case_created(case: ControlCase) -> int:
    """Raise `case.created` for a case just opened (call inside its transaction). Returns messages queued."""
    from linli.registry.models import Building

    if not _anyone_listening("case.created"):
        return 0
    code, name, street, street_id = _community_facts(case.community_id)
    household = case.resident.household
    building = Building.objects.filter(pk=household.building_id).values_list("number", flat=True).first()
    data = CaseCreatedData(
        id=case.pk,
        community=code,
        community_name=name,
        street=street,
        control_type=case.control_type.key,
        control_type_name=case.control_type.name,
        measure=case.measure,
        building=building,
        resident=mask_name(case.resident.name),
        started_at=case.started_at,
        release_on=case.release_on,
        status=case.status,
        dispatch_record=case.record_id,
        dispatch_batch=case.record.batch_id if case.record_id and case.record else None,
        url=public_url(case.get_absolute_url()),
    )
    return _raise("case.created", f"case:{case.pk}", data, case.community_id, street_id)


def response_activated(response: Response) -> int:
    """Raise `response.activated` for a response just activated (inside its transaction)."""
    if not _anyone_listening("response.activated"):
        return 0
    code, name, street, street_id = _community_facts(response.community_id)
    buildings = [] if response.whole_community else [b.number for b in response.buildings.all()]
    data = ResponseActivatedData(
        id=response.pk,
        community=code,
        community_name=name,
        street=street,
        title=response.title,
        category=response.plan.category,
        level=response.level,
        level_colour=response.level_colour,
        drill=response.is_drill,
        whole_community=response.whole_community,
        buildings=buildings,
        reason=response.reason[:500],
        activated_at=response.activated_at,
        status=response.status,
        url=public_url(response.get_absolute_url()),
    )
    return _raise("response.activated", f"response:{response.pk}", data, response.community_id, street_id)
