from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.privacy.idcard import (
    check_char,
    id_birth_date,
    id_region_code,
    is_valid_id,
    make_fake_id,
    normalize_id,
)

KNOWN_VALID = "11010519491231002X"  # the example number published with GB 11643-1999


def test_known_valid_number() -> None:
    assert is_valid_id(KNOWN_VALID)
    assert is_valid_id(KNOWN_VALID.lower())
    assert id_birth_date(KNOWN_VALID) == date(1949, 12, 31)
    assert id_region_code(KNOWN_VALID) == "110105"


def test_check_character_by_hand() -> None:
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167; 167 % 11 = 2
    assert check_char("11010519491231002") == "X"
    assert check_char("33010619900101123") == "X"


def test_normalize_full_width_spaces_hyphens() -> None:
    assert normalize_id("１１０１０５ 1949-1231 002ｘ") == KNOWN_VALID
    assert is_valid_id("１１０１０５ 1949-1231 002ｘ")


@pytest.mark.parametrize(
    "bad",
    [
        "110105194912310021",  # wrong check character
        "11010519491231002",  # 17 characters
        "1101051949123100211",  # 19
        "99010519491231002X",  # province 99 does not exist
        "110105194902300020",  # 30 February
        "11010518991231002X",  # before 1900
        "11010519491231X02X",
        "",
    ],
)
def test_invalid(bad: str) -> None:
    assert not is_valid_id(bad)


def test_future_birth_date_rejected() -> None:
    future = make_fake_id("330106", date(2090, 1, 1), 1)
    assert not is_valid_id(future)
    assert is_valid_id(future, today=date(2091, 1, 1))


def test_accessors_refuse_invalid() -> None:
    with pytest.raises(ValueError):
        id_birth_date("110105194912310021")
    with pytest.raises(ValueError):
        id_region_code("abc")


def test_make_fake_id_arguments() -> None:
    with pytest.raises(ValueError):
        make_fake_id("3301", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_fake_id("330106", date(1990, 1, 1), 1000)


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    seq=st.integers(0, 999),
    region=st.sampled_from(["110105", "330106", "440305", "510107", "650102"]),
)
def test_fake_ids_are_valid_and_one_digit_change_is_detected(
    birth: date, seq: int, region: str
) -> None:
    n = make_fake_id(region, birth, seq)
    assert is_valid_id(n)
    assert id_birth_date(n) == birth
    assert id_region_code(n) == region
    # any change of the check character is detected
    for ch in "0123456789X":
        if ch != n[17]:
            assert not is_valid_id(n[:17] + ch)
