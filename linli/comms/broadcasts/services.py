"""Writing broadcasts: a draft is created (and checked), then sent once: recipients and outbox messages in
one transaction. Confirmations come from the link in the SMS, from an SMS reply, or from staff at the door."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from linli.comms.broadcasts import selectors
from linli.comms.broadcasts.recipients import Target, targets_for
from linli.comms.broadcasts.sms import (
    MAX_SEGMENTS,
    TOKEN_LENGTH,
    ack_link,
    ack_suffix,
    is_ack_reply,
    sms_as_received,
    sms_capacity,
    sms_segments,
    sms_text,
)
from linli.comms.broadcasts.templates import placeholders_left
from linli.comms.models import Broadcast, BroadcastRecipient, Channel, NoticeTemplate
from linli.comms.models.broadcasts import Audience
from linli.comms.outbox import Outgoing, outbox_enqueue, robots_post
from linli.comms.services import Message, notify_many
from linli.core.audit import audit_record
from linli.core.bulk import insert_rows
from linli.core.identity import mobile_number
from linli.core.models import AuditLog, User
from linli.registry.models import Building, Community, SpecialKind

Scope = Broadcast.Scope
Status = Broadcast.Status

RESIDENT_CHANNELS = frozenset({Channel.SMS})
STAFF_CHANNELS = frozenset({Channel.INAPP, Channel.SMS, Channel.EMAIL, Channel.WECOM, Channel.DINGTALK})
ROBOT_CHANNELS = (Channel.WECOM, Channel.DINGTALK)
DEFAULT_ACK_HOURS = 2
REPLY_DAYS = 3  # an SMS reply confirms a notice sent in the last three days
TITLE_MAX = 100

# Tokens: Crockford's base 32 in lower case (no i, l, o, u: nothing to misread in a link typed by hand).
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TOKEN_TABLE = bytes.maketrans(bytes(range(256)), "".join(_ALPHABET[i % 32] for i in range(256)).encode())


def _now() -> dt.datetime:
    return timezone.now()


# --- the draft -----------------------------------------------------------------------------------------


def broadcast_create(
    *,
    actor: User | None,
    community: Community,
    title: str,
    body: str,
    channels: Sequence[str],
    audience: str = "residents",
    scope: str = "community",
    buildings: Sequence[Building] = (),
    special_kinds: Sequence[str] = (),
    require_ack: bool = False,
    ack_deadline: dt.datetime | None = None,
    public: bool = True,
    template: NoticeTemplate | None = None,
) -> Broadcast:
    """A draft notice, checked: raises ValidationError (by field) for what would not reach anyone or not fit,
    PermissionDenied for someone who may not send notices in the community."""
    if actor is not None and not selectors.can_compose(actor, community):
        raise PermissionDenied(_("You may not send notices in this community."))
    now = _now()
    errors: dict[str, list[str]] = {}

    def refuse(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        refuse("title", _("Write a title."))
    elif len(title) > TITLE_MAX:
        refuse("title", _("The title is at most %(n)d characters.") % {"n": TITLE_MAX})
    if not body:
        refuse("body", _("Write the text of the notice."))
    left = placeholders_left(title + " " + body)
    if left:
        refuse("body", _("Fill in %(names)s before sending.") % {"names": "、".join(left)})
    if audience not in Audience.values:
        refuse("audience", _("Choose residents or staff."))
    if scope not in Scope.values:
        refuse("scope", _("Choose the whole community, buildings or special populations."))

    chosen = list(dict.fromkeys(str(c) for c in channels))
    unknown = [c for c in chosen if c not in Channel.values]
    if unknown:
        refuse("channels", _("Unknown channel: %(names)s.") % {"names": ", ".join(unknown)})
    if audience == Audience.STAFF:
        public = False
        if Channel.WEBHOOK in chosen:
            refuse("channels", _("Webhooks are for departments' systems, not for notices to staff."))
        chosen = [Channel.INAPP.value] + [c for c in chosen if c != Channel.INAPP and c in STAFF_CHANNELS]
    elif audience == Audience.RESIDENTS:
        others = [c for c in chosen if c in Channel.values and c not in RESIDENT_CHANNELS]
        if others:
            refuse(
                "channels",
                _("Residents are reached by SMS and the public notice board; %(names)s are for staff.")
                % {"names": ", ".join(str(Channel(c).label) for c in others)},
            )
        if not chosen and not public:
            refuse("channels", _("Choose SMS or the public notice board, or nobody will see this notice."))
        if require_ack and Channel.SMS not in chosen:
            refuse("require_ack", _("Asking residents to confirm needs SMS: the confirmation link is in it."))

    building_list = list(buildings)
    if scope == Scope.BUILDINGS:
        if not building_list:
            refuse("buildings", _("Choose at least one building."))
        foreign = [b for b in building_list if b.community_id != community.pk]
        if foreign:
            refuse(
                "buildings",
                _("%(buildings)s not in %(community)s.")
                % {"buildings": ", ".join(str(b) for b in foreign), "community": community.name},
            )
    else:
        building_list = []
    kinds = list(dict.fromkeys(special_kinds))
    if scope == Scope.SPECIAL:
        if audience == Audience.STAFF:
            refuse(
                "scope",
                _("Special populations are residents: send staff notices to the community or buildings."),
            )
        if not kinds:
            refuse("special_kinds", _("Choose at least one special population."))
        bad = [k for k in kinds if k not in SpecialKind.values]
        if bad:
            refuse("special_kinds", _("Unknown special population: %(names)s.") % {"names": ", ".join(bad)})
    else:
        kinds = []
    if (
        actor is not None
        and "buildings" not in errors
        and not selectors.can_send(actor, community, [b.pk for b in building_list])
    ):
        refuse("buildings", _("Grid leaders send notices to their own grid's buildings only."))

    if require_ack:
        ack_deadline = ack_deadline or now + dt.timedelta(hours=DEFAULT_ACK_HOURS)
        if ack_deadline <= now:
            refuse("ack_deadline", _("The deadline for confirmations is in the past."))
    else:
        ack_deadline = None
    if template is not None and template.community_id not in (None, community.pk):
        refuse("template", _("This template belongs to another community."))

    if audience == Audience.RESIDENTS and Channel.SMS in chosen and title and body:
        text = sms_as_received(title=title, body=body, require_ack=require_ack, community_name=community.name)
        chars, parts = sms_segments(text)
        if parts > MAX_SEGMENTS:
            refuse(
                "body",
                _(
                    "The SMS would be %(chars)d characters, %(parts)d messages; at most %(max)d messages are "
                    "sent. Shorten the text by about %(cut)d characters."
                )
                % {"chars": chars, "parts": parts, "max": MAX_SEGMENTS, "cut": chars - sms_capacity(text)},
            )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            community=community,
            audience=audience,
            scope=scope,
            special_kinds=kinds,
            template=template,
            title=title,
            body=body,
            channels=chosen,
            require_ack=require_ack,
            ack_deadline=ack_deadline,
            public=public,
            status=Status.DRAFT,
            created_by=actor if actor is not None and actor.pk else None,
        )
        if building_list:
            broadcast.buildings.set(building_list)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            target=broadcast,
            detail=_("draft notice to %(audience)s") % {"audience": broadcast.get_audience_display()},
        )
    return broadcast


def broadcast_discard(*, actor: User, broadcast: Broadcast) -> None:
    """Delete a draft (a sent notice is a record and stays)."""
    if not selectors.can_compose(actor, broadcast.community):
        raise PermissionDenied(_("You may not send notices in this community."))
    with transaction.atomic():
        deleted, _rows = Broadcast.objects.filter(pk=broadcast.pk, status=Status.DRAFT).delete()
        if not deleted:
            raise ValidationError(_("This notice has been sent; it cannot be deleted."))
        audit_record(
            actor=actor,
            action=AuditLog.Action.DELETE,
            target_label=broadcast.title,
            community_id=broadcast.community_id,
            detail=_("draft notice discarded"),
        )


# --- sending -------------------------------------------------------------------------------------------


def _new_tokens(n: int) -> list[str]:
    """n distinct tokens no recipient has yet: random bytes mapped onto 32 letters (uniform, as 256 = 8 × 32)."""
    tokens: set[str] = set()
    while len(tokens) < n:
        need = n - len(tokens)
        raw = secrets.token_bytes(need * TOKEN_LENGTH).translate(_TOKEN_TABLE).decode()
        fresh = {raw[i : i + TOKEN_LENGTH] for i in range(0, len(raw), TOKEN_LENGTH)} - tokens
        fresh.difference_update(_tokens_taken(list(fresh)))
        tokens |= fresh
    return list(tokens)[:n]


def _tokens_taken(candidates: list[str]) -> set[str]:
    """The candidates some recipient already has: one array parameter on PostgreSQL (thousands of IN
    placeholders cost more to build than the lookup itself), IN lists of 5,000 elsewhere."""
    if connection.vendor == "postgresql":
        table = BroadcastRecipient._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT token FROM {table} WHERE token = ANY(%s)", [candidates])
            return {row[0] for row in cursor.fetchall()}
    taken: set[str] = set()
    for start in range(0, len(candidates), 5000):
        taken.update(
            BroadcastRecipient.objects.filter(token__in=candidates[start : start + 5000]).values_list(
                "token", flat=True
            )
        )
    return taken


_RECIPIENT_COLUMNS = [
    "broadcast_id", "resident_id", "user_id", "building_id", "phone", "token", "acked_at", "ack_via",
    "escalated_at",
]  # fmt: skip


def broadcast_send(*, actor: User | None, broadcast: Broadcast) -> int:
    """Send a draft: one recipient row per person in scope and the messages for them, in one transaction.
    Residents get one SMS per phone (a family's shared phone once); staff an in-app message (and SMS or
    email by their own preferences), and the community's group robots a post. Sending again does nothing:
    returns the number of recipients either way."""
    community = broadcast.community
    now = _now()
    with transaction.atomic():
        # The claim: of two requests (a double click, two workers) only one finds the draft.
        if not Broadcast.objects.filter(pk=broadcast.pk, status=Status.DRAFT).update(status=Status.SENDING):
            broadcast.refresh_from_db()
            return broadcast.recipient_count
        building_ids = list(broadcast.buildings.values_list("pk", flat=True))
        if actor is not None and not (
            selectors.can_compose(actor, community) and selectors.can_send(actor, community, building_ids)
        ):
            raise PermissionDenied(_("You may not send this notice."))
        if broadcast.require_ack and broadcast.ack_deadline is not None and broadcast.ack_deadline <= now:
            raise ValidationError(
                {
                    "ack_deadline": _(
                        "The deadline for confirmations has passed: set a new one and send again."
                    )
                }
            )
        targets = targets_for(
            community_id=community.pk,
            audience=broadcast.audience,
            scope=broadcast.scope,
            building_ids=building_ids,
            special_kinds=broadcast.special_kinds,
        )
        if not targets:
            raise ValidationError(
                {"scope": _("Nobody is in the scope chosen: choose other buildings or populations.")}
            )
        tokens = _new_tokens(len(targets))
        insert_rows(
            BroadcastRecipient,
            _RECIPIENT_COLUMNS,
            [
                (broadcast.pk, t.resident_id, t.user_id, t.building_id, t.phone, token, None, "", None)
                for t, token in zip(targets, tokens, strict=True)
            ],
        )
        ids = dict(BroadcastRecipient.objects.filter(broadcast=broadcast).values_list("token", "pk"))
        with translation.override(settings.LANGUAGE_CODE):
            if broadcast.audience == Audience.STAFF:
                messages = _staff_messages(broadcast, targets, tokens, ids)
            else:
                messages = _resident_messages(broadcast, targets, tokens, ids)
            outbox_enqueue(messages)
        Broadcast.objects.filter(pk=broadcast.pk).update(
            status=Status.SENT, sent_at=now, recipient_count=len(targets)
        )
        broadcast.status, broadcast.sent_at, broadcast.recipient_count = Status.SENT, now, len(targets)
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            target=broadcast,
            detail=_("notice sent to %(n)d people") % {"n": len(targets)},
        )
    return len(targets)


def _resident_messages(
    broadcast: Broadcast, targets: Sequence[Target], tokens: Sequence[str], ids: dict[str, int]
) -> list[Outgoing]:
    if Channel.SMS not in broadcast.channels:
        return []
    messages: list[Outgoing] = []
    seen: set[str] = set()
    text = sms_text(broadcast.title, broadcast.body)
    # The confirmation sentence is translated once, not once per phone.
    suffix = ack_suffix("\x00") if broadcast.require_ack else ""
    for t, token in zip(targets, tokens, strict=True):
        if not t.phone or t.phone in seen:
            continue
        seen.add(t.phone)
        link = ack_link(token) if broadcast.require_ack else ""
        recipient_id = ids[token]
        messages.append(
            Outgoing(
                key=f"b{broadcast.pk}:r{recipient_id}:{Channel.SMS}",
                channel=Channel.SMS,
                title=broadcast.title,
                body=broadcast.body,
                url=link,
                address=t.phone,
                resident_id=t.resident_id,
                broadcast_id=broadcast.pk,
                community_id=broadcast.community_id,
                payload={"sms": text + suffix.replace("\x00", link)},
                urgent=broadcast.require_ack,
            )
        )
    return messages


def _staff_messages(
    broadcast: Broadcast, targets: Sequence[Target], tokens: Sequence[str], ids: dict[str, int]
) -> list[Outgoing]:
    """Staff: the in-app list (and SMS or email by each person's preferences, urgent when the sender chose
    them); the group robots get one post each. Returns nothing for the caller to queue: notify_many and
    robots_post queue their own."""
    urgent = bool({Channel.SMS, Channel.EMAIL} & set(broadcast.channels))
    detail = reverse("comms:broadcast", args=[broadcast.pk])
    notify_many(
        Message(
            user_id=t.user_id,
            title=broadcast.title,
            body=broadcast.body,
            url=f"/n/{token}/" if broadcast.require_ack else detail,
            urgent=urgent,
        )
        for t, token in zip(targets, tokens, strict=True)
        if t.user_id is not None
    )
    robots = [c for c in ROBOT_CHANNELS if c in broadcast.channels]
    if robots:
        key = f"b{broadcast.pk}:robots"
        robots_post(
            community_id=broadcast.community_id,
            key=key,
            title=broadcast.title,
            body=broadcast.body,
            url=detail,
            urgent=urgent,
            kinds=robots,
            broadcast_id=broadcast.pk,
        )
    return []


# --- confirmations -------------------------------------------------------------------------------------


def _confirm(recipient: BroadcastRecipient, *, via: str, at: dt.datetime, actor: User | None = None) -> int:
    """Confirm the recipient and everyone the same phone reached in the same notice."""
    same = Q(pk=recipient.pk) | Q(phone=recipient.phone) if recipient.phone else Q(pk=recipient.pk)
    with transaction.atomic():
        count = BroadcastRecipient.objects.filter(
            same, broadcast_id=recipient.broadcast_id, acked_at__isnull=True
        ).update(acked_at=at, ack_via=via)
        if count:
            broadcast = recipient.broadcast
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                target=broadcast,
                detail=_("%(n)d confirmed (%(via)s)") % {"n": count, "via": via},
            )
            if broadcast.escalated_at is not None and recipient.building_id:
                _door_knock_done(actor, broadcast, recipient.building_id)
    return count


def broadcast_ack(
    *, token: str, via: str = "link", at: dt.datetime | None = None
) -> BroadcastRecipient | None:
    """The resident opened their link and pressed "I have read this". None for an unknown token; confirming
    again changes nothing."""
    recipient = selectors.recipient_by_token(token)
    if recipient is None:
        return None
    if recipient.acked_at is None:
        _confirm(recipient, via=via[:10], at=at or _now())
        recipient.refresh_from_db(fields=["acked_at", "ack_via"])
    return recipient


def broadcast_ack_by_reply(*, phone: str, text: str, at: dt.datetime | None = None) -> bool:
    """An SMS reply ("1", "收到", "确认", "好", "ok", full-width too) confirms the latest notice asking for
    confirmation sent to that phone in the last three days that it has not confirmed yet."""
    if not is_ack_reply(text):
        return False
    number = mobile_number(phone)
    if not number:
        return False
    at = at or _now()
    recipient = (
        BroadcastRecipient.objects.select_related("broadcast__community")
        .filter(
            phone=number,
            acked_at__isnull=True,
            broadcast__require_ack=True,
            broadcast__status=Status.SENT,
            broadcast__sent_at__gte=at - dt.timedelta(days=REPLY_DAYS),
            broadcast__sent_at__lte=at,
        )
        .order_by("-broadcast__sent_at", "-broadcast_id", "id")
        .first()
    )
    if recipient is None:
        return False
    return _confirm(recipient, via="sms", at=at) > 0


def broadcast_confirm_at_door(
    *, actor: User, broadcast: Broadcast, household_id: int, at: dt.datetime | None = None
) -> int:
    """Staff knocked and told the household: everyone of it in this notice counts as confirmed."""
    building = selectors.household_in_scope(actor, household_id)
    if building is None or building.community_id != broadcast.community_id:
        raise PermissionDenied(_("This household is not in your area."))
    if not selectors.can_confirm_at_door(actor, building):
        raise PermissionDenied(_("You may not record confirmations for this building."))
    at = at or _now()
    with transaction.atomic():
        count = BroadcastRecipient.objects.filter(
            broadcast=broadcast, resident__household_id=household_id, acked_at__isnull=True
        ).update(acked_at=at, ack_via="staff")
        if count:
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                target=broadcast,
                detail=_("confirmed at the door: %(n)d people, %(building)s")
                % {"n": count, "building": building},
            )
            _door_knock_done(actor, broadcast, building.pk)
    return count


def _door_knock_done(actor: User | None, broadcast: Broadcast, building_id: int) -> None:
    """The building's door-knock task is done once every household of it has confirmed (one member's
    confirmation counts for the household)."""
    from django.db.models import Count

    from linli.tasks.models import Task
    from linli.tasks.services import task_set_status

    still_open = (
        BroadcastRecipient.objects.filter(
            broadcast=broadcast, building_id=building_id, resident__isnull=False
        )
        .values("resident__household_id")
        .annotate(confirmed=Count("acked_at"))
        .filter(confirmed=0)
        .exists()
    )
    if still_open:
        return
    for task in Task.objects.filter(
        source=Task.Source.BROADCAST, source_id=broadcast.pk, order=building_id, status__in=Task.OPEN_STATUSES
    ):
        task_set_status(
            actor=actor,  # type: ignore[arg-type]  # a resident's own confirmation: nobody on the staff
            task=task,
            status=Task.Status.DONE,
            result=_("Every household of the building has confirmed."),
            authorised=True,
        )


# --- templates -----------------------------------------------------------------------------------------


def notice_template_save(
    *,
    actor: User,
    community: Community,
    name: str,
    title: str,
    body: str,
    audience: str = Audience.RESIDENTS,
    key: str = "",
    template: NoticeTemplate | None = None,
) -> NoticeTemplate:
    """Create or change one of the community's own templates (built-in ones are read-only)."""
    if not selectors.can_manage_templates(actor, community):
        raise PermissionDenied(_("Only the community's administrators manage templates."))
    if template is not None and template.community_id != community.pk:
        raise PermissionDenied(_("Built-in templates cannot be changed; make a copy."))
    errors: dict[str, list[str]] = {}
    name, title, body, key = name.strip(), title.strip(), body.strip(), key.strip()
    if not name:
        errors["name"] = [_("Give the template a name.")]
    if not title:
        errors["title"] = [_("Write a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("The title is at most %(n)d characters.") % {"n": TITLE_MAX}]
    if not body:
        errors["body"] = [_("Write the text of the notice.")]
    if audience not in Audience.values:
        errors["audience"] = [_("Choose residents or staff.")]
    same_key = NoticeTemplate.objects.filter(community=community, key=key)
    if template is not None:
        same_key = same_key.exclude(pk=template.pk)
    if key and same_key.exists():
        errors["key"] = [_("Another template of the community has this key.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        created = template is None
        if template is None:
            template = NoticeTemplate(community=community)
        template.name, template.title, template.body, template.audience, template.key = (
            name[:100],
            title,
            body,
            audience,
            key[:50],
        )
        template.save()
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
            target=template,
            community_id=community.pk,
        )
    return template


def notice_template_delete(*, actor: User, template: NoticeTemplate) -> None:
    community = template.community
    if community is None:
        raise PermissionDenied(_("Built-in templates cannot be deleted."))
    if not selectors.can_manage_templates(actor, community):
        raise PermissionDenied(_("Only the community's administrators manage templates."))
    with transaction.atomic():
        audit_record(actor=actor, action=AuditLog.Action.DELETE, target=template, community_id=community.pk)
        template.delete()
