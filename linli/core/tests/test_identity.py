from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.core.identity import (
    InvalidIdentity,
    check_character,
    mask_id_number,
    mask_phone,
    normalize_phone,
    parse_id_number,
)

VALID = "11010519491231002X"  # the example number from GB 11643


def test_a_valid_number_gives_birth_date_and_sex():
    info = parse_id_number(VALID)
    assert info.number == VALID
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"
    assert not info.legacy


def test_lower_case_x_full_width_digits_and_spaces_are_normalised():
    assert parse_id_number("１１０１０５ １９４９１２３１ ００２ｘ").number == VALID
    assert parse_id_number("110105-19491231-002x").number == VALID


def test_a_wrong_check_character_is_refused_with_a_reason():
    with pytest.raises(InvalidIdentity, match="check character"):
        parse_id_number("110105194912310021")


@pytest.mark.parametrize(
    "raw",
    ["", "12345", "11010519491331002X", "99010519491231002X", "1101051949123100XX", "110105210001010011"],
)
def test_impossible_numbers_are_refused(raw):
    with pytest.raises(InvalidIdentity):
        parse_id_number(raw)


def test_a_legacy_15_digit_number_becomes_18_characters():
    info = parse_id_number("110105491231002")
    assert info.legacy
    assert info.number == "11010519491231002X"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
    full_width=st.booleans(),
)
def test_any_generated_number_round_trips_through_messy_input(born, seq, full_width):
    first17 = f"110105{born:%Y%m%d}{seq:03d}"
    number = first17 + check_character(first17)
    messy = number.lower()
    if full_width:
        messy = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in messy)
    info = parse_id_number(f" {messy[:6]} {messy[6:]} ")
    assert info.number == number
    assert info.birth_date == born
    assert info.sex == ("M" if seq % 2 else "F")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("８６１３８１２３４５６７８", "13812345678"),
        (13812345678.0, "13812345678"),
        ("010-87654321", "01087654321"),
    ],
)
def test_phones_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345678901", "1381234567", "phone", "+1 415 555 0100"])
def test_non_phones_are_refused(raw):
    with pytest.raises(InvalidIdentity):
        normalize_phone(raw)


def test_masks_keep_only_what_a_person_needs_to_recognise_the_record():
    assert mask_id_number(VALID) == "110105********002X"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("") == ""
