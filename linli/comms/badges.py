"""Staff badges (seed 002: "how do I know you are who you say?").

Community staff (commanders, grid leaders and workers, team members) and volunteers with an account carry a
badge: a printed card, and a page on their own phone (/badge/), with the QR code of /b/<token>/. A resident who
scans it sees, without signing in, the photo, the full name, the role shown, the community (and grid or team)
and whether the person is on duty now. Never their phone, ID number or anything else.

The community's administrators (and the street office for its communities) issue, re-issue and revoke badges
and set the role shown. Re-issuing is for a lost badge: the old code stops working at once, and the photo moves
to the new badge. A badge is valid while it is not revoked and its holder is still with us: an active account
and, for a volunteer, an active volunteer record. A badge that is not valid and a code we never issued show the
same page; the former adds the community's phone, so that a resident can call and ask.

Who is on duty now (duty_states). A person is on duty at `now` when any of these holds:

1. their own switch: Badge.on_duty_until > now (staff press 「我在岗 / I'm on duty」 for 2, 4, 8 or 12 hours,
   「下岗 / Off duty」 ends it, and for OFF_DUTY_HOURS also what points 2–4 would say: a worker who went home
   is not shown on duty because a response they hold a post in is still running);
2. they hold an assignment in an active response (response.Assignment of a Response with Status.ACTIVE, drills
   included), since the assignment's on_duty_at, else the activation; it lasts as long as the response;
3. a volunteer's call-out: an accepted shift, not checked out, that ends after now and has started or been
   checked in to (check-in opens an hour before the start), from check-in (else the start) to its end;
4. they checked someone in at a mass-testing site in the last 30 minutes (screening.Participant.checked_in_by,
   in today's campaigns with the notices sent): sampling sites keep no staff rota, the scans are the record.

All four are read in one query (subqueries on the account), for one badge or a whole page of them. "Since" is
the earliest known start; "until" is shown only when every reason that holds has an end (a response has none).
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.comms.models import Badge
from linli.core.access import administers, community_ids_in_scope
from linli.core.audit import audit_record
from linli.core.models import AuditLog, User
from linli.core.roles import Role
from linli.core.selectors import community_commanders
from linli.plans.models import PositionHolder
from linli.registry.models import Community
from linli.response.models import Assignment, Response
from linli.screening.models import Campaign, Participant
from linli.tasks.models import Team
from linli.volunteers.models import Shift, Volunteer

# Staff whose work takes them to residents' doors. Observers and department accounts watch; street
# administrators belong to no community whose phone a resident could call.
STAFF_ROLES = (Role.COMMUNITY_ADMIN, Role.GRID_LEADER, Role.GRID_WORKER, Role.TEAM_MEMBER)
_RANKS: dict[str, tuple[int, int]] = {
    Role.COMMUNITY_ADMIN: (0, 0),
    Role.GRID_LEADER: (1, 0),
    Role.GRID_WORKER: (1, 1),
    Role.TEAM_MEMBER: (2, 0),
}

# 15 random bytes: 20 url-safe characters (120 bits), far beyond guessing even without the rate limit.
TOKEN_BYTES = 15
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

DUTY_HOURS = (2, 4, 8, 12)
TESTING_RECENT = dt.timedelta(minutes=30)

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_PIXELS = 400
# A phone camera's largest photos are ~50 megapixels; more is a crafted file that would fill the memory.
PHOTO_MAX_PIXELS = 50_000_000
_PHOTO_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "MPO", "BMP"})

PAGE_SIZE = 100


# --- who is on duty ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """Whether a person is on duty now, why, and from when to when (None: not known)."""

    switch_until: dt.datetime | None = None
    response_since: dt.datetime | None = None
    response_team: str = ""
    shift_since: dt.datetime | None = None
    shift_until: dt.datetime | None = None
    shift_title: str = ""
    last_scan: dt.datetime | None = None
    # They pressed 「下岗 / Off duty」 at this time (within OFF_DUTY_HOURS): nothing else puts them on duty.
    off_since: dt.datetime | None = None

    @property
    def by_switch(self) -> bool:
        return self.switch_until is not None

    @property
    def by_response(self) -> bool:
        return self.response_since is not None

    @property
    def by_shift(self) -> bool:
        return self.shift_until is not None

    @property
    def by_testing(self) -> bool:
        return self.last_scan is not None

    @property
    def on(self) -> bool:
        if self.off_since is not None and not self.by_switch:
            return False
        return self.by_switch or self.by_response or self.by_shift or self.by_testing

    @property
    def since(self) -> dt.datetime | None:
        known = [t for t in (self.response_since, self.shift_since) if t is not None]
        return min(known) if known else None

    @property
    def until(self) -> dt.datetime | None:
        if not self.on or self.by_response or self.by_testing:
            return None
        ends = [t for t in (self.switch_until, self.shift_until) if t is not None]
        return max(ends) if ends else None

    @property
    def team_label(self) -> str:
        return str(Team(self.response_team).label) if self.response_team in Team.values else ""


OFF_DUTY = Duty()


# 「下岗 / Off duty」 holds this long against a response post or a shift (a night's sleep).
OFF_DUTY_HOURS = 12


def duty_states(user_ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[int, Duty]:
    """Each account's duty at `now` (see the module's docstring for the rule), in one query."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    now = now or timezone.now()
    switch = Badge.objects.filter(
        user=OuterRef("pk"), revoked_at__isnull=True, on_duty_until__gt=now
    ).order_by("-on_duty_until")
    switched_off = Badge.objects.filter(
        user=OuterRef("pk"),
        revoked_at__isnull=True,
        on_duty_until__lte=now,
        on_duty_until__gt=now - dt.timedelta(hours=OFF_DUTY_HOURS),
    ).order_by("-on_duty_until")
    assignments = Assignment.objects.filter(
        user=OuterRef("pk"), response__status=Response.Status.ACTIVE
    ).order_by("response__activated_at", "pk")
    shifts = (
        Shift.objects.filter(
            volunteer__user=OuterRef("pk"),
            status=Shift.Status.ACCEPTED,
            checked_out_at__isnull=True,
            ends_at__gt=now,
        )
        .filter(Q(starts_at__lte=now) | Q(checked_in_at__isnull=False, checked_in_at__lte=now))
        .order_by("starts_at", "pk")
    )
    # Today's campaigns first, so that the scan lookup runs on the (campaign, checked_in_by, time) index.
    campaigns = Campaign.objects.filter(day=timezone.localdate(now), status=Campaign.Status.NOTIFIED).values(
        "pk"
    )
    scans = Participant.objects.filter(
        campaign_id__in=campaigns,
        checked_in_by=OuterRef("pk"),
        checked_in_at__gt=now - TESTING_RECENT,
        checked_in_at__lte=now,
    ).order_by("-checked_in_at")
    rows = (
        User.objects.filter(pk__in=ids)
        .annotate(
            switch_until=Subquery(switch.values("on_duty_until")[:1]),
            off_since=Subquery(switched_off.values("on_duty_until")[:1]),
            response_since=Subquery(
                assignments.annotate(since=Coalesce("on_duty_at", "response__activated_at")).values("since")[
                    :1
                ]
            ),
            response_team=Subquery(assignments.values("position__team")[:1]),
            shift_since=Subquery(
                shifts.annotate(since=Coalesce("checked_in_at", "starts_at")).values("since")[:1]
            ),
            shift_until=Subquery(shifts.values("ends_at")[:1]),
            shift_title=Subquery(shifts.values("need__title")[:1]),
            last_scan=Subquery(scans.values("checked_in_at")[:1]),
        )
        .values_list(
            "pk",
            "switch_until",
            "response_since",
            "response_team",
            "shift_since",
            "shift_until",
            "shift_title",
            "last_scan",
            "off_since",
        )
    )
    return {
        pk: Duty(
            switch_until=switch_until,
            response_since=response_since,
            response_team=response_team or "",
            shift_since=shift_since,
            shift_until=shift_until,
            shift_title=shift_title or "",
            last_scan=last_scan,
            off_since=off_since,
        )
        for (
            pk,
            switch_until,
            response_since,
            response_team,
            shift_since,
            shift_until,
            shift_title,
            last_scan,
            off_since,
        ) in rows
    }


def duty_of(user_id: int, *, now: dt.datetime | None = None) -> Duty:
    return duty_states([user_id], now=now).get(user_id, OFF_DUTY)


# --- whose badge, which community, which title -------------------------------------------------------------


def volunteer_of(user: User) -> Volunteer | None:
    """The volunteer record of a volunteer's account (loaded with select_related("volunteer") where it matters)."""
    if user.role != Role.VOLUNTEER:
        return None
    try:
        return user.volunteer  # type: ignore[no-any-return,attr-defined]
    except Volunteer.DoesNotExist:
        return None


def holder_community(user: User) -> Community | None:
    """The community a badge names: a volunteer's from their volunteer record, staff's from their account."""
    if user.role == Role.VOLUNTEER:
        volunteer = volunteer_of(user)
        return volunteer.community if volunteer is not None else None
    if user.role in STAFF_ROLES:
        return user.community
    return None


def may_hold_badge(user: User) -> bool:
    """Community staff and volunteers (with a volunteer record) may hold a badge."""
    if user.is_service_account:
        return False  # an API token's account: nobody carries it to a door
    if user.role == Role.VOLUNTEER:
        return volunteer_of(user) is not None
    return user.role in STAFF_ROLES and user.community_id is not None


def holder_is_current(user: User) -> bool:
    """Still with us: an active account and, for a volunteer, an active volunteer record."""
    if not user.is_active or not may_hold_badge(user):
        return False
    volunteer = volunteer_of(user)
    return volunteer is None or volunteer.is_active


def position_titles(user_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Each person's post in the current plans (not templates, not archived): (position title, team). Someone named on the same
    post in several plans (the usual case) gets that post; a stand-in is not a holder."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    counts: dict[int, Counter[tuple[str, str, int]]] = {}
    rows = PositionHolder.objects.filter(
        user_id__in=ids,
        is_standin=False,
        position__plan__is_template=False,
        position__plan__is_archived=False,
    ).values_list("user_id", "position__title", "position__team", "position__order")
    for user_id, title, team, order in rows:
        counts.setdefault(user_id, Counter())[(title, team, order)] += 1
    result = {}
    for user_id, counter in counts.items():
        (title, team, _order), _n = min(counter.items(), key=lambda item: (-item[1], item[0][2], item[0][0]))
        result[user_id] = (title, team)
    return result


def default_title(user: User, post: tuple[str, str] | None = None) -> str:
    """The role shown unless an administrator set one: the account's role (or "Volunteer", with their
    enterprise), and their post in the plans if they hold one."""
    if user.role == Role.VOLUNTEER:
        label = _("Volunteer")
        volunteer = volunteer_of(user)
        if volunteer is not None and volunteer.enterprise_id:
            label = f"{label} · {volunteer.enterprise.name}"  # type: ignore[union-attr]
    else:
        label = user.get_role_display()
    if post and post[0] and post[0] not in label:
        label = f"{label} · {post[0]}"
    return label


def title_shown(badge: Badge, post: tuple[str, str] | None = None) -> str:
    return badge.title or default_title(badge.user, post)


# --- the administrators' list ------------------------------------------------------------------------------


@dataclass
class Holder:
    """One person on the badge list: who, where, their badge (the valid one, else the last one) and duty."""

    user: User
    community: Community
    badge: Badge | None = None
    default_title: str = ""
    duty: Duty = field(default_factory=Duty)

    @property
    def volunteer(self) -> Volunteer | None:
        return volunteer_of(self.user)

    @property
    def is_volunteer(self) -> bool:
        return self.user.role == Role.VOLUNTEER

    @property
    def status(self) -> str:
        if self.badge is None:
            return "none"
        return "revoked" if self.badge.revoked_at else "active"

    @property
    def valid(self) -> bool:
        return self.status == "active" and holder_is_current(self.user)

    @property
    def title(self) -> str:
        return (self.badge.title if self.badge is not None else "") or self.default_title


STATUSES = ("none", "active", "revoked")


def _in_scope(actor: User, community_id: int | None) -> list[int] | None:
    """The communities whose badges the actor administers (None: all), narrowed to one if asked."""
    if not administers(actor):
        raise PermissionDenied(_("Badges are issued by the community's administrators."))
    ids = community_ids_in_scope(actor)
    if community_id is not None:
        if ids is not None and community_id not in ids:
            raise Http404
        return [community_id]
    return ids


def _order(holder: Holder) -> tuple[str, int, int, int, int, str]:
    """Community; staff before volunteers: commanders, then each grid's leader and workers, then team members;
    then the name."""
    user = holder.user
    grid = user.grid.number if user.grid is not None and not holder.is_volunteer else 0
    group, rank = _RANKS.get(user.role, (3, 0)) if not holder.is_volunteer else (0, 0)
    return (holder.community.name, int(holder.is_volunteer), group, grid, rank, user.name)


@dataclass
class HolderPage:
    page: Page[Holder]
    # People by badge status ("active", "none", "revoked"), before the status filter.
    counts: dict[str, int]


def holders_for(
    actor: User, *, community_id: int | None = None, q: str = "", status: str = "", page: int | str = 1
) -> HolderPage:
    """The staff and volunteers whose badges the actor administers, a page at a time, with each one's badge,
    default title and duty: five queries, however many people."""
    ids = _in_scope(actor, community_id)
    staff = User.objects.filter(
        is_active=True, is_service_account=False, role__in=STAFF_ROLES, community__isnull=False
    ).select_related("community", "grid")
    volunteers = (
        User.objects.filter(is_active=True, role=Role.VOLUNTEER, volunteer__isnull=False)
        .select_related("volunteer__community", "volunteer__enterprise")
        # An active volunteer may be given a badge; anyone else only shows while their badge must be revoked.
        .filter(
            Q(volunteer__status=Volunteer.Status.ACTIVE)
            | Exists(Badge.objects.filter(user=OuterRef("pk"), revoked_at__isnull=True))
        )
    )
    if ids is not None:
        staff = staff.filter(community_id__in=ids)
        volunteers = volunteers.filter(volunteer__community_id__in=ids)
    if q:
        staff = staff.filter(Q(display_name__icontains=q) | Q(username__icontains=q))
        volunteers = volunteers.filter(
            Q(display_name__icontains=q) | Q(volunteer__name__icontains=q) | Q(username__icontains=q)
        )
    holders: list[Holder] = []
    counts = dict.fromkeys(STATUSES, 0)
    for user in [*_with_badge_status(staff), *_with_badge_status(volunteers)]:
        counts[user.badge_status] += 1  # type: ignore[attr-defined]
        if status in STATUSES and user.badge_status != status:  # type: ignore[attr-defined]
            continue
        holders.append(Holder(user=user, community=holder_community(user)))  # type: ignore[arg-type]
    holders.sort(key=_order)
    chosen: Page[Holder] = Paginator(holders, PAGE_SIZE).get_page(page)
    _fill(list(chosen.object_list))
    return HolderPage(page=chosen, counts=counts)


def _with_badge_status(qs: QuerySet[User]) -> list[User]:
    """The accounts with badge_status: "active" (a valid badge), "revoked" (only revoked ones) or "none"."""
    users: list[User] = list(
        qs.annotate(
            has_valid=Exists(Badge.objects.filter(user=OuterRef("pk"), revoked_at__isnull=True)),
            has_any=Exists(Badge.objects.filter(user=OuterRef("pk"))),
        )
    )
    for user in users:
        valid, any_ = getattr(user, "has_valid", False), getattr(user, "has_any", False)
        user.badge_status = "active" if valid else "revoked" if any_ else "none"  # type: ignore[attr-defined]
    return users


def _fill(holders: Sequence[Holder]) -> None:
    """Each holder's current badge (the valid one, else the latest), default title and duty: three queries."""
    user_ids = [h.user.pk for h in holders]
    if not user_ids:
        return
    latest: dict[int, Badge] = {}
    for badge in Badge.objects.filter(user_id__in=user_ids).order_by("-issued_at", "-pk"):
        kept = latest.get(badge.user_id)
        # The valid badge if there is one (there is at most one), else the latest.
        if kept is None or (kept.revoked_at is not None and badge.revoked_at is None):
            latest[badge.user_id] = badge
    posts = position_titles(user_ids)
    duties = duty_states(user_ids)
    for h in holders:
        h.badge = latest.get(h.user.pk)
        if h.badge is not None:
            h.badge.user = h.user
        h.default_title = default_title(h.user, posts.get(h.user.pk))
        h.duty = duties.get(h.user.pk, OFF_DUTY)


def holder_get(actor: User, user_id: int) -> Holder:
    """One person whose badge the actor administers; anyone else is a 404."""
    user = (
        User.objects.filter(pk=user_id, is_active=True)
        .select_related("community", "grid", "volunteer__community", "volunteer__enterprise")
        .first()
    )
    if user is None or not may_hold_badge(user):
        raise Http404
    community = holder_community(user)
    if community is None or not administers(actor, community.pk):
        raise Http404
    holder = Holder(user=user, community=community)
    _fill([holder])
    return holder


def badge_get(actor: User, pk: int) -> Badge:
    """A badge the actor administers (its holder's community); anyone else's is a 404."""
    badge = (
        Badge.objects.filter(pk=pk)
        .select_related(
            "user__community", "user__grid", "user__volunteer__community", "user__volunteer__enterprise"
        )
        .first()
    )
    if badge is None:
        raise Http404
    community = holder_community(badge.user)
    if community is None or not administers(actor, community.pk):
        raise Http404
    return badge


def current_badge(user: User) -> Badge | None:
    """The account's valid badge, else its latest revoked one (to say so)."""
    badges = list(Badge.objects.filter(user=user).order_by("-issued_at", "-pk")[:5])
    for badge in badges:
        if badge.revoked_at is None:
            badge.user = user
            return badge
    if badges:
        badges[0].user = user
        return badges[0]
    return None


def issuers_for(user: User) -> tuple[Community | None, list[User]]:
    """Who issues this person's badge: their community and its administrators' accounts."""
    community = holder_community(user)
    if community is None:
        return None, []
    admins = list(community_commanders(community.pk)[:3])
    return community, admins


def badges_to_print(
    actor: User, *, badge_ids: Sequence[int] = (), community_id: int | None = None
) -> list[Holder]:
    """Valid badges in the actor's scope, as holders with titles: the chosen ones, else all of them."""
    ids = _in_scope(actor, community_id)
    qs = (
        Badge.objects.filter(revoked_at__isnull=True, user__is_active=True)
        .select_related(
            "user__community", "user__grid", "user__volunteer__community", "user__volunteer__enterprise"
        )
        .order_by("pk")
    )
    if badge_ids:
        qs = qs.filter(pk__in=badge_ids)
    if ids is not None:
        qs = qs.filter(
            Q(user__role__in=STAFF_ROLES, user__community_id__in=ids)
            | Q(user__role=Role.VOLUNTEER, user__volunteer__community_id__in=ids)
        )
    holders = []
    for badge in qs:
        community = holder_community(badge.user)
        if community is None or not holder_is_current(badge.user):
            continue
        holders.append(Holder(user=badge.user, community=community, badge=badge))
    posts = position_titles([h.user.pk for h in holders])
    for h in holders:
        h.default_title = default_title(h.user, posts.get(h.user.pk))
    holders.sort(key=_order)
    return holders


# --- the public check ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """What the public page shows for a code. valid=False: the invalid page (with the community's phone)."""

    valid: bool
    badge: Badge
    community: Community
    title: str = ""
    duty: Duty = OFF_DUTY


def token_looks_valid(token: str) -> bool:
    return 16 <= len(token) <= 24 and set(token) <= TOKEN_CHARS


def badge_check(token: str, *, now: dt.datetime | None = None) -> Check | None:
    """The badge a scanned code names, or None for a code we never issued (the view shows both the same)."""
    if not token_looks_valid(token):
        return None
    badge = (
        Badge.objects.filter(token=token)
        .select_related(
            "user__community__street",
            "user__grid",
            "user__volunteer__community",
            "user__volunteer__enterprise",
        )
        .first()
    )
    if badge is None:
        return None
    community = holder_community(badge.user)
    if community is None:
        return None
    if badge.revoked_at is not None or not holder_is_current(badge.user):
        return Check(valid=False, badge=badge, community=community)
    post = position_titles([badge.user_id]).get(badge.user_id)
    return Check(
        valid=True,
        badge=badge,
        community=community,
        title=title_shown(badge, post),
        duty=duty_of(badge.user_id, now=now),
    )


def badge_photo_for_token(token: str) -> Badge | None:
    """The badge whose photo the public page may show: a valid one with a photo."""
    if not token_looks_valid(token):
        return None
    badge = (
        Badge.objects.filter(token=token, revoked_at__isnull=True)
        .exclude(photo="")
        .select_related("user__volunteer")
        .first()
    )
    if badge is None or not holder_is_current(badge.user):
        return None
    return badge


# --- writes --------------------------------------------------------------------------------------------------


def _require_admin(actor: User, user: User) -> Community:
    community = holder_community(user)
    if community is None or not may_hold_badge(user):
        raise ValidationError(_("Only community staff and volunteers carry a badge."))
    if not administers(actor, community.pk):
        raise PermissionDenied(_("Badges are issued by the community's administrators."))
    return community


def _audit(
    actor: User,
    badge: Badge,
    community: Community,
    detail: str,
    action: str = AuditLog.Action.UPDATE,
    changes: dict[str, list[object]] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=badge,
        target_label=f"{badge.user.name} · {_('staff badge')}",
        detail=detail,
        changes=changes,
        community_id=community.pk,
        street_id=community.street_id,
    )


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def badge_issue(*, actor: User, user: User, replace: bool = False) -> Badge:
    """Give the person a badge with a new code. With replace (a lost badge) their valid badge is revoked in the
    same transaction; without, a person who already has one is refused (two clicks make one badge). The role
    shown and the photo move to the new badge."""
    community = _require_admin(actor, user)
    if not holder_is_current(user):
        raise ValidationError(_("This volunteer is not active: approve or reactivate them first."))
    with transaction.atomic():
        # One issuer at a time per person: the account row is the lock.
        User.objects.select_for_update().filter(pk=user.pk).first()
        previous = list(Badge.objects.select_for_update().filter(user=user).order_by("-issued_at", "-pk"))
        valid = [b for b in previous if b.revoked_at is None]
        if valid and not replace:
            raise ValidationError(
                _("%(name)s already has a valid badge. Re-issue it if it was lost.") % {"name": user.name}
            )
        now = timezone.now()
        if valid:
            Badge.objects.filter(pk__in=[b.pk for b in valid]).update(revoked_at=now, on_duty_until=None)
        latest = previous[0] if previous else None
        badge = Badge.objects.create(
            user=user,
            token=_new_token(),
            issued_by=actor,
            title=latest.title if latest is not None else "",
            photo=latest.photo.name if latest is not None and latest.photo else "",
        )
        if latest is not None and latest.photo:
            # The photo belongs to the new badge now; the old one never shows it again.
            Badge.objects.filter(pk=latest.pk).update(photo="")
        _audit(
            actor,
            badge,
            community,
            _("re-issued: the old badge no longer works") if valid else _("issued"),
            action=AuditLog.Action.CREATE,
        )
    return badge


def badges_issue_missing(*, actor: User, community_id: int | None = None) -> list[Badge]:
    """Rolling badges out: a badge for everyone in the actor's scope (or the one community) who never had one,
    staff and active volunteers. Someone whose badge was revoked is left alone: that may have been meant. Each
    is issued (and logged) as badge_issue does; someone given one meanwhile is skipped."""
    ids = _in_scope(actor, community_id)
    without = ~Exists(Badge.objects.filter(user=OuterRef("pk")))
    staff = User.objects.filter(
        without, is_active=True, is_service_account=False, role__in=STAFF_ROLES, community__isnull=False
    )
    volunteers = User.objects.filter(
        without, is_active=True, role=Role.VOLUNTEER, volunteer__status=Volunteer.Status.ACTIVE
    )
    if ids is not None:
        staff = staff.filter(community_id__in=ids)
        volunteers = volunteers.filter(volunteer__community_id__in=ids)
    made = []
    for user in [
        *staff.select_related("community"),
        *volunteers.select_related("volunteer__community", "volunteer__enterprise"),
    ]:
        try:
            made.append(badge_issue(actor=actor, user=user))
        except ValidationError:
            continue
    return made


def badge_revoke(*, actor: User, badge: Badge) -> Badge:
    """The badge stops working at once: its page says so and shows the community's phone."""
    community = _require_admin(actor, badge.user)
    with transaction.atomic():
        done = Badge.objects.filter(pk=badge.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), on_duty_until=None
        )
        if not done:
            raise ValidationError(_("This badge was already revoked."))
        badge.refresh_from_db(fields=["revoked_at", "on_duty_until"])
        _audit(actor, badge, community, _("revoked"))
    return badge


def badge_title_set(*, actor: User, badge: Badge, title: str) -> Badge:
    """Set the role shown on the badge; empty: the default (role, post in the plans, or "Volunteer")."""
    community = _require_admin(actor, badge.user)
    title = " ".join(title.split())
    if len(title) > 50:
        raise ValidationError({"title": _("At most 50 characters: it must fit on the card.")})
    if badge.revoked_at is not None:
        raise ValidationError(_("This badge was revoked; issue a new one first."))
    if title == badge.title:
        return badge
    with transaction.atomic():
        before = badge.title
        Badge.objects.filter(pk=badge.pk).update(title=title)
        badge.title = title
        _audit(actor, badge, community, _("role shown changed"), changes={"title": [before, title]})
    return badge


def photo_prepare(upload: UploadedFile) -> bytes:
    """The upload as a JPEG of at most 400 px a side, upright (EXIF orientation applied), if it is a picture
    of at most 5 MB; otherwise ValidationError. Judged by its content, never its name or type."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    too_big = ValidationError(_("The photo is larger than 5 MB. Take it again or choose a smaller one."))
    not_image = ValidationError(_("That file is not a photo. Choose a JPEG or PNG picture of your face."))
    if upload.size is not None and upload.size > PHOTO_MAX_BYTES:
        raise too_big
    upload.seek(0)
    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise too_big
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            width, height = probe.size
            probe.verify()
        if kind not in _PHOTO_FORMATS:
            raise not_image
        if width * height > PHOTO_MAX_PIXELS:
            raise ValidationError(_("The picture is too large to read. Take the photo again."))
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (PHOTO_PIXELS * 2, PHOTO_PIXELS * 2))  # JPEG: decode at a fraction of the size
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("RGBA", "LA", "P"):
                upright = upright.convert("RGBA")
                flat = Image.new("RGB", upright.size, (255, 255, 255))
                flat.paste(upright, mask=upright.getchannel("A"))
                upright = flat
            else:
                upright = upright.convert("RGB")
            upright.thumbnail((PHOTO_PIXELS, PHOTO_PIXELS), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError):
        raise not_image from None
    finally:
        upload.seek(0)
    return out.getvalue()


def badge_photo_set(*, actor: User, badge: Badge, upload: UploadedFile) -> Badge:
    """Upload or replace the photo on the badge: its holder, or an administrator of their community."""
    if actor.pk != badge.user_id:
        _require_admin(actor, badge.user)
    community = holder_community(badge.user)
    if community is None:
        raise PermissionDenied
    if badge.revoked_at is not None:
        raise ValidationError(_("This badge was revoked; a new one carries the photo."))
    content = photo_prepare(upload)
    name = default_storage.save(f"badges/{badge.user_id}-{secrets.token_hex(8)}.jpg", ContentFile(content))
    with transaction.atomic():
        old = (
            Badge.objects.select_for_update().filter(pk=badge.pk).values_list("photo", flat=True).first()
            or ""
        )
        Badge.objects.filter(pk=badge.pk).update(photo=name)
        badge.photo.name = name
        _audit(actor, badge, community, _("photo replaced") if old else _("photo added"))
        if old:
            transaction.on_commit(lambda: default_storage.delete(old))
    return badge


def badge_duty_set(*, actor: User, badge: Badge, hours: int | None, now: dt.datetime | None = None) -> Badge:
    """A staff member's own switch: on duty for `hours` (2, 4, 8 or 12) from now, or off duty (None)."""
    if badge.user_id != actor.pk:
        raise PermissionDenied
    if actor.role == Role.VOLUNTEER:
        raise ValidationError(_("Volunteers are on duty while they are checked in to a shift."))
    if badge.revoked_at is not None or not holder_is_current(actor):
        raise ValidationError(_("This badge is no longer valid."))
    if hours is not None and hours not in DUTY_HOURS:
        raise ValidationError(_("Choose 2, 4, 8 or 12 hours."))
    now = now or timezone.now()
    # Off duty is recorded as "until now": for OFF_DUTY_HOURS nothing else (a response post, a shift) shows
    # them on duty, so a worker asleep at home is not shown at residents' doors as on duty.
    until = now + dt.timedelta(hours=hours) if hours else now
    community = holder_community(actor)
    assert community is not None
    with transaction.atomic():
        Badge.objects.filter(pk=badge.pk, revoked_at__isnull=True).update(on_duty_until=until)
        badge.on_duty_until = until
        detail = (
            _("on duty until %(t)s") % {"t": f"{timezone.localtime(until):%m-%d %H:%M}"}
            if hours
            else _("off duty")
        )
        _audit(actor, badge, community, detail)
    return badge


def badges_printed(*, actor: User, holders: Sequence[Holder]) -> None:
    """Printing badges is an export of names and photos: logged per community."""
    by_community: dict[int, list[Holder]] = {}
    for h in holders:
        by_community.setdefault(h.community.pk, []).append(h)
    for group in by_community.values():
        community = group[0].community
        audit_record(
            actor=actor,
            action=AuditLog.Action.EXPORT,
            target=community,
            community_id=community.pk,
            detail=_("printed %(n)d staff badges: %(names)s")
            % {"n": len(group), "names": "、".join(h.user.name for h in group)},
        )
