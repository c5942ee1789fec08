import pytest

from backend.privacy.masking import mask_address, mask_id, mask_name, mask_phone
from backend.privacy.phone import (
    is_landline,
    is_mobile,
    landline_area_code,
    normalize_phone,
    phone_kind,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("８６１３８１２３４５６７８", "13812345678"),
        ("(0571) 8765-4321", "057187654321"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("13812345678", "mobile"),
        ("19912345678", "mobile"),
        ("12812345678", None),  # 12x is not a mobile prefix
        ("1381234567", None),
        ("010-87654321", "landline"),
        ("021 5555 6666", "landline"),
        ("0571-87654321", "landline"),
        ("0571-8765432", "landline"),  # 7-digit local number
        ("010-8765432", None),  # two-digit area codes take 8 digits
        ("0571-07654321", None),  # local number cannot start with 0
        ("hello", None),
    ],
)
def test_phone_kind(raw: str, kind: str | None) -> None:
    assert phone_kind(raw) == kind
    assert is_mobile(raw) == (kind == "mobile")
    assert is_landline(raw) == (kind == "landline")


def test_area_code() -> None:
    assert landline_area_code("010-87654321") == "010"
    assert landline_area_code("0571 87654321") == "0571"
    with pytest.raises(ValueError):
        landline_area_code("13812345678")


def test_mask_id() -> None:
    assert mask_id("330106199001011234") == "330106********1234"
    assert mask_id("33010619900101123x") == "330106********123X"


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("0571-87654321") == "0571****4321"
    assert mask_phone("010-87654321") == "010****4321"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张**"), ("张三", "张*"), ("欧阳娜娜", "欧阳**"), ("欧阳", "欧*"), ("李", "*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("addr", "masked"),
    [
        ("浙江省杭州市西湖区西溪街道文三路123号3幢2单元301室", "浙江省杭州市西湖区西溪街道***"),
        ("浙江省杭州市西湖区文三路 123 号", "浙江省杭州市西湖区***"),
        ("杭州市西湖区翠苑小区5幢", "杭州市西湖区***"),
        ("浙江省杭州市余杭区仓前镇杨家村3组12号", "浙江省杭州市余杭区仓前镇***"),
        ("镇江市京口区正东路街道中山东路5号", "镇江市京口区正东路街道***"),
        ("北京市朝阳区", "北京市朝阳区"),
        ("文三路123号", "***"),
    ],
)
def test_mask_address(addr: str, masked: str) -> None:
    assert mask_address(addr) == masked
