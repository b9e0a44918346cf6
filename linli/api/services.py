"""API tokens: issued by an administrator for a department's system (or by the create_api_token command),
scoped to a street or community through their service account, limited to the permissions given, revoked at
once. Every API call is written to the audit log (api_call_record)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.api.models import ApiToken, Department, Permission, hash_token
from linli.core.access import community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.core.request_context import current_origin
from linli.core.roles import ADMIN_ROLES, ROLE_SCOPE, Role, ScopeLevel
from linli.registry.models import Community, Grid, Street

# The audit log's action for an API call.
API_CALL_ACTION = AuditLog.Action.API

# What an administrator may let a system act as, from the token page. The command line may use any role.
ISSUABLE_ROLES = (Role.DEPARTMENT, Role.OBSERVER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


class ScopeNotFound(ValueError):
    pass


def resolve_scope(code: str) -> Street | Community | Grid:
    for model in (Street, Community, Grid):
        found = model.objects.filter(code=code).first()  # type: ignore[attr-defined]
        if found is not None:
            return found
    raise ScopeNotFound(code)


def may_issue_for(actor: User, scope: Street | Community | Grid) -> bool:
    """An administrator issues tokens for their own street or community, or for a community of their street;
    superusers for any. Grid-level tokens come from the command line only."""
    if not actor.is_active:
        return False
    if actor.is_superuser:
        return not isinstance(scope, Grid)
    if actor.role not in ADMIN_ROLES:
        return False
    if isinstance(scope, Street):
        return actor.scope_level == ScopeLevel.STREET and actor.street_id == scope.pk
    if isinstance(scope, Community):
        ids = community_ids_in_scope(actor)
        return ids is None or scope.pk in ids
    return False


def may_manage(actor: User, account: User) -> bool:
    """Whether the actor looks after tokens of this service account: it lies in their street or community."""
    if not actor.is_active or not actor.is_admin_role:
        return False
    if actor.is_superuser:
        return True
    if actor.scope_level == ScopeLevel.STREET:
        return bool(actor.street_id) and account.street_id == actor.street_id
    return bool(actor.community_id) and account.community_id == actor.community_id


def _scope_area(account: User) -> tuple[int | None, int | None]:
    """(street id, community id) of a service account, for the audit log's area."""
    return account.street_id, account.community_id


@transaction.atomic
def api_token_create(
    *,
    actor: User | None,
    role: str,
    scope_code: str,
    name: str = "",
    department: str = "",
    permissions: Sequence[str] = (),
) -> tuple[ApiToken, str]:
    """Create a service account with the role and scope, and a token for it. Returns the raw token: it is
    shown once and only its hash is kept. `actor` None is the command line; a person must administer the
    scope (may_issue_for). `permissions` empty: whatever the role allows."""
    role = Role(role)
    scope = resolve_scope(scope_code)
    if actor is not None and not may_issue_for(actor, scope):
        raise PermissionDenied(_("You may issue tokens only for your own street or community."))
    if department and department not in Department.values:
        raise ValidationError({"department": _("Choose a department from the list.")})
    unknown = sorted(set(permissions) - set(Permission.values))
    if unknown:
        raise ValidationError({"permissions": _("Unknown permissions: %(p)s") % {"p": ", ".join(unknown)}})
    chosen = [p for p in Permission.values if p in set(permissions)]
    name = name.strip()
    level = ROLE_SCOPE[role]
    account = User(role=role, is_service_account=True, display_name=(name or f"API {role} {scope_code}")[:50])
    if isinstance(scope, Grid):
        account.grid = scope
    elif isinstance(scope, Community):
        account.community = scope
    else:
        account.street = scope
    if level is not None and level != account.scope_level:
        raise ScopeNotFound(f"{role} works at the {ScopeLevel(level).value} level; {scope_code} is not one")
    account.username = (
        f"api-{role}-{scope_code}-{secrets.token_hex(4)}"  # unique without counting (two at once)
    )
    account.set_unusable_password()
    account.save()
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        user=account,
        name=(name or account.display_name)[:100],
        prefix=raw[:12],
        key_hash=hash_token(raw),
        department=department,
        permissions=chosen,
        created_by=actor if actor is not None and actor.pk else None,
    )
    street_id, community_id = _scope_area(account)
    audit_record(
        actor=actor,
        action=AuditLog.Action.TOKEN,
        target=token,
        detail=f"created for {role} {scope_code}"
        + (f" · {department}" if department else "")
        + (f" · allows {', '.join(chosen)}" if chosen else " · all the role allows"),
        street_id=street_id,
        community_id=community_id,
    )
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


@transaction.atomic
def api_token_revoke(*, actor: User | None, token: ApiToken) -> bool:
    """Revoke the token: its next call is a 401, its webhook subscriptions stop and what they still had
    queued is not sent. Returns False when it was already revoked. `actor` None is the command line."""
    from linli.comms.webhooks import webhooks_stop_for_token

    account = User.objects.get(pk=token.user_id)
    if actor is not None and not may_manage(actor, account):
        raise PermissionDenied(_("This token belongs to another street or community."))
    now = timezone.now()
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now)
    if not changed:
        return False
    token.revoked_at = now
    stopped = webhooks_stop_for_token(token)
    street_id, community_id = _scope_area(account)
    audit_record(
        actor=actor,
        action=AuditLog.Action.TOKEN,
        target=token,
        detail="revoked" + (f" · {stopped} webhook subscriptions stopped" if stopped else ""),
        street_id=street_id,
        community_id=community_id,
    )
    return True


def api_call_record(
    *,
    method: str,
    path: str,
    status: int,
    token: ApiToken | None = None,
    user: User | None = None,
    refused: ApiToken | None = None,
    refused_prefix: str = "",
) -> AuditLog:
    """One audit row for one API call (one INSERT): who (the token and its account, or the signed-in person;
    nobody for a refused call), when, from where (the request's origin), the method, the path without its
    query string, and the status. Never the body or the query string: they may carry personal data.

    `refused` is a known token that was turned away (revoked, its account disabled): the row names it and
    lands in its area's log, so that its administrator sees who still calls with it."""
    where = current_origin()
    account = token.user if token is not None else user
    about = token or refused
    area = about.user if about is not None else account
    if token is not None:
        label, detail = token.name, f"{status} · token {token.prefix}…"
    elif account is not None:
        label, detail = account.name, f"{status} · signed in"
    elif refused is not None:
        why = "revoked" if refused.revoked_at else "account disabled"
        label, detail = "", f"{status} · token {refused.prefix}… refused ({why})"
    elif refused_prefix:
        label, detail = "", f"{status} · unknown token {refused_prefix}…"
    else:
        label, detail = "", f"{status} · no credentials"
    return AuditLog.objects.create(
        actor=account if account is not None and account.pk else None,
        actor_label=label[:150],
        ip=where.ip,
        user_agent=where.user_agent,
        via="api",
        action=API_CALL_ACTION,
        target_type="api.apitoken" if about is not None else "",
        target_id=str(about.pk) if about is not None else "",
        target_label=f"{method} {path}"[:200],
        street_id=area.street_id if area is not None else None,
        community_id=area.community_id if area is not None else None,
        detail=detail[:500],
    )


def api_token_refused(raw: str) -> ApiToken | None:
    """The token behind a refused bearer value, revoked or not (for the audit row); None when unknown."""
    return ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
