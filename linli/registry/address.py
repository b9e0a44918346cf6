"""Addresses as people write them: 3号楼2单元501室, 3栋2单元501, 3-2-501, 三单元, full-width digits.

Normalised to (building, entrance, room) strings so that "3号楼" and "3栋" and "３" are one building.
Dispatched lists (epidemic) use the same parser to match records to households.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _cn_number(text: str) -> str:
    """一 → 1, 十二 → 12, 二十 → 20; anything else unchanged."""
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        return text
    if "十" in text:
        tens, _, ones = text.partition("十")
        return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))
    return "".join(str(_CN_DIGITS[ch]) for ch in text)


_SPACES = re.compile(r"\s+")


def fold(text: object) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text or "")))


_BUILDING = re.compile(r"([0-9A-Za-z一二三四五六七八九十两]+)(?:号楼|号院楼|栋|幢|座|号|楼)")
_ENTRANCE = re.compile(r"([0-9一二三四五六七八九十两]+)(?:单元|门|梯)")
_ROOM = re.compile(r"([0-9]+[A-Za-z]?)(?:室|房|号|户)?$")
_DASHED = re.compile(r"(?:^|[^0-9])([0-9]+[A-Za-z]?)-([0-9]+)-([0-9]+[A-Za-z]?)(?:室|号)?$")
_DASHED2 = re.compile(r"(?:^|[^0-9])([0-9]+[A-Za-z]?)-([0-9]+[A-Za-z]?)(?:室|号)?$")


# A ledger repeats the same few building, entrance and room spellings on every row.
@functools.lru_cache(maxsize=4096, typed=True)
def clean_building(text: object) -> str:
    value = fold(text)
    value = re.sub(r"(号楼|号院楼|栋|幢|座|号|楼)$", "", value)
    return _cn_number(value).upper()


@functools.lru_cache(maxsize=4096, typed=True)
def clean_entrance(text: object) -> str:
    value = re.sub(r"(单元|门|梯)$", "", fold(text))
    return _cn_number(value)


@functools.lru_cache(maxsize=4096, typed=True)
def clean_room(text: object) -> str:
    value = re.sub(r"(室|房|号|户)$", "", fold(text))
    return value.upper()


@dataclass(frozen=True)
class Address:
    building: str
    entrance: str
    room: str

    @property
    def complete(self) -> bool:
        return bool(self.building and self.room)


@functools.lru_cache(maxsize=8192)
def building_match(text: str) -> re.Match[str] | None:
    """The building in an address. A road or compound number may come first ("12号院3号楼", "光华路8号
    5栋"): the last match with a building word (号楼/栋/幢/座/楼) wins over an earlier bare 号, and a
    number followed by 院 is the compound."""
    # "12号院" is the compound, not a building.
    matches = [m for m in _BUILDING.finditer(text) if not text.startswith("院", m.end())]
    if not matches:
        return None
    strong = [m for m in matches if not m.group(0).endswith("号") or m.group(0).endswith("号楼")]
    return strong[-1] if strong else matches[0]


def parse_address(text: object) -> Address:
    value = fold(text).replace("—", "-").replace("－", "-")
    if not value:
        return Address("", "", "")
    dashed = _DASHED.search(value)
    if dashed:
        return Address(dashed.group(1).upper(), dashed.group(2), dashed.group(3).upper())
    building = entrance = room = ""
    rest = value
    match = building_match(rest)
    if not match:
        dashed2 = _DASHED2.search(value)
        if dashed2:
            return Address(dashed2.group(1).upper(), "", dashed2.group(2).upper())
    if match:
        building = _cn_number(match.group(1)).upper()
        rest = rest[match.end() :]
    match = _ENTRANCE.search(rest)
    if match:
        entrance = _cn_number(match.group(1))
        rest = rest[match.end() :]
    match = _ROOM.search(rest)
    if match:
        room = match.group(1).upper()
    return Address(building, entrance, room)
