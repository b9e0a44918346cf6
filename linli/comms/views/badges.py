"""Pages: staff badges. The administrators' list (issue, re-issue, revoke, role shown, print), everyone's own
badge (/badge/: the QR to show, the photo, the on-duty switch), and the public check page a resident's phone
opens from the QR (/b/<token>/)."""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from linli.comms import badges as svc
from linli.comms.models import Badge
from linli.core import ratelimit
from linli.core.http import actor_of, error_text, next_url, posted_ids, public_url, resident_page
from linli.core.models import User
from linli.core.pdf import pdf_response, qr_png, qr_svg
from linli.core.request_context import client_ip
from linli.registry.selectors import communities_for

# Floods from one address (a script hammering the page) cost nothing: counted in memory.
FLOOD = ratelimit.LocalWindow(limit=60, window_seconds=60)
# Codes we never issued, counted in the database across servers: someone trying codes is stopped for the hour,
# on every code (a valid one too, or the difference would tell them which one was right).
GUESS_LIMIT = 20
GUESS_WINDOW = 3600


class TitleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Role shown"), max_length=50, required=False)


class PhotoForm(forms.Form):
    photo = forms.FileField(label=gettext_lazy("Photo"))


def check_url(request: HttpRequest, token: str) -> str:
    """The address in the QR: PUBLIC_URL (how residents' phones reach the site) when set, else this site's."""
    return public_url(reverse("comms:badge_check", args=[token]), request)


# --- the administrators' list ---------------------------------------------------------------------------------


def _back(request: HttpRequest, user_id: int) -> HttpResponse:
    return redirect(next_url(request, reverse("comms:badges")) + f"#person-{user_id}")


@login_required
def badges_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not actor.is_admin_role:
        raise PermissionDenied(_("Badges are issued by the community's administrators."))
    communities = list(communities_for(actor).order_by("name"))
    code = request.GET.get("community", "")
    community = next((c for c in communities if c.code == code), None)
    if code and community is None:
        raise Http404
    status = request.GET.get("status", "")
    q = request.GET.get("q", "").strip()[:50]
    found = svc.holders_for(
        actor,
        community_id=community.pk if community else None,
        q=q,
        status=status,
        page=request.GET.get("page", 1),
    )
    return render(
        request,
        "comms/badges/list.html",
        {
            "page": found.page,
            "counts": found.counts,
            # Known for the people on the page: shown when the page is everyone.
            "on_duty": sum(1 for h in found.page.object_list if h.valid and h.duty.on)
            if found.page.paginator.num_pages == 1 and not status and not q
            else None,
            "communities": communities,
            "community": community,
            "filters": {"q": q, "status": status, "community": code},
            "statuses": [
                ("", _("All")),
                ("active", _("badge valid")),
                ("none", _("no badge yet")),
                ("revoked", _("revoked")),
            ],
            "duty_hours": svc.DUTY_HOURS,
            "many_communities": len(communities) > 1,
        },
    )


@require_POST
@login_required
def badge_issue(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = actor_of(request)
    holder = svc.holder_get(actor, user_id)
    try:
        svc.badge_issue(actor=actor, user=holder.user, replace=request.POST.get("replace") == "1")
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        text = (
            _("New badge issued to %(name)s; the old one no longer works. Print it and hand it over.")
            if request.POST.get("replace") == "1"
            else _("Badge issued to %(name)s. Print it, or they open it on their phone at /badge/.")
        )
        messages.success(request, text % {"name": holder.user.name})
    return _back(request, user_id)


@require_POST
@login_required
def badges_issue_missing(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    code = request.POST.get("community", "")
    community = communities_for(actor).filter(code=code).first() if code else None
    if code and community is None:
        raise Http404
    made = svc.badges_issue_missing(actor=actor, community_id=community.pk if community else None)
    if made:
        messages.success(
            request,
            ngettext(
                "%(n)d badge issued. Print them, or each person opens theirs on their phone at /badge/.",
                "%(n)d badges issued. Print them, or each person opens theirs on their phone at /badge/.",
                len(made),
            )
            % {"n": len(made)},
        )
    else:
        messages.info(request, _("Everyone already has a badge."))
    return redirect(reverse("comms:badges") + (f"?community={code}" if code else ""))


@require_POST
@login_required
def badge_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    badge = svc.badge_get(actor, pk)
    try:
        svc.badge_revoke(actor=actor, badge=badge)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            _("%(name)s's badge is revoked: scanning it now says it is no longer valid.")
            % {"name": badge.user.name},
        )
    return _back(request, badge.user_id)


@require_POST
@login_required
def badge_title(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    badge = svc.badge_get(actor, pk)
    form = TitleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The role shown is at most 50 characters."))
        return _back(request, badge.user_id)
    try:
        svc.badge_title_set(actor=actor, badge=badge, title=form.cleaned_data["title"])
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Role shown saved for %(name)s.") % {"name": badge.user.name})
    return _back(request, badge.user_id)


@login_required
def badge_photo(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """GET: the photo for the administrators' list (never a public media URL). POST: an administrator uploads it
    (a photo taken at the community office)."""
    actor = actor_of(request)
    badge = svc.badge_get(actor, pk)
    if request.method == "POST":
        form = PhotoForm(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, _("Choose a photo to upload."))
        else:
            try:
                svc.badge_photo_set(actor=actor, badge=badge, upload=form.cleaned_data["photo"])
            except ValidationError as exc:
                messages.error(request, error_text(exc))
            else:
                messages.success(request, _("Photo saved for %(name)s.") % {"name": badge.user.name})
        return _back(request, badge.user_id)
    if not badge.photo:
        raise Http404
    return _photo_response(badge)


def _photo_response(badge: Badge) -> FileResponse:
    try:
        handle = badge.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(badge.photo.name)[0] or "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


def _photo_data(badge: Badge) -> str:
    """The photo as a data: URI for the PDF (the media folder is not on the web)."""
    if not badge.photo:
        return ""
    try:
        with badge.photo.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


@login_required
def badges_print(request: HttpRequest) -> HttpResponse:
    """Card-size badges, nine to an A4 page, to cut out and put in a lanyard sleeve: the chosen ones, else every
    valid badge of the community (or of the street)."""
    actor = actor_of(request)
    if not actor.is_admin_role:
        raise PermissionDenied(_("Badges are issued by the community's administrators."))
    code = request.GET.get("community", "")
    community = communities_for(actor).filter(code=code).first() if code else None
    if code and community is None:
        raise Http404
    chosen = posted_ids(request.GET.getlist("badge"))
    # Printed in Chinese with the check line in English too: the card is for residents, whatever the
    # administrator's own language.
    with translation.override("zh-hans"):
        holders = svc.badges_to_print(
            actor, badge_ids=chosen, community_id=community.pk if community else None
        )
    if not holders:
        messages.error(request, _("No valid badges to print: issue badges first."))
        return redirect(reverse("comms:badges") + (f"?community={code}" if code else ""))
    svc.badges_printed(actor=actor, holders=holders)
    cards = []
    for h in holders:
        assert h.badge is not None
        url = check_url(request, h.badge.token)
        cards.append({"holder": h, "qr": qr_png(url), "photo": _photo_data(h.badge)})
    name = f"{_('staff badges')}-{timezone.localdate():%Y%m%d}.pdf"
    return pdf_response(request, "comms/badges/print.html", {"cards": cards}, name)


# --- my badge -------------------------------------------------------------------------------------------------


@login_required
def my_badge(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    badge = svc.current_badge(actor) if svc.may_hold_badge(actor) else None
    valid = badge is not None and badge.revoked_at is None and svc.holder_is_current(actor)
    if request.method == "POST":
        if badge is None or not valid:
            raise Http404
        _my_badge_post(request, actor, badge)
        return redirect("comms:my_badge")
    context: dict[str, Any] = {
        "badge": badge,
        "valid": valid,
        "may_hold": svc.may_hold_badge(actor),
        "is_volunteer": actor.role == "volunteer",
        "duty_hours": svc.DUTY_HOURS,
        "photo_max_mb": svc.PHOTO_MAX_BYTES // (1024 * 1024),
    }
    community, issuers = svc.issuers_for(actor)
    context.update(community=community, issuers=issuers, administers=actor.is_admin_role)
    if valid:
        assert badge is not None
        url = check_url(request, badge.token)
        post = svc.position_titles([actor.pk]).get(actor.pk)
        context.update(
            url=url,
            qr=qr_svg(url, box_size=10),
            title=svc.title_shown(badge, post),
            duty=svc.duty_of(actor.pk),
        )
    response = render(request, "comms/badges/mine.html", context)
    add_never_cache_headers(response)
    return response


def _my_badge_post(request: HttpRequest, actor: User, badge: Badge) -> None:
    action = request.POST.get("action", "")
    try:
        if action == "photo":
            form = PhotoForm(request.POST, request.FILES)
            if not form.is_valid():
                raise ValidationError(_("Choose a photo to upload."))
            svc.badge_photo_set(actor=actor, badge=badge, upload=form.cleaned_data["photo"])
            messages.success(request, _("Photo saved. Residents see it when they scan your badge."))
        elif action == "duty":
            hours = request.POST.get("hours", "")
            svc.badge_duty_set(actor=actor, badge=badge, hours=int(hours) if hours.isdigit() else -1)
            assert badge.on_duty_until is not None
            messages.success(
                request,
                _("You are on duty until %(t)s.") % {"t": f"{timezone.localtime(badge.on_duty_until):%H:%M}"},
            )
        elif action == "off":
            svc.badge_duty_set(actor=actor, badge=badge, hours=None)
            messages.success(request, _("You are off duty. Thank you."))
        else:
            raise ValidationError(_("Nothing was changed."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))


# --- the public check page ------------------------------------------------------------------------------------


def _public(response: HttpResponse) -> HttpResponse:
    return resident_page(response, robots="noindex, nofollow")


def _guess_key(ip: str | None) -> str:
    return f"badge-guess:{ip or '-'}"


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "comms/badges/check.html", {"step": "refused"}, status=429)
    response["Retry-After"] = "900"
    return _public(response)


def badge_check(request: HttpRequest, token: str) -> HttpResponse:
    """What a resident's phone shows after scanning a badge. No login; a code we never issued and a badge that
    is no longer valid give the same page (the latter with the community's phone), with the same status."""
    ip = client_ip(request)
    if not FLOOD.hit(f"badge:{ip}"):
        return _too_many(request)
    if ratelimit.hits(_guess_key(ip), window_seconds=GUESS_WINDOW) >= GUESS_LIMIT:
        return _too_many(request)
    check = svc.badge_check(token)
    if check is None:
        ratelimit.hit(_guess_key(ip), limit=GUESS_LIMIT, window_seconds=GUESS_WINDOW)
    if check is None or not check.valid:
        context: dict[str, Any] = {
            "step": "invalid",
            "phone": check.community.phone if check is not None else "",
        }
        return _public(render(request, "comms/badges/check.html", context, status=404))
    user = check.badge.user
    context = {
        "step": "valid",
        "check": check,
        "holder": user,
        "grid": user.grid if user.role != "volunteer" else None,
        "duty": check.duty,
        "now": timezone.now(),
        "photo_url": reverse("comms:badge_check_photo", args=[token]) if check.badge.photo else "",
    }
    return _public(render(request, "comms/badges/check.html", context))


def badge_check_photo(request: HttpRequest, token: str) -> HttpResponse | FileResponse:
    """The photo on the check page, only while the badge is valid."""
    ip = client_ip(request)
    if not FLOOD.hit(f"badge:{ip}"):
        return _public(HttpResponse(status=429))
    badge = svc.badge_photo_for_token(token)
    if badge is None:
        raise Http404
    response = _photo_response(badge)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


urlpatterns: list[URLPattern | URLResolver] = [
    path("comms/badges/", badges_list, name="badges"),
    path("comms/badges/print/", badges_print, name="badges_print"),
    path("comms/badges/issue-missing/", badges_issue_missing, name="badges_issue_missing"),
    path("comms/badges/people/<int:user_id>/issue/", badge_issue, name="badge_issue"),
    path("comms/badges/<int:pk>/revoke/", badge_revoke, name="badge_revoke"),
    path("comms/badges/<int:pk>/title/", badge_title, name="badge_title"),
    path("comms/badges/<int:pk>/photo/", badge_photo, name="badge_photo"),
    path("badge/", my_badge, name="my_badge"),
    path("b/<str:token>/", badge_check, name="badge_check"),
    path("b/<str:token>/photo", badge_check_photo, name="badge_check_photo"),
]
