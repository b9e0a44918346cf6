from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from linli.api.models import ApiToken, hash_token
from linli.core.audit import audit_record
from linli.core.models import User
from linli.core.roles import ROLE_SCOPE, Role, ScopeLevel
from linli.registry.models import Community, Grid, Street


class ScopeNotFound(ValueError):
    pass


def resolve_scope(code: str) -> Street | Community | Grid:
    for model in (Street, Community, Grid):
        found = model.objects.filter(code=code).first()  # type: ignore[attr-defined]
        if found is not None:
            return found
    raise ScopeNotFound(code)


@transaction.atomic
def api_token_create(
    *, actor: User | None, role: str, scope_code: str, name: str = ""
) -> tuple[ApiToken, str]:
    """Create a service account with the role and scope, and a token for it. Returns the raw token once."""
    role = Role(role)
    scope = resolve_scope(scope_code)
    level = ROLE_SCOPE[role]
    account = User(role=role, is_service_account=True, display_name=name or f"API {role} {scope_code}")
    if isinstance(scope, Grid):
        account.grid = scope
    elif isinstance(scope, Community):
        account.community = scope
    else:
        account.street = scope
    if level is not None and level != account.scope_level:
        raise ScopeNotFound(f"{role} works at the {ScopeLevel(level).value} level; {scope_code} is not one")
    account.username = f"api-{role}-{scope_code}-{User.objects.filter(is_service_account=True).count() + 1}"
    account.set_unusable_password()
    account.save()
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=account, name=account.display_name, prefix=raw[:12], key_hash=hash_token(raw)
    )
    audit_record(actor=actor, action="token", target=token, detail=f"created for {role} {scope_code}")
    return token, raw


def api_token_user(raw: str) -> User | None:
    token = api_token_lookup(raw)
    return token.user if token is not None else None


def api_token_lookup(raw: str) -> ApiToken | None:
    """The live token for `raw` (with its account), or None: unknown, revoked (at once) or account disabled."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw), revoked_at=None).first()
    if token is None or not token.user.is_active:
        return None
    # Touch at most once a minute: the token table is not a hot write path.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, actor: User | None, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now())
    audit_record(actor=actor, action="token", target=token, detail="revoked")
