"""Pages: broadcasts (the staff's list, compose with its review step, the detail with confirmations, templates)
and the residents' public pages (the community's notice board, a notice's confirmation link)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.comms import broadcasts as svc
from linli.comms.broadcasts import selectors as sel
from linli.comms.broadcasts.forms import ComposeForm, TemplateForm
from linli.comms.broadcasts.recipients import preview
from linli.comms.broadcasts.sms import (
    MAX_SEGMENTS,
    SEPARATOR,
    TOKEN_LENGTH,
    ack_link,
    ack_suffix,
    public_base,
    signature,
    sms_as_received,
    sms_segments,
)
from linli.comms.broadcasts.templates import template_fill
from linli.comms.models import Broadcast, Channel, NoticeTemplate
from linli.comms.models.broadcasts import Audience
from linli.core import ratelimit
from linli.core.access import administers
from linli.core.http import actor_of, error_text, form_errors_from, posted_id, posted_ids, resident_page
from linli.core.models import User
from linli.core.request_context import client_ip
from linli.registry.models import Community, SpecialKind
from linli.registry.selectors import communities_for, community_chosen

PAGE = 30
BOARD_PAGE = 20
OPEN_LIMIT = 200

# --- the staff's pages ---------------------------------------------------------------------------------


@login_required
def broadcast_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    qs = sel.broadcasts_for(actor).select_related("community", "created_by").order_by("-created_at", "-id")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    counts = sel.counts_many(items)
    communities = list(communities_for(actor))
    rows = [{"b": b, "c": counts[b.pk]} for b in items]
    return render(
        request,
        "comms/broadcasts/list.html",
        {
            "page": page,
            "rows": rows,
            "many_communities": len(communities) > 1,
            "can_compose": any(sel.can_compose(actor, c) for c in communities),
        },
    )


def _compose_community(actor: User, code: str) -> tuple[Community, list[Community]]:
    """The community to write to (a street account picks one) among those the actor may send in: the one
    asked for (403 when the actor only looks at it, 404 outside their area), else their own."""
    communities = list(communities_for(actor))
    allowed = [c for c in communities if sel.can_compose(actor, c)]
    if code:
        chosen = next((c for c in allowed if c.code == code), None)
        if chosen is None:
            if any(c.code == code for c in communities):
                raise PermissionDenied
            raise Http404
        return chosen, allowed
    if not allowed:
        raise PermissionDenied
    chosen = next((c for c in allowed if c.pk == actor.community_id), None) or allowed[0]
    return chosen, allowed


def _compose_form(actor: User, community: Community, data: Any = None, initial: Any = None) -> ComposeForm:
    svc.ensure_builtin_templates()
    buildings = list(sel.buildings_sendable(actor, community))
    return ComposeForm(
        data,
        initial=initial,
        buildings=buildings,
        templates=list(sel.templates_for(community)),
        grid_only=not _administers(actor, community),
    )


def _administers(actor: User, community: Community) -> bool:
    return administers(actor, community.pk)


def _initial(actor: User, community: Community, request: HttpRequest) -> dict[str, Any]:
    """A new notice: to residents of the whole community by SMS and the board, confirmation by in 2 hours. A
    grid leader's starts with their grid's buildings; ?template= fills title and text; ?draft= edits a draft."""
    initial: dict[str, Any] = {
        "audience": Audience.RESIDENTS,
        "scope": Broadcast.Scope.COMMUNITY,
        "sms": True,
        "public": True,
        "ack_deadline": ComposeForm.default_deadline(),
    }
    if not _administers(actor, community):
        initial["scope"] = Broadcast.Scope.BUILDINGS
        initial["buildings"] = list(sel.buildings_sendable(actor, community).values_list("pk", flat=True))
    draft_id = posted_id(request.GET.get("draft"))
    if draft_id:
        draft = sel.broadcasts_for(actor).filter(pk=draft_id, status=Broadcast.Status.DRAFT).first()
        if draft is not None and draft.community_id == community.pk:
            initial.update(
                audience=draft.audience,
                scope=draft.scope,
                buildings=list(draft.buildings.values_list("pk", flat=True)),
                special_kinds=draft.special_kinds,
                template=draft.template_id,
                title=draft.title,
                body=draft.body,
                sms=Channel.SMS in draft.channels,
                public=draft.public,
                staff_channels=[c for c in draft.channels if c != Channel.INAPP],
                require_ack=draft.require_ack,
                ack_deadline=timezone.localtime(draft.ack_deadline)
                if draft.ack_deadline
                else initial["ack_deadline"],
            )
    template_id = posted_id(request.GET.get("template"))
    if template_id:
        template = sel.template_get(community, pk=template_id)
        if template is not None:
            initial.update(
                template=template.pk,
                audience=template.audience,
                title=template_fill(template.title, community),
                body=template_fill(template.body, community),
            )
    return initial


def _sms_context(community: Community) -> dict[str, Any]:
    """What the live counter needs to count exactly as the service does."""
    return {
        "sms_signature": signature(community.name),
        "sms_separator": SEPARATOR,
        "sms_ack_suffix": ack_suffix(ack_link("x" * TOKEN_LENGTH)),
        "sms_max": MAX_SEGMENTS,
        "public_url_missing": not public_base(),
    }


@login_required
def broadcast_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    code = request.POST.get("community_code") or request.GET.get("community", "")
    community, allowed = _compose_community(actor, code)
    if request.method == "POST":
        form = _compose_form(actor, community, data=request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                broadcast = svc.broadcast_create(
                    actor=actor,
                    community=community,
                    title=data["title"],
                    body=data["body"],
                    channels=form.channels(),
                    audience=data["audience"],
                    scope=data["scope"],
                    buildings=form.chosen_buildings(),
                    special_kinds=data["special_kinds"],
                    require_ack=data["require_ack"],
                    ack_deadline=data["ack_deadline"],
                    public=data["public"],
                    template=sel.template_get(community, pk=data["template"]) if data["template"] else None,
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                replaced = posted_id(request.POST.get("draft"))
                if replaced:
                    old = sel.broadcasts_for(actor).filter(pk=replaced, status=Broadcast.Status.DRAFT).first()
                    if old is not None:
                        svc.broadcast_discard(actor=actor, broadcast=old)
                return redirect("comms:broadcast", broadcast.pk)
        status = 400
    else:
        form = _compose_form(actor, community, initial=_initial(actor, community, request))
        status = 200
    return render(
        request,
        "comms/broadcasts/new.html",
        {
            "form": form,
            "community": community,
            "communities": allowed,
            "draft_id": request.POST.get("draft") or request.GET.get("draft", ""),
            "special_choices": SpecialKind.choices,
            **_sms_context(community),
        },
        status=status,
    )


@login_required
def broadcast_template_fill(request: HttpRequest) -> HttpResponse:
    """htmx: the template picked fills the title and text (the community's name, phone and today's date)."""
    actor = actor_of(request)
    community, _allowed = _compose_community(actor, request.GET.get("community_code", ""))
    template_id = posted_id(request.GET.get("template"))
    template = sel.template_get(community, pk=template_id) if template_id else None
    title = template_fill(template.title, community) if template else request.GET.get("title", "")
    body = template_fill(template.body, community) if template else request.GET.get("body", "")
    return render(request, "comms/broadcasts/_text_fields.html", {"title": title, "body": body, "errors": {}})


@login_required
def broadcast_preview(request: HttpRequest) -> HttpResponse:
    """htmx: how many phones, buildings and households the scope chosen reaches, before Send."""
    actor = actor_of(request)
    community, _allowed = _compose_community(actor, request.GET.get("community_code", ""))
    allowed = set(sel.buildings_sendable(actor, community).values_list("pk", flat=True))
    building_ids = [v for v in posted_ids(request.GET.getlist("buildings")) if v in allowed]
    audience = request.GET.get("audience", Audience.RESIDENTS)
    scope = request.GET.get("scope", Broadcast.Scope.COMMUNITY)
    if not _administers(actor, community):
        scope = Broadcast.Scope.BUILDINGS
    kinds = [k for k in request.GET.getlist("special_kinds") if k in SpecialKind.values]
    result = preview(
        community_id=community.pk,
        audience=audience if audience in Audience.values else Audience.RESIDENTS,
        scope=scope if scope in Broadcast.Scope.values else Broadcast.Scope.COMMUNITY,
        building_ids=building_ids,
        special_kinds=kinds,
    )
    return render(request, "comms/broadcasts/_preview.html", {"preview": result})


def _detail_context(actor: User, broadcast: Broadcast, request: HttpRequest) -> dict[str, Any]:
    counts = sel.counts_many([broadcast])[broadcast.pk]
    context: dict[str, Any] = {
        "b": broadcast,
        "counts": counts,
        "now": timezone.now(),
        "residents": broadcast.audience == Audience.RESIDENTS,
        "sms": sms_as_received(
            title=broadcast.title,
            body=broadcast.body,
            require_ack=broadcast.require_ack,
            community_name=broadcast.community.name,
        )
        if Channel.SMS in broadcast.channels and broadcast.audience == Audience.RESIDENTS
        else "",
        "channel_labels": [str(Channel(c).label) for c in broadcast.channels if c in Channel.values],
        "kind_labels": [
            str(SpecialKind(k).label) for k in broadcast.special_kinds if k in SpecialKind.values
        ],
        "building_numbers": [b.number for b in broadcast.buildings.all()],
    }
    if context["sms"]:
        context["sms_chars"], context["sms_parts"] = sms_segments(context["sms"])
    return context


@login_required
def broadcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    broadcast = sel.broadcast_get(actor, pk)
    context = _detail_context(actor, broadcast, request)
    if broadcast.status == Broadcast.Status.DRAFT:
        context["preview"] = preview(
            community_id=broadcast.community_id,
            audience=broadcast.audience,
            scope=broadcast.scope,
            building_ids=[b.pk for b in broadcast.buildings.all()],
            special_kinds=broadcast.special_kinds,
        )
        context["can_send"] = sel.can_compose(actor, broadcast.community) and sel.can_send(
            actor, broadcast.community, [b.pk for b in broadcast.buildings.all()]
        )
        return render(request, "comms/broadcasts/review.html", context)
    building_id = posted_id(request.GET.get("building")) or None
    if broadcast.audience == Audience.RESIDENTS:
        context["buildings"] = sel.building_table(broadcast)
        if broadcast.require_ack:
            households, total = sel.open_households(
                actor, broadcast, building_id=building_id, limit=OPEN_LIMIT
            )
            # A grid's staff come for their list of doors; the community's for the overview.
            context.update(
                open=households, open_total=total, building_filter=building_id, open_first=bool(actor.grid_id)
            )
            context["door_buildings"] = {
                row.building.pk
                for row in context["buildings"]
                if sel.can_confirm_at_door(actor, row.building)
            }
    else:
        context["staff"] = sel.staff_recipients(broadcast)
    context["tasks"] = sel.escalation_tasks(broadcast)
    return render(request, "comms/broadcasts/detail.html", context)


@login_required
def broadcast_live(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the counts, refreshed while messages are going out and confirmations come in."""
    actor = actor_of(request)
    broadcast = sel.broadcast_get(actor, pk)
    return render(request, "comms/broadcasts/_live.html", _detail_context(actor, broadcast, request))


@require_POST
@login_required
def broadcast_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    broadcast = sel.broadcast_get(actor, pk)
    if not sel.can_compose(actor, broadcast.community):
        raise Http404
    try:
        n = svc.broadcast_send(actor=actor, broadcast=broadcast)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Sent: the notice is going out to %(n)d people.") % {"n": n})
    return redirect("comms:broadcast", broadcast.pk)


@require_POST
@login_required
def broadcast_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    broadcast = sel.broadcast_get(actor, pk)
    if not sel.can_compose(actor, broadcast.community):
        raise Http404
    try:
        svc.broadcast_discard(actor=actor, broadcast=broadcast)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("comms:broadcast", broadcast.pk)
    messages.success(request, _("The draft was deleted."))
    return redirect("comms:broadcasts")


@require_POST
@login_required
def broadcast_door(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff knocked: the household counts as confirmed (htmx replaces its row)."""
    actor = actor_of(request)
    broadcast = sel.broadcast_get(actor, pk)
    household = posted_id(request.POST.get("household"))
    if not household:
        raise Http404
    try:
        n = svc.broadcast_confirm_at_door(actor=actor, broadcast=broadcast, household_id=household)
    except PermissionDenied:
        raise Http404 from None
    if request.headers.get("HX-Request"):
        return render(request, "comms/broadcasts/_door_done.html", {"n": n, "at": timezone.now()})
    messages.success(request, _("Recorded: confirmed at the door."))
    return redirect(reverse("comms:broadcast", args=[broadcast.pk]) + "#open")


# --- templates -----------------------------------------------------------------------------------------


@login_required
def notice_templates(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    svc.ensure_builtin_templates()
    community = community_chosen(actor, request.GET.get("community"))
    templates = list(sel.templates_for(community))
    return render(
        request,
        "comms/broadcasts/templates.html",
        {
            "community": community,
            "communities": list(communities_for(actor)),
            "own": [t for t in templates if t.community_id],
            "builtin": [t for t in templates if not t.community_id],
            "can_manage": sel.can_manage_templates(actor, community),
            "can_compose": sel.can_compose(actor, community),
        },
    )


@login_required
def notice_template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = actor_of(request)
    template: NoticeTemplate | None = None
    if pk is not None:
        template = (
            NoticeTemplate.objects.filter(pk=pk, community__in=communities_for(actor))
            .select_related("community")
            .first()
        )
        if template is None or template.community is None:
            raise Http404
        community = template.community
    else:
        community = community_chosen(
            actor, request.POST.get("community_code") or request.GET.get("community")
        )
    if not sel.can_manage_templates(actor, community):
        raise Http404
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                svc.notice_template_save(
                    actor=actor, community=community, template=template, **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Template saved."))
                return redirect(reverse("comms:notice_templates") + f"?community={community.code}")
    elif template is not None:
        form = TemplateForm(
            initial={
                "name": template.name,
                "audience": template.audience,
                "title": template.title,
                "body": template.body,
                "key": template.key,
            }
        )
    else:
        copy = NoticeTemplate.objects.filter(
            pk=posted_id(request.GET.get("copy")), community__isnull=True
        ).first()
        form = TemplateForm(
            initial={"audience": Audience.RESIDENTS}
            if copy is None
            else {"name": copy.name, "audience": copy.audience, "title": copy.title, "body": copy.body}
        )
    return render(
        request,
        "comms/broadcasts/template_form.html",
        {"form": form, "template": template, "community": community},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def notice_template_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    template = (
        NoticeTemplate.objects.filter(pk=pk, community__in=communities_for(actor))
        .select_related("community")
        .first()
    )
    if (
        template is None
        or template.community is None
        or not sel.can_manage_templates(actor, template.community)
    ):
        raise Http404
    code = template.community.code
    svc.notice_template_delete(actor=actor, template=template)
    messages.success(request, _("Template deleted."))
    return redirect(reverse("comms:notice_templates") + f"?community={code}")


# --- the residents' public pages -------------------------------------------------------------------------

# Any requests from one address to these pages: more than this a minute is a flood. Generous: after a notice
# goes out, hundreds of residents behind one mobile carrier's address open their links within minutes.
PUBLIC_PER_MINUTE = int(getattr(settings, "NOTICE_PAGES_PER_MINUTE", 300))
_PUBLIC = ratelimit.LocalWindow(PUBLIC_PER_MINUTE, 60)
# Links that match no notice, per address: after this many in GUESS_WINDOW, a pause (someone guessing).
GUESS_LIMIT = 20
GUESS_WINDOW = 15 * 60
_TOKEN = re.compile(rf"[0-9a-z]{{{TOKEN_LENGTH}}}")


def _public(response: HttpResponse) -> HttpResponse:
    return resident_page(response, cacheable=True)


def _too_many(request: HttpRequest, retry: int = 60, *, links: bool = False) -> HttpResponse:
    context = {"links": links, "minutes": max(1, round(retry / 60))}
    response = render(request, "comms/notices/too_many.html", context, status=429)
    response["Retry-After"] = str(retry)
    return resident_page(response)


def _board_community(request: HttpRequest, code: str) -> Community:
    community = Community.objects.filter(code=code).first()
    if community is None:
        raise Http404
    return community


def notice_board(request: HttpRequest, code: str) -> HttpResponse:
    if not _PUBLIC.hit(str(client_ip(request))):
        return _too_many(request)
    community = _board_community(request, code)
    page = Paginator(sel.public_notices(community), BOARD_PAGE).get_page(request.GET.get("page"))
    return _public(render(request, "comms/notices/board.html", {"community": community, "page": page}))


def notice_page(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    if not _PUBLIC.hit(str(client_ip(request))):
        return _too_many(request)
    community = _board_community(request, code)
    notice = sel.public_notices(community).filter(pk=pk).first()
    if notice is None:
        raise Http404
    return _public(render(request, "comms/notices/notice.html", {"community": community, "notice": notice}))


def notice_ack(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the SMS: the notice, and one big button. Never says whether a link exists beyond the
    site's ordinary 404; addresses that keep trying links that do not exist are paused."""
    ip = client_ip(request)
    if not _PUBLIC.hit(str(ip)):
        return _too_many(request)
    guess_key = f"notice-token:ip:{ip}"
    if ratelimit.hits(guess_key, window_seconds=GUESS_WINDOW) >= GUESS_LIMIT:
        return _too_many(request, GUESS_WINDOW, links=True)
    recipient = sel.recipient_by_token(token) if _TOKEN.fullmatch(token) else None
    if recipient is None:
        ratelimit.hits(guess_key, window_seconds=GUESS_WINDOW, add=1)
        raise Http404
    response: HttpResponse
    if request.method == "POST":
        svc.broadcast_ack(token=token, via="link")
        response = redirect("comms:notice_ack", token=token)
    else:
        broadcast = recipient.broadcast
        response = render(
            request,
            "comms/notices/ack.html",
            {
                "recipient": recipient,
                "notice": broadcast,
                "community": broadcast.community,
                "now": timezone.now(),
            },
        )
    return resident_page(response)


urlpatterns: list[URLPattern | URLResolver] = [
    path("comms/broadcasts/", broadcast_list, name="broadcasts"),
    path("comms/broadcasts/new/", broadcast_new, name="broadcast_new"),
    path("comms/broadcasts/new/template/", broadcast_template_fill, name="broadcast_template_fill"),
    path("comms/broadcasts/new/preview/", broadcast_preview, name="broadcast_preview"),
    path("comms/broadcasts/templates/", notice_templates, name="notice_templates"),
    path("comms/broadcasts/templates/new/", notice_template_edit, name="notice_template_new"),
    path("comms/broadcasts/templates/<int:pk>/", notice_template_edit, name="notice_template_edit"),
    path(
        "comms/broadcasts/templates/<int:pk>/delete/",
        notice_template_delete_view,
        name="notice_template_delete",
    ),
    path("comms/broadcasts/<int:pk>/", broadcast_detail, name="broadcast"),
    path("comms/broadcasts/<int:pk>/live/", broadcast_live, name="broadcast_live"),
    path("comms/broadcasts/<int:pk>/send/", broadcast_send_view, name="broadcast_send"),
    path("comms/broadcasts/<int:pk>/discard/", broadcast_discard_view, name="broadcast_discard"),
    path("comms/broadcasts/<int:pk>/door/", broadcast_door, name="broadcast_door"),
    path("notices/<slug:code>/", notice_board, name="notices"),
    path("notices/<slug:code>/<int:pk>/", notice_page, name="notice"),
    path("n/<str:token>/", notice_ack, name="notice_ack"),
]
