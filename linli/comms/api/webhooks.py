"""JSON API: /api/v1/webhooks — a department's system subscribes to events with its API token.

The shape of these three calls is fixed: departments' systems depend on it."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status

from linli.api.models import ApiToken, Permission
from linli.api.permissions import request_token, require_permission
from linli.comms.models import ChannelEndpoint
from linli.comms.webhooks import (
    AlreadySubscribed,
    webhook_get,
    webhook_subscribe,
    webhook_unsubscribe,
    webhooks_of_token,
)
from linli.core.http import actor_of, error_text

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str = ""  # http:// or https://; an intranet address is fine
    events: list[str] = []  # any of case.created, incident.reported, response.activated
    secret: str = ""  # at least 16 characters; signs every delivery (X-Linli-Signature)


class WebhookCreated(Schema):
    id: int
    url: str
    events: list[str]
    created_at: dt.datetime


class WebhookOut(WebhookCreated):
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    last_error: str


class ErrorOut(Schema):
    detail: str


class InvalidOut(Schema):
    detail: str
    errors: dict[str, list[str]]  # by field: url, events, secret


class DuplicateOut(Schema):
    detail: str
    id: int


def _token(request: HttpRequest) -> ApiToken:
    require_permission(request, Permission.WEBHOOKS)
    token = request_token(request)
    if token is None:
        raise PermissionDenied(
            "webhook subscriptions belong to an API token: call with Authorization: Bearer <token>"
        )
    return token


def _out(e: ChannelEndpoint) -> WebhookOut:
    return WebhookOut(
        id=e.pk,
        url=e.url,
        events=list(e.events or []),
        created_at=e.created_at,
        last_success_at=e.last_success_at,
        last_failure_at=e.last_failure_at,
        last_error=e.last_error,
    )


@router.post("", response={201: WebhookCreated, 400: InvalidOut, 403: ErrorOut, 409: DuplicateOut})
def webhook_create(request: HttpRequest, body: WebhookIn) -> Status:
    """Subscribe to events. Linli POSTs each event to `url` as JSON, signed with `secret` (see the
    description above for the headers and how to verify them). The subscription covers the token's street
    or community. The same `url` twice is a 409 naming the first subscription."""
    token = _token(request)
    try:
        endpoint = webhook_subscribe(
            actor=actor_of(request), token=token, url=body.url, events=body.events, secret=body.secret
        )
    except AlreadySubscribed as exc:
        return Status(409, DuplicateOut(detail=error_text(exc), id=exc.existing.pk))
    except ValidationError as exc:
        errors = (
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {}
        )
        return Status(400, InvalidOut(detail=error_text(exc), errors=errors))
    return Status(
        201,
        WebhookCreated(
            id=endpoint.pk, url=endpoint.url, events=endpoint.events, created_at=endpoint.created_at
        ),
    )


@router.get("", response={200: list[WebhookOut], 403: ErrorOut})
def webhook_list(request: HttpRequest) -> list[WebhookOut]:
    """This token's subscriptions, with the outcome of their latest deliveries."""
    return [_out(e) for e in webhooks_of_token(_token(request))]


@router.delete("/{webhook_id}", response={204: None, 403: ErrorOut, 404: ErrorOut})
def webhook_delete(request: HttpRequest, webhook_id: int) -> Status:
    """Remove one of this token's subscriptions; events still waiting for it are not sent."""
    endpoint = webhook_get(_token(request), webhook_id)
    webhook_unsubscribe(actor=actor_of(request), endpoint=endpoint)
    return Status(204, None)
