"""Beyond the in-app list: each person's channels (SMS, email), quiet hours and digests.

Urgent messages go at once on every channel the person has switched on, quiet hours or not. The rest
never wake anyone: with a digest (the default) they are summed up in one message every digest_minutes,
outside the quiet hours; without one each goes on its own, held until the quiet hours end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from linli.comms.models import Channel, ChannelPreference, Notification
from linli.comms.outbox import Outgoing, outbox_enqueue
from linli.core.http import public_url
from linli.core.identity import mobile_number
from linli.core.models import User

if TYPE_CHECKING:
    from linli.comms.services import Message

DEFAULTS = ChannelPreference()  # the defaults of someone who never set anything


def preferences_for(user_ids: Iterable[int]) -> dict[int, ChannelPreference]:
    ids = set(user_ids)
    found = {p.user_id: p for p in ChannelPreference.objects.filter(user_id__in=ids)}
    return {uid: found.get(uid) or ChannelPreference(user_id=uid) for uid in ids}


def quiet_until(pref: ChannelPreference, now: dt.datetime) -> dt.datetime | None:
    """When the quiet hours that `now` falls in end (local time), or None outside them."""
    local = timezone.localtime(now)
    if not pref.is_quiet(local.time()):
        return None
    end = local.replace(hour=pref.quiet_end.hour, minute=pref.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end


def addresses(pref: ChannelPreference, user: User) -> list[tuple[str, str]]:
    """(channel, address) for the person's switched-on channels that have an address."""
    found: list[tuple[str, str]] = []
    phone = mobile_number(user.phone)
    if pref.sms and phone:
        found.append((Channel.SMS, phone))
    if pref.email and user.email:
        found.append((Channel.EMAIL, user.email))
    return found


def messages_for_channels(
    messages: Sequence[Message], notification_ids: Sequence[int], *, now: dt.datetime | None = None
) -> int:
    """Queue the outbox messages for notifications just written (notification_ids[i] is messages[i]'s)."""
    now = now or timezone.now()
    wanted = [(m, nid) for m, nid in zip(messages, notification_ids, strict=True) if m.user_id and nid]
    if not wanted:
        return 0
    prefs = preferences_for(m.user_id for m, _ in wanted)
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=prefs, is_active=True).only(
            "pk", "phone", "email", "community_id"
        )
    }
    outgoing = []
    for m, nid in wanted:
        user = users.get(m.user_id)
        pref = prefs[m.user_id]
        if user is None or (not m.urgent and pref.digest):
            continue  # the digest sums it up
        not_before = None if m.urgent else quiet_until(pref, now)
        for channel, address in addresses(pref, user):
            outgoing.append(
                Outgoing(
                    key=f"n{nid}:{channel}",
                    channel=channel,
                    address=address,
                    user_id=user.pk,
                    community_id=user.community_id,
                    title=m.title,
                    body=m.body,
                    url=_absolute(m.url),
                    urgent=m.urgent,
                    not_before=not_before,
                )
            )
    return outbox_enqueue(outgoing)


def _absolute(url: str) -> str:
    return public_url(url) if url.startswith("/") else url


def digests_due(now: dt.datetime | None = None) -> int:
    """One summary per person whose digest is due: the non-urgent, unread notifications since their last
    digest (at most a day back), on their channels, unless they are in their quiet hours. Returns how many
    people got one. Safe to run twice at once (two schedulers): each person's digest is claimed with a
    conditional update, which one run wins."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=1)
    waiting = (
        Notification.objects.filter(
            read_at__isnull=True, urgent=False, created_at__gte=since, user__is_active=True
        )
        .values("user_id")
        .annotate(n=Count("id"))
    )
    counts = {row["user_id"]: row["n"] for row in waiting}
    if not counts:
        return 0
    prefs = preferences_for(counts)
    users = {u.pk: u for u in User.objects.filter(pk__in=counts)}
    sent = 0
    for user_id, pref in prefs.items():
        user = users.get(user_id)
        if user is None or not pref.digest or not addresses(pref, user):
            continue
        if pref.last_digest_at and now - pref.last_digest_at < dt.timedelta(minutes=pref.digest_minutes):
            continue
        if quiet_until(pref, now) is not None:
            continue
        start = max(pref.last_digest_at or since, since)
        if not _claim_digest(pref, now):
            continue  # another run (a second scheduler) took this digest
        new = list(
            Notification.objects.filter(
                user_id=user_id, read_at__isnull=True, urgent=False, created_at__gt=start
            )
            .order_by("-created_at", "-id")
            .values_list("title", flat=True)[:50]
        )
        if new:
            with override(user_language(user)):
                title = _("Linli: %(n)s new messages") % {"n": len(new)}
                body = "；".join(new[:3]) + ("…" if len(new) > 3 else "")
            outbox_enqueue(
                Outgoing(
                    key=f"digest:u{user_id}:{now:%Y%m%d%H%M%S%f}:{channel}",
                    channel=channel,
                    address=address,
                    user_id=user_id,
                    community_id=user.community_id,
                    title=title,
                    body=body,
                    url=_absolute("/notifications/"),
                )
                for channel, address in addresses(pref, user)
            )
            sent += 1
    return sent


def _claim_digest(pref: ChannelPreference, now: dt.datetime) -> bool:
    """Take this person's digest for this run: a conditional update that only one run wins."""
    if pref._state.adding:
        ChannelPreference.objects.get_or_create(
            user_id=pref.user_id,
            defaults={
                f.name: getattr(pref, f.name)
                for f in ChannelPreference._meta.concrete_fields
                if f.name != "user"
            },
        )
    due = now - dt.timedelta(minutes=pref.digest_minutes)
    return bool(
        ChannelPreference.objects.filter(pk=pref.user_id)
        .filter(Q(last_digest_at__isnull=True) | Q(last_digest_at__lte=due))
        .update(last_digest_at=now)
    )


def user_language(user: User) -> str:
    from django.conf import settings

    return str(settings.LANGUAGE_CODE)  # staff accounts keep no language of their own: the site's


def preference_for(user: User) -> ChannelPreference:
    return ChannelPreference.objects.filter(user=user).first() or ChannelPreference(user=user)


def preference_save(*, actor: User, sms: bool, email: bool, quiet_start: dt.time, quiet_end: dt.time,
                    digest: bool, digest_minutes: int) -> ChannelPreference:  # fmt: skip
    from linli.core.audit import audit_record

    pref = preference_for(actor)
    pref.sms, pref.email, pref.digest = sms, email, digest
    pref.quiet_start, pref.quiet_end, pref.digest_minutes = quiet_start, quiet_end, digest_minutes
    pref.save()
    audit_record(actor=actor, action="update", target=actor, detail="channel preferences")
    return pref


def channel_summary(community_ids: Sequence[int] | None) -> dict[str, dict[str, int]]:
    """Messages by channel and status (for the channels page), in the communities given (None: all)."""
    from linli.comms.models import OutboxMessage

    qs = OutboxMessage.objects.all()
    if community_ids is not None:
        qs = qs.filter(Q(community_id__in=community_ids))
    summary: dict[str, dict[str, int]] = {}
    for row in qs.values("channel", "status").annotate(n=Count("id")):
        summary.setdefault(row["channel"], {})[row["status"]] = row["n"]
    return summary
