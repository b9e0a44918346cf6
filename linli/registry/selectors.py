"""Reads of the registry. Every one takes the actor and sees only the actor's street/community/grid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from linli.core.access import community_ids_in_scope, scope_q
from linli.core.identity import InvalidIdentity, normalize_id_text, parse_id_number
from linli.core.models import User
from linli.registry.address import fold, parse_address
from linli.registry.models import (
    INFANT_MAX_YEARS,
    Building,
    Community,
    Grid,
    Household,
    Resident,
    SpecialKind,
    Street,
)


def _years_ago(years: int, today: date | None = None) -> date:
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def residents_for(actor: User) -> QuerySet[Resident]:
    return Resident.objects.filter(scope_q(actor))


def _tail_range(field: str, tail: str) -> Q:
    # Reversed values are stored, so "ends with" is an index range on the reversed column. All
    # characters after the tail are digits, which sort before ":".
    rev = tail[::-1]
    return Q(**{f"{field}__gte": rev, f"{field}__lt": rev + ":"})


def search_q(text: str) -> Q:
    """What a worker types into one box: a name, the last digits of a phone or ID, or an address."""
    q = fold(text)
    if not q:
        return Q()
    id_text = normalize_id_text(q)
    if len(id_text) in (15, 18) and id_text[:-1].isdigit():
        try:
            return Q(id_number=parse_id_number(id_text).number)
        except InvalidIdentity:
            return Q(id_number=id_text)
    digits = q.removeprefix("+86")
    if digits.isdigit():
        if len(digits) == 11 and digits.startswith("1"):
            return Q(phone=digits)
        if 3 <= len(digits) <= 11:
            return _tail_range("phone_rev", digits) | _tail_range("id_rev", digits)
    if len(id_text) >= 3 and id_text[-1] == "X" and id_text[:-1].isdigit():
        return _tail_range("id_rev", id_text)
    address = parse_address(q)
    if address.building or address.room:
        cond = Q()
        if address.building:
            cond &= Q(household__building__number=address.building)
        if address.entrance:
            cond &= Q(household__entrance__number=address.entrance)
        if address.room:
            cond &= Q(household__room=address.room)
        return cond
    return Q(name__startswith=q) if len(q) == 1 else Q(name__contains=q)


@dataclass
class ResidentFilters:
    q: str = ""
    community: int | None = None
    grid: int | None = None
    building: int | None = None
    special: str = ""
    residency: str = ""


def resident_search(actor: User, filters: ResidentFilters) -> QuerySet[Resident]:
    q = search_q(filters.q)
    if filters.building and filters.q.strip().isdigit():
        q |= Q(household__room=filters.q.strip())  # inside one building a bare number is a room
    qs = residents_for(actor).filter(q)
    if filters.community:
        qs = qs.filter(community_id=filters.community)
    if filters.grid:
        qs = qs.filter(grid_id=filters.grid)
    if filters.building:
        qs = qs.filter(household__building_id=filters.building)
    if filters.residency:
        qs = qs.filter(residency=filters.residency)
    if filters.special == SpecialKind.OVER_80:
        qs = qs.filter(birth_date__lte=_years_ago(80))
    elif filters.special == SpecialKind.INFANT:
        qs = qs.filter(birth_date__gt=_years_ago(INFANT_MAX_YEARS))
    elif filters.special == "any":
        qs = qs.filter(
            Q(special__isnull=False)
            | Q(birth_date__lte=_years_ago(80))
            | Q(birth_date__gt=_years_ago(INFANT_MAX_YEARS))
        ).distinct()
    elif filters.special:
        qs = qs.filter(special__kind=filters.special)
    return qs


def with_list_relations(qs: QuerySet[Resident]) -> QuerySet[Resident]:
    """What a resident row shows, in a constant number of queries."""
    # "health" is the epidemic app's one-to-one colour (no row = green): a join, not another query.
    return qs.select_related(
        "household__building", "household__entrance", "grid", "community", "health"
    ).prefetch_related("special")


def resident_get(actor: User, pk: int) -> Resident:
    resident = (
        with_list_relations(residents_for(actor))
        .select_related("household__building__worker")
        .filter(pk=pk)
        .first()
    )
    if resident is None:
        raise Http404
    return resident


def household_get(actor: User, pk: int) -> Household:
    household = (
        Household.objects.filter(scope_q(actor))
        .select_related("building__worker", "entrance", "grid", "community")
        .filter(pk=pk)
        .first()
    )
    if household is None:
        raise Http404
    return household


def household_members(household: Household) -> QuerySet[Resident]:
    return household.members.select_related(
        "household__building", "household__entrance", "health"
    ).prefetch_related("special")


def buildings_for(actor: User) -> QuerySet[Building]:
    return Building.objects.filter(scope_q(actor)).select_related("grid", "worker", "community")


def building_get(actor: User, pk: int) -> Building:
    building = buildings_for(actor).filter(pk=pk).first()
    if building is None:
        raise Http404
    return building


def buildings_with_counts(actor: User) -> QuerySet[Building]:
    return buildings_for(actor).annotate(
        household_count=Count("households", distinct=True),
        resident_count=Count("households__members", distinct=True),
    )


def grids_for(actor: User) -> QuerySet[Grid]:
    return Grid.objects.filter(scope_q(actor, grid=None)).select_related("community", "leader")


def grid_visible(actor: User, grid: Grid) -> bool:
    return grids_for(actor).filter(pk=grid.pk).exists() and (
        actor.scope_level != "grid" or actor.grid_id == grid.pk
    )


def communities_for(actor: User) -> QuerySet[Community]:
    ids = community_ids_in_scope(actor)
    qs = Community.objects.select_related("street")
    return qs if ids is None else qs.filter(pk__in=ids)


def community_chosen(actor: User, code: str | None) -> Community:
    """The community a page is about: the one picked (a street account chooses), else the actor's own,
    else the first in scope; 404 when the actor has none."""
    communities = communities_for(actor)
    community = communities.filter(code=code).first() if code else None
    community = community or communities.filter(pk=actor.community_id or 0).first() or communities.first()
    if community is None:
        raise Http404
    return community


def community_get(actor: User, code: str) -> Community:
    community = communities_for(actor).filter(code=code).first()
    if community is None:
        raise Http404
    return community


def communities_with_counts(actor: User) -> list[Community]:
    communities = list(communities_for(actor))
    counts = dict(
        Resident.objects.filter(scope_q(actor))
        .values_list("community_id")
        .annotate(n=Count("id"))
        .values_list("community_id", "n")
    )
    households = dict(
        Household.objects.filter(scope_q(actor))
        .values_list("community_id")
        .annotate(n=Count("id"))
        .values_list("community_id", "n")
    )
    for community in communities:
        community.resident_count = counts.get(community.pk, 0)  # type: ignore[attr-defined]
        community.household_count = households.get(community.pk, 0)  # type: ignore[attr-defined]
    return communities


def streets_for(actor: User) -> QuerySet[Street]:
    ids = community_ids_in_scope(actor)
    if ids is None:
        return Street.objects.all()
    return Street.objects.filter(communities__in=ids).distinct()


@dataclass
class Overview:
    residents: int
    households: int
    buildings: int
    living_here: int
    registered_only: int
    special: dict[str, int]
    missing_phone: int


def overview(actor: User) -> Overview:
    residents = residents_for(actor)
    by_residency = dict(
        residents.values_list("residency").annotate(n=Count("id")).values_list("residency", "n")
    )
    special = dict(
        residents.filter(special__isnull=False)
        .values_list("special__kind")
        .annotate(n=Count("id"))
        .values_list("special__kind", "n")
    )
    special[SpecialKind.OVER_80] = residents.filter(birth_date__lte=_years_ago(80)).count()
    special[SpecialKind.INFANT] = residents.filter(birth_date__gt=_years_ago(INFANT_MAX_YEARS)).count()
    return Overview(
        residents=sum(by_residency.values()),
        households=Household.objects.filter(scope_q(actor)).count(),
        buildings=buildings_for(actor).count(),
        living_here=by_residency.get("both", 0) + by_residency.get("living", 0),
        registered_only=by_residency.get("registered", 0),
        special={k.value: special.get(k.value, 0) for k in SpecialKind},
        missing_phone=residents.filter(phone="").exclude(birth_date__gt=_years_ago(12)).count(),
    )


def residents_to_complete(actor: User, limit: int = 20) -> QuerySet[Resident]:
    """A worker's records to complete: adults without a phone, special populations without a family contact."""
    qs = residents_for(actor).filter(
        Q(phone="", birth_date__lte=_years_ago(12)) | Q(special__isnull=False, contact_phone="")
    )
    return with_list_relations(qs.distinct())[:limit]
