"""Reporting an incident: a resident from the building's QR page, a volunteer or a staff member signed in.

The report is kept with its photos and videos (all checked before anything is written), placed on the site
plan, and raised at once: an urgent in-app message to the community's commanders and the building's grid
worker and leader, a post to the community's WeCom/DingTalk staff groups, and the `incident.reported`
webhook for the departments that subscribe (without the reporter's name, phone or words)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.comms.incidents.common import site_text, tell_reporter
from linli.comms.incidents.siteplan import plan_position
from linli.comms.incidents.uploads import Checked, check_all, photo_preview
from linli.comms.models import Incident, IncidentMedia, Notification
from linli.comms.outbox import robots_post, webhook_event
from linli.comms.services import Message, notify_many
from linli.core.audit import audit_record
from linli.core.http import public_url
from linli.core.identity import InvalidIdentity, normalize_optional_phone
from linli.core.models import AuditLog, User
from linli.core.selectors import community_commanders
from linli.epidemic.selectors import routing_for
from linli.registry.models import Building, Community


class Via:
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    STAFF = "staff"
    API = "api"


DESCRIPTION_MAX = 1000
PLACE_MAX = 100


def preview_name(name: str) -> str:
    return f"{name}.preview.jpg"


def parse_degrees(raw: object, low: int, high: int) -> Decimal | None:
    """A latitude or longitude from the page's hidden field; None when empty or impossible (the location is
    a help, never a reason to refuse a report)."""
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and low <= value <= high else None


def _clean(
    *,
    community: Community,
    kind: str,
    description: str,
    building: Building | None,
    place: str,
    latitude: Decimal | None,
    longitude: Decimal | None,
    reporter_name: str,
    reporter_phone: str,
) -> tuple[str, str, str, str]:
    errors: dict[str, list[str]] = {}
    if kind not in Incident.Kind.values:
        errors["kind"] = [_("Choose what happened.")]
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            _("Keep the description under %(n)s characters; add photos instead.") % {"n": DESCRIPTION_MAX}
        ]
    place = " ".join(place.split())
    if len(place) > PLACE_MAX:
        errors["place"] = [_("Keep the place under %(n)s characters.") % {"n": PLACE_MAX}]
    if building is not None and building.community_id != community.pk:
        errors["building"] = [_("That building is not in this community.")]
    if building is None and not place and (latitude is None or longitude is None):
        errors["place"] = [
            _("Tell us where: choose the building, describe the place, or share your location.")
        ]
    try:
        phone = normalize_optional_phone(reporter_phone)
    except InvalidIdentity as exc:
        errors["reporter_phone"] = [str(exc)]
        phone = ""
    name = " ".join(reporter_name.split())
    if len(name) > 50:
        errors["reporter_name"] = [_("Keep the name under 50 characters.")]
    if errors:
        raise ValidationError(errors)
    return description, place, name, phone


REPEAT_MINUTES = 10


def _same_report(
    community: Community,
    kind: str,
    description: str,
    building: Building | None,
    place: str,
    ip: str | None,
    phone: str,
    via: str,
) -> Incident | None:
    """The open incident this report repeats: the same words about the same kind at the same building or
    place, from the same phone number or (a resident's page) the same address, in the last REPEAT_MINUTES."""
    if not phone and not (ip and via == Via.RESIDENT):
        return None
    who = Q(reporter_phone=phone) if phone else Q(ip=ip, via=Via.RESIDENT)
    return (
        Incident.objects.filter(
            who,
            community=community,
            kind=kind,
            description=description,
            building=building,
            place=place,
            status__in=[Incident.Status.NEW, Incident.Status.TRIAGED],
            created_at__gte=timezone.now() - dt.timedelta(minutes=REPEAT_MINUTES),
        )
        .order_by("-created_at")
        .first()
    )


def incident_report(
    *,
    community: Community,
    kind: str,
    description: str = "",
    building: Building | None = None,
    place: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    accuracy_m: int | None = None,
    files: Sequence[UploadedFile] = (),
    reporter_name: str = "",
    reporter_phone: str = "",
    urgent: bool = False,
    via: str = Via.RESIDENT,
    actor: User | None = None,
    ip: str | None = None,
) -> Incident:
    """Record an incident and raise it. Every file is checked first: one bad file refuses the report
    (ValidationError by field: kind, description, place, building, reporter_phone, files) and nothing is
    kept."""
    latitude = parse_degrees(latitude, -90, 90) if latitude is not None else None
    longitude = parse_degrees(longitude, -180, 180) if longitude is not None else None
    description, place, name, phone = _clean(
        community=community,
        kind=kind,
        description=description,
        building=building,
        place=place,
        latitude=latitude,
        longitude=longitude,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
    )
    checked = check_all(list(files))
    repeat = _same_report(community, kind, description, building, place, ip, phone, via)
    if repeat is not None:
        return repeat  # a second tap, or the same report again a minute later: one incident, one alarm
    if latitude is None or longitude is None:
        latitude = longitude = accuracy_m = None
    spot = plan_position(
        community_id=community.pk,
        building_id=building.pk if building is not None else None,
        latitude=latitude,
        longitude=longitude,
    )
    stored: list[str] = []
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                community=community,
                kind=kind,
                description=description,
                building=building,
                place=place,
                latitude=latitude,
                longitude=longitude,
                accuracy_m=min(accuracy_m, 100_000) if accuracy_m is not None and accuracy_m >= 0 else None,
                plan_x=spot[0] if spot else None,
                plan_y=spot[1] if spot else None,
                reported_by=actor if actor is not None and actor.pk else None,
                reporter_name=name,
                reporter_phone=phone,
                via=via,
                token=secrets.token_urlsafe(18),
                urgent=urgent,
                ip=ip,
            )
            IncidentMedia.objects.bulk_create(_store(incident, checked, stored))
            audit_record(
                actor=actor,
                action=AuditLog.Action.CREATE,
                target=incident,
                target_label=f"#{incident.pk} {incident.get_kind_display()}",
                detail=site_text(
                    gettext_noop("reported by %(via)s, %(n)s photo(s) or video(s)%(urgent)s"),
                    via=_via_label(incident),
                    n=len(checked),
                    urgent=site_text(gettext_noop(", someone in danger")) if urgent else "",
                ),
                community_id=community.pk,
            )
            _raise_alarm(incident, community, actor)
            tell_reporter(
                incident,
                site_text(
                    gettext_noop("Your report (%(kind)s) has reached the community. Follow it here:"),
                    kind=incident.get_kind_display(),
                ),
                key=f"incident:{incident.pk}:received",
            )
    except BaseException:
        for name_ in stored:
            default_storage.delete(name_)
        raise
    return incident


def _store(incident: Incident, checked: list[Checked], stored: list[str]) -> list[IncidentMedia]:
    """Write the files (names from the incident's token: nothing to guess, nothing from the sender) and a
    small preview of each photo for phones."""
    now = timezone.localtime()
    rows = []
    for index, item in enumerate(checked, start=1):
        item.upload.seek(0)
        name = default_storage.save(f"incidents/{now:%Y/%m}/{incident.token}-{index}.{item.ext}", item.upload)
        stored.append(name)
        if item.kind == IncidentMedia.Kind.PHOTO:
            item.upload.seek(0)
            preview = photo_preview(item.upload.read())
            if preview is not None:
                stored.append(default_storage.save(preview_name(name), ContentFile(preview)))
        media = IncidentMedia(
            incident=incident, kind=item.kind, content_type=item.content_type, size=item.size
        )
        media.file.name = name
        rows.append(media)
    return rows


def _raise_alarm(incident: Incident, community: Community, actor: User | None) -> None:
    staff_path = reverse("comms:incident", args=[incident.pk])
    with translation.override(settings.LANGUAGE_CODE):
        kind = str(incident.get_kind_display())
        where = incident.where
        title = (
            _("URGENT incident: %(kind)s · %(where)s")
            if incident.urgent
            else _("Incident: %(kind)s · %(where)s")
        ) % {"kind": kind, "where": where}
        lines = [
            _("Reported %(time)s by %(who)s.")
            % {"time": timezone.localtime(incident.created_at).strftime("%H:%M"), "who": _via_label(incident)}
        ]
        if incident.urgent:
            lines.append(_("The reporter says someone is in danger."))
        if incident.description:
            lines.append(incident.description[:300])
        body = "\n".join(lines)
    recipients = list(community_commanders(community.pk).values_list("id", flat=True))
    if incident.building_id is not None:
        _grid, worker, leader = routing_for(community.pk).for_building(incident.building_id)
        recipients += [uid for uid in (worker, leader) if uid]
    skip = actor.pk if actor is not None else None
    notify_many(
        Message(
            user_id=uid,
            title=title,
            body=body,
            url=staff_path,
            kind=Notification.Kind.INFO,
            urgent=True,
        )
        for uid in dict.fromkeys(recipients)
        if uid != skip
    )
    robots_post(
        community_id=community.pk,
        key=f"incident:{incident.pk}",
        title=title,
        body=body,
        url=public_url(staff_path),
        urgent=incident.urgent,
    )
    webhook_event(
        event="incident.reported",
        key=f"incident:{incident.pk}",
        data=webhook_data(incident, community),
        community_id=community.pk,
    )


def webhook_data(incident: Incident, community: Community) -> dict[str, Any]:
    """What departments get: what, where and when; never who reported it or their words."""
    building = incident.building if incident.building_id else None
    return {
        "id": incident.pk,
        "kind": incident.kind,
        "urgent": incident.urgent,
        "community": community.code,
        "building": building.number if building is not None else None,
        "place": incident.place,
        "latitude": str(incident.latitude) if incident.latitude is not None else None,
        "longitude": str(incident.longitude) if incident.longitude is not None else None,
        "accuracy_m": incident.accuracy_m,
        "plan_x": incident.plan_x,
        "plan_y": incident.plan_y,
        "reported_at": incident.created_at.isoformat(),
        "status": incident.status,
        "url": public_url(reverse("comms:incident", args=[incident.pk])),
    }


def _via_label(incident: Incident) -> str:
    return {
        Via.RESIDENT: _("a resident (building QR code)"),
        Via.VOLUNTEER: _("a volunteer"),
        Via.STAFF: _("staff"),
        Via.API: _("a department's system"),
    }.get(incident.via, incident.via)


def via_label(incident: Incident) -> str:
    return _via_label(incident)
