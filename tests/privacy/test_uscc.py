import pytest

from backend.privacy.uscc import is_valid_uscc, make_fake_uscc, normalize_uscc, uscc_check_char


def test_known_valid_code() -> None:
    assert is_valid_uscc("91350100M000100Y43")
    assert is_valid_uscc("91350100m000100y43")
    assert is_valid_uscc("９１３５０１００Ｍ０００１００Ｙ４３")


def test_check_character_by_hand() -> None:
    # independent re-computation of the GB 32100-2015 formula
    prefix = "91350100M000100Y4"
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(charset.index(c) * w for c, w in zip(prefix, weights, strict=True))
    assert charset[(31 - total % 31) % 31] == "3"
    assert uscc_check_char(prefix) == "3"


@pytest.mark.parametrize(
    "prefix",
    ["91330106MA27XY0A1", "12100000400000123", "53110000500000000", "91440300MA5FAB0CD"],
)
def test_make_fake_roundtrip(prefix: str) -> None:
    code = make_fake_uscc(prefix)
    assert len(code) == 18
    assert is_valid_uscc(code)
    # every other final character is rejected
    for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if ch != code[-1]:
            assert not is_valid_uscc(code[:17] + ch)


def test_check_zero_case() -> None:
    # find a prefix whose weighted sum is divisible by 31: the check character must be "0"
    base = "9133010600000000"
    for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        code = make_fake_uscc(base + ch)
        if code.endswith("0"):
            assert is_valid_uscc(code)
            break
    else:
        pytest.fail("no prefix with check character 0 found")


@pytest.mark.parametrize(
    "bad",
    ["91350100M000100Y44", "91350100M000100Y4", "91350100I000100Y43", "91350100O000100Y43", ""],
)
def test_invalid(bad: str) -> None:
    assert not is_valid_uscc(bad)


def test_normalize() -> None:
    assert normalize_uscc(" 9135-0100 m000100y43 ") == "91350100M000100Y43"
    with pytest.raises(ValueError):
        uscc_check_char("short")
