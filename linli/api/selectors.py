"""Reads for the token pages: the tokens an administrator looks after, and where they may issue new ones."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404

from linli.api.models import ApiToken
from linli.comms.models import Channel, ChannelEndpoint
from linli.core.access import NOTHING, community_ids_in_scope
from linli.core.models import User
from linli.core.roles import ScopeLevel
from linli.registry.models import Community, Street


def can_manage_tokens(actor: User) -> bool:
    return actor.is_authenticated and actor.is_active and actor.is_admin_role


def _token_scope_q(actor: User) -> Q:
    """Tokens whose account lies in the actor's area: a community administrator's community (grid-level
    accounts included); a street administrator's street and every community in it."""
    if not can_manage_tokens(actor):
        return NOTHING
    if actor.is_superuser:
        return Q()
    if actor.scope_level == ScopeLevel.STREET and actor.street_id:
        return Q(user__street_id=actor.street_id)
    if actor.community_id:
        return Q(user__community_id=actor.community_id)
    return NOTHING


def tokens_for(actor: User) -> QuerySet[ApiToken]:
    """The tokens in the actor's area, live ones first, newest first, with what the list shows."""
    webhooks = ChannelEndpoint.objects.filter(kind=Channel.WEBHOOK).order_by("-is_active", "id")
    return (
        ApiToken.objects.filter(_token_scope_q(actor))
        .select_related("user", "user__street", "user__community", "user__grid", "created_by")
        .prefetch_related(Prefetch("webhooks", queryset=webhooks))
        .annotate(
            revoked_last=Case(
                When(revoked_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("revoked_last", "-created_at", "-id")
    )


def token_get(actor: User, pk: int) -> ApiToken:
    token = tokens_for(actor).filter(pk=pk).first()
    if token is None:
        raise Http404
    return token


@dataclass(frozen=True)
class ScopeChoice:
    code: str
    label: str
    level: str  # street or community


def issuable_scopes(actor: User) -> list[ScopeChoice]:
    """Where the actor may issue a token: their street and its communities, or their community."""
    if not can_manage_tokens(actor):
        return []
    choices: list[ScopeChoice] = []
    if actor.is_superuser:
        streets = list(Street.objects.order_by("name"))
    elif actor.scope_level == ScopeLevel.STREET and actor.street_id:
        streets = list(Street.objects.filter(pk=actor.street_id))
    else:
        streets = []
    for s in streets:
        choices.append(ScopeChoice(s.code, f"{s.name} ({s.code})", ScopeLevel.STREET))
    ids = community_ids_in_scope(actor)
    communities = Community.objects.select_related("street").order_by("street__name", "name")
    if ids is not None:
        communities = communities.filter(pk__in=ids)
    for c in communities:
        choices.append(ScopeChoice(c.code, f"{c.name} ({c.code})", ScopeLevel.COMMUNITY))
    return choices
