"""Supplies pages: the days-of-supply board, storage points and their stock, receive / issue / transfer /
adjust, stocktake on a phone, rotation, the ledger, requests, targets, agreements, opening-stock import,
exports and the printable stock card."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.access import scope_q
from linli.core.audit import audit_record
from linli.core.excel import XLSX_CONTENT_TYPE
from linli.core.http import actor_of, chosen_community_code, error_text, next_url
from linli.core.imports import ImportRefused, import_create
from linli.core.jobs import import_preview_job
from linli.core.models import ImportJob, User
from linli.core.pdf import pdf_response
from linli.core.roles import Role, ScopeLevel
from linli.registry.address import parse_address
from linli.registry.models import Household
from linli.registry.selectors import communities_for, community_chosen
from linli.response.models import Response
from linli.response.selectors import response_get, responses_for
from linli.supplies import selectors as sel
from linli.supplies.forms import (
    AdjustForm,
    AgreementForm,
    IssueForm,
    OpeningImportForm,
    PointForm,
    ReceiveForm,
    RequestForm,
    TargetForm,
    TransferForm,
    offer_stock_at,
)
from linli.supplies.io import OPENING_KIND, movements_xlsx, stock_xlsx
from linli.supplies.models import Item, Movement, StoragePoint, SupplierAgreement, Target
from linli.supplies.services import (
    InsufficientStock,
    Recipient,
    agreement_save,
    can_move_stock,
    point_save,
    request_create,
    request_decide,
    request_issue,
    request_receive,
    stocktake_discard,
    stocktake_post,
    stocktake_save,
    stocktake_start,
    supplies_adjust,
    supplies_dispose,
    supplies_issue,
    supplies_receive,
    supplies_transfer,
    target_set,
)

LEDGER_PAGE = 50
# Seed 001: stock is counted weekly.
COUNT_EVERY_DAYS = 7


@login_required
def board(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    rows = sel.board(community)
    points = sel.points_serving(actor, community)
    return render(
        request,
        "supplies/board.html",
        {
            "community": community,
            "communities": communities_for(actor),
            "rows": rows,
            "short": sum(1 for r in rows if r.is_short),
            "expired": sum(1 for r in rows if r.expired),
            "expiring": sum(1 for r in rows if r.expiring),
            "points": points,
            "population": sel.population(community),
            "requests": list(sel.requests_for(actor).filter(community=community)[:20]),
            "is_admin": actor.is_admin_role,
            "today": timezone.localdate(),
        },
    )


@login_required
def points(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    street_level = actor.is_superuser or actor.scope_level == ScopeLevel.STREET
    form = PointForm(request.POST or None, communities=communities_for(actor), street_level=street_level)
    if request.method == "POST":
        if not actor.is_admin_role:
            raise PermissionDenied
        if form.is_valid():
            point = form.save(commit=False)
            if point.community_id is None:
                point.street_id = actor.street_id or 0
            try:
                point_save(actor=actor, point=point)
            except PermissionDenied:
                form.add_error(None, _("You may not add a storage point there."))
            else:
                messages.success(request, _("Storage point added."))
                return redirect("supplies:point", point.pk)
    return render(
        request,
        "supplies/points.html",
        {"points": sel.points_for(actor), "form": form, "is_admin": actor.is_admin_role},
    )


@login_required
def point_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The keeper's phone changes, a point moves or closes: commanders and street staff edit it."""
    actor = actor_of(request)
    point = sel.point_get(actor, pk)
    if not actor.is_admin_role or not can_move_stock(actor, point):
        raise PermissionDenied
    street_level = actor.is_superuser or actor.scope_level == ScopeLevel.STREET
    form = PointForm(
        request.POST or None,
        instance=point,
        communities=communities_for(actor),
        street_level=street_level,
    )
    if request.method == "POST" and form.is_valid():
        point_save(actor=actor, point=form.save(commit=False))
        messages.success(request, _("Storage point saved."))
        return redirect("supplies:point", point.pk)
    return render(request, "supplies/point_edit.html", {"point": point, "form": form})


@login_required
def point_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    point = sel.point_get(actor, pk)
    last_sheet = sel.latest_stocktake(point)
    return render(
        request,
        "supplies/point.html",
        {
            "point": point,
            "stock": sel.point_stock(point),
            "movements": _shown(actor, sel.movements_for(actor, point=point)[:30]),
            "can_move": can_move_stock(actor, point),
            "can_edit": actor.is_admin_role and can_move_stock(actor, point),
            "open_sheet": sel.open_stocktake(point),
            "last_sheet": last_sheet,
            "count_due": last_sheet is None
            or (last_sheet.posted_at or timezone.now())
            < timezone.now() - dt.timedelta(days=COUNT_EVERY_DAYS),
            "today": timezone.localdate(),
        },
    )


def _responses(actor: User, point: StoragePoint) -> Any:
    qs = responses_for(actor).filter(status=Response.Status.ACTIVE)
    if point.community_id:
        qs = qs.filter(community_id=point.community_id)
    return qs.select_related("community")


def _shown(actor: User, movements: Any) -> list[Movement]:
    rows = list(movements)
    sel.hide_out_of_scope_households(actor, rows)
    return rows


def _household(actor: User, point: StoragePoint, text: str) -> Household | None:
    """The one household the address means, among those the actor may see, served by the point."""
    address = parse_address(text)
    if not address.building or not address.room:
        return None
    qs = Household.objects.filter(
        scope_q(actor),
        building__number=address.building,
        room=address.room,
        community__street_id=point.street_id,
    )
    if point.community_id:
        qs = qs.filter(community_id=point.community_id)
    if address.entrance:
        qs = qs.filter(entrance__number=address.entrance)
    found = list(qs[:2])
    return found[0] if len(found) == 1 else None


@login_required
def move(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Receive, issue or transfer at one storage point."""
    actor = actor_of(request)
    point = sel.point_get(actor, pk)
    if not can_move_stock(actor, point):
        raise PermissionDenied
    data = request.POST or None
    initial = {"item": request.GET.get("item")} if request.GET.get("item") else None
    form: Any
    if kind == "receive":
        agreements = SupplierAgreement.objects.filter(street_id=point.street_id).select_related("item")
        form = ReceiveForm(data, initial=initial, agreements=agreements)
    elif kind == "issue":
        form = IssueForm(data, initial=initial, responses=_responses(actor, point))
        offer_stock_at(form, point)
    elif kind == "transfer":
        destinations = (
            sel.points_for(actor).filter(street_id=point.street_id, active=True).exclude(pk=point.pk)
        )
        form = TransferForm(data, initial=initial, destinations=destinations)
        offer_stock_at(form, point)
    else:
        raise Http404
    shortage: InsufficientStock | None = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if kind == "receive":
                supplies_receive(
                    actor=actor,
                    point=point,
                    item=d["item"],
                    quantity=d["quantity"],
                    batch=d["batch"],
                    expiry=d["expiry"],
                    source=d["source"],
                    supplier=d["supplier"],
                    agreement=d["agreement"],
                    note=d["note"],
                )
                messages.success(request, _("Received %(n)s %(unit)s of %(item)s.") % _said(d))
            elif kind == "issue":
                household = None
                if d["recipient"] == Movement.Recipient.HOUSEHOLD:
                    household = _household(actor, point, d["household"])
                    if household is None:
                        raise ValidationError(
                            _("No single household matches “%(text)s”.") % {"text": d["household"]}
                        )
                recipient = Recipient(
                    kind=d["recipient"],
                    team=d["team"],
                    response=d["response"],
                    household=household,
                    note=d["note"],
                )
                supplies_issue(
                    actor=actor,
                    point=point,
                    item=d["item"],
                    quantity=d["quantity"],
                    recipient=recipient,
                    override_reason=d["override_reason"],
                )
                messages.success(request, _("Issued %(n)s %(unit)s of %(item)s.") % _said(d))
            else:
                supplies_transfer(
                    actor=actor,
                    source=point,
                    destination=d["destination"],
                    item=d["item"],
                    quantity=d["quantity"],
                    note=d["note"],
                )
                messages.success(request, _("Moved %(n)s %(unit)s of %(item)s.") % _said(d))
            return redirect("supplies:point", point.pk)
        except InsufficientStock as exc:
            shortage = exc
            form.add_error("quantity", str(exc))
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
    titles = {
        "receive": _("Receive stock"),
        "issue": _("Issue stock"),
        "transfer": _("Move stock to another point"),
    }
    return render(
        request,
        "supplies/move.html",
        {"point": point, "form": form, "kind": kind, "title": titles[kind], "shortage": shortage},
    )


def _said(data: dict[str, Any]) -> dict[str, str]:
    item: Item = data["item"]
    return {"n": str(data["quantity"]).strip(), "unit": item.unit, "item": item.label}


@login_required
def lot_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    lot = sel.lot_get(actor, pk)
    if not can_move_stock(actor, lot.point):
        raise PermissionDenied
    form = AdjustForm(request.POST or None, initial={"kind": request.GET.get("kind", "adjust_in")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["kind"] == "dispose":
                supplies_dispose(actor=actor, lot=lot, quantity=d["quantity"], reason=d["reason"])
            else:
                from linli.supplies.services import quantity_of

                amount = quantity_of(lot.item, d["quantity"])
                supplies_adjust(
                    actor=actor,
                    lot=lot,
                    delta=amount if d["kind"] == "adjust_in" else -amount,
                    reason=d["reason"],
                )
            messages.success(request, _("Posted to the ledger."))
            return redirect("supplies:point", lot.point_id)
        except InsufficientStock as exc:
            form.add_error("quantity", str(exc))
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
    return render(request, "supplies/adjust.html", {"lot": lot, "form": form, "today": timezone.localdate()})


@login_required
@require_POST
def stocktake_open(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    point = sel.point_get(actor, pk)
    if not can_move_stock(actor, point):
        raise PermissionDenied
    sheet = stocktake_start(actor=actor, point=point)
    return redirect("supplies:stocktake", sheet.pk)


@login_required
def stocktake(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    sheet = sel.stocktake_get(actor, pk)
    lines = list(sheet.lines.select_related("lot__item"))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not can_move_stock(actor, sheet.point):
            raise PermissionDenied
        if request.POST.get("save"):
            counts = {
                line.pk: (request.POST.get(f"count-{line.pk}", ""), request.POST.get(f"reason-{line.pk}", ""))
                for line in lines
            }
            saved = stocktake_save(actor=actor, sheet=sheet, counts=counts)
            messages.success(
                request,
                _("Saved %(n)d of %(m)d counts; post the sheet when everything is counted.")
                % {"n": saved, "m": len(lines)},
            )
            return redirect("supplies:stocktake", sheet.pk)
        if request.POST.get("discard"):
            stocktake_discard(actor=actor, sheet=sheet)
            messages.info(request, _("The count sheet was set aside; nothing was posted."))
            return redirect("supplies:point", sheet.point_id)
        counts = {
            line.pk: (request.POST.get(f"count-{line.pk}", ""), request.POST.get(f"reason-{line.pk}", ""))
            for line in lines
        }
        try:
            posted = stocktake_post(actor=actor, sheet=sheet, counts=counts)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        if errors:
            for line in lines:
                line.entered = counts[line.pk][0]  # type: ignore[attr-defined]
                line.entered_reason = counts[line.pk][1]  # type: ignore[attr-defined]
        else:
            messages.success(
                request,
                _("Count posted: %(n)d variances recorded as adjustments.") % {"n": len(posted)}
                if posted
                else _("Count posted: everything matched."),
            )
            return redirect("supplies:point", sheet.point_id)
    for line in lines:
        line.problems = errors.get(str(line.pk), [])  # type: ignore[attr-defined]
        if not hasattr(line, "entered"):
            line.entered, line.entered_reason = None, line.reason  # type: ignore[attr-defined]
    return render(
        request,
        "supplies/stocktake.html",
        {"sheet": sheet, "lines": lines, "errors": errors.get("", []), "has_errors": bool(errors)},
    )


@login_required
def rotation(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return render(
        request, "supplies/rotation.html", {"lots": sel.rotation(actor), "today": timezone.localdate()}
    )


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    point = (
        sel.point_get(actor, int(request.GET["point"])) if request.GET.get("point", "").isdigit() else None
    )
    item = Item.objects.filter(code=request.GET.get("item", "")).first()
    qs = sel.movements_for(actor, point=point, item=item)
    kind = request.GET.get("kind", "")
    if kind in Movement.Kind.values:
        qs = qs.filter(kind=kind)
    if request.GET.get("format") == "xlsx":
        audit_record(
            actor=actor,
            action="export",
            target=point,
            target_label=_("Supplies ledger"),
            detail=request.GET.urlencode(),
            community_id=actor.community_id,
            street_id=actor.street_id,
        )
        response = HttpResponse(movements_xlsx(_shown(actor, qs[:100_000])), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(_('supplies-ledger'))}.xlsx"
        return response
    page = Paginator(qs, LEDGER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _shown(actor, page.object_list)
    return render(
        request,
        "supplies/ledger.html",
        {
            "page": page,
            "point": point,
            "item": item,
            "kind": kind,
            "kinds": Movement.Kind.choices,
            "points": sel.points_for(actor),
            "items": Item.objects.all(),
            "query": request.GET.copy(),
        },
    )


@login_required
def export_stock(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    point = sel.point_get(actor, pk)
    audit_record(actor=actor, action="export", target=point, detail=_("stock by lot"))
    response = HttpResponse(
        stock_xlsx((point, s) for s in sel.point_stock(point)), content_type=XLSX_CONTENT_TYPE
    )
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(point.name + '-' + _('stock'))}.xlsx"
    )
    return response


@login_required
def export_community(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    points = sel.points_serving(actor, community)
    audit_record(actor=actor, action="export", target=community, detail=_("supplies stock by lot"))
    response = HttpResponse(
        stock_xlsx((p, s) for p in points for s in sel.point_stock(p)), content_type=XLSX_CONTENT_TYPE
    )
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(community.name + '-' + _('stock'))}.xlsx"
    )
    return response


@login_required
def stock_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable card that hangs at the storage point: what is here, lot by lot, and who keeps it."""
    actor = actor_of(request)
    point = sel.point_get(actor, pk)
    context = {
        "point": point,
        "stock": sel.point_stock(point),
        "printed": timezone.localtime(),
        "today": timezone.localdate(),
    }
    if request.GET.get("format") == "html":
        return render(request, "supplies/stock_card.html", context)
    audit_record(actor=actor, action="export", target=point, detail=_("stock card"))
    return pdf_response(request, "supplies/stock_card.html", context, f"{point.name}-{_('stock card')}.pdf")


# Requests ---------------------------------------------------------------------------------------


@login_required
def requests(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    show_all = request.GET.get("all") == "1"
    rows = sel.with_actions(actor, list(sel.requests_for(actor, open_only=not show_all)[:200]))
    return render(request, "supplies/requests.html", {"rows": rows, "show_all": show_all})


@login_required
@require_POST
def request_new(request: HttpRequest, response_pk: int) -> HttpResponse:
    actor = actor_of(request)
    response = response_get(actor, response_pk)
    form = RequestForm(request.POST)
    if form.is_valid():
        try:
            request_create(actor=actor, response=response, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Request sent to logistics."))
    else:
        messages.error(request, _("Choose the team and item, and enter a quantity."))
    return redirect(response.get_absolute_url() + "#supplies")


@login_required
@require_POST
def request_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = actor_of(request)
    supply_request = sel.request_get(actor, pk)
    try:
        if action == "approve":
            request_decide(
                actor=actor, request=supply_request, approve=True, note=request.POST.get("note", "")
            )
            messages.success(request, _("Approved: logistics can issue it."))
        elif action == "reject":
            request_decide(
                actor=actor, request=supply_request, approve=False, note=request.POST.get("note", "")
            )
            messages.info(request, _("Refused; the team sees the reason."))
        elif action == "issue":
            point_pk = request.POST.get("point", "")
            if not point_pk.isdigit():
                raise ValidationError(_("Choose the storage point to issue from."))
            point = sel.point_get(actor, int(point_pk))
            request_issue(
                actor=actor,
                request=supply_request,
                point=point,
                override_reason=request.POST.get("override_reason", ""),
            )
            messages.success(request, _("Issued from %(point)s.") % {"point": point})
        elif action == "receive":
            request_receive(actor=actor, request=supply_request)
            messages.success(request, _("Marked as received."))
        else:
            raise Http404
    except InsufficientStock as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    return redirect(next_url(request, reverse("supplies:requests")))


# Targets, agreements, import --------------------------------------------------------------------


@login_required
def targets(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    community = community_chosen(actor, chosen_community_code(request))
    from linli.plans.models import Plan

    plans = Plan.objects.filter(community=community, is_template=False, is_archived=False)
    form = TargetForm(request.POST or None, plans=plans)
    if request.method == "POST":
        if not actor.is_admin_role:
            raise PermissionDenied
        if form.is_valid():
            try:
                target_set(actor=actor, community=community, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, error_text(exc))
            else:
                messages.success(request, _("Target saved."))
                return redirect(f"{request.path}?community={community.code}")
    return render(
        request,
        "supplies/targets.html",
        {
            "community": community,
            "communities": communities_for(actor),
            "targets": Target.objects.filter(community=community).select_related("item", "plan"),
            "form": form,
            "is_admin": actor.is_admin_role,
            "population": sel.population(community),
            "defaults": Item.objects.filter(per_person_day__isnull=False),
        },
    )


@login_required
def agreements(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    communities = communities_for(actor)
    form = AgreementForm(request.POST or None, communities=communities)
    if request.method == "POST":
        if not actor.is_admin_role:
            raise PermissionDenied
        if form.is_valid():
            agreement = form.save(commit=False)
            agreement.street_id = (
                agreement.community.street_id if agreement.community else (actor.street_id or 0)
            )
            if (
                agreement.community is None
                and actor.scope_level != ScopeLevel.STREET
                and not actor.is_superuser
            ):
                form.add_error("community", _("Choose your community."))
            else:
                try:
                    agreement_save(actor=actor, agreement=agreement)
                except ValidationError as exc:
                    form.add_error(None, error_text(exc))
                else:
                    messages.success(request, _("Agreement saved."))
                    return redirect("supplies:agreements")
    street_ids = set(communities.values_list("street_id", flat=True)) | (
        {actor.street_id} if actor.street_id else set()
    )
    rows = SupplierAgreement.objects.filter(street_id__in=street_ids).select_related("item", "community")
    if not actor.is_superuser and actor.scope_level != ScopeLevel.STREET:
        rows = rows.filter(community__in=communities) | rows.filter(community__isnull=True)
    return render(
        request,
        "supplies/agreements.html",
        {"rows": rows, "form": form, "is_admin": actor.is_admin_role, "today": timezone.localdate()},
    )


def _import_areas(actor: User) -> list[tuple[str, str]]:
    areas = [(c.code, c.name) for c in communities_for(actor)]
    if actor.is_superuser or (actor.scope_level == ScopeLevel.STREET and actor.role == Role.STREET_ADMIN):
        areas.insert(0, ("", _("The street warehouse")))
    return areas


@login_required
def import_opening(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not actor.can_import:
        raise PermissionDenied
    areas = _import_areas(actor)
    form = OpeningImportForm(request.POST or None, request.FILES or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        code = form.cleaned_data["area"]
        community = communities_for(actor).filter(code=code).first() if code else None
        try:
            job = import_create(
                actor=actor,
                kind=OPENING_KIND,
                community_id=community.pk if community else None,
                filename=upload.name,
                content=upload.read(),
                options={"street_id": community.street_id if community else actor.street_id},
            )
        except ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            import_preview_job.enqueue(job.pk)
            return redirect("registry:import", job.pk)
    jobs = (
        ImportJob.objects.filter(kind=OPENING_KIND, created_by__in=_colleagues(actor))
        .defer("content", "errors", "preview")
        .select_related("created_by", "community")[:30]
    )
    return render(request, "supplies/import.html", {"form": form, "jobs": jobs})


def _colleagues(actor: User) -> Any:
    if actor.is_superuser:
        return User.objects.all()
    if actor.scope_level == ScopeLevel.STREET:
        return User.objects.filter(street_id=actor.street_id or 0)
    return User.objects.filter(community_id=actor.community_id or 0)
