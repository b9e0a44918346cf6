"""Resident ID numbers (GB 11643-1999) and phone numbers: normalising, validating, masking.

Input arrives from spreadsheets and phones: full-width digits, lower-case x, spaces, dashes and
+86 prefixes are all normal and must be accepted; what is stored is always the normalised form.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# First two digits of the area code: the provinces and province-level divisions of GB/T 2260.
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
_SEPARATORS = re.compile(r"[\s\-–—_.()（）]+")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{9,11}$")


class InvalidIdentity(ValueError):
    """A value that cannot be a valid ID number or phone; the message is shown to the person."""


@dataclass(frozen=True)
class IdNumber:
    number: str  # always the 18-character form
    birth_date: date
    sex: str  # "M" or "F"
    legacy: bool  # it arrived as a 15-digit number

    @property
    def area_code(self) -> str:
        return self.number[:6]


def _fold(raw: object) -> str:
    # NFKC turns full-width digits and letters (１２３ｘ) into ASCII.
    return unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()


def check_character(first17: str) -> str:
    if len(first17) != 17:
        raise ValueError("the check character is computed from 17 digits")
    # map() rather than a generator: this runs for every row of an import.
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARS[total % 11]


# Only a birth date after this can be in the future: date.today() is asked for those rows only.
_PAST = date(2020, 1, 1)


def _birth_date(text: str) -> date:
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise InvalidIdentity(
            _("the birth date %(date)s in the ID number is not a real date") % {"date": text}
        ) from None
    if (born >= _PAST and born > date.today()) or born.year < 1890:
        raise InvalidIdentity(_("the birth date %(date)s in the ID number is impossible") % {"date": text})
    return born


def normalize_id_text(raw: object) -> str:
    return _SEPARATORS.sub("", _fold(raw)).upper()


def parse_id_number(raw: object) -> IdNumber:
    """Validate an ID number and derive birth date and sex. Raises InvalidIdentity with a reason."""
    if isinstance(raw, float):  # a spreadsheet cell Excel turned into a number: its last digits are gone
        raise InvalidIdentity(
            _("Excel stored the ID number as a number and lost its last digits; format the column as text")
        )
    text = normalize_id_text(raw)
    if not text:
        raise InvalidIdentity(_("the ID number is missing"))
    if len(text) == 15 and text.isdigit():
        if text[:2] not in _PROVINCES:
            raise InvalidIdentity(_("the area code %(code)s is not a Chinese region") % {"code": text[:6]})
        born = _birth_date("19" + text[6:12])
        first17 = text[:6] + "19" + text[6:15]
        number = first17 + check_character(first17)
        return IdNumber(number, born, "M" if int(text[14]) % 2 else "F", legacy=True)
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise InvalidIdentity(
            _("an ID number has 18 characters (digits, the last may be X), or 15 digits; got %(n)d")
            % {"n": len(text)}
        )
    if text[:2] not in _PROVINCES:
        raise InvalidIdentity(_("the area code %(code)s is not a Chinese region") % {"code": text[:6]})
    born = _birth_date(text[6:14])
    expected = check_character(text[:17])
    if text[17] != expected:
        raise InvalidIdentity(_("the check character is wrong (the number has a typo)"))
    return IdNumber(text, born, "M" if int(text[16]) % 2 else "F", legacy=False)


def normalize_phone(raw: object) -> str:
    """Return the phone as digits (mobile: 11 digits; landline with area code), or raise InvalidIdentity."""
    text = _fold(raw)
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    text = _SEPARATORS.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text:
        raise InvalidIdentity(_("the phone number is missing"))
    if MOBILE_RE.match(text) or LANDLINE_RE.match(text):
        return text
    raise InvalidIdentity(
        _(
            "%(phone)s is not a phone number (mobile: 11 digits starting 13–19; landline: area code and number)"
        )
        % {"phone": str(raw)}
    )


def mobile_number(raw: object) -> str | None:
    """The mobile number in `raw` (11 digits), or None when it is empty, a landline or not a phone: who can
    get an SMS."""
    if isinstance(raw, str) and MOBILE_RE.match(raw):
        return raw  # already stored normalised (the ledger): a whole community's fan-out skips the rest
    try:
        text = normalize_phone(raw)
    except InvalidIdentity:
        return None
    return text if MOBILE_RE.match(text) else None


def normalize_optional_phone(raw: object) -> str:
    """A phone that may be left blank: "" for an empty cell or field, otherwise as normalize_phone."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    return normalize_phone(raw)


def mask_id_number(number: str) -> str:
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """张*三 style: the first and last character stay, so a family tells its members apart on a slip that
    may be read by a neighbour."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
