"""The community's site plan: its image, where each building is on it, and (optionally) the GPS of its edges
so that a phone's fix lands on it too. Positions are fractions of the image (0..1 from the left and from the
top), so a plan uploaded again at another size keeps its buildings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.comms.incidents.common import site_text
from linli.comms.incidents.uploads import check_plan_image
from linli.comms.models import BuildingPlacement, Incident, SitePlan
from linli.core.access import administers
from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.registry.models import Building, Community

# A fix this far outside the plan's edges (as a fraction of its size) is still drawn, at the edge: a phone's
# accuracy is tens of metres. Farther out it is somewhere else, and is not drawn.
EDGE_MARGIN = 0.05


def _require_admin(actor: User, community_id: int) -> None:
    if not administers(actor, community_id):
        raise PermissionDenied(_("Only the community's administrators set up the site plan."))


def gps_to_plan(
    plan: SitePlan | None, latitude: Decimal | float | None, longitude: Decimal | float | None
) -> tuple[float, float] | None:
    """Where a GPS fix is on the plan, mapped linearly between its north/west/south/east edges (a community
    is small enough for a straight map); None without corners or for a fix off the plan."""
    if plan is None or latitude is None or longitude is None:
        return None
    if None in (plan.north, plan.west, plan.south, plan.east):
        return None
    north, west, south, east = (float(v) for v in (plan.north, plan.west, plan.south, plan.east))  # type: ignore[arg-type]
    if north <= south or east <= west:
        return None
    x = (float(longitude) - west) / (east - west)
    y = (north - float(latitude)) / (north - south)
    if not (-EDGE_MARGIN <= x <= 1 + EDGE_MARGIN and -EDGE_MARGIN <= y <= 1 + EDGE_MARGIN):
        return None
    return min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)


def plan_position(
    *,
    community_id: int,
    building_id: int | None,
    latitude: Decimal | float | None = None,
    longitude: Decimal | float | None = None,
) -> tuple[float, float] | None:
    """Where an incident goes on the plan: its building's spot, else the GPS fix."""
    if building_id is not None:
        spot = BuildingPlacement.objects.filter(building_id=building_id).values_list("x", "y").first()
        if spot is not None:
            return float(spot[0]), float(spot[1])
    if latitude is None or longitude is None:
        return None
    return gps_to_plan(SitePlan.objects.filter(community_id=community_id).first(), latitude, longitude)


def siteplan_upload(*, actor: User, community: Community, image: UploadedFile) -> SitePlan:
    """Upload (or replace) the site plan image. Buildings already placed stay where they were, as fractions
    of the image."""
    _require_admin(actor, community.pk)
    ext, width, height = check_plan_image(image)
    name = default_storage.save(f"siteplans/{community.code}-{timezone.now():%Y%m%d%H%M%S}.{ext}", image)
    try:
        with transaction.atomic():
            plan = SitePlan.objects.select_for_update().filter(community=community).first()
            old = plan.image.name if plan is not None else ""
            if plan is None:
                plan = SitePlan(community=community)
            plan.image.name = name
            plan.width, plan.height = width, height
            plan.save()
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE if old else AuditLog.Action.CREATE,
                target=plan,
                detail=site_text(gettext_noop("site plan image, %(w)s × %(h)s pixels"), w=width, h=height),
                community_id=community.pk,
            )
    except Exception:
        default_storage.delete(name)
        raise
    if old and old != name:
        transaction.on_commit(lambda: default_storage.delete(old))
    return plan


def _fraction(value: object, label: str) -> float:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        raise ValidationError(_("%(label)s is not a number.") % {"label": label}) from None
    if not 0.0 <= number <= 1.0:
        raise ValidationError(_("The spot must be on the plan."))
    return number


def building_place(*, actor: User, building: Building, x: object, y: object) -> BuildingPlacement:
    """Put a building on the plan (or move it). Its incidents that were drawn at its old spot, or not at all,
    move with it."""
    _require_admin(actor, building.community_id)
    fx, fy = _fraction(x, "x"), _fraction(y, "y")
    if not SitePlan.objects.filter(community_id=building.community_id).exists():
        raise ValidationError(_("Upload the site plan first."))
    with transaction.atomic():
        placement = BuildingPlacement.objects.select_for_update().filter(building=building).first()
        before = (placement.x, placement.y) if placement is not None else None
        if placement is None:
            placement = BuildingPlacement(building=building, x=fx, y=fy)
        placement.x, placement.y = fx, fy
        placement.save()
        at_old_spot = Incident.objects.filter(building=building, plan_x__isnull=True)
        if before is not None:
            at_old_spot = at_old_spot | Incident.objects.filter(
                building=building, plan_x=before[0], plan_y=before[1]
            )
        at_old_spot.update(plan_x=fx, plan_y=fy)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=building,
            detail=site_text(gettext_noop("placed on the site plan")),
            changes={"placement": [list(before) if before else None, [round(fx, 4), round(fy, 4)]]},
            community_id=building.community_id,
        )
    return placement


def building_unplace(*, actor: User, building: Building) -> bool:
    """Take a building off the plan (placed by mistake). Its incidents keep the spot they were given."""
    _require_admin(actor, building.community_id)
    with transaction.atomic():
        deleted, _rows = BuildingPlacement.objects.filter(building=building).delete()
        if deleted:
            audit_record(
                actor=actor,
                action=AuditLog.Action.DELETE,
                target=building,
                detail=site_text(gettext_noop("taken off the site plan")),
                community_id=building.community_id,
            )
    return bool(deleted)


def _coordinate(raw: object, low: float, high: float, label: str) -> Decimal | None:
    text = str(raw if raw is not None else "").strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise ValidationError({label: _("Enter a number in degrees, like 39.873512.")}) from None
    if not value.is_finite() or not low <= value <= high:
        raise ValidationError({label: _("This is not a possible value in degrees.")})
    return value


def siteplan_set_corners(
    *, actor: User, plan: SitePlan, north: object, west: object, south: object, east: object
) -> SitePlan:
    """The plan's edges in GPS degrees (WGS-84, what a phone's browser gives). All four, or none to switch the
    GPS placing off."""
    _require_admin(actor, plan.community_id)
    values = {
        "north": _coordinate(north, -90, 90, "north"),
        "south": _coordinate(south, -90, 90, "south"),
        "west": _coordinate(west, -180, 180, "west"),
        "east": _coordinate(east, -180, 180, "east"),
    }
    given = [v for v in values.values() if v is not None]
    if given and len(given) < 4:
        raise ValidationError(_("Give all four edges, or clear all four."))
    if given:
        assert values["north"] is not None and values["south"] is not None
        assert values["east"] is not None and values["west"] is not None
        if values["north"] <= values["south"]:
            raise ValidationError({"north": _("The top (north) edge must be north of the bottom edge.")})
        if values["east"] <= values["west"]:
            raise ValidationError({"east": _("The right (east) edge must be east of the left edge.")})
        if values["north"] - values["south"] > Decimal("0.2") or values["east"] - values["west"] > Decimal(
            "0.2"
        ):
            raise ValidationError(
                _("These edges are more than 20 km apart: a community is smaller. Check the numbers.")
            )
    before = {k: getattr(plan, k) for k in values}
    with transaction.atomic():
        for key, value in values.items():
            setattr(plan, key, value)
        plan.save(update_fields=[*values, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=plan,
            detail=site_text(gettext_noop("GPS edges of the site plan")),
            changes={
                k: [str(before[k]) if before[k] is not None else None, str(v) if v is not None else None]
                for k, v in values.items()
            },
            community_id=plan.community_id,
        )
    return plan
