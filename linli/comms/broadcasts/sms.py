"""How long a notice is as an SMS, and the words a resident may reply to confirm it.

An SMS is 140 bytes. A message whose every character is in the GSM 03.38 alphabet is 7-bit: 160 characters
in one SMS, 153 per part when it is split (the rest of each part is the header that joins them again). A
single other character (any Chinese character, an emoji, a curly quote) makes the whole message UCS-2:
70 characters in one SMS, 67 per part. Characters of GSM's extension table (€ [ ] { } …) take two places.
What the resident receives is the gateway's signature (【邻里】) followed by our text, and every part is
paid for: the compose page counts all of it, live, and a notice longer than MAX_SEGMENTS parts is refused.
"""

from __future__ import annotations

import math
import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

MAX_SEGMENTS = 5
TOKEN_LENGTH = 8

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

# Between the title and the text of a notice, as Chinese notices write it.
SEPARATOR = "："


def sms_segments(text: str) -> tuple[int, int]:
    """(characters, parts) of `text` as an SMS. Characters are counted as the network does: GSM extension
    characters twice, and in UCS-2 a character outside the basic plane (an emoji) twice."""
    if not text:
        return 0, 0
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        count = len(text) + sum(1 for ch in text if ch in GSM_EXTENDED)
        single, part = 160, 153
    else:
        count = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return count, 1 if count <= single else math.ceil(count / part)


def signature(community_name: str = "") -> str:
    """What the gateway puts before every message: SMS_SENDER (【邻里】), or the community's name."""
    from linli.comms.channels.sms import sender_name

    sender = sender_name()
    if sender:
        return sender
    return f"【{community_name}】" if community_name else ""


def public_base() -> str:
    """How residents' phones reach the site (PUBLIC_URL), without the trailing slash."""
    return str(getattr(settings, "PUBLIC_URL", "") or "").rstrip("/")


def ack_link(token: str) -> str:
    return f"{public_base()}/n/{token}/"


def ack_suffix(link: str) -> str:
    return " " + _("Confirm you have read it: %(link)s or reply 1") % {"link": link}


def sms_text(title: str, body: str, *, link: str = "") -> str:
    """The text of a notice's SMS (without the signature, which the gateway adds): the title, the text and,
    when confirmation is asked for, the link."""
    title, body = title.strip(), body.strip()
    text = f"{title}{SEPARATOR}{body}" if title and body else title or body
    return text + ack_suffix(link) if link else text


def sms_as_received(*, title: str, body: str, require_ack: bool, community_name: str = "") -> str:
    """The SMS a resident will get, signature included, with a link of the real length."""
    link = ack_link("x" * TOKEN_LENGTH) if require_ack else ""
    return signature(community_name) + sms_text(title, body, link=link)


def sms_length(*, title: str, body: str, require_ack: bool, community_name: str = "") -> tuple[int, int]:
    """(characters, parts) of the SMS a resident will get."""
    return sms_segments(
        sms_as_received(title=title, body=body, require_ack=require_ack, community_name=community_name)
    )


def sms_capacity(text: str, parts: int = MAX_SEGMENTS) -> int:
    """The most characters `parts` messages carry in the alphabet `text` needs."""
    gsm = all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)
    if parts <= 1:
        return 160 if gsm else 70
    return (153 if gsm else 67) * parts


# --- replies -------------------------------------------------------------------------------------------

ACK_WORDS = frozenset(
    {"1", "收到", "确认", "好", "ok", "好的", "已收到", "收到了", "确定", "知道了", "已知晓"}
)
_TRAILING = re.compile(r"[\s。.!！~～,，、]+")


def is_ack_reply(text: str) -> bool:
    """Whether an SMS reply means "I have read it": 1, 收到, 确认, 好, ok, full-width (１, ＯＫ) too."""
    folded = unicodedata.normalize("NFKC", text or "").strip().lower()
    folded = _TRAILING.sub("", folded)
    return folded in ACK_WORDS
