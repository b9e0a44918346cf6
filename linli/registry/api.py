from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import File, Query, Router, Status, UploadedFile
from ninja.errors import HttpError

from linli.api.models import Permission
from linli.api.permissions import require_permission
from linli.core.imports import ImportRefused, import_commit, import_create, import_preview
from linli.core.models import ImportJob, User
from linli.registry.io import RESIDENT_KIND
from linli.registry.models import Resident
from linli.registry.schemas import (
    CommunityOut,
    ErrorOut,
    ImportOut,
    ResidentOut,
    ResidentPage,
    RevealIn,
    RevealOut,
)
from linli.registry.selectors import (
    ResidentFilters,
    communities_with_counts,
    community_get,
    resident_get,
    resident_search,
    with_list_relations,
)
from linli.registry.services import REVEALABLE, resident_reveal

router = Router(tags=["registry"])
MAX_PAGE_SIZE = 200


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def resident_out(r: Resident) -> ResidentOut:
    h = r.household
    return ResidentOut(
        id=r.pk,
        name=r.name,
        id_number=r.masked_id_number,
        sex=r.sex,
        age=r.age,
        birth_date=r.birth_date,
        phone=r.masked_phone,
        community=r.community.code,
        grid=r.grid.code if r.grid else None,
        building=h.building.number,
        entrance=h.entrance.number,
        room=h.room,
        relation=r.relation,
        residency=r.residency,
        special=[str(k) for k in r.special_kinds()],
    )


@router.get("/communities", response=list[CommunityOut])
def communities(request: HttpRequest) -> list[CommunityOut]:
    require_permission(request, Permission.READ)
    return [
        CommunityOut(
            code=c.code,
            name=c.name,
            street=c.street.code,
            residents=c.resident_count,  # type: ignore[attr-defined]
            households=c.household_count,  # type: ignore[attr-defined]
        )
        for c in communities_with_counts(_actor(request))
    ]


@router.get("/residents", response=ResidentPage)
def residents(
    request: HttpRequest,
    q: str = "",
    community: str = "",
    grid: int | None = None,
    building: int | None = None,
    special: str = "",
    residency: str = "",
    page: Query[int] = 1,  # type: ignore[type-arg]
    page_size: Query[int] = 50,  # type: ignore[type-arg]
) -> ResidentPage:
    require_permission(request, Permission.READ)
    actor = _actor(request)
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise HttpError(400, f"page must be ≥ 1 and page_size between 1 and {MAX_PAGE_SIZE}")
    filters = ResidentFilters(
        q=q,
        community=community_get(actor, community).pk if community else None,
        grid=grid,
        building=building,
        special=special,
        residency=residency,
    )
    qs = resident_search(actor, filters)
    count = qs.count()
    items = with_list_relations(qs)[(page - 1) * page_size : page * page_size]
    return ResidentPage(count=count, page=page, page_size=page_size, items=[resident_out(r) for r in items])


@router.get("/residents/{resident_id}", response=ResidentOut)
def resident_detail(request: HttpRequest, resident_id: int) -> ResidentOut:
    require_permission(request, Permission.READ)
    return resident_out(resident_get(_actor(request), resident_id))


@router.post("/residents/{resident_id}/reveal", response={200: RevealOut, 400: ErrorOut, 403: ErrorOut})
def resident_reveal_api(request: HttpRequest, resident_id: int, body: RevealIn) -> Status:
    require_permission(request, Permission.READ)
    actor = _actor(request)
    resident = resident_get(actor, resident_id)
    if body.field not in REVEALABLE:
        return Status(400, ErrorOut(detail=f"field must be one of {sorted(REVEALABLE)}"))
    value = resident_reveal(actor=actor, resident=resident, field=body.field)
    return Status(200, RevealOut(field=body.field, value=value))


def import_out(job: ImportJob) -> ImportOut:
    committed = job.status == ImportJob.Status.COMMITTED
    return ImportOut(
        job=job.pk,
        status=job.status,
        message=job.message,
        rows=job.rows,
        accepted=job.accepted,
        rejected=job.rejected,
        errors=job.errors,
        created=job.created if committed else None,
        updated=job.updated if committed else None,
        unchanged=job.unchanged if committed else None,
    )


@router.post("/imports", response={200: ImportOut, 400: ErrorOut, 403: ErrorOut, 422: ImportOut})
def imports(
    request: HttpRequest,
    community: str,
    file: File[UploadedFile],  # type: ignore[type-arg]
    commit: bool = False,
    create_buildings: bool = False,
) -> Status:
    """Check a resident ledger (commit=false), or check and import it atomically (commit=true)."""
    actor = _actor(request)
    target = community_get(actor, community)
    if not actor.can_import:
        raise PermissionDenied("your role may not import residents")
    try:
        job = import_create(
            actor=actor,
            kind=RESIDENT_KIND,
            community_id=target.pk,
            filename=file.name or "upload",
            content=file.read(),
            options={"create_buildings": create_buildings},
        )
    except ImportRefused as exc:
        return Status(400, ErrorOut(detail=str(exc)))
    job = import_preview(job=job)
    if job.status == ImportJob.Status.FAILED:
        return Status(422, import_out(job))
    if commit:
        job = import_commit(actor=actor, job=job)
    return Status(200, import_out(job))


@router.get("/imports/{job_id}", response=ImportOut)
def import_detail(request: HttpRequest, job_id: int) -> ImportOut:
    actor = _actor(request)
    from linli.registry.selectors import communities_for

    job = ImportJob.objects.filter(pk=job_id, community__in=communities_for(actor)).first()
    if job is None or not actor.can_import:
        raise HttpError(404, "not found")
    return import_out(job)
