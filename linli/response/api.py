from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from linli.core.models import User
from linli.plans.selectors import plan_get
from linli.registry.selectors import buildings_for
from linli.response.models import Response
from linli.response.selectors import response_get, staffing, task_counts
from linli.response.services import ActivationRefused, response_activate

router = Router(tags=["responses"])


class ActivateIn(Schema):
    plan: int
    level: int
    scope: Literal["community"] | list[int] = "community"
    reason: str
    drill: bool = False


class GapOut(Schema):
    position: str
    team: str


class ResponseOut(Schema):
    id: int
    plan: int
    plan_version: int
    title: str
    community: str
    level: int
    drill: bool
    status: str
    scope: Literal["community"] | list[int]
    activated_at: dt.datetime
    staffed_at: dt.datetime | None
    terminated_at: dt.datetime | None
    staffing_gaps: list[GapOut]
    tasks: dict[str, int]
    overdue: int
    score: int | None


class RefusedOut(Schema):
    detail: str
    existing: int | None = None


def response_out(response: Response) -> ResponseOut:
    counts = task_counts(response)
    return ResponseOut(
        id=response.pk,
        plan=response.plan_id,
        plan_version=response.plan_version,
        title=response.title,
        community=response.community.code,
        level=response.level,
        drill=response.is_drill,
        status=response.status,
        scope="community"
        if response.whole_community
        else sorted(response.buildings.values_list("pk", flat=True)),
        activated_at=response.activated_at,
        staffed_at=response.staffed_at,
        terminated_at=response.terminated_at,
        staffing_gaps=[
            GapOut(position=p.position.title, team=p.position.team) for p in staffing(response) if p.is_gap
        ],
        tasks={"total": counts.total} | counts.by_status,
        overdue=counts.overdue,
        score=response.score,
    )


@router.post("", response={201: ResponseOut, 400: RefusedOut, 409: RefusedOut})
def activate(request: HttpRequest, data: ActivateIn) -> Status:
    """Activate a plan. `scope` is "community" or a list of building ids. A plan already active for an
    overlapping area is refused with 409 and the running response's id."""
    actor: User = request.user  # type: ignore[assignment]
    plan = plan_get(actor, data.plan)
    buildings = []
    if data.scope != "community":
        buildings = list(buildings_for(actor).filter(pk__in=data.scope, community=plan.community_id))
        if len(buildings) != len(set(data.scope)):
            return Status(400, RefusedOut(detail="unknown building in scope"))
    try:
        response = response_activate(
            actor=actor,
            plan=plan,
            level=data.level,
            reason=data.reason,
            whole_community=data.scope == "community",
            buildings=buildings,
            drill=data.drill,
        )
    except ActivationRefused as exc:
        existing = exc.existing.pk if exc.existing else None
        return Status(409, RefusedOut(detail=" ".join(exc.messages), existing=existing))
    except ValidationError as exc:
        return Status(400, RefusedOut(detail=" ".join(exc.messages)))
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    return Status(201, response_out(response))


@router.get("/{response_id}", response=ResponseOut)
def get_response(request: HttpRequest, response_id: int) -> ResponseOut:
    actor: User = request.user  # type: ignore[assignment]
    return response_out(response_get(actor, response_id))
