"""Broadcasts (通知): notices to residents or staff, with templates, SMS-length checks, confirmations, the
door-knock escalation of those who did not confirm, and each community's public notice board.

Import from here: `from linli.comms.broadcasts import broadcast_create, broadcast_send, …`."""

from linli.comms.broadcasts.escalation import broadcast_escalate, broadcast_escalations_due
from linli.comms.broadcasts.selectors import (
    broadcast_counts,
    broadcast_get,
    broadcasts_for,
    can_compose,
    can_send,
    counts_many,
    public_notices,
)
from linli.comms.broadcasts.services import (
    broadcast_ack,
    broadcast_ack_by_reply,
    broadcast_confirm_at_door,
    broadcast_create,
    broadcast_discard,
    broadcast_send,
    notice_template_delete,
    notice_template_save,
)
from linli.comms.broadcasts.sms import is_ack_reply, sms_segments
from linli.comms.broadcasts.templates import ensure_builtin_templates, template_fill

__all__ = [
    "broadcast_ack",
    "broadcast_ack_by_reply",
    "broadcast_confirm_at_door",
    "broadcast_counts",
    "broadcast_create",
    "broadcast_discard",
    "broadcast_escalate",
    "broadcast_escalations_due",
    "broadcast_get",
    "broadcast_send",
    "broadcasts_for",
    "can_compose",
    "can_send",
    "counts_many",
    "ensure_builtin_templates",
    "is_ack_reply",
    "notice_template_delete",
    "notice_template_save",
    "public_notices",
    "sms_segments",
    "template_fill",
]
