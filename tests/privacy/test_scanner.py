import random
from datetime import date

import pytest

from backend.privacy.idcard import PROVINCE_CODES, is_valid_id, make_fake_id
from backend.privacy.scanner import Finding, OwnValues, mark_spans_html, scan_public_text

FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
TEMPLATES = [
    "我的身份证号是{v}，请帮忙核实。",
    "联系电话：{v}，白天都在家。",
    "家里老人行动不便，有事请打{v}找社区网格员。",
    "申请人{v}，因病致贫，需要轮椅一台。",
    "如需送货上门请先联系{v}，谢谢爱心人士！",
    "号码{v}",
    "{v}是我女儿的号码",
    "孩子今年上初二，证件号 {v} ，希望资助学费。",
]


def _id(rng: random.Random) -> str:
    region = rng.choice(sorted(PROVINCE_CODES - {"71", "81", "82", "83"})) + "0106"
    birth = date(rng.randint(1930, 2015), rng.randint(1, 12), rng.randint(1, 28))
    return make_fake_id(region, birth, rng.randint(0, 999))


def _mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _landline(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(["010", "021", "027"]) + str(rng.randint(20000000, 99999999))
    area = "0" + rng.choice("3456789") + str(rng.randint(10, 99))
    local_digits = rng.choice([6, 7])  # after the first digit, which is never 0 or 1
    return (
        area
        + rng.choice("23456789")
        + "".join(rng.choice("0123456789") for _ in range(local_digits))
    )


def _id_variant(n: str, rng: random.Random) -> str:
    v = rng.randrange(5)
    if v == 0:
        return n
    if v == 1:  # "3301 0619 9001 0112 34"
        return " ".join(n[i : i + 4] for i in range(0, 18, 4))
    if v == 2:
        return n.translate(FW)
    if v == 3:
        return f"{n[:6]}-{n[6:14]}-{n[14:]}"
    return n[:-1] + n[-1].lower() if n.endswith("X") else f"{n[:6]} {n[6:14]} {n[14:]}"


def _phone_variant(n: str, rng: random.Random) -> str:
    mobile = n.startswith("1")
    v = rng.randrange(5)
    if v == 0:
        return n
    if v == 1:
        return f"{n[:3]} {n[3:7]} {n[7:]}" if mobile else f"{n[:-8]} {n[-8:-4]} {n[-4:]}"
    if v == 2:
        return n.translate(FW)
    if v == 3:
        return f"{n[:3]}-{n[3:7]}-{n[7:]}" if mobile else f"{n[:-8]}-{n[-8:]}"
    return f"+86 {n}" if mobile else f"({n[:-8]}){n[-8:]}"


def _embed(rng: random.Random, value: str) -> tuple[str, int, int]:
    tpl = rng.choice(TEMPLATES)
    start = tpl.index("{v}")
    text = tpl.replace("{v}", value)
    return text, start, start + len(value)


def _hit(findings: list[Finding], kinds: set[str], start: int, end: int) -> bool:
    return any(f.kind in kinds and f.start <= start + 4 and f.end >= end - 1 for f in findings)


def test_corpus_recall() -> None:
    rng = random.Random(20240611)
    id_total = id_found = phone_total = phone_found = 0
    for _ in range(1200):
        text, s, e = _embed(rng, _id_variant(_id(rng), rng))
        id_total += 1
        id_found += _hit(scan_public_text(text), {"id_number"}, s, e)
    for i in range(1200):
        raw = _mobile(rng) if i % 3 else _landline(rng)
        text, s, e = _embed(rng, _phone_variant(raw, rng))
        phone_total += 1
        phone_found += _hit(scan_public_text(text), {"mobile", "landline"}, s, e)
    id_recall, phone_recall = id_found / id_total, phone_found / phone_total
    print(f"\nID recall {id_found}/{id_total} = {id_recall:.4f}")
    print(f"phone recall {phone_found}/{phone_total} = {phone_recall:.4f}")
    assert id_total + phone_total >= 2000
    assert id_recall >= 0.99
    assert phone_recall >= 0.99


def test_wrong_checksum_ids_are_not_id_numbers() -> None:
    rng = random.Random(7)
    flagged = 0
    for _ in range(500):
        n = _id(rng)
        wrong = n[:17] + rng.choice([c for c in "0123456789X" if c != n[17]])
        assert not is_valid_id(wrong)
        text, _, _ = _embed(rng, _id_variant(wrong, rng))
        flagged += any(f.kind == "id_number" for f in scan_public_text(text))
    assert flagged == 0


def test_own_values_never_missed() -> None:
    rng = random.Random(99)
    surnames, given = "王李张刘陈杨赵黄周吴徐孙", "建国秀英志强桂兰海燕明华丽娟卫东春梅"
    roads = ["文三路", "解放路", "中山北路", "延安西路", "人民大道", "学院街"]
    misses: list[str] = []
    for i in range(500):
        name = rng.choice(surnames) + "".join(rng.sample(given, rng.choice([1, 2])))
        phone = _mobile(rng)
        road, no = rng.choice(roads), rng.randint(1, 999)
        address = f"浙江省杭州市西湖区西溪街道{road}{no}号{rng.randint(1, 20)}幢"
        id_number = _id(rng)
        own = OwnValues(name=name, phone=phone, address=address, id_number=id_number)
        kind = i % 4
        if kind == 0:
            value = rng.choice([name, " ".join(name)])
            want = "own_name"
        elif kind == 1:
            value = _phone_variant(phone, rng)
            want = "own_phone"
        elif kind == 2:
            value = rng.choice([address, f"{road} {no} 号", f"{road}{no}号".translate(FW)])
            want = "own_address"
        else:
            value = _id_variant(id_number, rng)
            want = "own_id"
        text, s, e = _embed(rng, value)
        if not _hit(scan_public_text(text, own_values=own), {want}, s, e):  # pragma: no cover
            misses.append(text)
    print(f"\nown-value misses: {len(misses)}/500")
    assert misses == []


def test_offsets_point_into_original_text() -> None:
    text = "身份证：３３０１ ０６１９ ９００１ ０１１２ ３Ｘ，手机＋８６ １３８-１２３４-５６７８。"
    findings = scan_public_text(text)
    assert [f.kind for f in findings] == ["id_number", "mobile"]
    for f in findings:
        assert text[f.start : f.end] == f.excerpt
    assert findings[0].excerpt == "３３０１ ０６１９ ９００１ ０１１２ ３Ｘ"
    assert findings[1].excerpt == "＋８６ １３８-１２３４-５６７８"


def test_eleven_digit_run_is_phone_not_part_of_wrong_id() -> None:
    assert [f.kind for f in scan_public_text("编号330106199001011235")] == []
    assert [f.kind for f in scan_public_text("编号13812345678")] == ["mobile"]
    assert [f.kind for f in scan_public_text("共12户 13812345678")] == ["mobile"]


@pytest.mark.parametrize(
    "text",
    [
        "社区爱心超市为杭州市困难家庭送去米面油。",
        "我们社区有很多爱心志愿者。",
        "杭州市民政局和区残联联合开展助残活动。",
        "2024年共帮扶120户，发放物资3500件。",
        "申请人因病致贫，谢谢爱心人士！",
    ],
)
def test_no_false_positives_on_ordinary_text(text: str) -> None:
    assert scan_public_text(text) == []


def test_person_names() -> None:
    findings = scan_public_text("联系人：陈建国，老人刘德华住在这里。")
    assert [(f.kind, f.excerpt) for f in findings] == [
        ("person_name", "陈建国"),
        ("person_name", "刘德华"),
    ]


def test_own_address_parts() -> None:
    own = OwnValues(address="浙江省杭州市西湖区西溪街道文三路123号3幢2单元301室")
    text = "住在文三路 123 号，3幢2单元301室，杭州市西湖区欢迎你"
    found = [(f.kind, f.excerpt) for f in scan_public_text(text, own_values=own)]
    assert ("own_address", "文三路 123 号") in found
    assert ("own_address", "3幢2单元301室") in found
    # the district alone is not identifying
    assert all("西湖区" not in e for _, e in found)


def test_own_id_and_phone_win_over_generic_kinds() -> None:
    own = OwnValues(phone="138-1234-5678", id_number="11010519491231002x")
    text = "11010519491231002X 13812345678 13912345678"
    kinds = [f.kind for f in scan_public_text(text, own_values=own)]
    assert kinds == ["own_id", "own_phone", "mobile"]


def test_mark_spans_html() -> None:
    text = "<b>电话</b>13812345678 & 陈建国"
    html = mark_spans_html(text, scan_public_text(text))
    assert html == (
        "&lt;b&gt;电话&lt;/b&gt;"
        '<mark class="pii" data-kind="mobile">13812345678</mark> &amp; '
        '<mark class="pii" data-kind="person_name">陈建国</mark>'
    )
    overlapping = [Finding("mobile", 0, 5, "12345"), Finding("own_phone", 3, 8, "45678")]
    assert mark_spans_html("12345678", overlapping) == (
        '<mark class="pii" data-kind="mobile own_phone">12345678</mark>'
    )
