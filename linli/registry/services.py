"""Writes to the registry. Each is atomic and leaves an audit row with the actor."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from linli.core.audit import audit_record, diff, reveal_logged
from linli.core.identity import parse_id_number
from linli.core.models import User
from linli.registry.models import RECORDED_KINDS, Building, Entrance, Household, Resident, SpecialCare

RESIDENT_FIELDS = [
    "name",
    "id_number",
    "birth_date",
    "sex",
    "phone",
    "relation",
    "residency",
    "contact_name",
    "contact_phone",
    "notes",
]
# What a person enters; birth date and sex follow from the ID number.
RESIDENT_INPUT_FIELDS = [f for f in RESIDENT_FIELDS if f not in ("birth_date", "sex")]
REVEALABLE = {"id_number", "phone", "contact_phone"}
# What the audit log keeps of a change to these fields: never the full sensitive value.
_SENSITIVE = {
    "id_number": "masked_id_number",
    "phone": "masked_phone",
    "contact_phone": "masked_contact_phone",
}


def resident_snapshot(resident: Resident) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for field in RESIDENT_FIELDS:
        snap[field] = getattr(resident, _SENSITIVE.get(field, field))
    snap["household"] = str(resident.household) if resident.household_id else ""
    if resident.pk:
        snap["special"] = sorted(s.kind for s in resident.special.all())
    return snap


def _require_edit(actor: User) -> None:
    if not actor.can_edit_residents:
        raise PermissionDenied(_("Your role may not change resident records."))


@transaction.atomic
def household_get_or_create(*, building: Building, entrance: str, room: str) -> Household:
    entrance_obj, _created = Entrance.objects.get_or_create(building=building, number=entrance)
    household, _created = Household.objects.get_or_create(
        entrance=entrance_obj,
        room=room,
        defaults={"community_id": building.community_id, "grid_id": building.grid_id, "building": building},
    )
    return household


@transaction.atomic
def resident_create(
    *, actor: User, household: Household, data: dict[str, Any], special: Iterable[str] = ()
) -> Resident:
    _require_edit(actor)
    identity = parse_id_number(data["id_number"])
    resident = Resident(
        community_id=household.community_id,
        grid_id=household.grid_id,
        household=household,
        **{**data, "id_number": identity.number, "birth_date": identity.birth_date, "sex": identity.sex},
        legacy_id=identity.legacy,
    )
    resident.save()
    SpecialCare.objects.bulk_create(
        [SpecialCare(resident=resident, kind=k) for k in special if k in RECORDED_KINDS]
    )
    audit_record(actor=actor, action="create", target=resident, changes=diff({}, resident_snapshot(resident)))
    return resident


@transaction.atomic
def resident_update(
    *,
    actor: User,
    resident: Resident,
    data: dict[str, Any],
    household: Household | None = None,
    special: Iterable[str] | None = None,
) -> Resident:
    _require_edit(actor)
    before = resident_snapshot(resident)
    if "id_number" in data:
        identity = parse_id_number(data["id_number"])
        data = {**data, "id_number": identity.number, "birth_date": identity.birth_date, "sex": identity.sex}
        resident.legacy_id = identity.legacy
    for key, value in data.items():
        if key not in RESIDENT_FIELDS:
            raise ValueError(key)
        setattr(resident, key, value)
    if household is not None and household.pk != resident.household_id:
        resident.household = household
        resident.grid_id = household.grid_id
        resident.community_id = household.community_id
    resident.save()
    if special is not None:
        wanted = {k for k in special if k in RECORDED_KINDS}
        current = {s.kind for s in resident.special.all()}
        SpecialCare.objects.filter(resident=resident, kind__in=current - wanted).delete()
        SpecialCare.objects.bulk_create([SpecialCare(resident=resident, kind=k) for k in wanted - current])
        if hasattr(resident, "_prefetched_objects_cache"):
            resident._prefetched_objects_cache.pop("special", None)
    changes = diff(before, resident_snapshot(resident))
    if changes:
        audit_record(actor=actor, action="update", target=resident, changes=changes)
    return resident


def resident_reveal(*, actor: User, resident: Resident, field: str) -> str:
    """The full value of one sensitive field, logged. The caller has already loaded the resident in scope."""
    if field not in REVEALABLE:
        raise ValueError(field)
    label = {"id_number": _("ID number"), "phone": _("phone"), "contact_phone": _("family contact phone")}[
        field
    ]
    return reveal_logged(actor=actor, target=resident, value=str(getattr(resident, field)), detail=str(label))


def resident_reveal_for_edit(*, actor: User, resident: Resident) -> None:
    _require_edit(actor)
    audit_record(actor=actor, action="reveal", target=resident, detail="edit form")


def residents_export(
    *, actor: User, residents: Iterable[Resident], unmasked: bool, description: str, count: int
) -> bytes:
    from linli.registry.io import residents_xlsx

    if unmasked and not actor.can_reveal:
        raise PermissionDenied(_("Your role may export masked lists only."))
    content = residents_xlsx(residents, unmasked=unmasked)
    detail = _("%(count)d residents, %(kind)s; %(filter)s") % {
        "count": count,
        "kind": _("full ID numbers and phones") if unmasked else _("masked"),
        "filter": description,
    }
    audit_record(
        actor=actor,
        action="export",
        target_label=_("resident list"),
        detail=detail,
        community_id=actor.community_id,
        street_id=actor.street_id,
    )
    return content


@transaction.atomic
def building_save(*, actor: User, building: Building, data: dict[str, Any]) -> Building:
    if not actor.is_admin_role:
        raise PermissionDenied(_("Only administrators may change buildings."))
    creating = building.pk is None
    before = {} if creating else {k: getattr(building, k) for k in data}
    for key, value in data.items():
        setattr(building, key, value)
    building.save()
    if "grid" in data:
        # Households and residents follow their building's grid, so grid scoping stays one comparison.
        Household.objects.filter(building=building).update(grid=building.grid)
        Resident.objects.filter(household__building=building).update(grid=building.grid)
    changes = diff(before, {k: getattr(building, k) for k in data})
    audit_record(actor=actor, action="create" if creating else "update", target=building, changes=changes)
    return building
