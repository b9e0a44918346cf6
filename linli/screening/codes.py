"""The codes printed and shown for a campaign: each person's check-in code (the QR the site volunteer
scans) and each household's link to its own page. Signed, so a code cannot be made up from an ID, and
tied to one campaign, so last week's code is refused.

A person's code is a URL (…/checkin/c/<code>/): a phone's own camera app opens the check-in page with it,
and the check-in page's scanner takes the code out of the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

_PERSON = re.compile(r"S(\d+)-(\d+)-([0-9A-Z]{8})")
_HOUSEHOLD = re.compile(r"^H(\d+)-(\d+)-([0-9a-zA-Z]{16})$")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O or U to misread


def _mac(kind: str, a: int, b: int) -> bytes:
    key = hashlib.sha256(f"linli.screening.{kind}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{a}:{b}".encode(), hashlib.sha256).digest()


def _short(digest: bytes, length: int) -> str:
    number = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        out.append(_ALPHABET[rest])
    return "".join(out)


def person_code(campaign_id: int, resident_id: int) -> str:
    return f"S{campaign_id}-{resident_id}-{_short(_mac('person', campaign_id, resident_id), 8)}"


def looks_like_person_code(text: str) -> bool:
    """Whether scanned text is meant as a person's code (then a bad one is refused rather than taken for a
    tube's barcode): the code's shape, or the URL its QR holds."""
    return bool(_PERSON.search(text.strip().upper())) or "/checkin/c/" in text


def person_code_parse(text: str) -> tuple[int, int] | None:
    """(campaign id, resident id) from a scanned code or a URL holding one; None if it is not ours or
    its signature is wrong."""
    match = _PERSON.search(text.strip().upper())
    if match is None:
        return None
    campaign_id, resident_id = int(match[1]), int(match[2])
    if not hmac.compare_digest(match[3], _short(_mac("person", campaign_id, resident_id), 8)):
        return None
    return campaign_id, resident_id


def household_token(campaign_id: int, household_id: int) -> str:
    mac = _mac("household", campaign_id, household_id).hex()[:16]
    return f"H{campaign_id}-{household_id}-{mac}"


def household_token_parse(token: str) -> tuple[int, int] | None:
    match = _HOUSEHOLD.match(token)
    if match is None:
        return None
    campaign_id, household_id = int(match[1]), int(match[2])
    expected = _mac("household", campaign_id, household_id).hex()[:16]
    if not hmac.compare_digest(match[3].lower(), expected):
        return None
    return campaign_id, household_id
