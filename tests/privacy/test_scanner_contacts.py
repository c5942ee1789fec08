"""Scanner kinds added for the public-text gate: WeChat, QQ, e-mail, bank card, plate, names."""

from __future__ import annotations

import pytest

from backend.privacy.scanner import luhn_ok, scan_public_text


def kinds(text: str, **kwargs: object) -> list[tuple[str, str]]:
    return [(f.kind, f.excerpt) for f in scan_public_text(text, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有事加微信：wang_xiuying88", ("wechat", "wang_xiuying88")),
        ("加我vx abc12345谢谢", ("wechat", "abc12345")),
        ("WX号：Tongxin_2026", ("wechat", "Tongxin_2026")),
        ("WeChat: helper-007x", ("wechat", "helper-007x")),
        ("微信号 ｗａｎｇ１２３４", ("wechat", "ｗａｎｇ１２３４")),
        ("QQ：123456789", ("qq", "123456789")),
        ("扣扣号 10001234", ("qq", "10001234")),
        ("邮箱 wang.xy@example.com 联系", ("email", "wang.xy@example.com")),
        ("发到ｗａｎｇ＠ｑｑ．ｃｏｍ", ("email", "ｗａｎｇ＠ｑｑ．ｃｏｍ")),
        ("卡号 6222 0200 0000 0000 000 收款", ("bank_card", "6222 0200 0000 0000 000")),
        ("车牌浙A12345停在楼下", ("plate", "浙A12345")),
        ("浙A·D12345 新能源车", ("plate", "浙A·D12345")),
        ("京B-8K2J3", ("plate", "京B-8K2J3")),
    ],
)
def test_contact_kinds_are_found(text: str, expected: tuple[str, str]) -> None:
    assert expected in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "微信公众号关注我们",  # no id after the keyword
        "QQ群欢迎大家",
        "浙江省杭州市西湖区",  # a province name, not a plate
        "编号 1234567890123456",  # 16 digits failing Luhn
        "The wxyz team",
        "需要大米50斤，棉被2床",
        "本项目目标 100000 元",
    ],
)
def test_ordinary_text_passes(text: str) -> None:
    assert [k for k, _ in kinds(text) if k != "person_name"] == []


def test_luhn() -> None:
    assert luhn_ok("6222020000000000000")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_known_household_names_are_refused() -> None:
    found = kinds("昨天给王秀英家送去了棉被", known_names=["王秀英", "李四"])
    assert ("household_name", "王秀英") in found
    assert not any(k == "household_name" for k, _ in kinds("给老人送棉被", known_names=["王秀英"]))


def test_card_number_is_not_also_a_phone() -> None:
    found = kinds("卡号 6222020000000000000")
    assert [k for k, _ in found] == ["bank_card"]
