from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from linli.core.models import User
from linli.plans.selectors import plans_for

router = Router(tags=["plans"])


class PlanOut(Schema):
    id: int
    title: str
    version: int
    template: bool
    category: str
    community: str | None
    archived: bool


@router.get("", response=list[PlanOut])
def plans(request: HttpRequest, template: bool | None = None) -> list[PlanOut]:
    """Plans the caller may see: the built-in templates and their communities' own plans."""
    actor: User = request.user  # type: ignore[assignment]
    qs = plans_for(actor).select_related("community").order_by("is_template", "title")
    if template is not None:
        qs = qs.filter(is_template=template)
    return [
        PlanOut(
            id=p.pk,
            title=p.title,
            version=p.version,
            template=p.is_template,
            category=p.category,
            community=p.community.code if p.community else None,
            archived=p.is_archived,
        )
        for p in qs
    ]
