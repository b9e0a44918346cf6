"""What residents see of a campaign: the notice posted at each building's door, the slips handed out door to
door, each household's own page (a signed link, no login) and each site's public queue page, plus the staff
page that hands out the household links.

Printed and public matter carries no personal data beyond masked names on a household's own slip and page:
the poster hangs in a stairwell and the queue page is on a screen at the site.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from linli.core.audit import audit_record
from linli.core.clock import span
from linli.core.http import actor_of
from linli.core.identity import mask_name
from linli.core.models import AuditLog, User
from linli.core.pdf import pdf_response, qr_png, qr_svg
from linli.registry.models import Building, household_label
from linli.screening import codes, selectors
from linli.screening.models import Campaign, Lane, Participant, Site

# --- small helpers ---------------------------------------------------------------------------------


# What a slip or the household page shows of each person: no ID number, no phone.
CARD_FIELDS = (
    "campaign_id",
    "resident_id",
    "household_id",
    "lane",
    "reason",
    "door",
    "slot_changed_at",
    "checked_in_at",
    "resident__name",
    "slot__starts_at",
    "slot__ends_at",
    "slot__site__name",
    "slot__site__place",
    "slot__site__token",
    "household__room",
    "household__building__number",
    "household__entrance__number",
)


def checkin_path(campaign_id: int, resident_id: int) -> str:
    """The person's check-in code as a path; the phone camera opens the check-in page with it."""
    return reverse("screening:checkin_code", args=[codes.person_code(campaign_id, resident_id)])


def household_path(campaign_id: int, household_id: int) -> str:
    return reverse("screening:household", args=[codes.household_token(campaign_id, household_id)])


def _building_param(request: HttpRequest, campaign: Campaign, *, names: bool = False) -> Building | None:
    return selectors.campaign_building(
        actor_of(request), campaign, request.GET.get("building", ""), names=names
    )


def _require_scheduled(campaign: Campaign) -> None:
    if campaign.status == Campaign.Status.DRAFT:
        raise Http404


def can_print_names(actor: User) -> bool:
    """Observers and departments look but do not print slips, which carry (masked) names and check-in
    codes; volunteers never reach staff pages."""
    return actor.is_superuser or not (actor.is_read_only or actor.is_outside)


# --- the building notice (楼栋通知) ------------------------------------------------------------------


@dataclass
class RoomRange:
    entrance: str
    first_room: str
    last_room: str

    @property
    def place(self) -> str:
        """ "2单元 101–604室" in the registry's own words for entrance and room."""
        rooms = (
            self.first_room if self.first_room == self.last_room else f"{self.first_room}–{self.last_room}"
        )
        label = _("Rm %(n)s") % {"n": rooms}
        if not self.entrance:
            return label
        return "{} {}".format(_("Ent %(n)s") % {"n": self.entrance}, label)


@dataclass
class NoticeLine:
    """Rooms called together: "2单元 101–604室: 08:00–08:30 · 东门采样点"."""

    ranges: list[RoomRange]
    starts_at: dt.datetime
    ends_at: dt.datetime
    site: Site

    @property
    def place(self) -> str:
        return pgettext("between room ranges", "; ").join(r.place for r in self.ranges)

    @property
    def span(self) -> str:
        return span(self.starts_at, self.ends_at)


@dataclass
class SiteLink:
    site: Site
    url: str
    qr: SafeString | None = None


# Above this many lines the poster's table goes into two narrower columns to stay on one page.
NOTICE_ONE_COLUMN = 10


@dataclass
class BuildingNotice:
    building: Building
    lines: list[NoticeLine] = field(default_factory=list)
    sites: list[SiteLink] = field(default_factory=list)

    @property
    def single_site(self) -> bool:
        """All its people go to one site: the site is named once above the times, not on every line."""
        return len(self.sites) == 1

    @property
    def compact(self) -> bool:
        return len(self.lines) > NOTICE_ONE_COLUMN

    @property
    def columns(self) -> list[list[NoticeLine]]:
        if not self.compact:
            return [self.lines]
        half = (len(self.lines) + 1) // 2
        return [self.lines[:half], self.lines[half:]]


def _room_key(entrance: str, room: str) -> tuple[str, int, str]:
    # The registry's calling order (Household.Meta.ordering, selectors.census): entrance, room length, room.
    return (entrance, len(room), room)


def building_notices(
    request: HttpRequest, campaign: Campaign, building: Building | None
) -> list[BuildingNotice]:
    """Each building's calling times by entrance and room range, from one query over the campaign's people.

    Households with nobody called to a site with everyone else (all sampled at home, or on the separate
    route) get no line of their own: their room must not stand out on a poster in the stairwell, so the
    neighbouring range runs over it. Their household slip and page give their own times."""
    people = Participant.objects.filter(campaign=campaign)
    if building is not None:
        people = people.filter(building_id=building.pk)
    rows = people.values_list(
        "building_id",
        "household_id",
        "household__entrance__number",
        "household__room",
        "lane",
        "slot__site_id",
        "slot__starts_at",
        "slot__ends_at",
    )
    # household → (building, entrance, room, its time at a site or None)
    households: dict[int, tuple[int, str, str, tuple[int, dt.datetime, dt.datetime] | None]] = {}
    for building_id, household_id, entrance, room, lane, site_id, starts_at, ends_at in rows:
        time = (site_id, starts_at, ends_at) if site_id and lane != Lane.CONTROLLED else None
        seen = households.get(household_id)
        if seen is None or (time and (seen[3] is None or time[1] < seen[3][1])):
            households[household_id] = (building_id, entrance, room, time)
    timed_buildings = {h[0] for h in households.values() if h[3]}
    if building is not None:
        buildings = [building] if building.pk in timed_buildings else []
    else:
        buildings = list(Building.objects.filter(pk__in=timed_buildings).order_by("sort_key", "number"))
    sites = {s.pk: s for s in campaign.sites.all()}
    by_building: dict[int, list[tuple[int, str, str, tuple[int, dt.datetime, dt.datetime] | None]]]
    by_building = defaultdict(list)
    for row in households.values():
        by_building[row[0]].append(row)
    notices = []
    for b in buildings:
        notice = BuildingNotice(b)
        runs: list[tuple[RoomRange, int, dt.datetime, dt.datetime]] = []
        # The first room of an entrance that has no time yet: the entrance's first range starts there.
        untimed: tuple[str, str] | None = None
        for _b, entrance, room, time in sorted(by_building[b.pk], key=lambda r: _room_key(r[1], r[2])):
            last = runs[-1] if runs and runs[-1][0].entrance == entrance else None
            if untimed is not None and untimed[0] != entrance:
                untimed = None
            if time is None:
                if last is not None:
                    last[0].last_room = room
                elif untimed is None:
                    untimed = (entrance, room)
            elif last is not None and last[1:3] == time[:2]:
                last[0].last_room = room
            else:
                first = untimed[1] if untimed is not None else room
                runs.append((RoomRange(entrance, first, room), *time))
                untimed = None
        runs.sort(key=lambda run: (run[2], _room_key(run[0].entrance, run[0].first_room)))
        for room_range, site_id, starts_at, ends_at in runs:
            line = notice.lines[-1] if notice.lines else None
            # The end of one entrance and the start of the next at the same time make one line.
            if line is not None and (line.site.pk, line.starts_at) == (site_id, starts_at):
                line.ranges.append(room_range)
            else:
                notice.lines.append(NoticeLine([room_range], starts_at, ends_at, sites[site_id]))
        used: list[int] = []
        for line in notice.lines:
            if line.site.pk not in used:
                used.append(line.site.pk)
        for site_id in used:
            site = sites[site_id]
            url = request.build_absolute_uri(reverse("screening:queue", args=[site.token]))
            notice.sites.append(SiteLink(site, url, qr_svg(url)))
        notices.append(notice)
    return notices


@login_required
def notices_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = selectors.campaign_get(actor, pk)
    _require_scheduled(campaign)
    building = _building_param(request, campaign)
    notices = building_notices(request, campaign, building)
    context = {"campaign": campaign, "community": campaign.community, "notices": notices}
    suffix = f"-{building.number}" if building else ""
    return pdf_response(request, "screening/notice_print.html", context, f"notice-{campaign.pk}{suffix}.pdf")


# --- household slips ---------------------------------------------------------------------------------


@dataclass
class Member:
    masked: str
    participant: Participant
    url: str
    qr: SafeString | None = None
    late: bool = False  # their time is over and they are not sampled yet

    @property
    def span(self) -> str:
        slot = self.participant.slot
        return span(slot.starts_at, slot.ends_at) if slot else ""


@dataclass
class HouseholdCard:
    household_id: int
    label: str
    url: str
    members: list[Member] = field(default_factory=list)
    qr: SafeString | None = None
    message: str = ""

    @property
    def first(self) -> Participant | None:
        """The household's time at a site (the first member who goes to one)."""
        placed = [m.participant for m in self.members if m.participant.slot_id]
        return min(placed, key=lambda p: p.slot.starts_at, default=None)  # type: ignore[union-attr]

    @property
    def span(self) -> str:
        first = self.first
        return span(first.slot.starts_at, first.slot.ends_at) if first and first.slot else ""

    @property
    def door(self) -> int:
        return sum(1 for m in self.members if m.participant.door)


def _participants(campaign: Campaign, **filters: Any) -> list[Participant]:
    return list(
        Participant.objects.filter(campaign=campaign, **filters)
        .select_related("slot__site", "household__building", "household__entrance", "resident")
        .only("building_id", *CARD_FIELDS)
        .order_by(
            "household__entrance__number", Length("household__room"), "household__room", "household_id", "id"
        )
    )


def _cards(
    request: HttpRequest, campaign: Campaign, people: list[Participant], *, qr: bool
) -> list[HouseholdCard]:
    cards: dict[int, HouseholdCard] = {}
    for p in people:
        card = cards.get(p.household_id)
        if card is None:
            h = p.household
            url = request.build_absolute_uri(household_path(campaign.pk, p.household_id))
            card = cards[p.household_id] = HouseholdCard(
                p.household_id,
                household_label(h.building.number, h.entrance.number, h.room),
                url,
                qr=qr_png(url) if qr else None,
            )
        url = request.build_absolute_uri(checkin_path(campaign.pk, p.resident_id))
        card.members.append(Member(mask_name(p.resident.name), p, url, qr_png(url) if qr else None))
    return list(cards.values())


@login_required
def slips_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = selectors.campaign_get(actor, pk)
    if not can_print_names(actor):
        raise PermissionDenied
    _require_scheduled(campaign)
    building = _building_param(request, campaign, names=True)
    if building is None:
        return redirect("screening:household_links", campaign.pk)
    cards = _cards(request, campaign, _participants(campaign, building_id=building.pk), qr=True)
    if not cards:
        raise Http404
    audit_record(
        actor=actor,
        action=AuditLog.Action.EXPORT,
        target=campaign,
        target_label=f"{campaign} · {building}",
        detail=_("household slips, %(n)d households") % {"n": len(cards)},
    )
    context = {"campaign": campaign, "community": campaign.community, "building": building, "cards": cards}
    return pdf_response(
        request, "screening/slips_print.html", context, f"slips-{campaign.pk}-{building.number}.pdf"
    )


# --- the household links (staff) ----------------------------------------------------------------------


@login_required
def household_links(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = selectors.campaign_get(actor, pk)
    building = _building_param(request, campaign, names=True)
    can_print = can_print_names(actor)
    buildings = []
    cards: list[HouseholdCard] = []
    if building is None:
        counts = (
            Participant.objects.filter(campaign=campaign)
            .values("building_id")
            .annotate(
                people=Count("id"),
                households=Count("household_id", distinct=True),
                first=Min("slot__starts_at"),
            )
        )
        by_id = {row["building_id"]: row for row in counts}
        for b in Building.objects.filter(pk__in=list(by_id)).order_by("sort_key", "number"):
            row = by_id[b.pk]
            buildings.append(
                {
                    "building": b,
                    "people": row["people"],
                    "households": row["households"],
                    "first": row["first"],
                }
            )
    else:
        cards = _cards(request, campaign, _participants(campaign, building_id=building.pk), qr=False)
        for card in cards:
            card.message = _message(campaign, card)
    context = {
        "campaign": campaign,
        "building": building,
        "buildings": buildings,
        "cards": cards,
        "can_print": can_print,
        "scheduled": campaign.status != Campaign.Status.DRAFT,
    }
    return render(request, "screening/links.html", context)


def _message(campaign: Campaign, card: HouseholdCard) -> str:
    """The text a grid worker pastes into an SMS or a private message to the household."""
    first = card.first
    values = {
        "campaign": campaign.name,
        "address": card.label,
        "day": date_format(campaign.day),
        "url": card.url,
    }
    if first is None or first.slot is None:
        return (
            _(
                "[%(campaign)s] %(address)s, %(day)s: a medical worker will sample you at home. Your page: %(url)s"
            )
            % values
        )
    return _(
        "[%(campaign)s] %(address)s: %(day)s %(time)s at %(site)s. Each person's QR code, the latest time and "
        "the queue: %(url)s"
    ) % (values | {"time": card.span, "site": first.slot.site.name})


# --- the household's own page (public) -----------------------------------------------------------------


def household(request: HttpRequest, token: str) -> HttpResponse:
    parsed = codes.household_token_parse(token)
    if parsed is None:
        raise Http404
    campaign_id, household_id = parsed
    people = list(
        Participant.objects.filter(campaign_id=campaign_id, household_id=household_id)
        .select_related(
            "campaign__community",
            "slot__site",
            "checkin_site",
            "household__building",
            "household__entrance",
            "resident",
        )
        .only(
            *CARD_FIELDS,
            "checkin_site__name",
            "campaign__name",
            "campaign__day",
            "campaign__starts_at",
            "campaign__ends_at",
            "campaign__status",
            "campaign__community__name",
            "campaign__community__phone",
        )
        .order_by("id")
    )
    if not people:
        raise Http404
    campaign = people[0].campaign
    h = people[0].household
    members = []
    sites: dict[int, Site] = {}
    now = timezone.now()
    for p in people:
        url = request.build_absolute_uri(checkin_path(campaign_id, p.resident_id))
        late = p.slot is not None and p.slot.ends_at <= now and p.checked_in_at is None
        members.append(Member(mask_name(p.resident.name), p, url, qr_svg(url, box_size=8), late))
        if p.slot is not None:
            sites.setdefault(p.slot.site_id, p.slot.site)
    changed = max((p.slot_changed_at for p in people if p.slot_changed_at), default=None)
    context = {
        "campaign": campaign,
        "community": campaign.community,
        "label": household_label(h.building.number, h.entrance.number, h.room),
        "members": members,
        "changed_at": changed,
        "sites": list(sites.values()),
        "ended": campaign.is_closed or now >= campaign.at(campaign.ends_at),
        "all_done": all(p.checked_in_at for p in people),
    }
    response = render(request, "screening/household.html", context)
    # A resident opens it again on the day: never an old time from a cache.
    patch_cache_control(response, no_cache=True, private=True)
    response["X-Robots-Tag"] = "noindex"
    # The link's token stays on this site. Not "no-referrer": browsers then post forms (the language switch)
    # with "Origin: null", which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


# --- the public queue page ------------------------------------------------------------------------------


@dataclass
class QueueRow:
    row: selectors.SlotRow
    separate: bool  # only the separate route is called: no building numbers

    @property
    def span(self) -> str:
        return span(self.row.starts_at, self.row.ends_at)

    @property
    def buildings(self) -> str:
        numbers = self.row.buildings
        # Chinese lists numbers with "、": "3、5号楼".
        separator = pgettext("between building numbers", ", ")
        return ngettext("Building %(numbers)s", "Buildings %(numbers)s", len(numbers)) % {
            "numbers": separator.join(numbers)
        }


def _queue_row(row: selectors.SlotRow | None) -> QueueRow | None:
    if row is None:
        return None
    used = [lane for lane, slot in row.lanes.items() if slot.load]
    return QueueRow(row, bool(used) and all(lane == Lane.CONTROLLED for lane in used))


def queue(request: HttpRequest, token: str) -> HttpResponse:
    site = Site.objects.select_related("campaign__community").filter(token=token).first()
    if site is None:
        raise Http404
    campaign = site.campaign
    now = timezone.now()
    opens, closes = campaign.at(campaign.starts_at), campaign.at(campaign.ends_at)
    if campaign.is_closed or now >= closes:
        state = "ended"
    elif now < opens:
        state = "before"
    else:
        state = "open"
    context: dict[str, Any] = {"site": site, "campaign": campaign, "state": state, "now": now}
    if state != "ended":
        q = selectors.site_queue(site, now)
        context |= {
            "queue": q,
            "current": _queue_row(q.current),
            "upcoming": [_queue_row(r) for r in q.upcoming],
        }
    template = "screening/queue_panel.html" if request.headers.get("HX-Request") else "screening/queue.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    patch_cache_control(response, no_cache=True)
    return response


urlpatterns: list[URLPattern] = [
    path("screening/<int:pk>/notices.pdf", notices_pdf, name="notices_pdf"),
    path("screening/<int:pk>/slips.pdf", slips_pdf, name="slips_pdf"),
    path("screening/<int:pk>/households/", household_links, name="household_links"),
    path("t/<str:token>/", household, name="household"),
    path("q/<str:token>/", queue, name="queue"),
]
