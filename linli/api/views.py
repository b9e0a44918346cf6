"""API token pages: administrators issue tokens for departments' systems, see how they are used, revoke them."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from linli.api.forms import PERMISSION_SHORT, TokenForm
from linli.api.models import Permission
from linli.api.selectors import can_manage_tokens, issuable_scopes, token_get, tokens_for
from linli.api.services import api_token_create, api_token_revoke
from linli.comms.models import ChannelEndpoint
from linli.core.http import actor_of, form_errors_from
from linli.core.roles import Role, ScopeLevel

ONCE_KEY = "api_token_form_once"


def _require_admin(request: HttpRequest) -> None:
    if not can_manage_tokens(actor_of(request)):
        raise PermissionDenied(_("Only a community's or street's administrator manages API tokens."))


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    tokens = list(tokens_for(actor_of(request)))
    for t in tokens:
        t.permission_labels = [PERMISSION_SHORT.get(p, p) for p in t.permissions]  # type: ignore[attr-defined]
        for w in t.webhooks.all():  # type: ignore[attr-defined]
            w.state = _webhook_state(w)  # type: ignore[attr-defined]
    live = sum(1 for t in tokens if t.revoked_at is None)
    return render(request, "api/tokens.html", {"tokens": tokens, "live": live, "revoked": len(tokens) - live})


def _webhook_state(w: ChannelEndpoint) -> str:
    if not w.is_active:
        return "off"
    if w.last_failure_at and (w.last_success_at is None or w.last_failure_at > w.last_success_at):
        return "failing"
    return "ok" if w.last_success_at else "waiting"


@login_required
@never_cache
def token_new(request: HttpRequest) -> HttpResponse:
    """The form; a valid POST makes the token and shows it once, on this response only (never stored)."""
    _require_admin(request)
    actor = actor_of(request)
    scopes = issuable_scopes(actor)
    if request.method == "POST":
        form = TokenForm(request.POST, scopes=scopes)
        if form.is_valid():
            if request.session.get(ONCE_KEY) != form.cleaned_data["once"]:
                # A reload of the page that showed a token, or a form opened twice: make no second token.
                messages.warning(
                    request, _("That form was already used. The token made with it is in the list.")
                )
                return redirect("apiadmin:tokens")
            data = form.cleaned_data
            level = next((s.level for s in scopes if s.code == data["scope"]), ScopeLevel.COMMUNITY)
            role = data["role"]
            if role == "admin":
                role = Role.STREET_ADMIN if level == ScopeLevel.STREET else Role.COMMUNITY_ADMIN
            try:
                token, raw = api_token_create(
                    actor=actor,
                    role=role,
                    scope_code=data["scope"],
                    name=data["name"],
                    department=data["department"],
                    permissions=data["permissions"],
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                request.session.pop(ONCE_KEY, None)
                permissions = [Permission(p).label for p in token.permissions]
                response = render(
                    request,
                    "api/token_created.html",
                    {"token": token, "raw": raw, "permissions": permissions},
                )
                response["Cache-Control"] = "no-store"
                return response
    else:
        once = secrets.token_urlsafe(16)
        request.session[ONCE_KEY] = once
        form = TokenForm(scopes=scopes, initial={"once": once})
    return render(request, "api/token_new.html", {"form": form, "no_scope": not scopes})


@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST revokes."""
    _require_admin(request)
    actor = actor_of(request)
    token = token_get(actor, pk)
    if request.method == "POST":
        if api_token_revoke(actor=actor, token=token):
            messages.success(
                request,
                _("“%(name)s” is revoked: its next call is refused and its webhooks stopped.")
                % {"name": token.name},
            )
        return redirect("apiadmin:tokens")
    webhooks = [w for w in token.webhooks.all() if w.is_active]  # type: ignore[attr-defined]
    return render(request, "api/token_revoke.html", {"token": token, "webhooks": webhooks})
